import { getActiveResourcesInfo } from 'node:process';
import { startTestServer, type TestServer } from '@sciport/testkit';
import { HttpResponse, http } from 'msw';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  AbortError,
  ApiError,
  AuthenticationError,
  ConnectionError,
  NotFoundError,
  RateLimitError,
  ResponseValidationError,
  ServerError,
  TimeoutError,
} from '../src/errors.js';
import { bearerAuth, cookieCsrfAuth, headerAuth, sessionAuth } from '../src/http/auth.js';
import { createHttpClient } from '../src/http/client.js';
import type { HttpClientOptions, HttpEvent } from '../src/http/types.js';
import { until } from './helpers/until.js';

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(...args: Parameters<typeof startTestServer>): Promise<TestServer> {
  const s = await startTestServer(...args);
  servers.push(s);
  return s;
}

/** Fast retries for tests: no random waits. */
const fast = { baseDelayMs: 1, maxDelayMs: 5 } as const;

function client(server: TestServer, extra: Partial<HttpClientOptions> = {}) {
  const events: HttpEvent[] = [];
  const c = createHttpClient({
    baseUrl: `${server.url}/api`,
    service: 'test',
    retry: fast,
    onEvent: (e) => events.push(e),
    ...extra,
  });
  return { c, events };
}

const ok = http.get('*/api/thing', () => HttpResponse.json({ id: 7, name: 'seven' }));
const thing = z.object({ id: z.number(), name: z.string() });

