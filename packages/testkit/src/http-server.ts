import { setMaxListeners } from 'node:events';
import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { type DefaultBodyType, getResponse, RequestHandler, type StrictRequest } from 'msw';
import {
  createFaultInjector,
  type FaultMatch,
  type FaultRule,
  faultResponse,
  matches,
  sleep,
} from './faults.js';
import { fileBodyOf } from './file-body.js';
import { createLogEntry, type RequestLogEntry } from './request-log.js';

/** The only address a test server listens on. */
const LOOPBACK = '127.0.0.1';
/** Ten minutes. */
const DEFAULT_LIFETIME_MS = 10 * 60 * 1000;
/** The longest delay `setTimeout` accepts (about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

/** Options of {@link startTestServer}. */
export interface TestServerOptions {
  /**
   * The msw handlers to serve, tried in order. Paths may be relative (`'/ws/search'`, resolved against the
   * server's URL) or use a wildcard origin (`'*\/ws/search'`, which also works in-process with `setupServer`).
   */
  handlers: readonly RequestHandler[];
  /**
   * Routes answered on the raw socket before msw handlers and faults (see {@link RawRoute}): the hostile
   * servers of `@sciport/testkit/hostile`, next to a simulator that answers everything else.
   */
  raw?: readonly RawRoute[];
  /** Fault rules applied to every request (see {@link FaultRule}); replace them later with `setFaults`. */
  faults?: FaultRule | readonly FaultRule[];
  /** Seed of the generator behind every fault decision. Defaults to 1. */
  seed?: number;
  /** The address to listen on. Only the loopback address `127.0.0.1` is allowed (the default). */
  host?: '127.0.0.1';
  /** The port; defaults to 0, a free port chosen by the system. */
  port?: number;
  /**
   * The server closes itself this many milliseconds after it started, so a forgotten server cannot outlive a
   * test run. Defaults to 10 minutes; `Infinity` disables it.
   */
  lifetimeMs?: number;
  /**
   * When `true` (the default) the server and its connections do not keep the Node.js process alive, so a test
   * runner can exit even if a server was not closed.
   */
  unref?: boolean;
}

/**
 * A running test server: msw handlers served over real HTTP on `127.0.0.1`, with fault injection and a log
 * of every request. Close it when done (`await server.close()`, or `await using server = …`).
 */
export interface TestServer extends AsyncDisposable {
  /** The base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** The port the server listens on. */
  readonly port: number;
  /** Every request received, in arrival order. The array is live: entries are added and completed in place. */
  readonly requests: readonly RequestLogEntry[];
  /** Empties {@link TestServer.requests} (ids keep increasing). */
  clearLog(): void;
  /**
   * Replaces the fault rules (`undefined` or `[]` removes them) and restarts the fault sequence: `times` and
   * `rateLimitEvery` counters start again and the generator is re-seeded with the server's seed.
   *
   * @throws RangeError when a rule is invalid.
   */
  setFaults(faults: FaultRule | readonly FaultRule[] | undefined): void;
  /** Prepends runtime handlers, tried before the earlier ones (like msw's `server.use`). */
  use(...handlers: RequestHandler[]): void;
  /** Drops the handlers (and raw routes) added at runtime, keeping the initial ones. */
  resetHandlers(): void;
  /** Prepends raw routes, tried before the earlier ones and before every msw handler. */
  useRaw(...routes: RawRoute[]): void;
  /**
   * Stops listening and destroys every open connection (requests in flight fail on the client side).
   * Idempotent: later calls return the same promise.
   */
  close(): Promise<void>;
  /** Same as {@link TestServer.close}, for `await using server = await startTestServer(…)`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A route answered on the raw Node response: what a fetch `Response` cannot express (a stall after the
 * headers, a length that lies, a body that never ends). Its requests are logged like any other; faults do not
 * apply to them. `signal` aborts when the client goes away or the server closes.
 */
export interface RawRoute {
  match: FaultMatch;
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    context: { url: URL; signal: AbortSignal },
  ): void | Promise<void>;
}

/** `RequestInit` with the streaming option that the DOM typings lack. */
type StreamingRequestInit = RequestInit & { duplex?: 'half' };

interface BodyReader {
  /** The request body as a web stream, pulled from the socket on demand (with backpressure). */
  readonly stream: ReadableStream<Uint8Array>;
  /** Reads and discards whatever is left of the body; resolves when it ended or the connection closed. */
  drain(): Promise<void>;
}

/**
 * Exposes a request body as a web `ReadableStream` without buffering it, counting the bytes read, and
 * allows the rest to be drained so that a keep-alive connection stays usable and the count is complete.
 */
