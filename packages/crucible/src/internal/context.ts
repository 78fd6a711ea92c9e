import {
  AuthenticationError,
  BadRequestError,
  ConnectionError,
  type EventEmitter,
  type HttpClient,
  type HttpEvent,
  type HttpRequestOptions,
  NOT_SENT_FAILURES,
  NotFoundError,
  PermissionDeniedError,
  type Query,
  type RequestOptions,
  requestOptions,
  ServerError,
  sleep,
  TimeoutError,
  UsageError,
} from '@sciport/core';
import { z } from 'zod';
import { explainMissingVersion } from './api-url.js';
import { offsetOrArrayList } from './lists.js';

export type ApiVersion = 'v1' | 'v2';

/** What a Crucible client reports: its HTTP traffic, request statuses seen while waiting, and warnings. */
export type CrucibleEvent =
  | HttpEvent
  | { type: 'request-status'; id: number; status: string }
  | { type: 'warning'; message: string };

/** What every resource shares: the API client, the storage client, the API version, the emitter. */
export interface Context {
  readonly http: HttpClient;
  /** For signed storage URLs: no credentials, ever. */
  readonly storage: HttpClient;
  readonly version: ApiVersion;
  readonly baseUrl: string;
  readonly pageSize: number;
  /** Retries of a call after a transient failure (the client's `maxRetries`). */
  readonly maxRetries: number;
  readonly events: EventEmitter<CrucibleEvent>;
}

/** The server's page cap (spec §15.3). */
export const PAGE_CAP = 1000;

/** Server wording that means "this key is not valid" (v1: 400 "no account found"; FastAPI: "Not authenticated"). */
const BAD_KEY_WORDING =
  /\bno account\b|account not found|api[ _-]?key|credential|not authenticated|invalid (or expired )?(token|key)/i;

/**
 * Maps the API's ways of saying "bad key" onto `AuthenticationError`: 401; a 400 or 403 whose `detail` speaks
 * of the account or the key (v1 answered 400 "no account found"); any 403 on `/account`. A 403 of an
 * admin-only endpoint becomes a `PermissionDeniedError` that says so, with the server's reason.
 */
export function explain(error: unknown, path: string, adminOnly?: string): unknown {
  const badKey =
    (BadRequestError.isInstance(error) && error.status === 400 && BAD_KEY_WORDING.test(error.detail ?? '')) ||
    (PermissionDeniedError.isInstance(error) &&
      (path.startsWith('account') ||
        (BAD_KEY_WORDING.test(error.detail ?? '') && !/admin/i.test(error.detail ?? ''))));
  if (badKey || AuthenticationError.isInstance(error)) {
    const e = error as AuthenticationError;
    return new AuthenticationError(
      { status: e.status, method: e.method, url: e.url, service: 'crucible', detail: e.detail },
      `Crucible did not accept the API key (${e.status}${e.detail ? `: ${e.detail}` : ''}). Check CRUCIBLE_API_KEY, or get a key at the /auth/apikey page of your API URL`,
    );
  }
  if (adminOnly && PermissionDeniedError.isInstance(error)) {
    return new PermissionDeniedError(
      {
        status: error.status,
        method: error.method,
        url: error.url,
        service: 'crucible',
        detail: error.detail,
      },
      `${adminOnly} needs an admin API key: Crucible refused it (${error.status}${error.detail ? `: ${error.detail}` : ''})`,
    );
  }
  return error;
}

export type CallRequest = HttpRequestOptions & {
  /** What the call does, when the endpoint is admin-only: a 403 then says so. */
  adminOnly?: string;
};

/**
 * One API call, its answer parsed with `schema`. Writes that are not safe to repeat (POST and PATCH without
 * `idempotent`) are never retried after a failure that may have been applied; a 429 is the exception, since
 * the server refused the request without acting on it.
 */
export async function call<S extends z.ZodType>(
  ctx: Context,
  path: string,
  schema: S,
  options: CallRequest = {},
): Promise<z.infer<S>> {
  const { adminOnly, ...request } = options;
  const method = (request.method ?? 'GET').toUpperCase();
  const repeatable = request.idempotent === true || (method !== 'POST' && method !== 'PATCH');
  try {
    return await ctx.http.json(path, schema, repeatable ? request : { ...request, retryRateLimited: true });
  } catch (error) {
    throw explainMissingVersion(explain(repeatable ? error : unsure(error), path, adminOnly), ctx.baseUrl);
  }
}

