import {
  type ListOptions,
  type PageIterable,
  paginate,
  type QueryValue,
  requestOptions,
} from '@sciport/core';
import type { z } from 'zod';
import { type FragalysisPage, page } from '../schemas/page.js';
import { type Context, getJson, onStack } from './context.js';

type Filters = Readonly<Record<string, QueryValue>>;

export interface DrfListOptions<S extends z.ZodType, T> extends ListOptions {
  /** The first page's filters (the server's `next` links carry them on); may need a lookup first. */
  query?: Filters | ((signal: AbortSignal | undefined) => Promise<Filters>) | undefined;
  /** Turns a page's parsed items into what the list yields (may drop some, may look things up). */
  map?: ((items: z.output<S>[], signal: AbortSignal | undefined) => Promise<T[]>) | undefined;
}

/**
 * A DRF list (spec §2), followed page by page through `next` (re-based on this stack, whatever host it names),
 * after the token check. Pages hold `pageSize` items (fewer with a smaller `limit`).
 */
export function drfList<S extends z.ZodType, T = z.output<S>>(
  ctx: Context,
  path: string,
  item: S,
  options: DrfListOptions<S, T> = {},
): PageIterable<T, FragalysisPage<T>> {
  const schema = page(item);
  const limit = options.limit;
  const pageSize = limit !== undefined && limit > 0 ? Math.min(ctx.pageSize, limit) : ctx.pageSize;
  return paginate<T, FragalysisPage<T>, string>({
    fetchPage: async (cursor, { signal }) => {
      const call = { ...requestOptions(options), signal };
      let query: Filters | undefined;
      if (cursor === undefined) {
        await ctx.session.ensure(call);
        const filters =
          typeof options.query === 'function' ? await options.query(signal) : (options.query ?? {});
        query = { ...filters, limit: pageSize };
      }
      const body = await getJson(ctx, cursor ?? path, schema, { ...call, ...(query ? { query } : {}) });
      const items = body.results as z.output<S>[];
      return {
        count: body.count ?? undefined,
        next: body.next ?? undefined,
        results: options.map ? await options.map(items, signal) : (items as unknown as T[]),
      };
    },
    items: (p) => p.results,
    nextCursor: (p) => (p.next ? onStack(ctx, p.next) : null),
    signal: options.signal,
    ...(limit !== undefined ? { maxItems: limit } : {}),
    service: 'fragalysis',
    endpoint: `GET ${path}`,
  });
}
