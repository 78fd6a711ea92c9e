import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HttpResponse, http, RequestHandler } from 'msw';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readBody } from './bytes-response.js';
import type { FaultRule } from './faults.js';
import { withFileBody } from './file-body.js';
import { startTestServer, type TestServer, type TestServerOptions } from './http-server.js';

let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: Partial<TestServerOptions> = {}): Promise<TestServer> {
  server = await startTestServer({ handlers: defaultHandlers, ...options });
  return server;
}

const defaultHandlers = [
  http.get('*/ok', () => HttpResponse.text('ok')),
  http.get('*/json', () => HttpResponse.json({ hello: 'world', list: [1, 2] })),
  http.get('/relative', () => HttpResponse.text('relative path matched')),
  http.post('*/echo', async ({ request }) => {
    const body = await readBody(request);
    return HttpResponse.json({ size: body.byteLength, type: request.headers.get('content-type') });
  }),
];

async function statuses(url: string, count: number): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(url);
    await res.arrayBuffer();
    result.push(res.status);
  }
  return result;
}

/**
 * Lets I/O run until `done()` holds: waits for state the server reports, never for a deadline (with fake timers,
 * only I/O and immediates move things on).
 */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setImmediate(resolve));
}

/** Lets I/O run for `count` turns of the event loop (a chance for an answer to arrive, not a deadline). */
async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A promise with a flag telling whether it has settled yet. */
function settling<T>(promise: Promise<T>): { promise: Promise<T>; readonly settled: boolean } {
  const state = { promise, settled: false };
  promise.then(
    () => {
      state.settled = true;
    },
    () => {
      state.settled = true;
    },
  );
  return state;
}

