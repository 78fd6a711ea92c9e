import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { startTestServer, type TestServer } from '@sciport/testkit';
import { fixedAnswer } from '@sciport/testkit/hostile';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileWriteError } from '../src/errors.js';
import { createHttpClient } from '../src/http/client.js';
import { nodeDownloadFetch } from '../src/node/download-fetch.js';
import { writeFileAtomic } from '../src/node/files/atomic.js';
import { downloadToFile } from '../src/node/files/download.js';

/**
 * A full disk without a full disk: the file system calls AtomicFile makes fail, for files in this test's folders,
 * with `ENOSPC` (or `EDQUOT`, `EIO`) once `room` bytes were written. Every path ends in a `FileWriteError`
 * naming the folder, with the temporary file removed and no unhandled rejection.
 */
const disk = vi.hoisted(() => ({ room: Number.POSITIVE_INFINITY, used: 0, code: 'ENOSPC', on: 'write' }));

function full(file: unknown, bytes: number, call: 'write' | 'sync'): Error | undefined {
  if (!String(file).includes('sciport-diskfull-')) return undefined;
  if (call === 'write') disk.used += bytes;
  if (call !== disk.on || disk.used <= disk.room) return undefined;
  return Object.assign(new Error(`${disk.code}: simulated, ${call}`), { code: disk.code, syscall: call });
}

const paths = vi.hoisted(() => new Map<number, string>());

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const writeSync = ((fd: number, buffer: Uint8Array, offset?: number, length?: number) => {
    const error = full(paths.get(fd), length ?? buffer.byteLength, 'write');
    if (error) throw error;
    return real.writeSync(fd, buffer, offset, length);
  }) as typeof real.writeSync;
  return { ...real, default: { ...real, writeSync }, writeSync };
});

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open = (async (file: string, ...rest: unknown[]) => {
    const handle = await (real.open as (...a: unknown[]) => Promise<import('node:fs/promises').FileHandle>)(
      file,
      ...rest,
    );
    paths.set(handle.fd, String(file));
    return new Proxy(handle, {
      get(target, key) {
        const value = Reflect.get(target, key, target) as unknown;
        if (typeof value !== 'function') return value;
        if (key === 'write' || key === 'writev' || key === 'sync') {
          return async (...args: unknown[]) => {
            const bytes =
              key === 'writev'
                ? (args[0] as Uint8Array[]).reduce((n, b) => n + b.byteLength, 0)
                : key === 'write'
                  ? ((args[2] as number | undefined) ?? (args[0] as Uint8Array).byteLength)
                  : 0;
            const error = full(file, bytes, key === 'sync' ? 'sync' : 'write');
            if (error) throw error;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return (value as (...a: unknown[]) => unknown).bind(target);
      },
    });
  }) as typeof real.open;
  return { ...real, default: { ...real, open }, open };
});

const MiB = 1024 * 1024;
const data = randomBytes(6 * MiB);
let dir: string;
let server: TestServer;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-diskfull-'));
  Object.assign(disk, { room: 2 * MiB, used: 0, code: 'ENOSPC', on: 'write' });
  process.on('unhandledRejection', onUnhandled);
  server = await startTestServer({
    handlers: [],
    raw: [
      fixedAnswer({ path: '/plain/*' }, { status: 200, body: data }),
      fixedAnswer(
        { path: '/gzip/*' },
        { status: 200, body: gzipSync(data), headers: { 'content-encoding': 'gzip' } },
      ),
    ],
  });
});
afterEach(async () => {
  process.off('unhandledRejection', onUnhandled);
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

function expectDiskError(error: unknown, code: string, words: RegExp) {
  expect(FileWriteError.isInstance(error)).toBe(true);
  const e = error as FileWriteError;
  expect(e.code).toBe('file_write_failed');
  expect(e.errno).toBe(code);
  expect(e.folder).toBe(dir);
  expect(e.message).toMatch(words);
  expect(e.message).toContain(`while writing into ${dir}`);
  expect(e.retryable).toBe(false);
}

describe('a full disk', () => {
  for (const [name, route] of [
    ['the raw pipe', '/plain/data.bin'],
    ['the gzip path (decoded web stream)', '/gzip/data.bin'],
  ] as const) {
    it(`ends a download through ${name} in a FileWriteError naming the folder, leaving nothing`, async () => {
      const http = createHttpClient({
        baseUrl: server.url,
        service: 'storage',
        downloadFetch: nodeDownloadFetch,
        maxRetries: 0,
      });
      const error = await downloadToFile(
        ({ signal }) => http.stream(route, { signal }),
        path.join(dir, 'data.bin'),
        { keepPartial: true },
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expectDiskError(error, 'ENOSPC', /^no space left on device/);
      // A failed write is not an interruption to resume: no partial file is kept either.
      expect(await readdir(dir)).toEqual([]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    });
  }

  it('names a quota and an I/O error as such, in atomic writes too', async () => {
    for (const [code, words] of [
      ['EDQUOT', /^disk quota exceeded/],
      ['EIO', /^input\/output error/],
    ] as const) {
      Object.assign(disk, { room: MiB, used: 0, code });
      const error = await writeFileAtomic(path.join(dir, 'f.bin'), data).then(
        () => undefined,
        (e: unknown) => e,
      );
      expectDiskError(error, code, words);
      expect(await readdir(dir)).toEqual([]);
    }
  });

  it('treats a flush that fails at the end (delayed allocation) as a failed write', async () => {
    Object.assign(disk, { room: 0, used: 0, code: 'ENOSPC', on: 'sync' });
    const error = await writeFileAtomic(path.join(dir, 'f.bin'), 'small').then(
      () => undefined,
      (e: unknown) => e,
    );
    expectDiskError(error, 'ENOSPC', /^no space left on device/);
    expect(await readdir(dir)).toEqual([]);
  });
});
