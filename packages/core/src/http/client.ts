import ky, { type Options as KyOptions } from 'ky';
import type { z } from 'zod';
import { abortError, sleep } from '../async.js';
import {
  type ApiError,
  ConnectionError,
  createApiError,
  ResponseValidationError,
  SciportError,
  TimeoutError,
} from '../errors.js';
import { isSecretName, redactText, redactUrl } from '../redact.js';
import { parseResponse } from '../schema.js';
import type { BufferPool } from './buffer-pool.js';
import { type RawBody, rawBodyOf } from './raw-body.js';
import {
  backoffDelay,
  IDEMPOTENT_METHODS,
  parseRetryAfter,
  RETRYABLE_STATUSES,
  type ResolvedRetryOptions,
  resolveRetryOptions,
} from './retry.js';
import type {
  AuthContext,
  AuthResponseInfo,
  AuthStrategy,
  ClientOverrides,
  HttpClient,
  HttpClientOptions,
  HttpEvent,
  HttpEventListener,
  HttpRequestOptions,
  HttpResponse,
  Query,
  RequestBody,
  StreamResponse,
} from './types.js';

declare const __SCIPORT_CORE_VERSION__: string | undefined;

/** The version of this package, injected at build time. */
export const CORE_VERSION: string =
  typeof __SCIPORT_CORE_VERSION__ === 'string' ? __SCIPORT_CORE_VERSION__ : '0.0.0-dev';

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_RETRIES = 2;
const DEFAULT_MAX_BODY = 256 * 1024 * 1024;
const MAX_REDIRECTS = 10;
const ERROR_BODY_LIMIT = 64 * 1024;

interface ResolvedOptions {
  baseUrl: string;
  service: string;
  auth: AuthStrategy | undefined;
  headers: Readonly<Record<string, string>>;
  timeout: number | false;
  maxRetries: number;
  retry: ResolvedRetryOptions;
  fetch: typeof globalThis.fetch | undefined;
  transferFetch: typeof globalThis.fetch | undefined;
  downloadFetch: typeof globalThis.fetch | undefined;
  userAgent: string;
  trustedOrigins: ReadonlySet<string>;
  crossOriginRedirects: 'follow-without-credentials' | 'error';
  maxBodyBytes: number;
}

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
    auth: options.auth,
    headers: { ...options.headers },
    timeout: options.timeout ?? DEFAULT_TIMEOUT_MS,
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

interface PreparedBody {
  body: RequestBody | undefined;
  contentType: string | undefined;
  replayable: boolean;
}

function prepareBody(options: HttpRequestOptions): PreparedBody {
  if (options.json !== undefined) {
    return { body: JSON.stringify(options.json), contentType: 'application/json', replayable: true };
  }
  if (options.form !== undefined) {
    const params =
      options.form instanceof URLSearchParams ? options.form : new URLSearchParams({ ...options.form });
    return { body: params.toString(), contentType: 'application/x-www-form-urlencoded', replayable: true };
  }
  if (options.body === undefined) return { body: undefined, contentType: undefined, replayable: true };
  const replayable = !(typeof ReadableStream !== 'undefined' && options.body instanceof ReadableStream);
  return { body: options.body, contentType: undefined, replayable };
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

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

interface AttemptResult {
  status: number;
  statusText: string;
  headers: Headers;
  url: string;
  /** Buffered body (always for errors and buffer mode). */
  bytes?: Uint8Array;
  stream?: StreamResponse;
  generation: unknown;
  authApplied: boolean;
}

const decoder = new TextDecoder('utf-8');

class BufferedResponse implements HttpResponse {
  private decoded: string | undefined;
  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly headers: Headers,
    readonly url: string,
    readonly bytes: Uint8Array,
    private readonly context: { service: string; endpoint: string },
    private readonly pool: BufferPool | undefined,
  ) {}

  release(): void {
    this.pool?.release(this.bytes);
  }

  text(): string {
    if (this.decoded === undefined) this.decoded = decoder.decode(this.bytes);
    return this.decoded;
  }

  json(): unknown {
    const text = this.text();
    if (text.trim() === '') return null;
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new ResponseValidationError({
        service: this.context.service,
        endpoint: this.context.endpoint,
        issues: [{ path: '', message: `the body is not JSON (${(error as Error).message})` }],
        body: text,
      });
    }
  }
}

