import http from 'node:http';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { pipeline, Readable } from 'node:stream';
import type { ReadableStream as NodeWebStream } from 'node:stream/web';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { RAW_BODY, type RawBody } from '../http/raw-body.js';
import { decoderFor } from './transfer-fetch.js';

/** A body cut short, or a response that is not HTTP/1.1: reported like fetch's network errors. */
class RawHttpError extends TypeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RawHttpError';
  }
}

const READ_BUFFER = 1024 * 1024;
const MAX_HEAD = 64 * 1024;

// Captured at load: a test double that patches `http.request` (msw's interceptors, nock) is honoured by
// sending the request through the global fetch instead, which those libraries also intercept.
const loadedRequest = http.request;
function intercepted(): boolean {
  if (http.request !== loadedRequest) return true;
  // msw wraps `http.request` in a Proxy, whose source reads as native code; Node's own is JavaScript.
  return /\[native code\]/.test(Function.prototype.toString.call(http.request));
}

/**
 * A `fetch` for downloads: GET and HEAD without a request body, over `node:net`/`node:tls` with HTTP/1.1,
 * reading the socket into one reused 1 MiB buffer. The global fetch allocates a fresh buffer for every 64 KiB
 * that arrives and passes it through several web streams; for a 500 MB archive that costs about twice curl's
 * time and 120+ MB of memory, while this reads at curl's pace with a flat ~60 MB (bench/download-floor.mjs).
 *
 * The response is a standard `Response` (its body a web stream, for error pages and ordinary readers) that
 * also carries a `RawBody` (`rawBodyOf`) for `downloadToFile`, which writes and hashes the pieces in place.
 * Framing: `Content-Length`, chunked, or until the server closes; a compressed body (sent anyway, though
 * `Accept-Encoding: identity` is asked for) is decoded on the web stream and has no raw body. One connection
 * per request (`Connection: close`), no redirects followed (the HTTP client follows them itself), TLS with the
 * platform's certificate checks. Requests with a body, other methods and a patched `http.request` (msw,
 * nock) go to the global fetch.
 */
