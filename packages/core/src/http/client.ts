import type { z } from 'zod';
import { abortError, sleep } from '../async.js';
import { type ApiError, ConnectionError, createApiError, SciportError } from '../errors.js';
import { checkTimeout } from '../options.js';
import { redactText, redactUrl } from '../redact.js';
import { parseResponse } from '../schema.js';
import { attempt as sendAttempt } from './attempt.js';
import { BufferedResponse, decoder, prepareBody } from './body.js';
import {
  type AttemptResult,
  type ClientContext,
  isAccepted,
  type ResolvedOptions,
  safeCall,
} from './context.js';
import { extractDetail, requestIdOf } from './error-body.js';
import {
  backoffDelay,
  IDEMPOTENT_METHODS,
  parseRetryAfter,
  RETRYABLE_STATUSES,
  resolveRetryOptions,
} from './retry.js';
import type {
  AuthContext,
  AuthResponseInfo,
  ClientOverrides,
  HttpClient,
  HttpClientOptions,
  HttpEvent,
  HttpEventListener,
  HttpRequestOptions,
  HttpResponse,
  Query,
  StreamResponse,
} from './types.js';

declare const __SCIPORT_CORE_VERSION__: string | undefined;

/** The version of this package, injected at build time. */
export const CORE_VERSION: string =
  typeof __SCIPORT_CORE_VERSION__ === 'string' ? __SCIPORT_CORE_VERSION__ : '0.0.0-dev';

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_RETRIES = 2;
const DEFAULT_MAX_BODY = 256 * 1024 * 1024;

/**
 * Creates the HTTP client every sciport service client is built on.
 *
 * It runs over ky (request construction and the `fetch` call) but keeps its own retry loop rather than ky's:
 * a retry must also cover reading the body (a body cut short is retried like a reset connection), the delay
 * must be announced before the wait (so a CLI can say "rate limited, waiting 30 s"), idempotency is decided
 * per call, and a `Retry-After` longer than the cap must surface as an error instead of a silent long wait.
 * Redirects are followed by hand so that credentials never follow a redirect to another origin.
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const base = normaliseBase(options.baseUrl);
  const origin = new URL(base).origin;
  const trusted = new Set<string>([origin]);
  for (const o of options.trustedOrigins ?? []) trusted.add(new URL(o).origin);
  const runtime =
    typeof process !== 'undefined' && process.versions?.node ? ` node/${process.versions.node}` : '';
  const clientPart = options.client ? `${options.client.name}/${options.client.version} ` : '';
  const resolved: ResolvedOptions = {
    baseUrl: base,
    service: options.service,
    baseUrlSetting: options.baseUrlSetting,
    auth: options.auth,
    headers: { ...options.headers },
    timeout: checkTimeout(options.timeout) ?? DEFAULT_TIMEOUT_MS,
    maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
    retry: resolveRetryOptions(options.retry),
    fetch: options.fetch,
    transferFetch: options.transferFetch,
    downloadFetch: options.downloadFetch,
    userAgent: options.userAgent ?? `${clientPart}@sciport/core/${CORE_VERSION}${runtime}`,
    trustedOrigins: trusted,
    crossOriginRedirects: options.crossOriginRedirects ?? 'follow-without-credentials',
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY,
  };
  const listeners = new Set<HttpEventListener>();
  if (options.onEvent) listeners.add(options.onEvent);
  return new Client(resolved, listeners);
}

function normaliseBase(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new SciportError(
      `Invalid base URL ${JSON.stringify(redactText(baseUrl))}: expected http(s)://host/path`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SciportError(`Invalid base URL ${redactUrl(url)}: only http and https are supported`);
  }
  url.hash = '';
  return url.toString().replace(/\/+$/, '');
}

/** Appends a query to a URL: arrays repeat the key in order, nullish values are left out. */
export function appendQuery(url: URL, query: Query | undefined): URL {
  if (!query) return url;
  // Built apart and assigned once: appending to `url.searchParams` re-serialises the whole query each time,
  // which is quadratic for the hundreds of repeated keys of a batch request.
  const params = new URLSearchParams(url.search);
  if (query instanceof URLSearchParams) {
    for (const [k, v] of query) params.append(k, v);
  } else if (Array.isArray(query)) {
    for (const [k, v] of query as ReadonlyArray<readonly [string, string]>) params.append(k, v);
  } else {
    for (const [k, v] of Object.entries(query as Record<string, unknown>)) {
      if (v === undefined || v === null) continue;
      if (Array.isArray(v)) for (const item of v) params.append(k, String(item));
      else params.append(k, String(v));
    }
  }
  const search = params.toString();
  url.search = search === '' ? '' : `?${search}`;
  return url;
}

