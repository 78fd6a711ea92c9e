import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { startTestServer, type TestServer } from '@sciport/testkit';
import { HttpResponse, http } from 'msw';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortError, ConnectionError, NotFoundError } from '../src/errors.js';
import { createHttpClient } from '../src/http/client.js';
import { nodeTransferFetch } from '../src/node/transfer-fetch.js';
import { until } from './helpers/until.js';

const servers: TestServer[] = [];
const releases: Array<() => void> = [];
afterEach(async () => {
  for (const release of releases.splice(0)) release();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const blob = randomBytes(2 * 1024 * 1024 + 3);

/** A storage-like endpoint: answers 308 with the received range, or 200 with the body's SHA-256. */
async function storage(): Promise<TestServer> {
  const server = await startTestServer({
    handlers: [
      http.put('*/upload', async ({ request }) => {
        const bytes = new Uint8Array(await request.arrayBuffer());
        const sha = createHash('sha256').update(bytes).digest('hex');
        const range = request.headers.get('content-range') ?? '';
        if (range.endsWith('/*'))
          return new HttpResponse(null, { status: 308, headers: { range: `bytes=0-${bytes.length - 1}` } });
        return HttpResponse.json({ sha, length: bytes.length, type: request.headers.get('content-type') });
      }),
      http.get(
        '*/blob',
        () => new HttpResponse(new Uint8Array(blob), { headers: { 'content-type': 'x/y' } }),
      ),
      http.get('*/gzipped', () => {
        const gz = new Uint8Array(gzipSync(blob));
        return new HttpResponse(gz, {
          headers: { 'content-encoding': 'gzip', 'content-length': String(gz.byteLength) },
        });
      }),
      http.put('*/missing', () => HttpResponse.text('<Error>NoSuchUpload</Error>', { status: 404 })),
      http.put('*/slow', async () => {
        // Answers only when the test is over (the server's close ends it): the abort must end the request.
        await new Promise<void>((resolve) => releases.push(resolve));
        return HttpResponse.json({});
      }),
    ],
  });
  servers.push(server);
  return server;
}

function clientFor(server: TestServer, counted: { global: number; bytes: number }) {
  return createHttpClient({
    baseUrl: server.url,
    service: 'storage',
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    fetch: (input, init) => {
      counted.global++;
      return globalThis.fetch(input, init);
    },
    transferFetch: (input, init) => {
      counted.bytes++;
      return nodeTransferFetch(input, init);
    },
  });
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks);
    chunks.push(value);
  }
}

describe('bulk request bodies through nodeTransferFetch (node:http)', () => {
  it('decodes a body the server compressed anyway, like fetch', async () => {
    const server = await storage();
    for (const path of ['blob', 'gzipped']) {
      const response = await nodeTransferFetch(`${server.url}/${path}`);
      expect(response.status).toBe(200);
      if (path === 'gzipped') expect(response.headers.get('content-length')).toBeNull();
      expect((await readAll(response.body as ReadableStream<Uint8Array>)).equals(blob)).toBe(true);
    }
  });

  it('sends large byte bodies byte for byte with their headers, and reads 308 and JSON answers', async () => {
    const server = await storage();
    const counted = { global: 0, bytes: 0 };
    const client = clientFor(server, counted);
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const done = await client.request('upload', {
      method: 'PUT',
      body: data,
      headers: { 'content-type': 'application/octet-stream', 'content-range': 'bytes 0-9/10' },
      maxRetries: 0,
    });
    expect(done.status).toBe(200);
    expect(JSON.parse(new TextDecoder().decode(done.bytes))).toEqual({
      sha: createHash('sha256').update(data).digest('hex'),
      length: data.length,
      type: 'application/octet-stream',
    });
    const partial = await client.request('upload', {
      method: 'PUT',
      body: data.subarray(0, 100_000),
      headers: { 'content-range': 'bytes 0-99999/*' },
      acceptStatus: [308],
      maxRetries: 0,
    });
    expect(partial.status).toBe(308);
    expect(partial.headers.get('range')).toBe('bytes=0-99999');
    expect(counted).toEqual({ global: 0, bytes: 2 });
    // Small bodies and JSON keep the ordinary fetch.
    await client.request('upload', { method: 'PUT', body: data.subarray(0, 1000), maxRetries: 0 });
    expect(counted).toEqual({ global: 1, bytes: 2 });
    expect(server.requests.map((r) => r.bodyBytes)).toEqual([data.length, 100_000, 1000]);
  });

  it('maps errors like the ordinary path: status errors, refused connections, aborts', async () => {
    const server = await storage();
    const counted = { global: 0, bytes: 0 };
    const client = clientFor(server, counted);
    const data = randomBytes(100_000);
    await expect(
      client.request('missing', { method: 'PUT', body: data, maxRetries: 0 }),
    ).rejects.toBeInstanceOf(NotFoundError);
    const controller = new AbortController();
    const slow = client.request('slow', {
      method: 'PUT',
      body: data,
      maxRetries: 0,
      signal: controller.signal,
    });
    await until(() => server.requests.length === 2);
    controller.abort();
    await expect(slow).rejects.toBeInstanceOf(AbortError);
    const url = server.url;
    await server.close();
    servers.splice(0);
    const closed = createHttpClient({ baseUrl: url, service: 'storage', transferFetch: nodeTransferFetch });
    await expect(
      closed.request('upload', { method: 'PUT', body: data, maxRetries: 0 }),
    ).rejects.toBeInstanceOf(ConnectionError);
  });
});