class Client implements HttpClient {
  private authless: Client | undefined;

  constructor(
    private readonly o: ResolvedOptions,
    private readonly listeners: Set<HttpEventListener>,
  ) {}

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
      ...(overrides.timeout !== undefined ? { timeout: overrides.timeout } : {}),
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

  private emit(event: HttpEvent): void {
    for (const listener of this.listeners) safeCall(listener, event);
  }

  async authenticate(options: { signal?: AbortSignal | undefined; fresh?: boolean } = {}): Promise<void> {
    await this.o.auth?.authenticate?.(this.authContext(options.signal), options.fresh === true);
  }

  /** The context the auth strategy runs in (a client without credentials, the signal, the event sink). */
  private authContext(signal?: AbortSignal): AuthContext {
    if (!this.authless) this.authless = this.derive({ auth: null });
    return { http: this.authless, signal, emit: (e) => this.emit(e) };
  }

  private isTrusted(url: URL): boolean {
    return this.o.trustedOrigins.has(url.origin);
  }

  private async execute(
    path: string,
    options: HttpRequestOptions,
    mode: 'buffer' | 'stream',
  ): Promise<HttpResponse | StreamResponse> {
    const method = (options.method ?? 'GET').toUpperCase();
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
        result = await this.attempt({ method, url, options, body, mode, attempt, auth, endpoint });
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

  private buildHeaders(
    options: HttpRequestOptions,
    contentType: string | undefined,
    target: URL,
    requestHeadersAllowed: boolean,
  ): Headers {
    const headers = new Headers();
    const trusted = this.isTrusted(target);
    for (const [k, v] of Object.entries(this.o.headers)) {
      // Secret-looking client defaults go only to the own origin.
      if (!trusted && isSecretName(k)) continue;
      headers.set(k, v);
    }
    headers.set('user-agent', this.o.userAgent);
    if (contentType) headers.set('content-type', contentType);
    for (const [k, v] of Object.entries(options.headers ?? {})) {
      if (v === undefined) {
        headers.delete(k);
        continue;
      }
      // After a redirect to another origin, the caller's secret headers stay behind.
      if (!requestHeadersAllowed && isSecretName(k)) continue;
      headers.set(k, v);
    }
    return headers;
  }

  private async attempt(args: {
    method: string;
    url: URL;
    options: HttpRequestOptions;
    body: PreparedBody;
    mode: 'buffer' | 'stream';
    attempt: number;
    auth: AuthStrategy | undefined;
    endpoint: string;
  }): Promise<AttemptResult> {
    const { options, mode, attempt, auth } = args;
    const userSignal = options.signal;
    const controller = new AbortController();
    const onUserAbort = () => controller.abort(userSignal?.reason);
    userSignal?.addEventListener('abort', onUserAbort, { once: true });
    const timeoutMs = options.timeout ?? this.o.timeout;
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const armTimer = () => {
      if (timeoutMs === false || timedOut) return;
      // Re-armed for every piece of a streamed body: refreshing the timer (Node) costs far less than a new one.
      if (timer !== undefined && typeof timer === 'object' && 'refresh' in timer) {
        timer.refresh();
        return;
      }
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new TimeoutMarker());
      }, timeoutMs);
    };
    let cleaned = false;
    const cleanup = () => {
      if (cleaned) return;
      cleaned = true;
      clearTimeout(timer);
      userSignal?.removeEventListener('abort', onUserAbort);
    };
    armTimer();

    let method = args.method;
    let url = args.url;
    let body = args.body;
    let leftOrigin = false;
    let handedOff = false;
    const started = Date.now();

    try {
      for (let hop = 0; ; hop++) {
        const trusted = this.isTrusted(url);
        const useAuth = auth !== undefined && trusted;
        const headers = this.buildHeaders(options, body.contentType, url, !leftOrigin);
        let generation: unknown;
        let authApplied = false;
        const ctx = this.authContext(userSignal);
        if (useAuth) {
          generation = await auth.apply({ method, url, headers }, ctx);
          authApplied = true;
        }
        this.emit({ type: 'request', method, url: redactUrl(url), attempt });
        const kyOptions: KyOptions & { duplex?: 'half' } = {
          method,
          headers,
          signal: controller.signal,
          retry: 0,
          timeout: false,
          throwHttpErrors: false,
          redirect: 'manual',
          ...(this.o.fetch ? { fetch: this.o.fetch } : {}),
        };
        const bulkBody = body.body !== undefined && isLargeBinary(body.body) ? body.body : undefined;
        if (bulkBody !== undefined) {
          // A byte body of 64 KiB or more (an upload chunk): ky clones every request to prepare its own
          // retries, and for a byte body that tee copies the whole body once more per attempt. The bytes go to
          // the transfer fetch (`nodeTransferFetch` on Node) or the fetch directly; ky still builds the request
          // (method, headers, signal) and hands over the response.
          kyOptions.fetch = forwardTo(
            this.o.transferFetch ?? this.o.fetch ?? ((input, init) => globalThis.fetch(input, init)),
            { body: bulkBody as BodyInit },
          );
        } else if (body.body !== undefined) {
          kyOptions.body = body.body as NonNullable<KyOptions['body']>;
          if (!body.replayable) kyOptions.duplex = 'half';
        } else if (mode === 'stream' && this.o.downloadFetch) {
          // A download: the download fetch reads it without copies. It gets this attempt's own signal, which
          // every abort and timeout reaches (see below).
          kyOptions.fetch = forwardTo(this.o.downloadFetch, { signal: controller.signal });
        }
        // ky hands fetch a signal combined with its own (AbortSignal.any); on Node 20 such a combined signal can
        // be collected while the request is pending, and then an abort (timeout, Ctrl-C) never reaches fetch.
        // Our own signal ends the wait regardless.
        const response = await untilAborted(ky(url.href, kyOptions), controller.signal);
        const responseUrl = response.url || url.href;
        const info: AuthResponseInfo = {
          status: response.status,
          headers: response.headers,
          url: responseUrl,
        };
        if (useAuth) auth.observe?.(info, ctx);

        const location = response.headers.get('location');
        if (
          REDIRECT_STATUSES.has(response.status) &&
          location !== null &&
          !isAccepted(response.status, options)
        ) {
          await response.body?.cancel().catch(() => undefined);
          if (hop >= MAX_REDIRECTS) {
            throw new ConnectionError(`${this.o.service}: too many redirects (more than ${MAX_REDIRECTS})`, {
              method,
              url,
              service: this.o.service,
              retryable: false,
            });
          }
          const next = new URL(location, url);
          const crossOrigin = next.origin !== url.origin;
          const refuse = (why: string) =>
            createApiError(
              {
                status: response.status,
                statusText: response.statusText,
                method,
                url,
                service: this.o.service,
                retryable: false,
              },
              `${this.o.service}: ${method} ${url.pathname} was redirected to another host (${next.host})${why}`,
            );
          if (!this.isTrusted(next)) {
            if (this.o.crossOriginRedirects === 'error') {
              throw refuse(
                '; credentials are never sent there. If this is a login page, the session needs renewal',
              );
            }
            leftOrigin = true;
          }
          this.emit({ type: 'redirect', method, from: redactUrl(url), to: redactUrl(next), crossOrigin });
          if (
            response.status === 303 ||
            ((response.status === 301 || response.status === 302) && method === 'POST')
          ) {
            if (method !== 'HEAD') method = 'GET';
            body = { body: undefined, contentType: undefined, replayable: true };
          } else if (!body.replayable) {
            throw new ConnectionError(
              `${this.o.service}: ${method} ${url.pathname} was redirected, and a streamed body cannot be sent again`,
              { method, url, service: this.o.service, retryable: false },
            );
          } else if (body.body !== undefined && this.isTrusted(url) && !this.isTrusted(next)) {
            // A body meant for the service (a login form, a record) is never sent on to another host.
            throw refuse(' with its request body, which is never sent there');
          }
          url = next;
          continue;
        }

        const ok = response.status >= 200 && response.status < 300;
        if (mode === 'stream' && (ok || isAccepted(response.status, options)) && response.body) {
          const stream = this.wrapStream(response, {
            controller,
            cleanup,
            rearm: timeoutMs === false ? undefined : armTimer,
            isTimedOut: () => timedOut,
            userSignal,
            method,
            url,
            timeoutMs,
          });
          handedOff = true;
          this.emit({
            type: 'response',
            method,
            url: redactUrl(responseUrl),
            status: response.status,
            attempt,
            durationMs: Date.now() - started,
          });
          return {
            status: response.status,
            statusText: response.statusText,
            headers: response.headers,
            url: responseUrl,
            stream,
            generation,
            authApplied,
          };
        }

        const wanted = ok || isAccepted(response.status, options);
        const limit = wanted ? this.o.maxBodyBytes : ERROR_BODY_LIMIT;
        const bytes =
          method === 'HEAD'
            ? new Uint8Array()
            : await readAll(
                response,
                limit,
                { method, url, service: this.o.service },
                wanted ? options.bufferPool : undefined,
              );
        this.emit({
          type: 'response',
          method,
          url: redactUrl(responseUrl),
          status: response.status,
          attempt,
          durationMs: Date.now() - started,
          bytes: bytes.byteLength,
        });
        return {
          status: response.status,
          statusText: response.statusText,
          headers: response.headers,
          url: responseUrl,
          bytes,
          generation,
          authApplied,
        };
      }
    } catch (error) {
      const mapped = this.mapError(error, {
        timedOut,
        userSignal,
        method,
        url,
        timeoutMs,
      });
      this.emit({ type: 'error', method, url: redactUrl(url), error: mapped.message, attempt });
      throw mapped;
    } finally {
      if (!handedOff) cleanup();
    }
  }

  /**
   * The body of a streamed response, with the attempt's timeout turned into an idle timeout (re-armed whenever
   * data arrives) and aborts ending it directly: they must not depend on fetch seeing the signal (see
   * `untilAborted`), and a read an abort ends reports the abort, never a clean end of body. When the transport
   * hands the body over without copies (`nodeDownloadFetch`), `raw` pipes it with the same timeout, abort and
   * error mapping; the web stream stays available (and untouched until read) for callers that want it.
   */
  private wrapStream(
    response: Response,
    ctx: {
      controller: AbortController;
      cleanup: () => void;
      rearm: (() => void) | undefined;
      isTimedOut: () => boolean;
      userSignal: AbortSignal | undefined;
      method: string;
      url: URL;
      timeoutMs: number | false;
    },
  ): StreamResponse {
    const inner = response.body as ReadableStream<Uint8Array>;
    const raw = rawBodyOf(response);
    const signal = ctx.controller.signal;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    let piped = false;
    const onAbort = () => {
      // A raw pipe sees the signal itself.
      if (!piped) (reader ?? inner).cancel(signal.reason).catch(() => undefined);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const finish = () => {
      signal.removeEventListener('abort', onAbort);
      ctx.cleanup();
    };
    const mapError = (error: unknown) =>
      this.mapError(error, {
        timedOut: ctx.isTimedOut(),
        userSignal: ctx.userSignal,
        method: ctx.method,
        url: ctx.url,
        timeoutMs: ctx.timeoutMs,
        whileReading: true,
      });
    ctx.rearm?.();
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          try {
            if (signal.aborted) throw signal.reason;
            if (piped) throw new SciportError('the response body is already being read');
            reader ??= inner.getReader();
            const { done, value } = await reader.read();
            if (signal.aborted) throw signal.reason;
            if (done) {
              finish();
              controller.close();
              return;
            }
            ctx.rearm?.();
            controller.enqueue(value);
          } catch (error) {
            finish();
            controller.error(mapError(error));
          }
        },
        async cancel(reason) {
          finish();
          if (piped) ctx.controller.abort(reason);
          else await (reader ?? inner).cancel(reason).catch(() => undefined);
        },
      },
      { highWaterMark: 0 },
    );
    const pipe: RawBody['pipe'] = async (sink, options = {}) => {
      if (piped || reader || !raw) throw new SciportError('the response body is already being read');
      piped = true;
      const outer = options.signal;
      const stop = () => ctx.controller.abort(outer?.reason);
      if (outer?.aborted) stop();
      else outer?.addEventListener('abort', stop, { once: true });
      // The sink's own failure (a full disk) is the caller's error, not the connection's.
      let sinkError: { error: unknown } | undefined;
      try {
        if (signal.aborted) throw signal.reason;
        await raw.pipe(
          (chunk) => {
            ctx.rearm?.();
            try {
              sink(chunk);
            } catch (error) {
              sinkError = { error };
              throw error;
            }
          },
          { signal },
        );
        if (signal.aborted) throw signal.reason;
      } catch (error) {
        if (sinkError) throw sinkError.error;
        throw mapError(error);
      } finally {
        outer?.removeEventListener('abort', stop);
        finish();
      }
    };
    return {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
      url: response.url || ctx.url.href,
      body,
      ...(raw ? { raw: { pipe, ...(raw.stable ? { stable: true } : {}) } } : {}),
      cancel: async (reason?: unknown) => {
        await body.cancel(reason).catch(() => undefined);
      },
    };
  }

  private mapError(
    error: unknown,
    ctx: {
      timedOut: boolean;
      userSignal: AbortSignal | undefined;
      method: string;
      url: URL;
      timeoutMs: number | false;
      whileReading?: boolean;
    },
  ): SciportError {
    if (ctx.userSignal?.aborted) return abortError(ctx.userSignal);
    if (ctx.timedOut) {
      return new TimeoutError(
        `${this.o.service}: ${ctx.method} ${ctx.url.pathname} timed out after ${ctx.timeoutMs} ms` +
          (ctx.whileReading ? ' without receiving data' : ''),
        {
          method: ctx.method,
          url: ctx.url,
          service: this.o.service,
          ...(ctx.timeoutMs === false ? {} : { timeoutMs: ctx.timeoutMs }),
          cause: error,
        },
      );
    }
    if (SciportError.isInstance(error)) return error;
    const detail = describeNetworkError(error);
    const reading = ctx.whileReading === true || error instanceof BodyReadError;
    const what = reading ? 'the response body was cut short' : 'the connection failed';
    return new ConnectionError(
      `${this.o.service}: ${ctx.method} ${ctx.url.pathname}: ${what}${detail ? ` (${detail})` : ''}`,
      { method: ctx.method, url: ctx.url, service: this.o.service, cause: error },
    );
  }
}