describe('retries over real sockets', () => {
  it('retries a 503 and succeeds, announcing the retry', async () => {
    const server = await serve({ handlers: [ok], faults: { failRate: 1, failStatus: 503, times: 1 } });
    const { c, events } = client(server);
    await expect(c.json('thing', thing)).resolves.toEqual({ id: 7, name: 'seven' });
    expect(server.requests.map((r) => r.status)).toEqual([503, 200]);
    const retry = events.find((e) => e.type === 'retry');
    expect(retry).toMatchObject({ type: 'retry', attempt: 1, status: 503 });
  });

  // The waits run on fake timers (setTimeout only: the sockets keep their real I/O); each step waits for what
  // the client announces (its retry event), never for the clock.
  it('honours Retry-After (seconds) on 429 before retrying', async () => {
    const server = await serve({ handlers: [ok], faults: { rateLimitEvery: 1, retryAfter: 1, times: 1 } });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { c, events } = client(server);
      let settled = false;
      const result = c.json('thing', thing).finally(() => {
        settled = true;
      });
      await until(() => events.some((e) => e.type === 'retry'));
      expect(events.find((e) => e.type === 'retry')).toMatchObject({ delayMs: 1000, status: 429 });
      await vi.advanceTimersByTimeAsync(999);
      expect(settled).toBe(false);
      expect(server.requests).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      await expect(result).resolves.toEqual({ id: 7, name: 'seven' });
      expect(server.requests.map((r) => r.status)).toEqual([429, 200]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('honours Retry-After as an HTTP date', async () => {
    const when = new Date(Date.now() + 30_000).toUTCString();
    const server = await serve({ handlers: [ok], faults: { rateLimitEvery: 1, retryAfter: when, times: 1 } });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { c, events } = client(server, { retry: { ...fast, maxRetryAfterMs: 60_000 } });
      const result = c.json('thing', thing);
      await until(() => events.some((e) => e.type === 'retry'));
      const retry = events.find((e) => e.type === 'retry');
      // Whole seconds on the wire: up to 30 s from when the date was made, however long the machine took since.
      expect(retry?.type === 'retry' && retry.delayMs).toBeGreaterThan(0);
      expect(retry?.type === 'retry' && retry.delayMs).toBeLessThanOrEqual(30_000);
      await vi.advanceTimersByTimeAsync(30_000);
      await expect(result).resolves.toEqual({ id: 7, name: 'seven' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not wait for a Retry-After longer than the cap: it raises RateLimitError with the delay', async () => {
    const server = await serve({ handlers: [ok], faults: { rateLimitEvery: 1, retryAfter: 3600 } });
    const { c } = client(server, { retry: { ...fast, maxRetryAfterMs: 5000 } });
    const error = await c.json('thing', thing).catch((e: unknown) => e);
    expect(RateLimitError.isInstance(error)).toBe(true);
    expect((error as RateLimitError).retryAfterMs).toBe(3_600_000);
    expect(server.requests).toHaveLength(1);
  });

  it('does not retry a POST by default', async () => {
    const server = await serve({
      handlers: [http.post('*/api/things', () => HttpResponse.json({ id: 1 }))],
      faults: { failRate: 1, failStatus: 503, times: 1 },
    });
    const { c } = client(server);
    await expect(c.request('things', { method: 'POST', json: { a: 1 } })).rejects.toBeInstanceOf(ServerError);
    expect(server.requests).toHaveLength(1);
  });

  it('retries a POST refused with 429 when asked to, and nothing else it fails with', async () => {
    const limited = await serve({
      handlers: [http.post('*/api/things', () => HttpResponse.json({ id: 1 }))],
      faults: { rateLimitRate: 1, retryAfter: 0, times: 1 },
    });
    const { c, events } = client(limited);
    const res = await c.request('things', { method: 'POST', json: { a: 1 }, retryRateLimited: true });
    expect(res.json()).toEqual({ id: 1 });
    expect(limited.requests.map((r) => r.status)).toEqual([429, 200]);
    expect(events.some((e) => e.type === 'retry' && e.status === 429)).toBe(true);
    const failing = await serve({
      handlers: [http.post('*/api/things', () => HttpResponse.json({ id: 1 }))],
      faults: { failRate: 1, failStatus: 503, times: 1 },
    });
    await expect(
      client(failing).c.request('things', { method: 'POST', json: { a: 1 }, retryRateLimited: true }),
    ).rejects.toBeInstanceOf(ServerError);
    expect(failing.requests).toHaveLength(1);
  });

  it('retries a POST marked safe to repeat', async () => {
    const server = await serve({
      handlers: [http.post('*/api/things', () => HttpResponse.json({ id: 1 }))],
      faults: { failRate: 1, failStatus: 503, times: 1 },
    });
    const { c } = client(server);
    const res = await c.request('things', { method: 'POST', json: { a: 1 }, idempotent: true });
    expect(res.json()).toEqual({ id: 1 });
    expect(server.requests.map((r) => r.bodyBytes)).toEqual([7, 7]);
  });

  it('retries only the statuses a call lists', async () => {
    const server = await serve({ handlers: [ok], faults: { failRate: 1, failStatus: 500, times: 1 } });
    const { c } = client(server);
    await expect(c.request('thing', { retryStatuses: [502, 503] })).rejects.toBeInstanceOf(ServerError);
    expect(server.requests).toHaveLength(1);
  });

  it('gives up after maxRetries with the last error', async () => {
    const server = await serve({ handlers: [ok], faults: { failRate: 1, failStatus: 500 } });
    const { c } = client(server, { maxRetries: 3 });
    await expect(c.request('thing')).rejects.toBeInstanceOf(ServerError);
    expect(server.requests).toHaveLength(4);
  });

  it('retries a body cut short (full Content-Length, then close)', async () => {
    const big = 'x'.repeat(50_000);
    const server = await serve({
      handlers: [
        http.get('*/api/big', () => new HttpResponse(big, { headers: { 'content-type': 'text/plain' } })),
      ],
      faults: { truncateRate: 1, times: 1 },
    });
    const { c, events } = client(server);
    const res = await c.request('big');
    expect(res.text()).toBe(big);
    expect(server.requests.map((r) => r.fault)).toEqual(['truncate', undefined]);
    expect(events.some((e) => e.type === 'retry' && /cut short/.test(e.reason))).toBe(true);
  });

  it('reports a reset connection as ConnectionError (status 0) once retries are spent', async () => {
    const server = await serve({ handlers: [ok], faults: { resetRate: 1 } });
    const { c } = client(server, { maxRetries: 1 });
    const error = await c.request('thing').catch((e: unknown) => e);
    expect(ConnectionError.isInstance(error)).toBe(true);
    expect((error as ConnectionError).status).toBe(0);
    expect(server.requests).toHaveLength(2);
  });
});

describe('timeouts and cancellation', () => {
  /** A handler that answers only once released; `held` resolves when its request has arrived. */
  function held(path: string) {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const handler = http.get(path, async () => {
      await gate;
      return HttpResponse.json({ id: 7, name: 'seven' });
    });
    return { handler, release };
  }

  it('raises TimeoutError when the server is too slow, at the timeout and not before', async () => {
    const slow = held('*/api/thing');
    const server = await serve({ handlers: [slow.handler] });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { c } = client(server, { timeout: 150, maxRetries: 0 });
      let settled = false;
      const pending = c
        .request('thing')
        .catch((e: unknown) => e)
        .finally(() => {
          settled = true;
        });
      // The request is at the server, so the client's timer runs: only the fake clock moves it.
      await until(() => server.requests.length === 1);
      await vi.advanceTimersByTimeAsync(149);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      const error = await pending;
      expect(TimeoutError.isInstance(error)).toBe(true);
      expect((error as TimeoutError).timeoutMs).toBe(150);
    } finally {
      vi.useRealTimers();
      slow.release();
    }
  });

  it('aborts with AbortError and leaves no listener or timer behind', async () => {
    const slow = held('*/api/held');
    const server = await serve({ handlers: [ok, slow.handler] });
    const { c } = client(server, { timeout: 30_000 });
    const controller = new AbortController();
    let listeners = 0;
    const add = controller.signal.addEventListener.bind(controller.signal);
    const remove = controller.signal.removeEventListener.bind(controller.signal);
    controller.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      listeners++;
      return add(...args);
    }) as typeof add;
    controller.signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      listeners--;
      return remove(...args);
    }) as typeof remove;

    // A completed request removes its listener too.
    await c.request('thing', { signal: controller.signal, timeout: 5000 }).catch(() => undefined);
    expect(listeners).toBe(0);

    const timersBefore = getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const pending = c.request('held', { signal: controller.signal });
    await until(() => server.requests.length === 2);
    controller.abort();
    const error = await pending.catch((e: unknown) => e);
    slow.release();
    expect(AbortError.isInstance(error)).toBe(true);
    expect(listeners).toBeLessThanOrEqual(0);
    const timersAfter = getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    expect(timersAfter).toBeLessThanOrEqual(timersBefore);
  });

  it('aborts during a retry wait', async () => {
    const server = await serve({ handlers: [ok], faults: { rateLimitEvery: 1, retryAfter: 30 } });
    const { c, events } = client(server, { retry: { maxRetryAfterMs: 60_000 } });
    const controller = new AbortController();
    const pending = c.request('thing', { signal: controller.signal });
    // Aborted once the 30 s wait has been announced: ending it at once is what the test's timeout checks.
    await until(() => events.some((e) => e.type === 'retry'));
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    expect(server.requests).toHaveLength(1);
  });

  it('applies the timeout to a stream as an idle timeout', async () => {
    // The second chunk waits until the test has seen the timeout: no race with a slow machine.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const server = await serve({
      handlers: [
        http.get('*/api/slow-stream', () => {
          const body = new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('first'));
              // Not awaited: the stream starts at once, then stays silent until the gate opens.
              void gate.then(() => {
                controller.enqueue(new TextEncoder().encode('late'));
                controller.close();
              });
            },
          });
          return new HttpResponse(body);
        }),
      ],
    });
    try {
      const { c } = client(server, { timeout: 1000 });
      const res = await c.stream('slow-stream');
      const reader = res.body.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toBe('first');
      await expect(reader.read()).rejects.toBeInstanceOf(TimeoutError);
    } finally {
      release();
    }
  });
});

