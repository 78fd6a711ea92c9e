import { type Duplex, pipeline, Readable } from 'node:stream';
import type { ReadableStream as NodeWebStream } from 'node:stream/web';
import zlib from 'node:zlib';
import type { Dispatcher } from 'undici';
import { RAW_BODY, type RawBody } from '../http/raw-body.js';
import { intercepted, proxyDispatcher, releasePiece, transferDispatcher } from './dispatcher.js';

/** A connection that failed or a body cut short: reported like fetch's network errors (a `TypeError`). */
export class TransportError extends TypeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransportError';
  }
}

// Headers undici sets itself (from the origin and the body) or refuses from a caller.
const OWN_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'expect',
]);

/**
 * A `fetch` over undici's `dispatch` on the process-wide dispatcher (`transferDispatcher`: the environment's
 * proxy agent, or a keep-alive `Agent`), for the bulk transfers: downloads (`withRaw`: the response also
 * carries a `RawBody`) and upload chunks.
 *
 * Why `dispatch` with a handler of our own rather than undici's `fetch` or `request`: both put every piece
 * through a stream (a web stream for `fetch`, a Node `Readable` for `request`) before anyone sees it. The
 * handler hands each piece undici parsed out of the socket's buffer straight to the raw sink (which hashes and
 * writes it in place), or to the web stream when that is what the caller reads; backpressure is undici's own
 * `pause()`/`resume()`. undici does everything HTTP: connections and keep-alive, TLS (with Node's trusted
 * authorities, `NODE_EXTRA_CA_CERTS` included), framing, proxies; it follows no redirects (the HTTP client follows
 * them itself). Its own `headersTimeout`/`bodyTimeout` are off: the HTTP client's idle timeout covers both.
 *
 * Requests it leaves to the global fetch (with the proxy dispatcher, when one is set): bodies other than a
 * string or bytes, `Request` objects, other protocols, and every request while an in-process mock (msw, nock)
 * has patched `http.request` or the global fetch, so that a test's `setupServer` sees every request.
 */
export function dispatchFetch(withRaw: boolean): typeof globalThis.fetch {
  return async (input, init = {}) => {
    const body = sendable(init.body);
    const url = typeof input === 'string' || input instanceof URL ? new URL(input) : undefined;
    if (
      !url ||
      (url.protocol !== 'http:' && url.protocol !== 'https:') ||
      body === NOT_SENDABLE ||
      intercepted()
    ) {
      const dispatcher = proxyDispatcher();
      return globalThis.fetch(input, dispatcher ? ({ ...init, dispatcher } as RequestInit) : init);
    }
    return send(transferDispatcher(), {
      url,
      method: (init.method ?? 'GET').toUpperCase(),
      headers: requestHeaders(init.headers),
      body,
      signal: init.signal ?? undefined,
      withRaw,
    });
  };
}

const NOT_SENDABLE: unique symbol = Symbol('not sendable');

/** The most of a body without a length (ended by the close) held unread: see `holdBack`. */
const MAX_UNREAD = 32 * 1024 * 1024;

/** The body as undici sends it without a copy, undefined for none, or NOT_SENDABLE for the global fetch. */
function sendable(body: RequestInit['body']): string | Buffer | undefined | typeof NOT_SENDABLE {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return NOT_SENDABLE;
}

function requestHeaders(init: HeadersInit | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(init).forEach((value, key) => {
    if (!OWN_HEADERS.has(key)) out[key] = value;
  });
  out.accept ??= '*/*';
  // Like curl: a download is stored as sent, and a compressed body (sent anyway) is decoded on the web stream.
  out['accept-encoding'] ??= 'identity';
  return out;
}

interface PlainRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | Buffer | undefined;
  signal: AbortSignal | undefined;
  withRaw: boolean;
}

