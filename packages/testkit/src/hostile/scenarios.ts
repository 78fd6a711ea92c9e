import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { createGzip } from 'node:zlib';
import type { FaultMatch } from '../faults.js';
import type { RawRoute } from '../http-server.js';

/**
 * What a hostile route did: how many requests it answered and how many body bytes it put on the wire. Tests
 * compare these with what the client wrote, to show that a client stopped at a known size.
 */
export interface HostileStats {
  requests: number;
  bytesSent: number;
}

/** A raw route with its counters. */
export interface HostileRoute extends RawRoute {
  readonly stats: HostileStats;
}

/** Headers of a hostile answer: names as written, values as sent (no validation, no defaults). */
export type RawHeaders = Record<string, string | number | readonly string[]>;

/** The bytes of a status line and headers, written as given: a hostile server is not bound by HTTP's rules. */
export function rawHead(status: number, headers: RawHeaders = {}): Buffer {
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) head += `${name}: ${v}\r\n`;
  }
  return Buffer.from(`${head}\r\n`, 'latin1');
}

/** Writes to the socket, waiting for `drain`; `false` once the client has gone. */
export async function writeRaw(socket: Socket, bytes: Uint8Array): Promise<boolean> {
  if (socket.destroyed) return false;
  if (socket.write(bytes)) return true;
  await new Promise<void>((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
  return !socket.destroyed;
}

/** Resolves when the signal aborts (the client left, or the server closed). */
export function untilClosed(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

function route(
  match: FaultMatch,
  handle: (socket: Socket, ctx: { url: URL; signal: AbortSignal; stats: HostileStats }) => Promise<void>,
): HostileRoute {
  const stats: HostileStats = { requests: 0, bytesSent: 0 };
  return {
    match,
    stats,
    async handle(req, _res, { url, signal }) {
      stats.requests += 1;
      // The request body is read and dropped, so that the client is never blocked sending it.
      req.resume();
      const socket = req.socket;
      try {
        await handle(socket, { url, signal, stats });
      } finally {
        if (!socket.destroyed) socket.destroy();
      }
    },
  };
}

const FILL = Buffer.alloc(64 * 1024, 0x41);

/**
 * A 200 (or `status`) whose body never ends: no `Content-Length` (closed framing) unless `headers` declares one,
 * 64 KiB pieces of `A` as fast as the client reads them, until the client goes away.
 */
export function endlessBody(match: FaultMatch, options: { status?: number; headers?: RawHeaders } = {}) {
  return route(match, async (socket, { stats }) => {
    if (
      !(await writeRaw(socket, rawHead(options.status ?? 200, { connection: 'close', ...options.headers })))
    )
      return;
    while (await writeRaw(socket, FILL)) stats.bytesSent += FILL.byteLength;
  });
}

/** Declares `declared` bytes and sends `sent` bytes (more or fewer), then closes the connection. */
export function lyingLength(
  match: FaultMatch,
  options: { declared: number; sent: number; status?: number; headers?: RawHeaders },
) {
  return route(match, async (socket, { stats }) => {
    const head = { 'content-length': options.declared, connection: 'close', ...options.headers };
    if (!(await writeRaw(socket, rawHead(options.status ?? 200, head)))) return;
    let left = options.sent;
    while (left > 0) {
      const piece = FILL.subarray(0, Math.min(left, FILL.byteLength));
      if (!(await writeRaw(socket, piece))) return;
      stats.bytesSent += piece.byteLength;
      left -= piece.byteLength;
    }
    await new Promise<void>((resolve) => socket.end(resolve));
  });
}

/**
 * Sends the head (by default `Content-Length: 100`) and `sent` body bytes, then nothing more: the connection
 * stays open until the client gives up or the server closes.
 */
export function stallAfterHeaders(
  match: FaultMatch,
  options: { status?: number; headers?: RawHeaders; sent?: number } = {},
) {
  return route(match, async (socket, { signal, stats }) => {
    const head = { 'content-length': 100, 'content-type': 'application/json', ...options.headers };
    if (!(await writeRaw(socket, rawHead(options.status ?? 200, head)))) return;
    const sent = options.sent ?? 0;
    if (sent > 0 && (await writeRaw(socket, FILL.subarray(0, sent)))) stats.bytesSent += sent;
    await Promise.race([untilClosed(signal), new Promise((resolve) => socket.once('close', resolve))]);
  });
}

let bombCache: { decoded: number; bytes: Buffer } | undefined;

/** The gzip of `decoded` zero bytes (made once per size, streamed so that the zeros never sit in memory). */
export async function gzipOfZeros(decoded: number): Promise<Buffer> {
  if (bombCache?.decoded === decoded) return bombCache.bytes;
  const gzip = createGzip({ level: 9 });
  const parts: Buffer[] = [];
  gzip.on('data', (d: Buffer) => parts.push(d));
  const ended = new Promise<void>((resolve, reject) => {
    gzip.once('end', resolve);
    gzip.once('error', reject);
  });
  const zeros = Buffer.alloc(1 << 20);
  for (let left = decoded; left > 0; left -= zeros.byteLength) {
    const piece = left >= zeros.byteLength ? zeros : zeros.subarray(0, left);
    if (!gzip.write(piece)) await new Promise((resolve) => gzip.once('drain', resolve));
  }
  gzip.end();
  await ended;
  bombCache = { decoded, bytes: Buffer.concat(parts) };
  return bombCache.bytes;
}

/**
 * `Content-Encoding: gzip` over `decoded` zero bytes (200 MB by default): a few hundred kilobytes on the wire
 * that a client without a limit on decoded bytes inflates in full.
 */
export function gzipBomb(
  match: FaultMatch,
  options: { decoded?: number; status?: number; headers?: RawHeaders } = {},
) {
  return route(match, async (socket, { stats }) => {
    const body = await gzipOfZeros(options.decoded ?? 200 * 1024 * 1024);
    const head = {
      'content-encoding': 'gzip',
      'content-length': body.byteLength,
      connection: 'close',
      ...options.headers,
    };
    if (!(await writeRaw(socket, rawHead(options.status ?? 200, head)))) return;
    if (await writeRaw(socket, body)) stats.bytesSent += body.byteLength;
    await new Promise<void>((resolve) => socket.end(resolve));
  });
}

/** A complete answer with the given status, headers and body (an HTML login page, a 302 elsewhere, …). */
export function fixedAnswer(
  match: FaultMatch,
  options: { status: number; headers?: RawHeaders; body?: string | Uint8Array },
) {
  return route(match, async (socket, { stats }) => {
    const body =
      typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : Buffer.from(options.body ?? []);
    const head = { 'content-length': body.byteLength, connection: 'close', ...options.headers };
    if (!(await writeRaw(socket, rawHead(options.status, head)))) return;
    if (body.byteLength > 0 && (await writeRaw(socket, body))) stats.bytesSent += body.byteLength;
    await new Promise<void>((resolve) => socket.end(resolve));
  });
}

/** An HTML page where data was expected (a login page from an expired session or a captive portal). */
export function htmlPage(match: FaultMatch, options: { status?: number } = {}) {
  return fixedAnswer(match, {
    status: options.status ?? 200,
    headers: { 'content-type': 'text/html; charset=utf-8' },
    body: '<!DOCTYPE html><html><head><title>Sign in</title></head><body><form>Login</form></body></html>\n',
  });
}