describe('timeouts and cancellation when fetch never sees the abort', () => {
  // On Node 20 the combined signal ky hands to fetch can be garbage-collected while a request is pending; an
  // abort then never reaches fetch. A fetch that drops the signal stands in for that: timeouts and the
  // caller's signal must still end every wait.
  const deafFetch: typeof fetch = (input, init) => {
    const request = input instanceof Request ? input : new Request(input, init);
    return globalThis.fetch(request.url, { method: request.method, headers: request.headers });
  };
  let release: () => void = () => undefined;
  const silent = () =>
    serve({
      handlers: [
        http.get('*/api/silent-stream', () => {
          const gate = new Promise<void>((resolve) => {
            release = resolve;
          });
          const body = new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('first'));
              void gate.then(() => controller.close());
            },
          });
          return new HttpResponse(body);
        }),
        http.get('*/api/no-answer', async () => {
          await new Promise<void>((resolve) => {
            release = resolve;
          });
          return HttpResponse.json({});
        }),
      ],
    });

  it('ends a stalled stream with TimeoutError', async () => {
    const server = await silent();
    try {
      const { c } = client(server, { timeout: 500, fetch: deafFetch });
      const res = await c.stream('silent-stream');
      const reader = res.body.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toBe('first');
      await expect(reader.read()).rejects.toBeInstanceOf(TimeoutError);
    } finally {
      release();
    }
  });

  it('ends a request whose answer never comes with TimeoutError, and a stream with AbortError', async () => {
    const server = await silent();
    try {
      const { c } = client(server, { timeout: 500, maxRetries: 0, fetch: deafFetch });
      await expect(c.request('no-answer')).rejects.toBeInstanceOf(TimeoutError);
      release();
      const controller = new AbortController();
      const res = await c.stream('silent-stream', { signal: controller.signal, timeout: false });
      const reader = res.body.getReader();
      await reader.read();
      // The next read waits for a body that never comes: only the abort can end it.
      const next = reader.read();
      controller.abort();
      await expect(next).rejects.toBeInstanceOf(AbortError);
    } finally {
      release();
    }
  });
});