/**
 * A `fetch` for ky that hands the request ky built (method, headers, signal, redirect mode) to `target`, with
 * `extra` on top: the bytes of a bulk body (which ky would copy), or the attempt's own signal.
 */
function forwardTo(target: typeof globalThis.fetch, extra: RequestInit): typeof globalThis.fetch {
  return (input, init) => {
    const request = input as Request;
    return target(request.url, {
      ...init,
      method: request.method,
      headers: request.headers,
      signal: request.signal,
      redirect: request.redirect,
      ...extra,
    });
  };
}

class TimeoutMarker extends Error {
  constructor() {
    super('timeout');
    this.name = 'TimeoutMarker';
  }
}

function safeCall(listener: HttpEventListener, event: HttpEvent): void {
  try {
    listener(event);
  } catch {
    // A listener's failure must never break a request.
  }
}

function isAccepted(status: number, options: HttpRequestOptions): boolean {
  const accept = options.acceptStatus;
  if (!accept) return false;
  return typeof accept === 'function' ? accept(status) : accept.includes(status);
}

async function readAll(
  response: Response,
  limit: number,
  ctx: { method: string; url: URL; service: string },
  pool?: BufferPool,
): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array();
  const length = response.headers.get('content-length');
  const declared =
    length !== null && /^\d+$/.test(length) && !response.headers.get('content-encoding')
      ? Number(length)
      : undefined;
  const reader = response.body.getReader();
  // With a declared length, one buffer is filled as chunks arrive (no list of chunks, no second copy).
  let out: Uint8Array | undefined =
    declared !== undefined && declared <= limit
      ? (pool?.acquire(declared) ?? new Uint8Array(declared))
      : undefined;
  const chunks: Uint8Array[] = [];
  let total = 0;
  let truncated = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (total + value.byteLength > limit) {
        if (limit !== ERROR_BODY_LIMIT) {
          await reader.cancel().catch(() => undefined);
          throw new SciportError(
            `${ctx.service}: ${ctx.method} ${ctx.url.pathname}: the response is larger than ${limit} bytes; ` +
              'stream it instead',
          );
        }
        chunks.push(value.subarray(0, limit - total));
        total = limit;
        truncated = true;
        out = undefined;
        await reader.cancel().catch(() => undefined);
        break;
      }
      if (out && total + value.byteLength <= out.byteLength) out.set(value, total);
      else {
        if (out) chunks.push(out.subarray(0, total));
        out = undefined;
        chunks.push(value);
      }
      total += value.byteLength;
    }
  } catch (error) {
    if (out) pool?.release(out);
    if (SciportError.isInstance(error)) throw error;
    // Reported by mapError as a cut-short body.
    throw new BodyReadError(error);
  }
  if (!truncated && declared !== undefined && declared !== total) {
    if (out) pool?.release(out);
    throw new ConnectionError(
      `${ctx.service}: ${ctx.method} ${ctx.url.pathname}: the response body was cut short ` +
        `(${total} of ${declared} bytes)`,
      { method: ctx.method, url: ctx.url, service: ctx.service },
    );
  }
  if (out) return out;
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    joined.set(c, offset);
    offset += c.byteLength;
  }
  return joined;
}