class Client implements HttpClient, ClientContext {
  private authless: Client | undefined;

  constructor(
    private readonly o: ResolvedOptions,
    private readonly listeners: Set<HttpEventListener>,
  ) {}

  get settings(): ResolvedOptions {
    return this.o;
  }

  get baseUrl(): string {
    return this.o.baseUrl;
  }

  get service(): string {
    return this.o.service;
  }

  url(path: string, query?: Query): URL {
    let url: URL;
    if (/^[a-z][a-z0-9+.-]*:/i.test(path)) {
      url = new URL(path);
    } else {
      url = new URL(`${this.o.baseUrl}/${path.replace(/^\/+/, '')}`);
    }
    return appendQuery(url, query);
  }

  onEvent(listener: HttpEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  withOptions(overrides: ClientOverrides): HttpClient {
    return this.derive(overrides);
  }

  private derive(overrides: ClientOverrides): Client {
    const next: ResolvedOptions = {
      ...this.o,
      ...(overrides.headers ? { headers: { ...this.o.headers, ...overrides.headers } } : {}),
      ...(overrides.timeout !== undefined ? { timeout: checkTimeout(overrides.timeout) } : {}),
      ...(overrides.maxRetries !== undefined ? { maxRetries: overrides.maxRetries } : {}),
      ...(overrides.retry ? { retry: resolveRetryOptions({ ...this.o.retry, ...overrides.retry }) } : {}),
      // A fetch given here also carries bulk transfers and downloads, unless their own fetch is given too.
      ...(overrides.fetch
        ? {
            fetch: overrides.fetch,
            transferFetch: overrides.transferFetch,
            downloadFetch: overrides.downloadFetch,
          }
        : {}),
      ...(overrides.transferFetch ? { transferFetch: overrides.transferFetch } : {}),
      ...(overrides.downloadFetch ? { downloadFetch: overrides.downloadFetch } : {}),
      ...(overrides.crossOriginRedirects ? { crossOriginRedirects: overrides.crossOriginRedirects } : {}),
      ...(overrides.maxBodyBytes !== undefined ? { maxBodyBytes: overrides.maxBodyBytes } : {}),
      ...(overrides.auth !== undefined ? { auth: overrides.auth ?? undefined } : {}),
    };
    let listeners = this.listeners;
    if (overrides.onEvent) {
      // The child sees the parent's listeners (shared set) and its own.
      const own = overrides.onEvent;
      const parent = this.listeners;
      listeners = new Set([own]);
      listeners.add((e) => {
        for (const l of parent) safeCall(l, e);
      });
    }
    return new Client(next, listeners);
  }

  async dispose(): Promise<void> {
    await this.o.auth?.dispose?.(this.authContext(undefined));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  async request(path: string, options: HttpRequestOptions = {}): Promise<HttpResponse> {
    const result = await this.execute(path, options, 'buffer');
    return result as HttpResponse;
  }

  async stream(path: string, options: HttpRequestOptions = {}): Promise<StreamResponse> {
    const result = await this.execute(path, options, 'stream');
    return result as StreamResponse;
  }

  async json<S extends z.ZodType>(
    path: string,
    schema: S,
    options: HttpRequestOptions = {},
  ): Promise<z.infer<S>> {
    const headers = { accept: 'application/json', ...options.headers };
    const response = await this.request(path, { ...options, headers });
    const method = (options.method ?? 'GET').toUpperCase();
    const endpoint = options.endpoint ?? `${method} ${new URL(response.url || this.url(path).href).pathname}`;
    return parseResponse(schema, response.json(), {
      service: this.o.service,
      endpoint,
      body: response.text(),
    });
  }

  emit(event: HttpEvent): void {
    for (const listener of this.listeners) safeCall(listener, event);
  }

  async authenticate(options: { signal?: AbortSignal | undefined; fresh?: boolean } = {}): Promise<void> {
    await this.o.auth?.authenticate?.(this.authContext(options.signal), options.fresh === true);
  }

  /** The context the auth strategy runs in (a client without credentials, the signal, the event sink). */
  authContext(signal?: AbortSignal): AuthContext {
    if (!this.authless) this.authless = this.derive({ auth: null });
    return { http: this.authless, signal, emit: (e) => this.emit(e) };
  }

  isTrusted(url: URL): boolean {
    return this.o.trustedOrigins.has(url.origin);
  }

  private async execute(
    path: string,
    options: HttpRequestOptions,
    mode: 'buffer' | 'stream',
  ): Promise<HttpResponse | StreamResponse> {
    const method = (options.method ?? 'GET').toUpperCase();
    checkTimeout(options.timeout);
    const url = this.url(path, options.query);
    const endpoint = options.endpoint ?? `${method} ${url.pathname}`;
    const maxRetries = Math.max(0, options.maxRetries ?? this.o.maxRetries);
    const body = prepareBody(options);
    const canRetry = (IDEMPOTENT_METHODS.has(method) || options.idempotent === true) && body.replayable;
    const signal = options.signal;
    const auth = options.auth === false ? undefined : this.o.auth;
    let attempt = 0;
    let refreshed = false;

    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      let result: AttemptResult;
      try {
        result = await sendAttempt(this, { method, url, options, body, mode, attempt, auth, endpoint });
      } catch (error) {
        const err = error as SciportError;
        if (ConnectionError.isInstance(err) && err.retryable && canRetry && attempt < maxRetries) {
          const delayMs = backoffDelay(attempt, this.o.retry);
          attempt += 1;
          this.emit({
            type: 'retry',
            method,
            url: redactUrl(url),
            attempt,
            delayMs,
            reason: err.message,
          });
          await this.wait(delayMs, signal);
          continue;
        }
        throw err;
      }

      const { status, headers } = result;
      if (
        auth?.refresh &&
        result.authApplied &&
        !refreshed &&
        (status === 401 || status === 403) &&
        body.replayable &&
        !isAccepted(status, options)
      ) {
        refreshed = true;
        const info: AuthResponseInfo = {
          status,
          headers,
          url: result.url,
          text: result.bytes ? decoder.decode(result.bytes) : undefined,
        };
        if (await auth.refresh(info, result.generation, this.authContext(signal))) {
          await result.stream?.cancel();
          continue;
        }
      }

      if ((status >= 200 && status < 300) || isAccepted(status, options)) {
        if (result.stream) return result.stream;
        return new BufferedResponse(
          status,
          result.statusText,
          headers,
          result.url,
          result.bytes ?? new Uint8Array(),
          { service: this.o.service, endpoint },
          options.bufferPool,
        );
      }

      const retryStatuses = options.retryStatuses ?? RETRYABLE_STATUSES;
      const retryable = Array.isArray(retryStatuses)
        ? retryStatuses.includes(status)
        : (retryStatuses as ReadonlySet<number>).has(status);
      const repeatable = canRetry || (status === 429 && options.retryRateLimited === true && body.replayable);
      if (retryable && repeatable && attempt < maxRetries) {
        const retryAfter = parseRetryAfter(headers);
        if (retryAfter === undefined || retryAfter <= this.o.retry.maxRetryAfterMs) {
          const delayMs = retryAfter ?? backoffDelay(attempt, this.o.retry);
          attempt += 1;
          this.emit({
            type: 'retry',
            method,
            url: redactUrl(url),
            attempt,
            delayMs,
            reason: `${status}${result.statusText ? ` ${result.statusText}` : ''}`,
            status,
          });
          await this.wait(delayMs, signal);
          continue;
        }
      }
      throw this.toApiError(result, method, url);
    }
  }

  private wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return sleep(ms, signal);
  }

  private toApiError(result: AttemptResult, method: string, url: URL): ApiError {
    const text = result.bytes ? decoder.decode(result.bytes) : undefined;
    return createApiError({
      status: result.status,
      statusText: result.statusText,
      method,
      url: result.url || url.href,
      service: this.o.service,
      requestId: requestIdOf(result.headers),
      body: text,
      detail: text === undefined ? undefined : extractDetail(text, result.headers.get('content-type')),
      retryAfterMs: parseRetryAfter(result.headers),
    });
  }
}