describe('errors', () => {
  it('maps 404 with a JSON detail to NotFoundError', async () => {
    const server = await serve({
      handlers: [
        http.get('*/api/datasets/:id', () =>
          HttpResponse.json({ detail: 'Dataset not found' }, { status: 404 }),
        ),
      ],
    });
    const { c } = client(server);
    const error = await c.request('datasets/abc').catch((e: unknown) => e);
    expect(NotFoundError.isInstance(error)).toBe(true);
    expect((error as NotFoundError).message).toBe(
      'test: GET /api/datasets/abc failed with 404 Not Found: Dataset not found',
    );
    expect((error as NotFoundError).detail).toBe('Dataset not found');
  });

  it('accepts statuses a caller expects (308 Resume Incomplete)', async () => {
    const server = await serve({
      handlers: [
        http.put('*/upload', () => new HttpResponse(null, { status: 308, headers: { range: 'bytes=0-99' } })),
      ],
    });
    const { c } = client(server);
    const res = await c.request(`${server.url}/upload`, { method: 'PUT', body: 'x', acceptStatus: [308] });
    expect(res.status).toBe(308);
    expect(res.headers.get('range')).toBe('bytes=0-99');
  });

  it('reports a body that does not match the schema', async () => {
    const server = await serve({ handlers: [http.get('*/api/thing', () => HttpResponse.json({ id: 'x' }))] });
    const { c } = client(server);
    const error = await c.json('thing', thing).catch((e: unknown) => e);
    expect(ResponseValidationError.isInstance(error)).toBe(true);
    expect((error as ResponseValidationError).message).toMatch(
      /GET \/api\/thing: id: .*; name: .*body: \{"id":"x"\}/,
    );
  });

  it('never lets a secret from the URL, a header or the body into an error or its JSON', async () => {
    const secret = 'sk-live-0123456789abcdef';
    const server = await serve({
      handlers: [
        http.get('*/api/fail', ({ request }) =>
          HttpResponse.text(
            `crash while handling ${request.headers.get('x-api-key')} ${new URL(request.url).search}`,
            {
              status: 500,
            },
          ),
        ),
      ],
    });
    const { c } = client(server, { maxRetries: 0, auth: headerAuth('X-Api-Key', secret) });
    const error = (await c.request(`fail?api_key=${secret}`).catch((e: unknown) => e)) as Error;
    expect(ServerError.isInstance(error)).toBe(true);
    // the server really did echo it
    expect(server.requests[0]?.headers['x-api-key']).toBe(secret);
    const exposed = [
      error.message,
      error.stack,
      String(error),
      JSON.stringify(error),
      JSON.stringify((error as ServerError).toJSON()),
    ];
    for (const text of exposed) expect(text).not.toContain(secret);
  });
});