class BodyReadError extends Error {
  constructor(cause: unknown) {
    super('body read failed', { cause });
    this.name = 'BodyReadError';
  }
}

function describeNetworkError(error: unknown): string | undefined {
  const parts: string[] = [];
  let e: unknown = error instanceof BodyReadError ? error.cause : error;
  for (let depth = 0; e instanceof Error && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && !parts.includes(code)) parts.push(code);
    else if (e.message && e.message !== 'fetch failed' && !parts.includes(e.message)) parts.push(e.message);
    e = (e as { cause?: unknown }).cause;
  }
  return parts.length ? redactText(parts.join(': ')) : undefined;
}

function requestIdOf(headers: Headers): string | undefined {
  return (
    headers.get('x-request-id') ??
    headers.get('x-correlation-id') ??
    headers.get('x-amzn-requestid') ??
    headers.get('cf-ray') ??
    undefined
  );
}

/**
 * Pulls the server's own message out of an error body: FastAPI/DRF `detail` (string or list), `message`,
 * `error`, DRF per-field arrays, a Google Cloud Storage XML `<Error>`, or the text of an HTML page.
 */
export function extractDetail(text: string, contentType: string | null): string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (trimmed.startsWith('{') || trimmed.startsWith('[') || contentType?.includes('json')) {
    try {
      return detailFromJson(JSON.parse(trimmed));
    } catch {
      // not JSON after all
    }
  }
  if (trimmed.startsWith('<')) {
    const code = /<Code>([^<]*)<\/Code>/i.exec(trimmed)?.[1];
    const message = /<Message>([^<]*)<\/Message>/i.exec(trimmed)?.[1];
    if (code || message) return [code, message].filter(Boolean).join(': ');
    const title = /<title>([^<]*)<\/title>/i.exec(trimmed)?.[1] ?? /<h1>([^<]*)<\/h1>/i.exec(trimmed)?.[1];
    const stripped = trimmed
      .replace(/<script[\s\S]*?<\/script>|<style[\s\S]*?<\/style>/gi, ' ')
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    return title?.trim() || stripped || undefined;
  }
  return trimmed;
}

