import { type ListOptions, type PageIterable, paginate, type Query, requestOptions } from '@sciport/core';
import { z } from 'zod';
import { keysetPage, offsetPage } from '../schemas/common.js';
import { type Context, call, clean, PAGE_CAP } from './context.js';

/**
 * The list shapes of the API, each a `PageIterable`: keyset pages (v2 `/datasets`, `/samples`), offset pages
 * (other v2 lists), bare arrays (v1, and a few v2 routes), and one answer holding the whole list.
 */

/** List options plus, for admin-only lists, what the list is (a 403 then says so). */
export type HelperListOptions = ListOptions & { adminOnly?: string };

function boundedLimit(ctx: Context, wanted: number | undefined): number {
  return Math.min(PAGE_CAP, ctx.pageSize, wanted ?? Number.POSITIVE_INFINITY);
}

/** A v2 keyset list (`items`, `next_cursor`), newest first. */
export function keysetList<S extends z.ZodType>(
  ctx: Context,
  path: string,
  item: S,
  query: Record<string, unknown>,
  options: HelperListOptions,
): PageIterable<z.infer<S>, { items: z.infer<S>[] }> {
  const schema = keysetPage(item);
  const limit = boundedLimit(ctx, options.limit);
  return paginate({
    fetchPage: async (cursor: string | undefined, { signal }) =>
      (await call(ctx, path, schema, {
        query: { ...clean(query), limit, ...(cursor ? { cursor } : {}) } as Query,
        ...requestOptions(options),
        signal,
        ...(options.adminOnly ? { adminOnly: options.adminOnly } : {}),
      })) as { items: z.infer<S>[]; next_cursor?: string | null },
    items: (p) => p.items,
    nextCursor: (p, { itemsSoFar }) => {
      const next = (p as { next_cursor?: string | null }).next_cursor;
      return next && p.items.length > 0 && (options.limit === undefined || itemsSoFar < options.limit)
        ? next
        : null;
    },
    ...(options.limit !== undefined ? { maxItems: options.limit } : {}),
    signal: options.signal,
    service: 'crucible',
    endpoint: `GET ${path}`,
  });
}

/** A v2 offset list (`items`, `total`, `offset`). */
export function offsetList<S extends z.ZodType>(
  ctx: Context,
  path: string,
  item: S,
  query: Record<string, unknown>,
  options: HelperListOptions,
): PageIterable<z.infer<S>, { items: z.infer<S>[] }> {
  const schema = offsetPage(item);
  const limit = boundedLimit(ctx, options.limit);
  return paginate({
    fetchPage: async (cursor: number | undefined, { signal }) =>
      (await call(ctx, path, schema, {
        query: { ...clean(query), limit, offset: cursor ?? 0 } as Query,
        ...requestOptions(options),
        signal,
        ...(options.adminOnly ? { adminOnly: options.adminOnly } : {}),
      })) as { items: z.infer<S>[]; total?: number | null; offset?: number | null },
    items: (p) => p.items,
    nextCursor: (p, { itemsSoFar }) => {
      const page = p as { total?: number | null; bare?: boolean };
      // A bare array is the whole list: asking it for another offset would repeat it.
      if (p.items.length === 0 || page.bare) return null;
      if (typeof page.total === 'number') return itemsSoFar < page.total ? itemsSoFar : null;
      // An envelope without a total: another page only when this one was full.
      return p.items.length >= limit ? itemsSoFar : null;
    },
    ...(options.limit !== undefined ? { maxItems: options.limit } : {}),
    signal: options.signal,
    service: 'crucible',
    endpoint: `GET ${path}`,
  });
}

/**
 * A bare-array list (v1 lists; v2 `/samples/{id}/datasets`): one request. `limit` is sent where the server
 * honours it (on v2 never above the page cap of 1000); a result exactly as long as the limit may be cut short
 * (there is no total), which is reported as a warning.
 */
export function arrayList<S extends z.ZodType>(
  ctx: Context,
  path: string | (() => Promise<string>),
  item: S,
  query: Record<string, unknown>,
  options: HelperListOptions & { sendLimit?: boolean },
): PageIterable<z.infer<S>, { items: z.infer<S>[] }> {
  const schema = z.array(item).nullable();
  const limit = Math.min(options.limit ?? 100_000, ctx.version === 'v2' ? PAGE_CAP : 100_000);
  return paginate({
    fetchPage: async (_cursor: undefined, { signal }) => {
      const where = typeof path === 'string' ? path : await path();
      const items = ((await call(ctx, where, schema, {
        query: { ...clean(query), ...(options.sendLimit === false ? {} : { limit }) } as Query,
        ...requestOptions(options),
        signal,
        ...(options.adminOnly ? { adminOnly: options.adminOnly } : {}),
      })) ?? []) as z.infer<S>[];
      if (options.sendLimit !== false && items.length === limit && limit !== options.limit) {
        ctx.events.emit({
          type: 'warning',
          message: `GET ${where} returned exactly ${limit} items: the list may be cut short (it has no pages)`,
        });
      }
      return { items };
    },
    items: (p) => p.items,
    nextCursor: () => null,
    ...(options.limit !== undefined ? { maxItems: options.limit } : {}),
    signal: options.signal,
  });
}

/**
 * A list that pages by offset on v2 and is one bare array on v1 (whose server ignores `limit` there): a
 * resource's relations (`…/samples`, `…/children`, `…/users`) and the smaller catalogues.
 */
export function offsetOrArrayList<S extends z.ZodType>(
  ctx: Context,
  path: string,
  item: S,
  query: Record<string, unknown>,
  options: HelperListOptions,
): PageIterable<z.infer<S>, { items: z.infer<S>[] }> {
  return ctx.version === 'v2'
    ? offsetList(ctx, path, item, query, options)
    : arrayList(ctx, path, item, query, { ...options, sendLimit: false });
}
