import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';

/**
 * A `fetch` for requests that carry a byte body (upload chunks), over `node:http`/`node:https`. The global
 * fetch (undici) copies a byte body on every request and, with ky, once more for the clone ky keeps for
 * retries; for 8 MiB chunks those copies lift a process from ~60 MB to ~150 MB before the collector runs.
 * `node:http` writes the caller's bytes to the socket as they are (measured in bench/crucible-transfer.mjs).
 *
 * It does what the HTTP client needs and no more: any method, headers, a string/bytes body, `signal`, no
 * redirects followed (the client follows them itself), the response body as a web stream. Give it to
 * `createHttpClient({ bytesFetch: nodeBytesFetch })`.
 */
export const nodeBytesFetch: typeof globalThis.fetch = (input, init = {}) =>
  new Promise<Response>((resolve, reject) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const transport = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
    if (!transport) {
      reject(new TypeError(`fetch failed: unsupported protocol ${url.protocol}`));
      return;
    }
    let body: Buffer | undefined;
    try {
      body = toBuffer(init.body);
    } catch (error) {
      reject(error);
      return;
    }
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, key) => {
      headers[key] = value;
    });
    if (body !== undefined) headers['content-length'] = String(body.length);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const method = (init.method ?? 'GET').toUpperCase();
    const request = transport.request(url, { method, headers, ...(signal ? { signal } : {}) }, (res) => {
      const status = res.statusCode ?? 0;
      const responseHeaders = new Headers();
      for (const [key, value] of Object.entries(res.headers)) {
        if (Array.isArray(value)) for (const v of value) responseHeaders.append(key, v);
        else if (value !== undefined) responseHeaders.set(key, value);
      }
      const empty = method === 'HEAD' || status === 204 || status === 304;
      if (empty) res.resume();
      try {
        const response = new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), {
          status,
          statusText: res.statusMessage ?? '',
          headers: responseHeaders,
        });
        Object.defineProperty(response, 'url', { value: url.href });
        resolve(response);
      } catch (error) {
        res.destroy();
        reject(new TypeError(`fetch failed: unusable response status ${status}`, { cause: error }));
      }
    });
    request.on('error', (error) => {
      reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: error }));
    });
    request.end(body);
  });

function toBuffer(body: RequestInit['body']): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('nodeBytesFetch sends string or byte bodies only');
}