const UNSURE_HINT = 'The server may have applied it: look (list or get) before sending it again';

/** A write that failed after it may have reached the server says so (it is not repeated). */
function unsure(error: unknown): unknown {
  if (TimeoutError.isInstance(error)) {
    return new TimeoutError(error.message, {
      ...(error.method ? { method: error.method } : {}),
      ...(error.url ? { url: error.url } : {}),
      ...(error.service ? { service: error.service } : {}),
      ...(error.timeoutMs !== undefined ? { timeoutMs: error.timeoutMs } : {}),
      cause: error,
      hint: UNSURE_HINT,
    });
  }
  if (ConnectionError.isInstance(error)) {
    // Never sent (a DNS lookup, a refused connection, a certificate): nothing can have been applied.
    if (error.failure !== undefined && NOT_SENT_FAILURES.has(error.failure)) return error;
    return new ConnectionError(error.message, {
      ...(error.method ? { method: error.method } : {}),
      ...(error.url ? { url: error.url } : {}),
      ...(error.service ? { service: error.service } : {}),
      ...(error.failure ? { failure: error.failure, host: error.host } : {}),
      cause: error,
      hint: UNSURE_HINT,
    });
  }
  if (ServerError.isInstance(error)) {
    return new ServerError({
      status: error.status,
      method: error.method,
      url: error.url,
      service: error.service,
      requestId: error.requestId,
      body: error.body,
      detail: error.detail,
      cause: error,
      hint: UNSURE_HINT,
    });
  }
  return error;
}

/** A record GET: `null` (v1, and some v2 routes) and 404 both mean "not found". */
export async function getRecord<S extends z.ZodType>(
  ctx: Context,
  path: string,
  schema: S,
  what: string,
  options: RequestOptions & { query?: Query; adminOnly?: string } = {},
): Promise<z.infer<S>> {
  const value = await call(ctx, path, schema.nullable(), {
    ...requestOptions(options),
    ...(options.query ? { query: options.query } : {}),
    ...(options.adminOnly ? { adminOnly: options.adminOnly } : {}),
  });
  if (value === null || value === undefined) {
    throw new NotFoundError(
      { status: 404, method: 'GET', url: ctx.http.url(path).href, service: 'crucible' },
      `No ${what} (the server answered null)`,
    );
  }
  return value as z.infer<S>;
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
 * A write that is not blindly repeated: when it fails in a way that may or may not have been applied (the
 * connection dropped, a 5xx), `applied` looks at the server's state; the write is sent again only when it
 * was not applied. A 429 is retried by `call` itself (the server did not act on it).
 */
export async function writeOnce<T>(
  ctx: Context,
  write: () => Promise<T>,
  applied: () => Promise<T | undefined>,
  options: RequestOptions,
): Promise<T> {
  const signal = options.signal;
  const maxRetries = Math.max(0, options.maxRetries ?? ctx.maxRetries);
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      const unsure = ConnectionError.isInstance(error) || (ServerError.isInstance(error) && error.retryable);
      if (!unsure || signal?.aborted || attempt >= maxRetries) throw error;
      let done: T | undefined;
      try {
        done = await applied();
      } catch {
        throw error;
      }
      if (done !== undefined) return done;
      await sleep(500 * 2 ** attempt, signal);
    }
  }
}

/**
 * Creates (`POST`) or removes (`DELETE`) a link `<parent path>/<relation>/<child>`. A POST whose outcome is
 * unknown is sent again only when the parent's listing of that relation does not show the child yet.
 */
export async function setLink(
  ctx: Context,
  path: string,
  linked: boolean,
  options: RequestOptions,
): Promise<void> {
  if (!linked) {
    await call(ctx, path, z.unknown(), { method: 'DELETE', ...requestOptions(options) });
    return;
  }
  const cut = path.lastIndexOf('/');
  const listing = path.slice(0, cut);
  const child = decodeURIComponent(path.slice(cut + 1));
  await writeOnce(
    ctx,
    async () => {
      await call(ctx, path, z.unknown(), { method: 'POST', ...requestOptions(options) });
      return true;
    },
    async () => {
      const items = offsetOrArrayList(
        ctx,
        listing,
        z.looseObject({ unique_id: z.string() }),
        {},
        requestOptions(options),
      );
      for await (const item of items) if (item.unique_id === child) return true;
      return undefined;
    },
    options,
  );
}
