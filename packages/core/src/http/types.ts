import type { z } from 'zod';
import type { RequestOptions } from '../options.js';
import type { BufferPool } from './buffer-pool.js';
import type { RawBody } from './raw-body.js';
import type { RetryOptions } from './retry.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

export type QueryScalar = string | number | boolean;
/** A query value: scalars are sent once, arrays repeat the key in order (`idnum=1&idnum=2`), nullish is left out. */
export type QueryValue = QueryScalar | null | undefined | readonly QueryScalar[];
export type Query =
  | Readonly<Record<string, QueryValue>>
  | URLSearchParams
  | ReadonlyArray<readonly [string, string]>;

/** A request body that can be sent again on retry. Streams cannot, and are never retried. */
export type RequestBody =
  | string
  | Uint8Array
  | ArrayBuffer
  | Blob
  | FormData
  | URLSearchParams
  | ReadableStream<Uint8Array>;

/** One HTTP request of a client: the per-call `RequestOptions` plus what the request is. */
export interface HttpRequestOptions extends RequestOptions {
  method?: HttpMethod;
  query?: Query;
  /** Extra headers for this request; `undefined` values remove a client default. */
  headers?: Readonly<Record<string, string | undefined>>;
  /** A JSON body (sets `Content-Type: application/json`). */
  json?: unknown;
  /** An `application/x-www-form-urlencoded` body. */
  form?: Readonly<Record<string, string>> | URLSearchParams;
  /** A raw body. A `ReadableStream` is sent with `duplex: 'half'` and is never retried. */
  body?: RequestBody;
  /** Mark a non-idempotent call (POST, PATCH) as safe to repeat. */
  idempotent?: boolean;
  /**
   * Retry a 429 even when the call is not safe to repeat (default false): the server refused it without acting
   * on it. Other failures of such a call are still not repeated.
   */
  retryRateLimited?: boolean;
  /**
   * Statuses retried for this call (default 408, 429, 500, 502, 503, 504). A service where 500 means "bad
   * input in this batch" passes the list without 500.
   */
  retryStatuses?: readonly number[];
  /** Send the client's credentials (default true; they only ever go to the client's own origin). */
  auth?: boolean;
  /** Statuses returned as responses instead of raised as errors (e.g. `[308]` for resumable uploads). */
  acceptStatus?: readonly number[] | ((status: number) => boolean);
  /** A label for errors and events; default `METHOD /path`. */
  endpoint?: string;
  /** Read a body of known length into a buffer from this pool (give it back with `response.release()`). */
  bufferPool?: BufferPool;
}

/** A response whose body has been read completely (within the attempt's timeout and retries). */
export interface HttpResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  /** The final URL, after redirects. Contains whatever the server put there: redact before logging. */
  readonly url: string;
  readonly bytes: Uint8Array;
  /** The body decoded as UTF-8 (invalid sequences replaced), decoded once. */
  text(): string;
  /** The body parsed as JSON; throws `ResponseValidationError` when it is not JSON. An empty body is `null`. */
  json(): unknown;
  /** Gives `bytes` back to the request's `bufferPool`, if it came from one. Do not use the bytes afterwards. */
  release(): void;
}

/** A response whose body is still a stream (downloads). Cancel it when not reading it to the end. */
export interface StreamResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly url: string;
  readonly body: ReadableStream<Uint8Array>;
  /**
   * The body without copies, when the transport offers it (`nodeDownloadFetch`): each piece is valid only
   * during the sink's call. Read the body through this or through `body`, not both.
   */
  readonly raw?: RawBody | undefined;
  cancel(reason?: unknown): Promise<void>;
}

export type HttpEvent =
  | { type: 'request'; method: string; url: string; attempt: number }
  | {
      type: 'response';
      method: string;
      url: string;
      status: number;
      attempt: number;
      durationMs: number;
      bytes?: number | undefined;
    }
  | {
      type: 'retry';
      method: string;
      url: string;
      /** The attempt about to be made (1 = first retry). */
      attempt: number;
      delayMs: number;
      reason: string;
      status?: number | undefined;
    }
  | { type: 'redirect'; method: string; from: string; to: string; crossOrigin: boolean }
  | { type: 'auth'; action: 'login' | 'logout' | 'relogin' | 'renew' | 'csrf'; ok: boolean; detail?: string }
  | { type: 'error'; method: string; url: string; error: string; attempt: number };

export type HttpEventListener = (event: HttpEvent) => void;

export interface AuthRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
}

export interface AuthContext {
  /** The same client without credentials, for login, logout and CSRF bootstrap calls. */
  readonly http: HttpClient;
  readonly signal?: AbortSignal | undefined;
  emit(event: HttpEvent): void;
}

export interface AuthResponseInfo {
  readonly status: number;
  readonly headers: Headers;
  readonly url: string;
  /** The body as text, when it was buffered. */
  readonly text?: string | undefined;
}

/**
 * How a client authenticates. A strategy is hooked into the request path: it adds credentials to requests
 * bound for the client's own origin (never to other hosts, never after a cross-origin redirect), it can
 * look at responses from that origin, and it may refresh its credentials once when the server rejects them.
 */