function send(dispatcher: Dispatcher, request: PlainRequest): Promise<Response> {
  const { url, method, signal } = request;
  return new Promise<Response>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    let control: Dispatcher.DispatchController | undefined;
    let responded = false; // the response promise is settled
    let ended = false; // the body has ended, or failed
    let failure: { error: unknown } | undefined;

    // The body's consumer: a raw sink, a web stream, or none yet (then pieces wait, and so does the socket).
    let sink: ((chunk: Uint8Array) => void) | undefined;
    let stream: ReadableStreamDefaultController<Uint8Array> | undefined;
    let finishPipe: ((error?: unknown) => void) | undefined;
    const pending: Buffer[] = [];

    const onAbort = () => fail(signal?.reason, true);
    signal?.addEventListener('abort', onAbort, { once: true });

    /** Ends the exchange with `error`; `abortTransport` when undici has not ended it itself. */
    function fail(error: unknown, abortTransport: boolean) {
      if (ended) return;
      ended = true;
      const reported = signal?.aborted ? signal.reason : error;
      failure = { error: reported };
      signal?.removeEventListener('abort', onAbort);
      if (abortTransport) control?.abort(reported instanceof Error ? reported : new Error(String(reported)));
      if (!responded) {
        responded = true;
        reject(signal?.aborted ? signal.reason : new TransportError('fetch failed', { cause: error }));
        return;
      }
      if (finishPipe) finishPipe(reported);
      else stream?.error(reported);
    }

    function finish() {
      if (ended) return;
      ended = true;
      signal?.removeEventListener('abort', onAbort);
      if (finishPipe) finishPipe();
      else if (stream && pending.length === 0) stream.close();
    }

    // Backpressure (undici's `pause()`) with a way around undici#5360 (undici 7): a parser left paused when the
    // server closes the connection throws an uncatchable assertion from the socket's `end` handler. That
    // happens when the pause falls on the last piece of a response the close ends: so the piece that completes
    // a declared length never pauses, and a body that only the close ends (no length, not chunked) is never
    // paused either: it is held unread up to `MAX_UNREAD` bytes, beyond which the exchange fails (a server
    // that sends faster than a consumer reads, without framing: retried or resumed like a cut-short body).
    let declared: number | undefined;
    let closeDelimited = false;
    let received = 0;
    let pendingBytes = 0;
    function holdBack(unread: number) {
      if (declared !== undefined && received >= declared) return;
      if (!closeDelimited) {
        control?.pause();
        return;
      }
      if (unread > MAX_UNREAD) {
        fail(
          new TransportError(
            `the response body was cut short: more than ${MAX_UNREAD} bytes arrived unread on a response ` +
              'without a length',
          ),
          true,
        );
      }
    }

    function deliver(chunk: Buffer) {
      received += chunk.byteLength;
      if (sink) {
        try {
          sink(chunk);
          // The sink is done with it (a raw body's pieces are valid only during the call): its memory may be
          // read into again.
          releasePiece(chunk);
        } catch (error) {
          fail(error, true);
        }
        return;
      }
      if (stream) {
        // undici parsed the piece out of a buffer of its own, which it does not reuse: no copy needed.
        stream.enqueue(chunk);
        const desired = stream.desiredSize ?? 0;
        if (desired <= 0) holdBack(-desired);
        return;
      }
      pending.push(chunk);
      pendingBytes += chunk.byteLength;
      holdBack(pendingBytes);
    }

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(controller) {
        control = controller;
        // Aborted while connecting: the promise is settled already; end the exchange too.
        if (ended) controller.abort(new Error('aborted'));
      },
      onResponseStart(controller, status, rawHeaders, statusText) {
        control = controller;
        if (status < 200 || ended) return; // 1xx (undici refuses an unasked-for 100 Continue itself)
        const headers = toHeaders(rawHeaders);
        const nullBody = method === 'HEAD' || status === 204 || status === 304;
        const length = headers.get('content-length');
        declared = length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
        closeDelimited =
          !nullBody && declared === undefined && !/chunked/i.test(headers.get('transfer-encoding') ?? '');
        const decoder = nullBody ? undefined : decoderFor(headers.get('content-encoding') ?? undefined);
        const web = new ReadableStream<Uint8Array>(
          {
            pull(c) {
              stream = c;
              pendingBytes = 0;
              for (const piece of pending.splice(0)) c.enqueue(piece);
              if (failure) c.error(failure.error);
              else if (ended) c.close();
              else control?.resume();
            },
            cancel(reason) {
              fail(reason ?? new Error('the body was cancelled'), true);
            },
          },
          // Counted in bytes: `desiredSize` is minus the bytes queued unread.
          new ByteLengthQueuingStrategy({ highWaterMark: 0 }),
        );
        let body: ReadableStream<Uint8Array> = web;
        if (decoder) {
          // Like fetch: the body arrives decoded, and its encoded length no longer describes it. Errors on
          // either side end the other (and the decoded stream) with them.
          pipeline(Readable.fromWeb(web as NodeWebStream), decoder, () => undefined);
          body = Readable.toWeb(decoder) as unknown as ReadableStream<Uint8Array>;
          headers.delete('content-encoding');
          headers.delete('content-length');
        }
        let response: Response;
        try {
          response = new Response(nullBody ? null : body, { status, statusText: statusText ?? '', headers });
        } catch (error) {
          fail(
            new TransportError(`fetch failed: unusable response status ${status}`, { cause: error }),
            true,
          );
          return;
        }
        Object.defineProperty(response, 'url', { value: url.href });
        if (request.withRaw && !decoder && !nullBody) {
          Object.defineProperty(response, RAW_BODY, { value: rawBody() });
        }
        responded = true;
        resolve(response);
      },
      onResponseData(_controller, chunk) {
        // undici repeats an empty piece after a resume: pausing on it again would never move on.
        if (!ended && chunk.byteLength > 0) deliver(chunk);
      },
      onResponseEnd() {
        finish();
      },
      onResponseError(_controller, error) {
        fail(
          responded
            ? new TransportError(`the response body was cut short (${error.message})`, { cause: error })
            : error,
          false,
        );
      },
    };

    function rawBody(): RawBody {
      return {
        pipe(fn, options = {}) {
          if (sink || stream) return Promise.reject(new Error('the body is already being read'));
          return new Promise<void>((done, failed) => {
            const outer = options.signal;
            const onStop = () => fail(outer?.reason, true);
            finishPipe = (error?: unknown) => {
              outer?.removeEventListener('abort', onStop);
              finishPipe = undefined;
              if (error === undefined) done();
              else failed(error);
            };
            if (outer?.aborted) {
              fail(outer.reason, true);
              if (finishPipe) finishPipe(outer.reason);
              return;
            }
            outer?.addEventListener('abort', onStop, { once: true });
            sink = fn;
            for (const piece of pending.splice(0)) {
              if (failure) break;
              if (!ended) {
                deliver(piece);
                continue;
              }
              // The whole body arrived before the pipe (a small one, or one whose last piece never pauses):
              // hand it over, a failure of the sink being the pipe's.
              try {
                fn(piece);
                releasePiece(piece);
              } catch (error) {
                failure = { error };
              }
            }
            if (ended) finishPipe?.(failure?.error);
            else control?.resume();
          });
        },
      };
    }

    try {
      dispatcher.dispatch(
        {
          origin: url.origin,
          path: `${url.pathname || '/'}${url.search}`,
          method: request.method as Dispatcher.HttpMethod,
          headers: request.headers,
          body: request.body ?? null,
          // The HTTP client's own idle timeout covers the wait for the headers and for each piece of the body.
          headersTimeout: 0,
          bodyTimeout: 0,
        },
        handler,
      );
    } catch (error) {
      fail(error, false);
    }
  });
}

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(raw)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
      try {
        headers.append(key, v);
      } catch {
        // a header fetch would not accept either
      }
    }
  }
  return headers;
}

/** A decoder for a `Content-Encoding` fetch would decode (gzip, deflate, br), or undefined. */
function decoderFor(encoding: string | undefined): Duplex | undefined {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      return undefined;
  }
}