function createBodyReader(req: IncomingMessage, onBytes: (count: number) => void): BodyReader {
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  let abandonPull: (() => void) | undefined;
  let draining: Promise<void> | undefined;

  const pull = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const cleanup = (): void => {
        req.off('readable', onReadable);
        req.off('end', onEnd);
        req.off('error', onError);
        req.off('close', onClose);
        abandonPull = undefined;
      };
      const settle = (action: () => void): void => {
        cleanup();
        try {
          action();
        } catch {
          // The stream was closed or errored meanwhile: nothing left to deliver.
        }
        resolve();
      };
      const onReadable = (): void => {
        const chunk = req.read() as Buffer | null;
        if (chunk === null) return;
        settle(() => {
          onBytes(chunk.byteLength);
          controller?.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        });
      };
      const onEnd = (): void => settle(() => controller?.close());
      const onError = (error: Error): void => settle(() => controller?.error(error));
      const onClose = (): void => {
        if (req.readableEnded) onEnd();
        else onError(new Error('The client closed the connection before the request body ended'));
      };
      abandonPull = () => settle(() => controller?.error(new Error('The request body was discarded')));
      if (req.readableEnded || req.destroyed) {
        onClose();
        return;
      }
      req.on('readable', onReadable);
      req.on('end', onEnd);
      req.on('error', onError);
      req.on('close', onClose);
      onReadable();
    });

  const drain = (): Promise<void> => {
    draining ??= new Promise<void>((resolve) => {
      abandonPull?.();
      try {
        controller?.error(new Error('The request body was discarded'));
      } catch {
        // Already closed.
      }
      if (req.readableEnded || req.destroyed) {
        resolve();
        return;
      }
      const onData = (chunk: Buffer): void => onBytes(chunk.byteLength);
      const done = (): void => {
        req.off('data', onData);
        req.off('end', done);
        req.off('close', done);
        req.off('error', done);
        resolve();
      };
      req.on('data', onData);
      req.on('end', done);
      req.on('close', done);
      req.on('error', done);
      req.resume();
    });
    return draining;
  };

  const stream = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      pull,
      cancel() {
        void drain();
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, drain };
}

/** Builds the absolute URL of a request, always on the server's origin. */
function requestUrl(origin: string, target: string): URL {
  if (target.startsWith('/')) return new URL(origin + target);
  try {
    // Absolute-form targets (`GET http://host/path`): keep the path and query only.
    const absolute = new URL(target);
    return new URL(origin + absolute.pathname + absolute.search);
  } catch {
    return new URL(`${origin}/${target}`);
  }
}

function textResponse(status: number, text: string): Response {
  return new Response(text, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
}

function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 200 ? `${message.slice(0, 200)}…` : message;
}

/** Writes a chunk, waiting for `drain` when the socket buffer is full. Resolves `false` if the client left. */
async function writeChunk(res: ServerResponse, chunk: Uint8Array): Promise<boolean> {
  if (res.destroyed) return false;
  if (res.write(chunk)) return true;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
  return !res.destroyed;
}

/** Writes a chunk and resolves once it has been handed to the operating system (or the write failed). */
function writeAndFlush(res: ServerResponse, chunk: Uint8Array): Promise<void> {
  return new Promise<void>((resolve) => {
    if (res.destroyed) {
      resolve();
      return;
    }
    res.write(chunk, () => resolve());
  });
}

function setResponseHead(res: ServerResponse, response: Response): void {
  res.statusCode = response.status;
  if (response.statusText !== '') res.statusMessage = response.statusText;
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie' || name === 'transfer-encoding') continue;
    res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
}