describe('auth', () => {
  it('sends a bearer token and the user agent', async () => {
    const server = await serve({ handlers: [ok] });
    const { c } = client(server, {
      auth: bearerAuth('key-abcdef123'),
      client: { name: '@sciport/test', version: '1.2.3' },
    });
    await c.request('thing');
    const headers = server.requests[0]?.headers ?? {};
    expect(headers.authorization).toBe('Bearer key-abcdef123');
    expect(headers['user-agent']).toMatch(/^@sciport\/test\/1\.2\.3 @sciport\/core\/\S+ node\/\d+/);
  });

  it('never sends credentials to another origin (a signed storage URL)', async () => {
    const storage = await serve({ handlers: [http.get('*/bucket/obj', () => HttpResponse.text('bytes'))] });
    const server = await serve({ handlers: [ok] });
    const { c } = client(server, {
      auth: cookieCsrfAuth({ cookies: { sessionid: 'sess-secret-123' } }),
      headers: { authorization: 'Bearer default-secret' },
    });
    const res = await c.request(`${storage.url}/bucket/obj?X-Goog-Signature=abc`);
    expect(res.text()).toBe('bytes');
    const h = storage.requests[0]?.headers ?? {};
    expect(h.cookie).toBeUndefined();
    expect(h.authorization).toBeUndefined();
  });

  it('drops credentials when a redirect leaves the origin, and can refuse such redirects', async () => {
    const other = await serve({ handlers: [http.get('*/landing', () => HttpResponse.text('elsewhere'))] });
    const server = await serve({
      handlers: [
        http.get(
          '*/api/moved',
          () => new HttpResponse(null, { status: 302, headers: { location: `${other.url}/landing` } }),
        ),
      ],
    });
    const { c, events } = client(server, { auth: headerAuth('ICSD-Auth-Token', 'tok-abcdef999') });
    const res = await c.request('moved', { headers: { authorization: 'Bearer per-request-secret' } });
    expect(res.text()).toBe('elsewhere');
    expect(server.requests[0]?.headers['icsd-auth-token']).toBe('tok-abcdef999');
    const leaked = other.requests[0]?.headers ?? {};
    expect(leaked['icsd-auth-token']).toBeUndefined();
    expect(leaked.authorization).toBeUndefined();
    expect(events.some((e) => e.type === 'redirect' && e.crossOrigin)).toBe(true);

    const strict = client(server, {
      auth: headerAuth('ICSD-Auth-Token', 'tok-abcdef999'),
      crossOriginRedirects: 'error',
    });
    await expect(strict.c.request('moved')).rejects.toThrow(/redirected to another host/);
    expect(other.requests).toHaveLength(1);
  });

  it('never sends a request body on to another host (a 307 of a login form)', async () => {
    const other = await serve({ handlers: [http.post('*/steal', () => HttpResponse.text('got it'))] });
    const server = await serve({
      handlers: [
        http.post(
          '*/api/login',
          () => new HttpResponse(null, { status: 307, headers: { location: `${other.url}/steal` } }),
        ),
      ],
    });
    const { c } = client(server);
    const error = await c
      .request('login', { method: 'POST', body: new URLSearchParams({ password: 'pw-secret-42' }) })
      .catch((e: unknown) => e);
    expect(ApiError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/another host .* request body/);
    expect(other.requests).toHaveLength(0);
  });

  it('quotes only the start of a long query string in an error message, keeping the whole URL', async () => {
    const server = await serve({
      handlers: [http.get('*/api/csv', () => HttpResponse.text('no', { status: 400 }))],
    });
    const { c } = client(server, { maxRetries: 0 });
    const ids = Array.from({ length: 500 }, (_, i) => String(100000 + i));
    const error = (await c.request('csv', { query: { idnum: ids } }).catch((e: unknown) => e)) as ApiError;
    expect(error.message.length).toBeLessThan(400);
    expect(error.message).toMatch(/characters\)/);
    expect(error.url).toContain('idnum=100499');
  });

  it('keeps credentials on a same-origin redirect (a missing trailing slash)', async () => {
    const server = await serve({
      handlers: [
        // msw matches with or without the trailing slash: one handler plays Django's APPEND_SLASH.
        http.get('*/api/targets', ({ request }) => {
          const u = new URL(request.url);
          if (u.pathname.endsWith('/')) return HttpResponse.json({ count: 0 });
          return new HttpResponse(null, { status: 301, headers: { location: `${u.pathname}/${u.search}` } });
        }),
      ],
    });
    const { c } = client(server, { auth: cookieCsrfAuth({ cookies: { sessionid: 'abc-session-1' } }) });
    const res = await c.request('targets', { query: { limit: 5 } });
    expect(res.json()).toEqual({ count: 0 });
    expect(server.requests.map((r) => `${r.path}|${r.headers.cookie}`)).toEqual([
      '/api/targets|sessionid=abc-session-1',
      '/api/targets/|sessionid=abc-session-1',
    ]);
    expect(server.requests[1]?.query.limit).toEqual(['5']);
  });

  function sessionServer(opts: { expireFirst?: boolean } = {}) {
    let logins = 0;
    let logouts = 0;
    const live = new Set<string>();
    const handlers = [
      http.post('*/api/auth/login', async ({ request }) => {
        const form = new URLSearchParams(await request.text());
        if (form.get('password') !== 'pw-correct-horse')
          return HttpResponse.text('bad credentials', { status: 401 });
        logins++;
        const token = `token-${logins}-abcdef`;
        live.add(token);
        return HttpResponse.text('Authentication successful', { headers: { 'ICSD-Auth-Token': token } });
      }),
      http.get('*/api/auth/logout', ({ request }) => {
        const t = request.headers.get('icsd-auth-token') ?? '';
        if (!live.delete(t)) return HttpResponse.text('no', { status: 401 });
        logouts++;
        return HttpResponse.text('Logout successful');
      }),
      http.get('*/api/data', ({ request }) => {
        const t = request.headers.get('icsd-auth-token') ?? '';
        if (opts.expireFirst && t === 'token-1-abcdef') live.delete(t);
        if (!live.has(t)) return HttpResponse.text('token expired', { status: 401 });
        return HttpResponse.json({ ok: true, token: t });
      }),
    ];
    return { handlers, stats: () => ({ logins, logouts, live: live.size }) };
  }

  function icsdLikeAuth(password = 'pw-correct-horse') {
    return sessionAuth({
      async login({ http: h, signal }) {
        const res = await h.request('auth/login', {
          method: 'POST',
          form: { loginid: 'alice', password },
          signal,
          headers: { accept: 'text/plain' },
        });
        const token = res.headers.get('icsd-auth-token');
        return { token: token ?? '' };
      },
      async logout({ http: h }, token) {
        await h.request('auth/logout', { headers: { 'icsd-auth-token': token } });
      },
      apply: (headers, token) => headers.set('ICSD-Auth-Token', token),
    });
  }

  it('session: logs in lazily once for concurrent requests, and logs out on dispose', async () => {
    const sim = sessionServer();
    const server = await serve({ handlers: sim.handlers });
    const { c } = client(server, { auth: icsdLikeAuth() });
    expect(sim.stats().logins).toBe(0);
    const results = await Promise.all([1, 2, 3, 4].map(() => c.json('data', z.object({ ok: z.boolean() }))));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(sim.stats().logins).toBe(1);
    await c[Symbol.asyncDispose]();
    expect(sim.stats()).toEqual({ logins: 1, logouts: 1, live: 0 });
  });

  it('session: a 401 logs in once more and the request succeeds', async () => {
    const sim = sessionServer({ expireFirst: true });
    const server = await serve({ handlers: sim.handlers });
    const { c, events } = client(server, { auth: icsdLikeAuth() });
    const res = await c.request('data');
    expect(res.json()).toEqual({ ok: true, token: 'token-2-abcdef' });
    expect(sim.stats().logins).toBe(2);
    expect(events.filter((e) => e.type === 'auth').map((e) => e.type === 'auth' && e.action)).toEqual([
      'login',
      'relogin',
    ]);
  });

  it('session: wrong credentials give AuthenticationError without leaking the password', async () => {
    const sim = sessionServer();
    const server = await serve({ handlers: sim.handlers });
    const { c } = client(server, { auth: icsdLikeAuth('wrong-password-9') });
    const error = (await c.request('data').catch((e: unknown) => e)) as Error;
    expect(AuthenticationError.isInstance(error)).toBe(true);
    expect(JSON.stringify(error)).not.toContain('wrong-password-9');
    // Logging in with bad credentials is not retried in a loop.
    expect(server.requests.filter((r) => r.path.endsWith('/login'))).toHaveLength(1);
  });

  it('cookie + CSRF: fetches the CSRF cookie once, before the first write only', async () => {
    let bootstraps = 0;
    const server = await serve({
      handlers: [
        http.get('*/viewer/react/landing/', () => {
          bootstraps++;
          return new HttpResponse('<html></html>', {
            headers: {
              'content-type': 'text/html',
              'set-cookie': 'csrftoken=csrf-value-xyz; Path=/; SameSite=Lax',
            },
          });
        }),
        http.get('*/api/targets/', () => HttpResponse.json([])),
        http.post('*/api/download_structures/', ({ request }) =>
          request.headers.get('x-csrftoken') === 'csrf-value-xyz'
            ? HttpResponse.json({ ok: true })
            : HttpResponse.json({ detail: 'CSRF Failed: CSRF token missing.' }, { status: 403 }),
        ),
      ],
    });
    const c = createHttpClient({
      baseUrl: server.url,
      service: 'fragalysis',
      auth: cookieCsrfAuth({
        cookies: { sessionid: 'sid-1234567' },
        csrf: { bootstrapPath: '/viewer/react/landing/' },
      }),
    });
    await c.request('/api/targets/');
    expect(bootstraps).toBe(0);
    await c.request('/api/download_structures/', { method: 'POST', json: { target_name: 'Mpro' } });
    await c.request('/api/download_structures/', { method: 'POST', json: { target_name: 'A71EV2A' } });
    expect(bootstraps).toBe(1);
    const post = server.requests.find((r) => r.method === 'POST');
    expect(post?.headers.cookie).toBe('sessionid=sid-1234567; csrftoken=csrf-value-xyz');
    expect(post?.headers.referer).toBe(`${server.url}/viewer/react/landing/`);
  });
});