/** Connects with a raw socket; resolves with the error code, or 'connected'. */
function probe(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

/** A GET over node:http that collects the raw body bytes until the end or the connection breaks. */
function rawGet(
  url: string,
): Promise<{ status: number; headers: Record<string, unknown>; received: number; error?: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      let received = 0;
      const finish = (error?: string): void =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, received, ...(error ? { error } : {}) });
      res.on('data', (chunk: Buffer) => {
        received += chunk.byteLength;
      });
      res.once('end', () => finish());
      res.once('error', (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
      res.once('aborted', () => finish('aborted'));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('serving msw handlers over HTTP', () => {
  it('listens on 127.0.0.1 with a free port and a URL without trailing slash', async () => {
    const s = await start();
    expect(s.url).toBe(`http://127.0.0.1:${s.port}`);
    expect(s.port).toBeGreaterThan(0);
  });

  it('serves text and JSON bodies', async () => {
    const s = await start();
    const text = await fetch(`${s.url}/ok`);
    expect(text.status).toBe(200);
    expect(await text.text()).toBe('ok');
    const json = await fetch(`${s.url}/json`);
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(await json.json()).toEqual({ hello: 'world', list: [1, 2] });
  });

  it('resolves relative handler paths against the server URL', async () => {
    const s = await start();
    const res = await fetch(`${s.url}/relative`);
    expect(await res.text()).toBe('relative path matched');
  });

  it('passes the method, headers, query and a streamed body to handlers', async () => {
    const seen: { url: string; method: string; auth: string | null; body: string }[] = [];
    const s = await start({
      handlers: [
        http.put('*/items/:id', async ({ request, params }) => {
          seen.push({
            url: request.url,
            method: request.method,
            auth: request.headers.get('authorization'),
            body: new TextDecoder().decode(await readBody(request)),
          });
          return HttpResponse.json({ id: params.id }, { status: 201 });
        }),
      ],
    });
    const res = await fetch(`${s.url}/items/7?x=1`, {
      method: 'PUT',
      headers: { authorization: 'Bearer t' },
      body: 'payload',
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ id: '7' });
    expect(seen).toEqual([{ url: `${s.url}/items/7?x=1`, method: 'PUT', auth: 'Bearer t', body: 'payload' }]);
  });

  it('streams large request bodies to the handler and counts them', async () => {
    const s = await start();
    const chunk = new Uint8Array(1024 * 1024).fill(7);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 16) {
          controller.close();
          return;
        }
        sent++;
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(`${s.url}/echo`, {
      method: 'POST',
      body,
      duplex: 'half',
      headers: { 'content-type': 'application/octet-stream' },
    } as RequestInit);
    expect(await res.json()).toEqual({ size: 16 * 1024 * 1024, type: 'application/octet-stream' });
    await vi.waitFor(() => expect(s.requests[0]?.bodyBytes).toBe(16 * 1024 * 1024));
  });

  it('does not let msw tee an upload into a clone that nobody reads', async () => {
    let cloneBody: ReadableStream | null | undefined = new ReadableStream();
    const s = await start({
      handlers: [
        http.post('*/upload', async ({ request }) => {
          cloneBody = RequestHandler.cache.get(request)?.body;
          await request.arrayBuffer();
          return new HttpResponse(null, { status: 204 });
        }),
      ],
    });
    const res = await fetch(`${s.url}/upload`, { method: 'POST', body: 'abc' });
    expect(res.status).toBe(204);
    expect(cloneBody).toBeNull();
  });

  it('streams response bodies with backpressure instead of buffering them', async () => {
    const chunk = new Uint8Array(1024 * 1024);
    let pulled = 0;
    let cancelled = false;
    const s = await start({
      handlers: [
        http.get('*/huge', () => {
          const body = new ReadableStream<Uint8Array>({
            pull(controller) {
              pulled++;
              if (pulled > 1024) controller.close();
              else controller.enqueue(chunk);
            },
            cancel() {
              cancelled = true;
            },
          });
          return new HttpResponse(body, { headers: { 'content-length': String(1024 * chunk.byteLength) } });
        }),
      ],
    });
    const res = await fetch(`${s.url}/huge`);
    expect(res.headers.get('content-length')).toBe(String(1024 * 1024 * 1024));
    const reader = res.body!.getReader();
    let received = 0;
    while (received < 4 * 1024 * 1024) {
      const { value, done } = await reader.read();
      if (done) break;
      received += value.byteLength;
    }
    await reader.cancel();
    // A 1 GiB body: only a few MiB were produced before the client stopped reading.
    await vi.waitFor(() => expect(cancelled).toBe(true));
    expect(pulled).toBeLessThan(100);
  });

  it('sends a body marked withFileBody straight from the file, the range asked for', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sciport-filebody-'));
    const file = path.join(dir, 'blob.bin');
    const bytes = randomBytes(3 * 1024 * 1024 + 5);
    await writeFile(file, bytes);
    let webBodyRead = false;
    try {
      await start({
        handlers: [
          http.get('*/blob', () => {
            const body = new ReadableStream<Uint8Array>(
              {
                pull(c) {
                  webBodyRead = true;
                  c.enqueue(bytes.subarray(0, 10));
                  c.close();
                },
              },
              { highWaterMark: 0 },
            );
            const r = new HttpResponse(body, { headers: { 'content-length': String(bytes.length - 100) } });
            return withFileBody(r, { path: file, start: 100, end: bytes.length - 1 });
          }),
        ],
      });
      const got = Buffer.from(await (await fetch(`${server?.url}/blob`)).arrayBuffer());
      expect(got.equals(bytes.subarray(100))).toBe(true);
      expect(webBodyRead).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('sends no body for HEAD requests but keeps the headers', async () => {
    const s = await start({
      handlers: [
        http.head(
          '*/file',
          () => new HttpResponse(null, { headers: { 'content-length': '1234', etag: '"a"' } }),
        ),
      ],
    });
    // msw does not answer GET with a HEAD handler.
    expect((await rawGet(`${s.url}/file`)).status).toBe(404);
    const head = await fetch(`${s.url}/file`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('1234');
    expect(head.headers.get('etag')).toBe('"a"');
    expect(await head.text()).toBe('');
  });

  it('answers unmatched requests with a text/plain 404 and logs them', async () => {
    const s = await start();
    const res = await fetch(`${s.url}/nope?q=1`, { method: 'DELETE' });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await res.text()).toBe('No handler for DELETE /nope');
    expect(s.requests).toHaveLength(1);
    expect(s.requests[0]).toMatchObject({ method: 'DELETE', path: '/nope', status: 404 });
  });

  it('answers 500 with a short text body when a handler throws', async () => {
    const s = await start({
      handlers: [
        http.get('*/boom', () => {
          throw new Error('kaput');
        }),
      ],
    });
    const res = await fetch(`${s.url}/boom`);
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await res.text()).toContain('kaput');
  });

  it('resets the connection when a handler answers HttpResponse.error()', async () => {
    const s = await start({ handlers: [http.get('*/net-error', () => HttpResponse.error())] });
    await expect(fetch(`${s.url}/net-error`)).rejects.toThrow(TypeError);
    expect(s.requests[0]?.status).toBeUndefined();
  });

  it('prepends runtime handlers with use() and drops them with resetHandlers()', async () => {
    const s = await start();
    s.use(http.get('*/ok', () => HttpResponse.text('first override')));
    s.use(http.get('*/ok', () => HttpResponse.text('latest override')));
    expect(await (await fetch(`${s.url}/ok`)).text()).toBe('latest override');
    s.resetHandlers();
    expect(await (await fetch(`${s.url}/ok`)).text()).toBe('ok');
  });
});

describe('request log', () => {
  it('records method, URL, path, query, lower-cased headers, body size, status and timings', async () => {
    const s = await start();
    const before = Date.now();
    await (
      await fetch(`${s.url}/echo?a=1&a=2&b=x%20y`, {
        method: 'POST',
        headers: { 'X-Custom': 'Value', 'content-type': 'text/plain' },
        body: 'hello world',
      })
    ).arrayBuffer();
    await (await fetch(`${s.url}/ok`)).arrayBuffer();
    await vi.waitFor(() => expect(s.requests[1]?.durationMs).toBeDefined());
    const [post, get] = s.requests;
    expect(post).toMatchObject({
      id: 1,
      method: 'POST',
      url: `${s.url}/echo?a=1&a=2&b=x%20y`,
      path: '/echo',
      query: { a: ['1', '2'], b: ['x y'] },
      bodyBytes: 11,
      status: 200,
    });
    expect(post?.headers['x-custom']).toBe('Value');
    expect(post?.headers['content-type']).toBe('text/plain');
    expect(post?.headers.host).toBe(`127.0.0.1:${s.port}`);
    expect(post?.startedAt).toBeGreaterThanOrEqual(before);
    expect(post?.durationMs).toBeGreaterThanOrEqual(0);
    expect(post?.fault).toBeUndefined();
    expect(get).toMatchObject({ id: 2, method: 'GET', path: '/ok', query: {}, bodyBytes: 0, status: 200 });
    // What a storage-route test checks: no credentials were sent there.
    expect(get?.headers).not.toHaveProperty('authorization');
  });

  it('counts the body of requests whose handler does not read it', async () => {
    const s = await start({
      handlers: [http.post('*/ignore', () => new HttpResponse(null, { status: 202 }))],
    });
    const res = await fetch(`${s.url}/ignore`, { method: 'POST', body: new Uint8Array(300_000) });
    expect(res.status).toBe(202);
    await vi.waitFor(() => expect(s.requests[0]?.bodyBytes).toBe(300_000));
    // The keep-alive connection is still usable.
    expect((await fetch(`${s.url}/ignore`, { method: 'POST', body: 'x' })).status).toBe(202);
    await vi.waitFor(() => expect(s.requests[1]?.bodyBytes).toBe(1));
  });

  it('clearLog() empties the live array and ids keep increasing', async () => {
    const s = await start();
    const log = s.requests;
    await (await fetch(`${s.url}/ok`)).text();
    expect(log).toHaveLength(1);
    s.clearLog();
    expect(log).toHaveLength(0);
    await (await fetch(`${s.url}/ok`)).text();
    expect(s.requests).toBe(log);
    expect(log[0]?.id).toBe(2);
  });
});

describe('faults over HTTP', () => {
  it('fails with 500 or 503 (chosen by the seeded generator) and a short text body', async () => {
    const s = await start({ faults: { failRate: 1 } });
    const result = await statuses(`${s.url}/ok`, 20);
    expect(new Set(result)).toEqual(new Set([500, 503]));
    const res = await fetch(`${s.url}/ok`);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await res.text()).toMatch(/^50[03] .+ \(injected fault\)$/);
    expect(s.requests.every((entry) => entry.fault === 'fail')).toBe(true);
  });

  it('uses the configured fail status, with Retry-After on 503 only when set', async () => {
    const s = await start({ faults: { failRate: 1, failStatus: 502 } });
    expect(await statuses(`${s.url}/ok`, 3)).toEqual([502, 502, 502]);
    s.setFaults({ failRate: 1, failStatus: 503, retryAfter: 1 });
    const res = await fetch(`${s.url}/ok`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    s.setFaults({ failRate: 1, failStatus: 500, retryAfter: 1 });
    const plain = await fetch(`${s.url}/ok`);
    expect(plain.status).toBe(500);
    expect(plain.headers.get('retry-after')).toBeNull();
  });

  it('answers 429 with Retry-After in seconds or as an HTTP date', async () => {
    const s = await start({ faults: { rateLimitRate: 1, retryAfter: 2 } });
    const res = await fetch(`${s.url}/ok`);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(s.requests[0]?.fault).toBe('rate-limit');
    const date = 'Wed, 21 Oct 2026 07:28:00 GMT';
    s.setFaults({ rateLimitRate: 1, retryAfter: date });
    const dated = await fetch(`${s.url}/ok`);
    expect(dated.status).toBe(429);
    expect(dated.headers.get('retry-after')).toBe(date);
  });

  it('rate limits every Nth matching request', async () => {
    const s = await start({ faults: { rateLimitEvery: 3 } });
    expect(await statuses(`${s.url}/ok`, 7)).toEqual([200, 200, 429, 200, 200, 429, 200]);
  });

  it('fires a rule at most `times` times', async () => {
    const s = await start({ faults: { failRate: 1, failStatus: 503, times: 1 } });
    expect(await statuses(`${s.url}/ok`, 3)).toEqual([503, 200, 200]);
    s.setFaults({ rateLimitRate: 1, times: 2 });
    expect(await statuses(`${s.url}/ok`, 3)).toEqual([429, 429, 200]);
  });

  it('matches rules per method and path (exact, prefix with *, RegExp)', async () => {
    const handlers = [http.all('*', () => HttpResponse.text('handled'))];
    const faults: FaultRule[] = [
      { match: { method: 'post', path: '/a/*' }, failRate: 1, failStatus: 500 },
      { match: { path: '/exact' }, failRate: 1, failStatus: 502 },
      { match: { path: /^\/re\/\d+$/ }, failRate: 1, failStatus: 504 },
    ];
    const s = await start({ handlers, faults });
    const call = async (method: string, path: string): Promise<number> => {
      const res = await fetch(`${s.url}${path}`, { method });
      await res.arrayBuffer();
      return res.status;
    };
    expect(await call('GET', '/a/x')).toBe(200);
    expect(await call('POST', '/a/x')).toBe(500);
    expect(await call('POST', '/b')).toBe(200);
    expect(await call('GET', '/exact')).toBe(502);
    expect(await call('GET', '/exact/more')).toBe(200);
    expect(await call('GET', '/exact?with=query')).toBe(502);
    expect(await call('GET', '/re/12')).toBe(504);
    expect(await call('GET', '/re/x')).toBe(200);
  });

  it('adds latency before the response headers, fixed or within a range', async () => {
    const s = await start({ faults: { latencyMs: 150 } });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const res = settling(fetch(`${s.url}/ok`));
      // The server decided on 150 ms and is waiting them out: no headers until the clock has moved 150 ms.
      await until(() => s.requests.length === 1);
      expect(s.requests[0]?.latencyMs).toBe(150);
      await vi.advanceTimersByTimeAsync(149);
      await turns(10);
      expect(res.settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(await (await res.promise).text()).toBe('ok');
    } finally {
      vi.useRealTimers();
    }

    s.setFaults({ latencyMs: [30, 60] });
    await statuses(`${s.url}/ok`, 5);
    for (const entry of s.requests.slice(1)) {
      expect(entry.latencyMs).toBeGreaterThanOrEqual(30);
      expect(entry.latencyMs).toBeLessThanOrEqual(60);
    }
  });

  it('composes latency with a fault', async () => {
    const s = await start({ faults: [{ latencyMs: 100 }, { failRate: 1, failStatus: 503 }] });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const res = settling(fetch(`${s.url}/ok`));
      await until(() => s.requests.length === 1);
      await vi.advanceTimersByTimeAsync(99);
      await turns(10);
      expect(res.settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect((await res.promise).status).toBe(503);
    } finally {
      vi.useRealTimers();
    }
    expect(s.requests[0]).toMatchObject({ fault: 'fail', latencyMs: 100, status: 503 });
  });

  it('truncates a body: full Content-Length, half the bytes, then the connection closes', async () => {
    const s = await start({
      handlers: [http.get('*/data', () => HttpResponse.text('x'.repeat(1000)))],
      faults: { truncateRate: 1 },
    });
    const res = await fetch(`${s.url}/data`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('1000');
    await expect(res.text()).rejects.toThrow();

    const raw = await rawGet(`${s.url}/data`);
    expect(raw.status).toBe(200);
    expect(raw.headers['content-length']).toBe('1000');
    expect(raw.received).toBe(500);
    expect(raw.error).toBeDefined();
    expect(s.requests.map((entry) => [entry.fault, entry.status])).toEqual([
      ['truncate', 200],
      ['truncate', 200],
    ]);
  });

  it('truncates streamed bodies without a Content-Length (buffering them to learn the length)', async () => {
    const s = await start({
      handlers: [
        http.get('*/stream', () => {
          const encoder = new TextEncoder();
          const body = new ReadableStream<Uint8Array>({
            start(controller) {
              for (let i = 0; i < 10; i++) controller.enqueue(encoder.encode('0123456789'));
              controller.close();
            },
          });
          return new HttpResponse(body, { headers: { 'content-type': 'text/plain' } });
        }),
      ],
      faults: { truncateRate: 1 },
    });
    const raw = await rawGet(`${s.url}/stream`);
    expect(raw.headers['content-length']).toBe('100');
    expect(raw.received).toBe(50);
    expect(raw.error).toBeDefined();
  });

  it('resets the connection before any response', async () => {
    const s = await start({ faults: { resetRate: 1, times: 1 } });
    const error = await fetch(`${s.url}/ok`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as { cause?: { code?: string } }).cause?.code).toBe('ECONNRESET');
    expect(s.requests[0]).toMatchObject({ fault: 'reset' });
    expect(s.requests[0]?.status).toBeUndefined();
    // The rule fired once: the next request is answered.
    expect((await fetch(`${s.url}/ok`)).status).toBe(200);
  });

  it('gives the same fault sequence for the same seed and another one for another seed', async () => {
    const faults: FaultRule = { failRate: 0.3, rateLimitRate: 0.2, failStatus: [500, 502, 503] };
    const run = async (seed: number): Promise<number[]> => {
      const s = await startTestServer({ handlers: defaultHandlers, faults, seed });
      try {
        return await statuses(`${s.url}/ok`, 30);
      } finally {
        await s.close();
      }
    };
    const first = await run(42);
    expect(await run(42)).toEqual(first);
    expect(await run(43)).not.toEqual(first);
    // The sequence really mixes outcomes.
    expect(new Set(first).size).toBeGreaterThan(2);
  });

  it('restarts the sequence when the faults are set again', async () => {
    const s = await start({ faults: { failRate: 0.5 }, seed: 9 });
    const first = await statuses(`${s.url}/ok`, 12);
    s.setFaults({ failRate: 0.5 });
    expect(await statuses(`${s.url}/ok`, 12)).toEqual(first);
    s.setFaults(undefined);
    expect(await statuses(`${s.url}/ok`, 3)).toEqual([200, 200, 200]);
  });

  it('rejects invalid rules', async () => {
    await expect(start({ faults: { failRate: 2 } })).rejects.toThrow(RangeError);
    const s = await start();
    expect(() => s.setFaults({ failStatus: 42, failRate: 1 })).toThrow(/failStatus/);
  });
});

describe('lifecycle', () => {
  it('refuses to listen on anything but 127.0.0.1', async () => {
    // @ts-expect-error only the loopback address is accepted
    await expect(startTestServer({ handlers: [], host: '0.0.0.0' })).rejects.toThrow(/127\.0\.0\.1/);
    // @ts-expect-error not even another name for it
    await expect(startTestServer({ handlers: [], host: 'localhost' })).rejects.toThrow(/loopback/);
  });

  it('validates the port and lifetime', async () => {
    await expect(startTestServer({ handlers: [], port: 70_000 })).rejects.toThrow(RangeError);
    await expect(startTestServer({ handlers: [], lifetimeMs: 0 })).rejects.toThrow(RangeError);
  });

  it('close() closes the server and every open connection, and is idempotent', async () => {
    const s = await start({
      handlers: [http.get('*/slow', () => new Promise<never>(() => undefined)), ...defaultHandlers],
    });
    // An idle keep-alive connection and a request left hanging by its handler.
    await (await fetch(`${s.url}/ok`)).text();
    const hanging = fetch(`${s.url}/slow`);
    await vi.waitFor(() => expect(s.requests).toHaveLength(2));
    // And a connection that has not sent a request yet (the server would keep it for a minute).
    const idle = connect(s.port, '127.0.0.1');
    const idleClosed = new Promise((resolve) => idle.once('close', resolve));
    idle.on('error', () => undefined);
    await new Promise((resolve) => idle.once('connect', resolve));
    // close() resolves only once every connection is gone: were one kept open, this would never resolve.
    const first = s.close();
    expect(s.close()).toBe(first);
    await first;
    await idleClosed;
    await expect(hanging).rejects.toThrow();
    expect(await probe(s.port)).toBe('ECONNREFUSED');
    await s.close();
  });

  it('closing aborts injected latency instead of waiting for it', async () => {
    const s = await start({ faults: { latencyMs: 10_000 } });
    // The clock stands still: the latency can only end by being aborted.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const pending = fetch(`${s.url}/ok`);
      await until(() => s.requests.length === 1);
      await s.close();
      await expect(pending).rejects.toThrow();
    } finally {
      vi.useRealTimers();
    }
  });

  it('supports await using', async () => {
    let port = 0;
    {
      await using s = await startTestServer({ handlers: defaultHandlers });
      port = s.port;
      expect(await probe(port)).toBe('connected');
    }
    expect(await probe(port)).toBe('ECONNREFUSED');
  });

  it('closes itself after lifetimeMs', async () => {
    const s = await start({ lifetimeMs: 50 });
    expect(await probe(s.port)).toBe('connected');
    await vi.waitFor(async () => expect(await probe(s.port)).toBe('ECONNREFUSED'), { timeout: 2000 });
  });

  it('does not keep the process alive unless asked to', async () => {
    const servers = (): number =>
      process.getActiveResourcesInfo().filter((type) => type === 'TCPServerWrap').length;
    const baseline = servers();
    const s = await start();
    expect(servers()).toBe(baseline);
    await s.close();
    const kept = await start({ unref: false });
    expect(servers()).toBe(baseline + 1);
    await kept.close();
    await vi.waitFor(() => expect(servers()).toBe(baseline));
  });
});