async function cancelBody(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

/** Streams a response body to the client with backpressure; never buffers it. */
async function writeResponse(res: ServerResponse, response: Response, head: boolean): Promise<void> {
  if (res.destroyed || res.headersSent) {
    await cancelBody(response);
    return;
  }
  setResponseHead(res, response);
  if (head || response.body === null || response.status === 204 || response.status === 304) {
    res.end();
    await cancelBody(response);
    return;
  }
  const file = fileBodyOf(response);
  if (file) {
    // Straight from the file to the socket (see `withFileBody`).
    await cancelBody(response);
    try {
      await pipeline(
        createReadStream(file.path, { start: file.start, end: file.end, highWaterMark: 1 << 20 }),
        res,
      );
    } catch {
      res.destroy();
    }
    return;
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!(await writeChunk(res, value))) {
        await reader.cancel().catch(() => undefined);
        return;
      }
    }
    res.end();
  } catch {
    // The body failed half-way: the status is gone already, so cut the connection (the client sees an
    // incomplete body) rather than pretend the response is complete.
    res.destroy();
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * Sends the real status and headers with the full `Content-Length`, only the first half of the body, then
 * destroys the socket. Buffers the body only when the response does not declare its length.
 * Returns `false` when there was no body to truncate (it was sent normally instead).
 */
async function writeTruncatedResponse(
  res: ServerResponse,
  response: Response,
  head: boolean,
  beforeDestroy: () => Promise<void>,
): Promise<boolean> {
  const declared = response.headers.get('content-length');
  const declaredLength = declared !== null && /^\d+$/.test(declared) ? Number(declared) : undefined;
  let buffered: Uint8Array<ArrayBuffer> | undefined;
  let total: number;
  if (declaredLength === undefined && response.body !== null) {
    buffered = new Uint8Array(await response.arrayBuffer());
    total = buffered.byteLength;
  } else {
    total = declaredLength ?? 0;
  }
  if (head || total === 0 || response.status === 204 || response.status === 304) {
    await writeResponse(res, buffered === undefined ? response : new Response(buffered, response), head);
    return false;
  }
  if (res.destroyed) {
    await cancelBody(response);
    return true;
  }
  setResponseHead(res, response);
  res.setHeader('content-length', String(total));
  const half = Math.floor(total / 2);
  if (buffered !== undefined) {
    await writeAndFlush(res, buffered.subarray(0, half));
  } else if (response.body !== null) {
    const reader = response.body.getReader();
    let remaining = half;
    try {
      while (remaining > 0) {
        const { done, value } = await reader.read();
        if (done) break;
        const piece = value.byteLength > remaining ? value.subarray(0, remaining) : value;
        remaining -= piece.byteLength;
        if (remaining === 0) await writeAndFlush(res, piece);
        else if (!(await writeChunk(res, piece))) break;
      }
      if (remaining > 0 || half === 0) await writeAndFlush(res, new Uint8Array(0));
    } catch {
      // The body failed before its first half was out: cut the connection all the same.
    }
    await reader.cancel().catch(() => undefined);
  }
  await beforeDestroy();
  res.socket?.destroy();
  return true;
}

/**
 * Starts an HTTP server on `127.0.0.1` that answers with msw request handlers (through msw's `getResponse`),
 * so that integration and CLI tests can talk to the same simulators as unit tests, over real sockets.
 *
 * - Requests are converted to WHATWG `Request`s with the absolute URL `http://127.0.0.1:PORT/…` and a
 *   streamed body; responses are streamed back with backpressure (bodies are never buffered, except to
 *   truncate a response that does not declare its `Content-Length`).
 * - Unmatched requests get 404 `text/plain` "No handler for METHOD /path"; a handler that throws gets 500
 *   with a short `text/plain` body; a handler answering `HttpResponse.error()` resets the connection.
 * - Faults (see {@link FaultRule}) are decided per request in arrival order with a seeded generator.
 * - Every request is logged in {@link TestServer.requests}.
 *
 * @throws Error when `host` is not `127.0.0.1`, or an option is out of range, or the port is taken.
 *
 * @example
 * ```ts
 * const server = await startTestServer({
 *   handlers: [http.get('*\/ws/hello', () => HttpResponse.text('hi'))],
 *   faults: { failRate: 1, failStatus: 503, retryAfter: 1, times: 1 },
 * });
 * try {
 *   const res = await fetch(`${server.url}/ws/hello`); // 503, then 200 on the next call
 * } finally {
 *   await server.close();
 * }
 * ```
 */
export async function startTestServer(options: TestServerOptions): Promise<TestServer> {
  const {
    handlers,
    faults,
    seed = 1,
    host = LOOPBACK,
    port = 0,
    lifetimeMs = DEFAULT_LIFETIME_MS,
    unref = true,
  } = options;
  if (host !== LOOPBACK) {
    throw new Error(
      `startTestServer: refusing to listen on ${JSON.stringify(host)}; a test server only listens on the loopback address ${LOOPBACK}`,
    );
  }
  if (!Array.isArray(handlers)) {
    throw new TypeError('startTestServer: `handlers` must be an array of msw request handlers');
  }
  if (!(Number.isInteger(port) && port >= 0 && port <= 65_535)) {
    throw new RangeError(`startTestServer: port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  if (typeof lifetimeMs !== 'number' || !(lifetimeMs > 0)) {
    throw new RangeError(`startTestServer: lifetimeMs must be a positive number, got ${String(lifetimeMs)}`);
  }

  const injector = createFaultInjector(faults, { seed });
  const initialHandlers: RequestHandler[] = [...handlers];
  let runtimeHandlers: RequestHandler[] = [];
  const initialRaw: RawRoute[] = [...(options.raw ?? [])];
  let runtimeRaw: RawRoute[] = [];
  const requests: RequestLogEntry[] = [];
  const sockets = new Set<Socket>();
  let nextId = 1;
  let origin = '';

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const url = requestUrl(origin, req.url ?? '/');
    const entry = createLogEntry(nextId++, method, url, req.rawHeaders);
    requests.push(entry);
    const decision = injector.decide(method, url.pathname);
    if (decision.kind !== undefined) entry.fault = decision.kind;
    if (decision.latencyMs > 0) entry.latencyMs = decision.latencyMs;

    const abort = new AbortController();
    // msw clones the request several times, each clone following this signal: not a leak.
    setMaxListeners(64, abort.signal);
    const writtenBefore = req.socket.bytesWritten;
    res.once('close', () => {
      entry.durationMs = Date.now() - entry.startedAt;
      entry.responseBytes = req.socket.bytesWritten - writtenBefore;
      if (!res.writableFinished) abort.abort();
    });
    const body = createBodyReader(req, (count) => {
      entry.bodyBytes += count;
    });
    const head = method === 'HEAD';

    const raw = [...runtimeRaw, ...initialRaw].find((route) => matches(route.match, method, url.pathname));
    if (raw) {
      delete entry.fault;
      await raw.handle(req, res, { url, signal: abort.signal });
      return;
    }

    if (decision.kind === 'reset') {
      await sleep(decision.latencyMs, abort.signal, unref);
      if (!req.socket.destroyed) req.socket.resetAndDestroy();
      return;
    }

    const fault = faultResponse(decision);
    if (fault !== undefined) {
      await Promise.all([body.drain(), sleep(decision.latencyMs, abort.signal, unref)]);
      if (!res.destroyed) entry.status = fault.status;
      await writeResponse(res, fault, head);
      return;
    }

    await sleep(decision.latencyMs, abort.signal, unref);
    if (abort.signal.aborted) return;

    let response: Response | undefined;
    try {
      const headers = new Headers();
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
        try {
          headers.append(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string);
        } catch {
          // A header value Node accepts but the Fetch API does not: leave it out of the Request.
        }
      }
      const hasBody = method !== 'GET' && method !== 'HEAD';
      const init: StreamingRequestInit = { method, headers, signal: abort.signal };
      if (hasBody) {
        init.body = body.stream;
        init.duplex = 'half';
      }
      const request = new Request(url, init);
      if (hasBody) {
        // msw clones every request before matching (to log it later). Cloning tees the body stream, and the
        // unread clone would buffer the whole upload in memory: give msw a body-less clone instead.
        RequestHandler.cache.set(
          request as StrictRequest<DefaultBodyType>,
          new Request(url, { method, headers, signal: abort.signal }) as StrictRequest<DefaultBodyType>,
        );
      }
      response = await getResponse([...runtimeHandlers, ...initialHandlers], request, {
        baseUrl: `${origin}/`,
        quiet: true,
      });
    } catch (error) {
      response = textResponse(500, `Internal Server Error: ${errorMessage(error)}`);
    }
    if (response === undefined || response.headers.get('x-msw-intention') === 'passthrough') {
      response = textResponse(404, `No handler for ${method} ${url.pathname}`);
    }
    if (response.type === 'error') {
      // `HttpResponse.error()`: a network error, which over HTTP is a reset connection.
      if (!req.socket.destroyed) req.socket.resetAndDestroy();
      return;
    }

    if (!res.destroyed) entry.status = response.status;
    if (decision.kind === 'truncate') {
      const truncated = await writeTruncatedResponse(res, response, head, body.drain);
      if (!truncated) delete entry.fault;
    } else {
      await writeResponse(res, response, head);
    }
    await body.drain();
  };

  const server = createServer({ requestTimeout: 0 });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (unref) socket.unref();
  });
  server.on('request', (req, res) => {
    handle(req, res).catch(() => {
      // Unexpected failure (already answered or client gone): make sure the client does not hang.
      if (!res.writableEnded) req.socket.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  if (unref) server.unref();

  const address = server.address();
  if (address === null || typeof address === 'string') {
    server.close();
    throw new Error('startTestServer: the server has no TCP address');
  }
  origin = `http://${LOOPBACK}:${address.port}`;

  let closing: Promise<void> | undefined;
  let lifetimeTimer: NodeJS.Timeout | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      clearTimeout(lifetimeTimer);
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
    return closing;
  };
  if (lifetimeMs !== Number.POSITIVE_INFINITY) {
    lifetimeTimer = setTimeout(() => void close(), Math.min(lifetimeMs, MAX_TIMER_MS));
    lifetimeTimer.unref();
  }

  return {
    url: origin,
    port: address.port,
    requests,
    clearLog() {
      requests.length = 0;
    },
    setFaults(next) {
      injector.setFaults(next);
    },
    use(...next) {
      runtimeHandlers = [...next, ...runtimeHandlers];
    },
    useRaw(...next) {
      runtimeRaw = [...next, ...runtimeRaw];
    },
    resetHandlers() {
      runtimeRaw = [];
      runtimeHandlers = [];
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