describe('cookie + CSRF without a session', () => {
  it('writes anonymously without the bootstrap page, and bootstraps once when the server asks', async () => {
    let bootstraps = 0;
    let strict = false;
    const server = await serve({
      handlers: [
        http.get('*/viewer/react/landing/', () => {
          bootstraps++;
          return new HttpResponse('<html></html>', {
            headers: { 'content-type': 'text/html', 'set-cookie': 'csrftoken=csrf-anon-1; Path=/' },
          });
        }),
        http.post('*/api/download_structures/', ({ request }) =>
          !strict || request.headers.get('x-csrftoken') === 'csrf-anon-1'
            ? HttpResponse.json({ ok: true })
            : HttpResponse.json({ detail: 'CSRF Failed: CSRF cookie not set.' }, { status: 403 }),
        ),
      ],
    });
    const make = () =>
      createHttpClient({
        baseUrl: server.url,
        service: 'fragalysis',
        auth: cookieCsrfAuth({
          csrf: { bootstrapPath: '/viewer/react/landing/', sessionCookie: 'sessionid' },
        }),
      });
    await make().request('/api/download_structures/', { method: 'POST', json: {} });
    expect(bootstraps).toBe(0);
    strict = true;
    const answer = await make().request('/api/download_structures/', { method: 'POST', json: {} });
    expect(answer.json()).toEqual({ ok: true });
    expect(bootstraps).toBe(1);
  });
});

