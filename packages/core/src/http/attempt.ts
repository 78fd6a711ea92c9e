import ky, { type Options as KyOptions } from 'ky';
import { ConnectionError, createApiError } from '../errors.js';
import { isSecretName, redactUrl } from '../redact.js';
import { ERROR_BODY_LIMIT, isLargeBinary, type PreparedBody, readAll } from './body.js';
import { type AttemptResult, type ClientContext, isAccepted } from './context.js';
import { mapAttemptError } from './error-body.js';
import { wrapStream } from './stream-body.js';
import type { AuthResponseInfo, AuthStrategy, HttpEvent, HttpRequestOptions } from './types.js';

const MAX_REDIRECTS = 10;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * One attempt of a request: the request built (headers, credentials for trusted origins) and sent through ky,
 * its redirects followed by hand (credentials and bodies never cross to another host), then the body read in
 * full (`buffer`) or handed over as a stream (`stream`) with the attempt's timeout as its idle timeout. Every
 * way out maps its error and releases the attempt's timer and abort listener.
 */
export async function attempt(
  c: ClientContext,
  args: {
    method: string;
    url: URL;
    options: HttpRequestOptions;
    body: PreparedBody;
    mode: 'buffer' | 'stream';
    attempt: number;
    auth: AuthStrategy | undefined;
    endpoint: string;
  },
): Promise<AttemptResult> {
  const { options, mode, attempt, auth } = args;
  const userSignal = options.signal;
  const controller = new AbortController();
  const onUserAbort = () => controller.abort(userSignal?.reason);
  userSignal?.addEventListener('abort', onUserAbort, { once: true });
  const timeoutMs = options.timeout ?? c.settings.timeout;
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
      const trusted = c.isTrusted(url);
      const useAuth = auth !== undefined && trusted;
      const headers = buildHeaders(c, options, body.contentType, url, !leftOrigin);
      let generation: unknown;
      let authApplied = false;
      const ctx = c.authContext(userSignal);
      if (useAuth) {
        generation = await auth.apply({ method, url, headers }, ctx);
        authApplied = true;
      }
      c.emit({ type: 'request', method, url: redactUrl(url), attempt });
      // ky builds the request (method, headers, body, signal) and calls the fetch. Its `prefixUrl` and
      // `searchParams` are not used: the URL is needed before ky runs (for credentials, trusted origins and
      // redirects), and `appendQuery` repeats array values and drops nullish ones, which ky's searchParams does
      // not; nor are its `hooks`: credentials are applied per hop above, with the redirect rules at hand.
      const kyOptions: KyOptions & { duplex?: 'half' } = {
        method,
        headers,
        signal: controller.signal,
        // Retries are the client's own loop: they also cover reading the body, announce their delay (and the
        // server's Retry-After) before waiting, and are decided per call (idempotency, retryRateLimited).
        retry: 0,
        // The attempt's own timer: it also ends a stalled body, re-armed as data arrives (an idle timeout).
        timeout: false,
        // Statuses are the client's to judge: accepted statuses, auth refresh, retries, error bodies to a limit.
        throwHttpErrors: false,
        // Redirects are followed by hand (below), so that credentials and bodies never cross to another origin.
        redirect: 'manual',
        ...(c.settings.fetch ? { fetch: c.settings.fetch } : {}),
      };
      const bulkBody = body.body !== undefined && isLargeBinary(body.body) ? body.body : undefined;
      if (bulkBody !== undefined) {
        // A byte body of 64 KiB or more (an upload chunk): ky clones every request to prepare its own
        // retries, and for a byte body that tee copies the whole body once more per attempt. The bytes go to
        // the transfer fetch (`nodeTransferFetch` on Node) or the fetch directly; ky still builds the request
        // (method, headers, signal) and hands over the response.
        kyOptions.fetch = forwardTo(
          c.settings.transferFetch ?? c.settings.fetch ?? ((input, init) => globalThis.fetch(input, init)),
          { body: bulkBody as BodyInit },
        );
      } else if (body.body !== undefined) {
        kyOptions.body = body.body as NonNullable<KyOptions['body']>;
        if (!body.replayable) kyOptions.duplex = 'half';
      } else if (mode === 'stream' && c.settings.downloadFetch) {
        // A download: the download fetch reads it without copies. It gets this attempt's own signal, which
        // every abort and timeout reaches (see below).
        kyOptions.fetch = forwardTo(c.settings.downloadFetch, { signal: controller.signal });
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
          throw new ConnectionError(
            `${c.settings.service}: too many redirects (more than ${MAX_REDIRECTS})`,
            {
              method,
              url,
              service: c.settings.service,
              retryable: false,
            },
          );
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
              service: c.settings.service,
              retryable: false,
            },
            `${c.settings.service}: ${method} ${url.pathname} was redirected to another host (${next.host})${why}`,
          );
        if (!c.isTrusted(next)) {
          if (c.settings.crossOriginRedirects === 'error') {
            throw refuse(
              '; credentials are never sent there. If this is a login page, the session needs renewal',
            );
          }
          leftOrigin = true;
        }
        c.emit({ type: 'redirect', method, from: redactUrl(url), to: redactUrl(next), crossOrigin });
        if (
          response.status === 303 ||
          ((response.status === 301 || response.status === 302) && method === 'POST')
        ) {
          if (method !== 'HEAD') method = 'GET';
          body = { body: undefined, contentType: undefined, replayable: true };
        } else if (!body.replayable) {
          throw new ConnectionError(
            `${c.settings.service}: ${method} ${url.pathname} was redirected, and a streamed body cannot be sent again`,
            { method, url, service: c.settings.service, retryable: false },
          );
        } else if (body.body !== undefined && c.isTrusted(url) && !c.isTrusted(next)) {
          // A body meant for the service (a login form, a record) is never sent on to another host.
          throw refuse(' with its request body, which is never sent there');
        }
        url = next;
        continue;
      }

      const ok = response.status >= 200 && response.status < 300;
      const outcome = {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
        url: responseUrl,
        generation,
        authApplied,
      };
      const responded = (): HttpEvent & { type: 'response' } => ({
        type: 'response',
        method,
        url: redactUrl(responseUrl),
        status: response.status,
        attempt,
        durationMs: Date.now() - started,
      });
      if (mode === 'stream' && (ok || isAccepted(response.status, options)) && response.body) {
        const stream = wrapStream(response, {
          service: c.settings.service,
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
        c.emit(responded());
        return { ...outcome, stream };
      }

      const wanted = ok || isAccepted(response.status, options);
      const limit = wanted ? c.settings.maxBodyBytes : ERROR_BODY_LIMIT;
      const bytes =
        method === 'HEAD'
          ? new Uint8Array()
          : await readAll(
              response,
              limit,
              { method, url, service: c.settings.service },
              {
                pool: wanted ? options.bufferPool : undefined,
                signal: controller.signal,
                truncate: !wanted,
              },
            );
      c.emit({ ...responded(), bytes: bytes.byteLength });
      return { ...outcome, bytes };
    }
  } catch (error) {
    const mapped = mapAttemptError(error, {
      service: c.settings.service,
      timedOut,
      userSignal,
      method,
      url,
      timeoutMs,
      baseUrlSetting: c.settings.baseUrlSetting,
    });
    c.emit({ type: 'error', method, url: redactUrl(url), error: mapped.message, attempt });
    throw mapped;
  } finally {
    if (!handedOff) cleanup();
  }
}

/** The headers of one hop: client defaults (secret ones only to trusted origins), then the caller's. */
function buildHeaders(
  c: ClientContext,
  options: HttpRequestOptions,
  contentType: string | undefined,
  target: URL,
  requestHeadersAllowed: boolean,
): Headers {
  const headers = new Headers();
  const trusted = c.isTrusted(target);
  for (const [k, v] of Object.entries(c.settings.headers)) {
    // Secret-looking client defaults go only to the own origin.
    if (!trusted && isSecretName(k)) continue;
    headers.set(k, v);
  }
  headers.set('user-agent', c.settings.userAgent);
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