export interface AuthStrategy {
  readonly kind: string;
  /**
   * Adds credentials to `request`. Returns an opaque generation marker handed back to `refresh`, so that
   * concurrent requests that fail together trigger one refresh, not one each.
   */
  apply(request: AuthRequest, ctx: AuthContext): unknown | Promise<unknown>;
  /** Sees every response from the own origin (to capture cookies, for example). */
  observe?(response: AuthResponseInfo, ctx: AuthContext): void;
  /**
   * Called when the server rejected the credentials (401, or 403 for strategies that ask for it). Returns
   * true when the request should be sent once more with fresh credentials.
   */
  refresh?(response: AuthResponseInfo, generation: unknown, ctx: AuthContext): Promise<boolean>;
  /** Starts a session now (a login), if the strategy holds one; with `fresh`, a new one in place of the current. */
  authenticate?(ctx: AuthContext, fresh: boolean): Promise<void>;
  /** Ends the session, if any (logout). Never throws. */
  dispose?(ctx: AuthContext): Promise<void>;
}

/**
 * How a client's requests reach the network: `fetch` for API calls, `transferFetch` for bulk request bodies
 * (upload chunks), `downloadFetch` for downloads; each defaults to the one before it, then to the global `fetch`.
 * On Node, `nodeTransport()` from `@sciport/core/node` gives all three (the environment's proxy, undici for bulk
 * transfers); every client's Node entry point passes it.
 */
export interface Transport {
  fetch?: typeof globalThis.fetch | undefined;
  transferFetch?: typeof globalThis.fetch | undefined;
  downloadFetch?: typeof globalThis.fetch | undefined;
}

export interface HttpClientOptions {
  /** The service's base URL, path prefix included (`https://icsd.fiz-karlsruhe.de/ws`). */
  baseUrl: string;
  /** Short service name for errors and the user agent (`icsd`). */
  service: string;
  /**
   * Where users set the base URL (`ICSD_BASE_URL`): named in the hint of a failure to connect ("check the
   * network or ICSD_BASE_URL").
   */
  baseUrlSetting?: string | undefined;
  auth?: AuthStrategy | undefined;
  /** Headers sent with every request. */
  headers?: Readonly<Record<string, string>>;
  /** Milliseconds per attempt (default 60 s); `false` for none. */
  timeout?: number | false;
  /** Retries after the first attempt (default 2). */
  maxRetries?: number;
  retry?: RetryOptions;
  /** A `fetch` implementation (proxies, tests). Default: the global one. */
  fetch?: typeof globalThis.fetch | undefined;
  /**
   * The `fetch` for bulk request bodies: 64 KiB or more of bytes (upload chunks). Default: `fetch`. On Node,
   * `nodeTransferFetch` from `@sciport/core/node` sends them with `node:http`, which keeps memory flat where the
   * global fetch holds extra copies of each body until the collector runs (bench/crucible-transfer.mjs).
   */
  transferFetch?: typeof globalThis.fetch | undefined;
  /**
   * The `fetch` for `stream()` requests without a body (downloads). Default: `fetch`. On Node,
   * `nodeDownloadFetch` from `@sciport/core/node` reads the socket into one reused buffer and hands
   * `downloadToFile` the bytes without copies: curl's pace and flat memory, where the global fetch takes about
   * twice as long (bench/download-floor.mjs).
   */
  downloadFetch?: typeof globalThis.fetch | undefined;
  /** Replaces the default user agent (`<package>/<version> @sciport/core/<version> node/<version>`). */
  userAgent?: string;
  /** Name and version of the package making the calls, for the user agent. */
  client?: { name: string; version: string };
  /** Called for every request, response, retry, redirect and auth step. URLs in events are redacted. */
  onEvent?: HttpEventListener;
  /** Other origins that may receive credentials (rarely needed). */
  trustedOrigins?: readonly string[];
  /** What to do with a redirect to another origin: follow it without credentials (default) or fail. */
  crossOriginRedirects?: 'follow-without-credentials' | 'error';
  /** Largest buffered body in bytes (default 256 MiB); larger ones need `stream()`. */
  maxBodyBytes?: number;
}

export type ClientOverrides = Partial<
  Pick<
    HttpClientOptions,
    | 'headers'
    | 'timeout'
    | 'maxRetries'
    | 'retry'
    | 'fetch'
    | 'transferFetch'
    | 'downloadFetch'
    | 'onEvent'
    | 'crossOriginRedirects'
    | 'maxBodyBytes'
  >
> & { auth?: AuthStrategy | null };

export interface HttpClient {
  readonly baseUrl: string;
  readonly service: string;
  /** Resolves a path (relative to the base URL, keeping its path prefix) or an absolute URL. */
  url(path: string, query?: Query): URL;
  /** Sends a request and reads the whole body. Non-2xx statuses (unless accepted) throw an `ApiError`. */
  request(path: string, options?: HttpRequestOptions): Promise<HttpResponse>;
  /** Sends a request and parses the JSON body with `schema`. */
  json<S extends z.ZodType>(path: string, schema: S, options?: HttpRequestOptions): Promise<z.infer<S>>;
  /** Sends a request and returns the body unread, for streaming. */
  stream(path: string, options?: HttpRequestOptions): Promise<StreamResponse>;
  /** A client sharing this one's auth and settings, with some options replaced. */
  withOptions(overrides: ClientOverrides): HttpClient;
  /** Subscribes to events; returns the unsubscribe function. */
  onEvent(listener: HttpEventListener): () => void;
  /**
   * Authenticates now, where the auth strategy holds a session (a login): with `fresh`, ends the current session
   * and starts another (a per-session quota spent). Requests authenticate lazily anyway.
   */
  authenticate(options?: { signal?: AbortSignal | undefined; fresh?: boolean }): Promise<void>;
  /** Ends the auth session (logout), if any. The next request authenticates again. */
  dispose(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
