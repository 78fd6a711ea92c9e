import {
  AuthenticationError,
  BadRequestError,
  type HttpClient,
  type HttpEvent,
  NotFoundError,
  type PageIterable,
  paginate,
  type Query,
  type RequestOptions,
  UsageError,
} from '@sciport/core';
import { z } from 'zod';
import { keysetPage, offsetPage } from './schemas.js';

export type ApiVersion = 'v1' | 'v2';

export type CrucibleEvent =
  | HttpEvent
  | { type: 'request-status'; id: number; status: string }
  | { type: 'warning'; message: string };

export interface CallOptions {
  signal?: AbortSignal | undefined;
}

export interface ListOptions extends CallOptions {
  /** Stop after this many items in all. */
  limit?: number;
}

/** What every resource module shares: the API client, its version, and the helpers below. */
export interface Context {
  readonly http: HttpClient;
  readonly version: ApiVersion;
  readonly apiUrl: string;
  readonly pageSize: number;
  emit(event: CrucibleEvent): void;
}

/** The server's page cap (spec §15.3). */
export const PAGE_CAP = 1000;

/**
 * Maps the API's ways of saying "bad key" onto `AuthenticationError` (v1 answered 400 "no account found";
 * 401; 403 on `/account`), and nothing else.
 */
export function explain(error: unknown, path: string): unknown {
  if (
    BadRequestError.isInstance(error) &&
    /account|api[ _-]?key|credential|not authenticated/i.test(error.detail ?? '')
  ) {
    return new AuthenticationError(
      {
        status: error.status,
        method: error.method,
        url: error.url,
        service: 'crucible',
        detail: error.detail,
      },
      `Crucible did not accept the API key (${error.status}: ${error.detail}). Check CRUCIBLE_API_KEY, or get a key at the /auth/apikey page of your API URL`,
    );
  }
  if (
    AuthenticationError.isInstance(error) ||
    (path.startsWith('account') && (error as { status?: number })?.status === 403)
  ) {
    const e = error as AuthenticationError;
    return new AuthenticationError(
      { status: e.status, method: e.method, url: e.url, service: 'crucible', detail: e.detail },
      `Crucible did not accept the API key (${e.status}${e.detail ? `: ${e.detail}` : ''}). Check CRUCIBLE_API_KEY`,
    );
  }
  return error;
}

export async function call<S extends z.ZodType>(
  ctx: Context,
  path: string,
  schema: S,
  options: Omit<RequestOptions, 'signal'> & CallOptions = {},
): Promise<z.infer<S>> {
  try {
    return await ctx.http.json(path, schema, options);
  } catch (error) {
    throw explain(error, path);
  }
}

/** A record GET: `null` (v1, and some v2 routes) and 404 both mean "not found". */
export async function getRecord<S extends z.ZodType>(
  ctx: Context,
  path: string,
  schema: S,
  what: string,
  options: CallOptions & { query?: Query } = {},
): Promise<z.infer<S>> {
  const value = await call(ctx, path, schema.nullable(), options);
  if (value === null || value === undefined) {
    throw new NotFoundError(
      { status: 404, method: 'GET', url: ctx.http.url(path).href, service: 'crucible' },
      `No ${what} (the server answered null)`,
    );
  }
  return value as z.infer<S>;
}

function boundedLimit(ctx: Context, wanted: number | undefined): number {
  return Math.min(PAGE_CAP, ctx.pageSize, wanted ?? Number.POSITIVE_INFINITY);
}

/** A v2 keyset list (`items`, `next_cursor`), newest first. */
export function keysetList<S extends z.ZodType>(
  ctx: Context,
  path: string,
  item: S,
  query: Record<string, unknown>,
  options: ListOptions,
): PageIterable<z.infer<S>, { items: z.infer<S>[] }> {
  const schema = keysetPage(item);
  const limit = boundedLimit(ctx, options.limit);
  return paginate({
    fetchPage: async (cursor: string | undefined, { signal }) =>
      (await call(ctx, path, schema, {
        query: { ...clean(query), limit, ...(cursor ? { cursor } : {}) } as Query,
        signal,
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
  options: ListOptions,
): PageIterable<z.infer<S>, { items: z.infer<S>[] }> {
  const schema = offsetPage(item);
  const limit = boundedLimit(ctx, options.limit);
  return paginate({
    fetchPage: async (cursor: number | undefined, { signal }) =>
      (await call(ctx, path, schema, {
        query: { ...clean(query), limit, offset: cursor ?? 0 } as Query,
        signal,
      })) as { items: z.infer<S>[]; total?: number | null; offset?: number | null },
    items: (p) => p.items,
    nextCursor: (p, { itemsSoFar }) => {
      const total = (p as { total?: number | null }).total;
      if (p.items.length === 0) return null;
      if (typeof total === 'number') return itemsSoFar < total ? itemsSoFar : null;
      // No total (a bare array): another page only when this one was full.
      return p.items.length >= limit ? itemsSoFar : null;
    },
    ...(options.limit !== undefined ? { maxItems: options.limit } : {}),
    signal: options.signal,
    service: 'crucible',
    endpoint: `GET ${path}`,
  });
}

/**
 * A v1 list: a bare array, one request. `limit` is sent where the server honours it; a result exactly as long
 * as the limit may be cut short (v1 has no total), which is reported as a warning.
 */
export function arrayList<S extends z.ZodType>(
  ctx: Context,
  path: string | (() => Promise<string>),
  item: S,
  query: Record<string, unknown>,
  options: ListOptions & { sendLimit?: boolean },
): PageIterable<z.infer<S>, { items: z.infer<S>[] }> {
  const schema = z.array(item).nullable();
  const limit = options.limit ?? 100_000;
  return paginate({
    fetchPage: async (_cursor: undefined, { signal }) => {
      const where = typeof path === 'string' ? path : await path();
      const items = ((await call(ctx, where, schema, {
        query: { ...clean(query), ...(options.sendLimit === false ? {} : { limit }) } as Query,
        signal,
      })) ?? []) as z.infer<S>[];
      if (options.sendLimit !== false && items.length === limit && options.limit === undefined) {
        ctx.emit({
          type: 'warning',
          message: `GET ${where} returned exactly ${limit} items: the v1 list may be cut short`,
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

/** Drops undefined and null filter values; booleans become `true`/`false`. */
export function clean(query: Record<string, unknown>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else out[k] = String(v);
  }
  return out;
}

/** Drops undefined (and, unless asked, null) values from a request body. */
export function body(fields: Record<string, unknown>, keepNull = false): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || (v === null && !keepNull)) continue;
    out[k] = v;
  }
  return out;
}

/** A path segment from an id, refusing what would change the path. */
export function id(value: string | number, what: string): string {
  const text = String(value ?? '').trim();
  if (!text || /[/?#\s]/.test(text)) throw new UsageError(`Invalid ${what}: ${JSON.stringify(value)}`);
  return encodeURIComponent(text);
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
  options: ListOptions,
): PageIterable<z.infer<S>, { items: z.infer<S>[] }> {
  return ctx.version === 'v2'
    ? offsetList(ctx, path, item, query, options)
    : arrayList(ctx, path, item, query, { ...options, sendLimit: false });
}

/** Creates (`POST`, safe to repeat) or removes (`DELETE`) a link between two records. */
export async function setLink(
  ctx: Context,
  path: string,
  linked: boolean,
  options: CallOptions,
): Promise<void> {
  await call(
    ctx,
    path,
    z.unknown(),
    linked
      ? { method: 'POST', signal: options.signal, idempotent: true }
      : { method: 'DELETE', signal: options.signal },
  );
}
