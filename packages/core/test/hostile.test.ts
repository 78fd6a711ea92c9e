import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestServer, type TestServer } from '@sciport/testkit';
import { endlessBody, gzipBomb, type HostileRoute, stallAfterHeaders } from '@sciport/testkit/hostile';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  IntegrityError,
  ResponseTooLargeError,
  SciportError,
  TimeoutError,
  UsageError,
} from '../src/errors.js';
import { createHttpClient } from '../src/http/client.js';
import type { HttpClientOptions } from '../src/http/types.js';
import { nodeDownloadFetch } from '../src/node/download-fetch.js';
import { type DownloadProgress, downloadToFile } from '../src/node/files/download.js';

/**
 * Servers that misbehave on purpose (`@sciport/testkit/hostile`), over real sockets: every transfer ends in a
 * clear error within bounded bytes and bounded time (generous budgets, never races against the clock), with
 * nothing left on disk.
 */

const MiB = 1024 * 1024;
/** Wall time any of these failures may take at most (they take milliseconds). */
const BUDGET_MS = 10_000;

let dir: string;
let server: TestServer | undefined;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-hostile-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function serve(...routes: HostileRoute[]): Promise<TestServer> {
  server = await startTestServer({ handlers: [], raw: routes });
  return server;
}

/** The client of a storage service: downloads over the undici transport (the raw pipe) unless told otherwise. */
function storage(s: TestServer, options: Partial<HttpClientOptions> = {}) {
  return createHttpClient({
    baseUrl: s.url,
    service: 'storage',
    downloadFetch: nodeDownloadFetch,
    timeout: 30_000,
    maxRetries: 0,
    ...options,
  });
}

