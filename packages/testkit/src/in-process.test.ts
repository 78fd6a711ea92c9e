import { HttpResponse, http } from 'msw';
import { type SetupServer, setupServer } from 'msw/node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { faultHandlers } from './faults.js';
import { startTestServer } from './http-server.js';

// The same handlers serve unit tests (in-process, through msw's interception of fetch) and integration
// tests (over HTTP, through startTestServer).
const BASE = 'http://api.example.test';
const handlers = [
  http.get('*/ws/items/:id', ({ params }) => HttpResponse.json({ id: params.id })),
  http.post('*/ws/echo', async ({ request }) => HttpResponse.text(await request.text())),
];

let msw: SetupServer | undefined;

afterEach(() => {
  msw?.close();
  msw = undefined;
});

function listen(...list: Parameters<typeof setupServer>): SetupServer {
  msw = setupServer(...list);
  msw.listen({ onUnhandledRequest: 'error' });
  return msw;
}

async function statuses(url: string, count: number): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(url);
    await res.arrayBuffer();
    result.push(res.status);
  }
  return result;
}

describe('faultHandlers with msw setupServer', () => {
  it('lets requests fall through to the service handlers when no fault fires', async () => {
    listen(...faultHandlers({ match: { path: '/elsewhere' }, failRate: 1 }), ...handlers);
    const res = await fetch(`${BASE}/ws/items/5`);
    expect(await res.json()).toEqual({ id: '5' });
    const echo = await fetch(`${BASE}/ws/echo`, { method: 'POST', body: 'hi' });
    expect(await echo.text()).toBe('hi');
  });

  it('answers one 503 with Retry-After, then normal answers (times: 1)', async () => {
    listen(...faultHandlers({ failRate: 1, failStatus: 503, retryAfter: 1, times: 1 }), ...handlers);
    const first = await fetch(`${BASE}/ws/items/1`);
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('1');
    expect(first.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await first.text()).toBe('503 Service Unavailable (injected fault)');
    expect((await fetch(`${BASE}/ws/items/1`)).status).toBe(200);
  });

  it('rate limits every Nth request with Retry-After', async () => {
    listen(...faultHandlers({ rateLimitEvery: 2, retryAfter: 4 }), ...handlers);
    expect(await statuses(`${BASE}/ws/items/1`, 4)).toEqual([200, 429, 200, 429]);
    const res = await fetch(`${BASE}/ws/items/1`);
    expect(res.status).toBe(200);
  });

  it('turns resets into network errors', async () => {
    listen(...faultHandlers({ resetRate: 1 }), ...handlers);
    await expect(fetch(`${BASE}/ws/items/1`)).rejects.toThrow(TypeError);
  });

  it('adds latency, then falls through', async () => {
    listen(...faultHandlers({ latencyMs: 120 }), ...handlers);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let settled = false;
      const res = fetch(`${BASE}/ws/items/3`).finally(() => {
        settled = true;
      });
      // The fault handler waits out its 120 ms (the one timer): no answer until the clock has moved that far.
      while (vi.getTimerCount() === 0) await new Promise((resolve) => setImmediate(resolve));
      await vi.advanceTimersByTimeAsync(119);
      for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(await (await res).json()).toEqual({ id: '3' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('ignores truncation in-process', async () => {
    listen(...faultHandlers({ truncateRate: 1 }), ...handlers);
    const res = await fetch(`${BASE}/ws/items/9`);
    expect(await res.json()).toEqual({ id: '9' });
  });

  it('works when added at runtime with server.use (which prepends)', async () => {
    const server = listen(...handlers);
    server.use(...faultHandlers({ failRate: 1, failStatus: 500 }));
    expect((await fetch(`${BASE}/ws/items/1`)).status).toBe(500);
    server.resetHandlers();
    expect((await fetch(`${BASE}/ws/items/1`)).status).toBe(200);
  });

  it('does not hide unhandled requests from onUnhandledRequest', async () => {
    const unhandled: string[] = [];
    const server = setupServer(...faultHandlers({ latencyMs: 1 }), ...handlers);
    msw = server;
    server.listen({
      onUnhandledRequest: (request) => {
        unhandled.push(request.url);
      },
    });
    // Port 9 (discard) on loopback: nothing answers, so the passed-through request fails.
    await fetch('http://127.0.0.1:9/not-simulated').catch(() => undefined);
    expect(unhandled).toEqual(['http://127.0.0.1:9/not-simulated']);
  });

  it('gives the same fail/429 sequence in-process as over HTTP for a seed', async () => {
    const faults = { failRate: 0.3, rateLimitRate: 0.2 };
    listen(...faultHandlers(faults, { seed: 21 }), ...handlers);
    const inProcess = await statuses(`${BASE}/ws/items/1`, 25);
    msw?.close();
    msw = undefined;

    const server = await startTestServer({ handlers, faults, seed: 21 });
    try {
      expect(await statuses(`${server.url}/ws/items/1`, 25)).toEqual(inProcess);
    } finally {
      await server.close();
    }
    expect(new Set(inProcess)).toEqual(new Set([200, 429, 500, 503].filter((s) => inProcess.includes(s))));
    expect(inProcess.some((s) => s !== 200)).toBe(true);
  });
});
