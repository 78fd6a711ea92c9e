import http from 'node:http';
import https from 'node:https';
import { type Duplex, Readable } from 'node:stream';
import zlib from 'node:zlib';

/**
 * A `fetch` for bulk request bodies (upload chunks) over `node:http`/`node:https`. The global fetch (undici)
 * copies every byte body, and ky's retry clone copies it again: an 8 MiB-chunk upload of 1 GB peaked at ~150 MB
 * of RSS that way, and at ~105 MB with this, using a third of the CPU (bench/crucible-transfer.mjs). Downloads
 * stay on the global fetch: through the whole download path (hashing, writing) this was no faster and no leaner.
 *
 * It does what the HTTP client needs and no more: any method, headers, a string/bytes body, `signal`, no
 * redirects followed (the client follows them itself), the response body as a web stream, decoded when the
 * server compressed it anyway (no `Accept-Encoding` is sent, so it should not). Give it to
 * `createHttpClient({ transferFetch: nodeTransferFetch })`.
 */
export const nodeTransferFetch: typeof globalThis.fetch = (input, init = {}) =>
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
      let source: Readable = res;
      const decoder = empty ? undefined : decoderFor(res.headers['content-encoding']);
      if (decoder) {
        // Like fetch: the body arrives decoded, and its encoded length no longer describes it.
        source = res.pipe(decoder);
        res.on('error', (error) => decoder.destroy(error));
        responseHeaders.delete('content-length');
        responseHeaders.delete('content-encoding');
      }
      try {
        const response = new Response(empty ? null : (Readable.toWeb(source) as ReadableStream<Uint8Array>), {
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
  throw new TypeError('nodeTransferFetch sends string or byte bodies only');
}

/** A decoder for a `Content-Encoding` fetch would decode (gzip, deflate, br), or undefined. */
export function decoderFor(encoding: string | undefined): Duplex | undefined {
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