export const nodeDownloadFetch: typeof globalThis.fetch = async (input, init = {}) => {
  const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  const method = (init.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  const plain = url.protocol === 'http:' || url.protocol === 'https:';
  if (!plain || (method !== 'GET' && method !== 'HEAD') || init.body != null || intercepted()) {
    return globalThis.fetch(input, init);
  }
  return rawRequest(url, method, new Headers(init.headers), init.signal ?? undefined);
};

interface Head {
  status: number;
  statusText: string;
  headers: Headers;
}

type Framing =
  | { kind: 'none' }
  | { kind: 'length'; remaining: number }
  | { kind: 'close' }
  | { kind: 'chunked'; state: 'size' | 'data' | 'data-end' | 'trailer'; remaining: number; line: string };

function rawRequest(
  url: URL,
  method: string,
  headers: Headers,
  signal: AbortSignal | undefined,
): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const secure = url.protocol === 'https:';
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port || (secure ? 443 : 80));
    const buffer = Buffer.allocUnsafe(READ_BUFFER);

    let headChunks: Buffer[] = [];
    let headBytes = 0;
    let head: Head | undefined;
    let framing: Framing = { kind: 'close' };
    let settled = false; // the response promise
    let ended = false; // the body
    let failure: unknown;

    // The body's consumer: a raw sink, a web stream controller, or none yet (then pieces wait, copied).
    let sink: ((chunk: Uint8Array) => void) | undefined;
    let streamController: ReadableStreamDefaultController<Uint8Array> | undefined;
    const pending: Buffer[] = [];
    let finishPipe: ((error?: unknown) => void) | undefined;

    const socket: Socket = secure
      ? tlsConnect({
          host,
          port,
          ...(isIP(host) ? {} : { servername: host }),
          ALPNProtocols: ['http/1.1'],
          onread: { buffer, callback: (n: number) => onData(n) },
        } as ConnectionOptions)
      : netConnect({ host, port, onread: { buffer, callback: (n: number) => onData(n) } });

    const onAbort = () => fail(signal?.reason ?? new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });

    socket.once(secure ? 'secureConnect' : 'connect', () => {
      const lines = [`${method} ${url.pathname || '/'}${url.search} HTTP/1.1`, `host: ${url.host}`];
      let hasAccept = false;
      let hasEncoding = false;
      headers.forEach((value, key) => {
        if (key === 'host' || key === 'connection' || key === 'content-length' || key === 'transfer-encoding')
          return;
        if (key === 'accept') hasAccept = true;
        if (key === 'accept-encoding') hasEncoding = true;
        lines.push(`${key}: ${value}`);
      });
      if (!hasAccept) lines.push('accept: */*');
      if (!hasEncoding) lines.push('accept-encoding: identity');
      lines.push('connection: close', '', '');
      socket.write(lines.join('\r\n'));
    });
    socket.on('error', (error) => fail(error));
    socket.on('end', () => onClose());
    socket.on('close', () => onClose());

    function cleanup() {
      signal?.removeEventListener('abort', onAbort);
    }

    function fail(error: unknown) {
      if (ended) return;
      ended = true;
      failure = error;
      cleanup();
      socket.destroy();
      if (!settled) {
        settled = true;
        reject(signal?.aborted ? signal.reason : new RawHttpError('fetch failed', { cause: error }));
        return;
      }
      const err = signal?.aborted ? signal.reason : error;
      if (finishPipe) finishPipe(err);
      else if (streamController) streamController.error(err);
    }

    function finish() {
      if (ended) return;
      ended = true;
      cleanup();
      socket.destroy();
      if (finishPipe) finishPipe();
      else if (streamController) streamController.close();
    }

    function onClose() {
      if (ended) return;
      if (!head) {
        fail(new Error('the server closed the connection before answering'));
        return;
      }
      if (framing.kind === 'close' && pending.length === 0) {
        finish();
        return;
      }
      if (framing.kind === 'close') {
        // Pieces still wait for their consumer: end once they are handed over.
        framing = { kind: 'none' };
        return;
      }
      const left = framing.kind === 'length' ? ` (${framing.remaining} bytes missing)` : '';
      fail(new RawHttpError(`the response body was cut short${left}`));
    }

    function deliver(piece: Buffer) {
      if (piece.byteLength === 0) return;
      if (sink) {
        sink(piece);
        return;
      }
      // No consumer yet, or a web stream: the piece must outlive the read buffer.
      const copy = Buffer.from(piece);
      if (streamController) {
        streamController.enqueue(copy);
        if ((streamController.desiredSize ?? 0) <= 0) socket.pause();
      } else {
        pending.push(copy);
        socket.pause();
      }
    }

    /** Frames `data` (a view into the read buffer); returns false when the body is complete. */
    function body(data: Buffer): boolean {
      let at = 0;
      while (at < data.byteLength || framing.kind === 'none') {
        switch (framing.kind) {
          case 'none':
            return false;
          case 'close':
            deliver(at === 0 ? data : data.subarray(at));
            return true;
          case 'length': {
            const take = Math.min(framing.remaining, data.byteLength - at);
            deliver(data.subarray(at, at + take));
            at += take;
            framing.remaining -= take;
            if (framing.remaining === 0) return false;
            break;
          }
          case 'chunked': {
            const c = framing;
            if (c.state === 'data') {
              const take = Math.min(c.remaining, data.byteLength - at);
              deliver(data.subarray(at, at + take));
              at += take;
              c.remaining -= take;
              if (c.remaining === 0) {
                c.state = 'data-end';
                c.line = '';
              }
              break;
            }
            // A line: the size line, the CRLF after a chunk's data, or a trailer line.
            const nl = data.indexOf(10, at);
            const end = nl === -1 ? data.byteLength : nl;
            c.line += data.toString('latin1', at, end);
            if (c.line.length > 8192) throw new RawHttpError('malformed chunked body (a line too long)');
            at = nl === -1 ? data.byteLength : nl + 1;
            if (nl === -1) break;
            const line = c.line.replace(/\r$/, '');
            c.line = '';
            if (c.state === 'data-end') {
              if (line !== '') throw new RawHttpError('malformed chunked body (no CRLF after a chunk)');
              c.state = 'size';
            } else if (c.state === 'size') {
              const m = /^([0-9a-fA-F]+)\s*(?:;.*)?$/.exec(line);
              if (!m) throw new RawHttpError('malformed chunked body (bad chunk size)');
              const size = Number.parseInt(m[1] as string, 16);
              if (!Number.isSafeInteger(size))
                throw new RawHttpError('malformed chunked body (chunk too big)');
              if (size === 0) c.state = 'trailer';
              else {
                c.state = 'data';
                c.remaining = size;
              }
            } else if (line === '') {
              return false; // end of trailers
            }
            break;
          }
        }
      }
      return true;
    }

    function onData(n: number): boolean {
      if (ended) return false;
      try {
        const data = buffer.subarray(0, n);
        if (!head) {
          headChunks.push(Buffer.from(data));
          headBytes += n;
          const all = headChunks.length === 1 ? (headChunks[0] as Buffer) : Buffer.concat(headChunks);
          headChunks = [all];
          const rest = parseHeads(all);
          if (rest === undefined) {
            if (headBytes > MAX_HEAD) throw new RawHttpError('the response headers are too large');
            return true;
          }
          headChunks = [];
          respond();
          if (!body(rest.body)) finish();
          return !socket.isPaused();
        }
        if (!body(data)) finish();
      } catch (error) {
        fail(error);
        return false;
      }
      return !ended && !socket.isPaused();
    }

    /** Reads status lines and headers (skipping 1xx); the bytes after them are the start of the body. */
    function parseHeads(all: Buffer): { body: Buffer } | undefined {
      let from = 0;
      for (;;) {
        const end = all.indexOf('\r\n\r\n', from, 'latin1');
        if (end === -1) return undefined;
        const lines = all.toString('latin1', from, end).split('\r\n');
        const status = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
        if (!status) throw new RawHttpError('the server did not answer with HTTP/1.1');
        const code = Number(status[1]);
        from = end + 4;
        if (code >= 100 && code < 200) continue;
        const h = new Headers();
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(':');
          if (colon <= 0) continue;
          try {
            h.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
          } catch {
            // a header fetch would not accept either
          }
        }
        head = { status: code, statusText: status[2] ?? '', headers: h };
        framing = framingOf(method, head);
        return { body: all.subarray(from) };
      }
    }

    function respond() {
      const h = head as Head;
      settled = true;
      const encoding = h.headers.get('content-encoding') ?? undefined;
      const decoder = framing.kind === 'none' ? undefined : decoderFor(encoding);
      const lazy = new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            streamController = controller;
            socket.ref();
            for (const piece of pending.splice(0)) controller.enqueue(piece);
            if (ended) {
              if (failure === undefined) controller.close();
              else controller.error(signal?.aborted ? signal.reason : failure);
            } else if (framing.kind === 'none') finish();
            else socket.resume();
          },
          cancel(reason) {
            fail(reason ?? new Error('the body was cancelled'));
          },
        },
        { highWaterMark: 0 },
      );
      let responseBody: ReadableStream<Uint8Array> | null = lazy;
      if (decoder) {
        // Errors on either side end the other (and the web stream) with them.
        pipeline(Readable.fromWeb(lazy as NodeWebStream), decoder, () => undefined);
        responseBody = Readable.toWeb(decoder) as unknown as ReadableStream<Uint8Array>;
        h.headers.delete('content-encoding');
        h.headers.delete('content-length');
      }
      const nullBody = method === 'HEAD' || h.status === 204 || h.status === 304;
      if (nullBody && !ended) {
        finish();
      }
      let response: Response;
      try {
        response = new Response(nullBody ? null : responseBody, {
          status: h.status,
          statusText: h.statusText,
          headers: h.headers,
        });
      } catch (error) {
        fail(error);
        reject(new RawHttpError(`fetch failed: unusable response status ${h.status}`, { cause: error }));
        return;
      }
      Object.defineProperty(response, 'url', { value: url.href });
      if (!decoder && !nullBody) {
        const raw: RawBody = {
          pipe(fn, options = {}) {
            if (sink || streamController) return Promise.reject(new Error('the body is already being read'));
            return new Promise<void>((done, failed) => {
              const s = options.signal;
              const onStop = () => fail(s?.reason);
              if (s?.aborted) {
                fail(s.reason);
              } else s?.addEventListener('abort', onStop, { once: true });
              finishPipe = (error?: unknown) => {
                s?.removeEventListener('abort', onStop);
                finishPipe = undefined;
                if (error === undefined) done();
                else failed(error);
              };
              sink = fn;
              socket.ref();
              try {
                for (const piece of pending.splice(0)) fn(piece);
              } catch (error) {
                fail(error);
                return;
              }
              if (ended) {
                const end = finishPipe;
                if (failure === undefined) end?.();
                else end?.(failure);
              } else if (framing.kind === 'none') finish();
              else socket.resume();
            });
          },
        };
        Object.defineProperty(response, RAW_BODY, { value: raw });
      }
      // Until someone reads the body, a response dropped unread must not keep the process alive.
      if (!ended) socket.unref();
      resolve(response);
    }
  });
}

function framingOf(method: string, head: Head): Framing {
  if (method === 'HEAD' || head.status === 204 || head.status === 304) return { kind: 'none' };
  const te = head.headers.get('transfer-encoding');
  if (te && /(?:^|,)\s*chunked\s*$/i.test(te))
    return { kind: 'chunked', state: 'size', remaining: 0, line: '' };
  const length = head.headers.get('content-length');
  if (length !== null) {
    const value = length.split(',')[0]?.trim() ?? '';
    if (!/^\d+$/.test(value)) throw new RawHttpError(`the server sent an invalid Content-Length (${length})`);
    const n = Number(value);
    return n === 0 ? { kind: 'none' } : { kind: 'length', remaining: n };
  }
  return { kind: 'close' };
}