/** Runs `fn`, returning its error (failing when it succeeds) and how long it took. */
async function failure(fn: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  try {
    await fn();
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
  throw new Error('expected a failure');
}

/** The largest size `onProgress` reported. */
function progressTracker() {
  let most = 0;
  return {
    onProgress: (p: DownloadProgress) => {
      most = Math.max(most, p.bytes);
    },
    most: () => most,
  };
}

describe('bounded bytes', () => {
  const paths = [
    ['the raw pipe (nodeDownloadFetch)', { downloadFetch: nodeDownloadFetch }],
    ['the web stream (global fetch)', { downloadFetch: undefined }],
  ] as const;

  for (const [name, transport] of paths) {
    it(`stops an endless body without a length at the known size + 1 byte, through ${name}`, async () => {
      const route = endlessBody({ path: '/files/*' });
      const s = await serve(route);
      const http = storage(s, transport);
      const target = path.join(dir, 'record.json');
      const progress = progressTracker();
      const { error, ms } = await failure(() =>
        downloadToFile(({ signal }) => http.stream('/files/record.json', { signal }), target, {
          expectedSize: 140,
          keepPartial: true,
          onProgress: progress.onProgress,
        }),
      );
      expect(IntegrityError.isInstance(error)).toBe(true);
      expect((error as IntegrityError).message).toMatch(/larger than the 140 bytes expected/);
      expect((error as IntegrityError).retryable).toBe(false);
      // Nothing beyond the known size reached the disk, and nothing is left: wrong data is never kept, not
      // even as a partial file to resume.
      expect(progress.most()).toBeLessThanOrEqual(140);
      expect(await readdir(dir)).toEqual([]);
      expect(ms).toBeLessThan(BUDGET_MS);
      // The connection was dropped at once: the server could push no more than what the socket buffers hold.
      await expect.poll(() => route.stats.requests).toBe(1);
      expect(route.stats.bytesSent).toBeLessThan(64 * MiB);
    });
  }

  it('stops an endless body that a plain fetch Response carries, at the known size', async () => {
    const route = endlessBody({ path: '/f' });
    const s = await serve(route);
    const target = path.join(dir, 'f.bin');
    const { error } = await failure(async () =>
      downloadToFile(await fetch(`${s.url}/f`), target, { expectedSize: 140 }),
    );
    expect(IntegrityError.isInstance(error)).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });

  for (const [name, transport] of paths) {
    it(`refuses a gzip bomb by its decoded bytes when the size is known, through ${name}`, async () => {
      const route = gzipBomb({ path: '/files/*' }); // 200 MB of zeros, about 200 KB on the wire
      const s = await serve(route);
      const http = storage(s, transport);
      const progress = progressTracker();
      const { error, ms } = await failure(() =>
        downloadToFile(() => http.stream('/files/data.bin'), path.join(dir, 'data.bin'), {
          expectedSize: MiB,
          onProgress: progress.onProgress,
        }),
      );
      expect(IntegrityError.isInstance(error)).toBe(true);
      expect(progress.most()).toBeLessThanOrEqual(MiB);
      expect(await readdir(dir)).toEqual([]);
      expect(ms).toBeLessThan(BUDGET_MS);
    });
  }

  it('refuses a buffered answer over maxBodyBytes by its decoded bytes (a gzip bomb), naming URL, limit and option', async () => {
    const route = gzipBomb({ path: '/api/*' });
    const s = await serve(route);
    const http = storage(s, { maxBodyBytes: MiB });
    const { error, ms } = await failure(() => http.request('/api/records?token=s3cret'));
    expect(ResponseTooLargeError.isInstance(error)).toBe(true);
    const e = error as ResponseTooLargeError;
    expect(e.code).toBe('response_too_large');
    expect(e.limit).toBe(MiB);
    expect(e.retryable).toBe(false);
    expect(e.message).toContain(`${s.url}/api/records`);
    expect(e.message).toContain('1 MiB');
    expect(e.message).toContain('maxBodyBytes');
    expect(e.message).not.toContain('s3cret');
    expect(ms).toBeLessThan(BUDGET_MS);
  });

  it('refuses a buffered answer whose Content-Length is over maxBodyBytes before reading it', async () => {
    const route = endlessBody({ path: '/api/*' }, { headers: { 'content-length': 10 * MiB } });
    const s = await serve(route);
    const http = storage(s, { maxBodyBytes: MiB });
    const { error } = await failure(() => http.json('/api/list', z.unknown()));
    expect(ResponseTooLargeError.isInstance(error)).toBe(true);
    expect((error as ResponseTooLargeError).declared).toBe(10 * MiB);
    expect((error as Error).message).toMatch(/too large \(10 MiB/);
  });

  it('stops a buffered answer without a length at maxBodyBytes', async () => {
    const route = endlessBody({ path: '/api/*' });
    const s = await serve(route);
    const http = storage(s, { maxBodyBytes: MiB });
    const { error, ms } = await failure(() => http.request('/api/list'));
    expect(ResponseTooLargeError.isInstance(error)).toBe(true);
    expect(ms).toBeLessThan(BUDGET_MS);
    expect(route.stats.bytesSent).toBeLessThan(64 * MiB);
  });
});

describe('bounded time', () => {
  const TIMEOUT = 300;

  it('ends a buffered request whose body stalls after the headers with a TimeoutError', async () => {
    const s = await serve(stallAfterHeaders({ path: '/api/*' }, { sent: 10 }));
    const http = storage(s, { timeout: TIMEOUT });
    for (const call of [
      () => http.request('/api/whoami'),
      () => http.request('/api/whoami', { maxRetries: 1 }),
    ]) {
      const { error, ms } = await failure(call);
      expect(TimeoutError.isInstance(error)).toBe(true);
      expect(ms).toBeLessThan(BUDGET_MS);
    }
  });

  it('ends a streamed body that stalls with a TimeoutError (web stream)', async () => {
    const s = await serve(stallAfterHeaders({ path: '/files/*' }, { sent: 10 }));
    const http = storage(s, { timeout: TIMEOUT, downloadFetch: undefined });
    const response = await http.stream('/files/a');
    const { error, ms } = await failure(() => new Response(response.body).arrayBuffer());
    expect(TimeoutError.isInstance(error)).toBe(true);
    expect(ms).toBeLessThan(BUDGET_MS);
  });

  for (const [name, downloadFetch] of [
    ['raw pipe', nodeDownloadFetch],
    ['web stream', undefined],
  ] as const) {
    it(`ends a download that stalls with a TimeoutError, leaving nothing (${name})`, async () => {
      const s = await serve(stallAfterHeaders({ path: '/files/*' }, { sent: 10 }));
      const http = storage(s, { timeout: TIMEOUT, downloadFetch });
      const { error, ms } = await failure(() =>
        downloadToFile(({ signal }) => http.stream('/files/a', { signal }), path.join(dir, 'a'), {
          maxResumes: 1,
        }),
      );
      expect(TimeoutError.isInstance(error)).toBe(true);
      expect(ms).toBeLessThan(BUDGET_MS);
      expect(await readdir(dir)).toEqual([]);
    });
  }

  it("bounds a download of a plain fetch Response by downloadToFile's own timeout", async () => {
    const s = await serve(stallAfterHeaders({ path: '/f' }, { sent: 10 }));
    const { error, ms } = await failure(async () =>
      downloadToFile(await fetch(`${s.url}/f`), path.join(dir, 'f'), { timeout: TIMEOUT }),
    );
    expect(TimeoutError.isInstance(error)).toBe(true);
    expect((error as TimeoutError).timeoutMs).toBe(TIMEOUT);
    expect(ms).toBeLessThan(BUDGET_MS);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a timeout above the timer limit instead of firing at once', async () => {
    const s = await serve(stallAfterHeaders({ path: '/f' }));
    const tooLong = 2_147_483_648;
    expect(() => createHttpClient({ baseUrl: s.url, service: 's', timeout: tooLong })).toThrow(UsageError);
    expect(() => createHttpClient({ baseUrl: s.url, service: 's', timeout: tooLong })).toThrow(
      /longer than the longest timer/,
    );
    const http = storage(s);
    expect(() => http.withOptions({ timeout: tooLong })).toThrow(UsageError);
    await expect(http.request('/f', { timeout: tooLong })).rejects.toThrow(UsageError);
    await expect(http.request('/f', { timeout: Number.NaN })).rejects.toThrow(UsageError);
    await expect(
      downloadToFile(() => http.stream('/f'), path.join(dir, 'f'), { timeout: tooLong }),
    ).rejects.toThrow(UsageError);
    // The largest allowed value and `false` are accepted.
    expect(() => http.withOptions({ timeout: 2_147_483_647 })).not.toThrow();
    expect(() => http.withOptions({ timeout: false })).not.toThrow();
    expect(SciportError.isInstance(new UsageError('x'))).toBe(true);
  });
});

describe('the undici transport under a server that closes', () => {
  it('holds a body without a length unread only up to a bound, then fails the exchange', async () => {
    const route = endlessBody({ path: '/f' });
    const s = await serve(route);
    const response = await nodeDownloadFetch(`${s.url}/f`);
    // Nobody reads: the transport cannot hold back a body ended by the close (undici#5360), so it gives up
    // and drops the connection (the server sees the client go).
    await expect
      .poll(() => s.requests[0]?.durationMs, { timeout: BUDGET_MS, interval: 20 })
      .toBeTypeOf('number');
    const { error } = await failure(() => response.arrayBuffer());
    expect(error).toBeInstanceOf(TypeError);
    expect(route.stats.bytesSent).toBeLessThan(256 * MiB);
  });

  it('survives a server that closes right after a body its reader has not taken yet', async () => {
    // 200 MB of zeros, gzipped: the decoder reads slower than the network, and the server closes at once.
    const route = gzipBomb({ path: '/f' });
    const s = await serve(route);
    const response = await nodeDownloadFetch(`${s.url}/f`);
    await expect.poll(() => route.stats.bytesSent).toBeGreaterThan(0);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let decoded = 0;
    while (decoded < MiB) decoded += ((await reader.read()).value as Uint8Array).byteLength;
    await reader.cancel();
    expect(decoded).toBeGreaterThanOrEqual(MiB);
  });
});
