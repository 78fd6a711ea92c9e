import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../http-server.js';
import { endlessBody, gzipBomb, gzipOfZeros, htmlPage, lyingLength, stallAfterHeaders } from './scenarios.js';

/** GETs `url` with node:http (no fetch framing checks), collecting up to `limit` bytes, then destroys. */
function get(url: string, limit = Number.POSITIVE_INFINITY) {
  return new Promise<{ status: number; headers: Record<string, unknown>; bytes: number; ended: boolean }>(
    (resolve, reject) => {
      const req = request(url, (res) => {
        let bytes = 0;
        res.on('data', (d: Buffer) => {
          bytes += d.byteLength;
          if (bytes >= limit) {
            req.destroy();
            resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, ended: false });
          }
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, ended: true }),
        );
        res.on('error', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, ended: false }),
        );
      });
      req.on('error', reject);
      req.end();
    },
  );
}

describe('hostile routes', () => {
  it('an endless body keeps sending until the client leaves, and counts what it sent', async () => {
    const route = endlessBody({ path: '/f' });
    await using server = await startTestServer({ handlers: [], raw: [route] });
    const got = await get(`${server.url}/f`, 1 << 20);
    expect(got.status).toBe(200);
    expect(got.headers['content-length']).toBeUndefined();
    expect(got.bytes).toBeGreaterThanOrEqual(1 << 20);
    expect(route.stats.requests).toBe(1);
    expect(server.requests.map((r) => r.path)).toEqual(['/f']);
  });

  it('a lying length sends another number of bytes than it declares', async () => {
    const route = lyingLength({ path: '/f' }, { declared: 10, sent: 5 });
    await using server = await startTestServer({ handlers: [], raw: [route] });
    const got = await get(`${server.url}/f`);
    expect(got.headers['content-length']).toBe('10');
    expect(got.ended).toBe(false);
    expect(route.stats.bytesSent).toBe(5);
  });

  it('a stall after the headers sends the head and nothing more until the client leaves', async () => {
    const route = stallAfterHeaders({ path: '/f' }, { sent: 3 });
    await using server = await startTestServer({ handlers: [], raw: [route] });
    const got = await get(`${server.url}/f`, 3);
    expect(got.headers['content-length']).toBe('100');
    expect(got.bytes).toBe(3);
    expect(route.stats.bytesSent).toBe(3);
  });

  it('a gzip bomb is small on the wire and large decoded', async () => {
    const bytes = await gzipOfZeros(8 << 20);
    expect(bytes.byteLength).toBeLessThan(64 * 1024);
    expect(gunzipSync(bytes).byteLength).toBe(8 << 20);
    const route = gzipBomb({ path: '/f' }, { decoded: 8 << 20 });
    await using server = await startTestServer({ handlers: [], raw: [route] });
    const got = await get(`${server.url}/f`);
    expect(got.headers['content-encoding']).toBe('gzip');
    expect(got.bytes).toBe(bytes.byteLength);
  });

  it('raw routes match by path and come before runtime msw handlers; resetHandlers drops runtime ones', async () => {
    await using server = await startTestServer({ handlers: [] });
    server.useRaw(htmlPage({ path: '/login*' }));
    const page = await fetch(`${server.url}/login/x`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<form>');
    expect((await fetch(`${server.url}/other`)).status).toBe(404);
    server.resetHandlers();
    expect((await fetch(`${server.url}/login/x`)).status).toBe(404);
  });
});