function detailFromJson(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const parts = value.map(detailFromJson).filter((x): x is string => Boolean(x));
    return parts.length ? parts.join('; ') : undefined;
  }
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    for (const key of ['detail', 'message', 'error', 'error_description', 'msg']) {
      if (o[key] !== undefined && o[key] !== null) {
        const inner = detailFromJson(o[key]);
        if (inner) {
          const loc = Array.isArray(o.loc) ? o.loc.join('.') : undefined;
          return loc && key === 'msg' ? `${loc}: ${inner}` : inner;
        }
      }
    }
    const fields = Object.entries(o)
      .filter(([, v]) => Array.isArray(v) && v.every((x) => typeof x === 'string'))
      .map(([k, v]) => `${k}: ${(v as string[]).join(' ')}`);
    if (fields.length) return fields.join('; ');
  }
  return undefined;
}

/** A byte body big enough that an extra copy matters (an upload chunk), sent by fetch without ky's clone. */
function isLargeBinary(body: unknown): body is Uint8Array | ArrayBuffer {
  if (body instanceof Uint8Array) return body.byteLength >= 64 * 1024;
  if (body instanceof ArrayBuffer) return body.byteLength >= 64 * 1024;
  return false;
}

/** `promise`, or a rejection with the signal's reason as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      // A response that still arrives has nobody to read it: release its connection.
      promise.then(
        (late) => {
          if (late instanceof Response) late.body?.cancel().catch(() => undefined);
        },
        () => undefined,
      );
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