describe('requests', () => {
  it('repeats array query keys in order and encodes a key with a space like a form', async () => {
    const server = await serve({ handlers: [http.get('*/api/cif/multiple', () => HttpResponse.text('ok'))] });
    const { c } = client(server);
    await c.request('cif/multiple', {
      query: { idnum: [3, 1, 2], 'content type': 'EXPERIMENTAL_INORGANIC', skip: undefined, b: false },
    });
    const r = server.requests[0];
    expect(r?.url).toContain('idnum=3&idnum=1&idnum=2&content+type=EXPERIMENTAL_INORGANIC&b=false');
    expect(r?.query.idnum).toEqual(['3', '1', '2']);
  });

  it('keeps the base URL path prefix and trailing slashes', async () => {
    const { c } = client(await serve({ handlers: [] }));
    expect(c.url('/datasets/').pathname).toBe('/api/datasets/');
    expect(c.url('datasets').pathname).toBe('/api/datasets');
    expect(c.url('https://other.test/x').href).toBe('https://other.test/x');
  });

  it('withOptions shares auth and overrides settings', async () => {
    const server = await serve({ handlers: [ok], faults: { failRate: 1, failStatus: 503, times: 1 } });
    const { c } = client(server, { auth: bearerAuth('abc-123-xyz') });
    const noRetry = c.withOptions({ maxRetries: 0 });
    await expect(noRetry.request('thing')).rejects.toBeInstanceOf(ServerError);
    await expect(noRetry.request('thing')).resolves.toBeDefined();
    expect(server.requests.every((r) => r.headers.authorization === 'Bearer abc-123-xyz')).toBe(true);
  });
});
