import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bytesResponse, startTestServer, type TestServer } from '@sciport/testkit';
import { HttpResponse, http } from 'msw';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AbortError, ConnectionError, IntegrityError, PermissionDeniedError } from '../src/errors.js';
import { createHttpClient } from '../src/http/client.js';
import { AtomicFile } from '../src/node/files/atomic.js';
import {
  type DownloadProgress,
  downloadToFile,
  partialPathFor,
  rangeHeader,
  sha256File,
} from '../src/node/files/download.js';

const data = randomBytes(3 * 1024 * 1024 + 123);
const sha = createHash('sha256').update(data).digest('hex');

let dir: string;
let server: TestServer | undefined;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-download-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

function fileHandlers(opts: { acceptRanges?: boolean } = {}) {
  return [
    http.get('*/files/data.bin', ({ request }) =>
      bytesResponse(request, data, {
        acceptRanges: opts.acceptRanges ?? true,
        contentType: 'application/octet-stream',
      }),
    ),
    http.get('*/files/expired', () =>
      HttpResponse.text(
        '<?xml version="1.0"?><Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>',
        { status: 400, headers: { 'content-type': 'application/xml' } },
      ),
    ),
    http.get('*/files/forbidden', () =>
      HttpResponse.text('<Error><Code>AccessDenied</Code></Error>', {
        status: 403,
        headers: { 'content-type': 'application/xml' },
      }),
    ),
  ];
}

/** A storage client: no auth, no retries of its own (downloadToFile resumes instead). */
function storage(s: TestServer) {
  return createHttpClient({ baseUrl: s.url, service: 'storage', maxRetries: 0 });
}

function source(s: TestServer, name = 'data.bin') {
  const c = storage(s);
  return ({ offset, signal }: { offset: number; signal: AbortSignal | undefined }) =>
    c.stream(`files/${name}`, { headers: { range: rangeHeader(offset) }, signal });
}

describe('downloadToFile', () => {
  it('streams to the final name, byte for byte, with size and sha256 checked', async () => {
    server = await startTestServer({ handlers: fileHandlers() });
    const target = path.join(dir, 'out', 'data.bin');
    const progress: number[] = [];
    const result = await downloadToFile(await storage(server).stream('files/data.bin'), target, {
      expectedSize: data.length,
      sha256: sha,
      onProgress: (p) => progress.push(p.bytes),
    });
    expect(result).toMatchObject({ bytes: data.length, sha256: sha, resumes: 0, restarts: 0 });
    expect(Buffer.compare(await readFile(target), data)).toBe(0);
    expect(progress.at(-1)).toBe(data.length);
    expect(await readdir(path.join(dir, 'out'))).toEqual(['data.bin']);
  });

  it('skips the hash on request, still checking the size, and refuses to skip it when a sha256 is given', async () => {
    server = await startTestServer({ handlers: fileHandlers(), faults: { truncateRate: 1, times: 1 } });
    const target = path.join(dir, 'plain.bin');
    const result = await downloadToFile(source(server), target, { hash: false });
    expect(result.sha256).toBeUndefined();
    expect(result.bytes).toBe(data.length);
    expect(Buffer.compare(await readFile(target), data)).toBe(0);
    await expect(
      downloadToFile(source(server), path.join(dir, 'x.bin'), { hash: false, sha256: sha } as never),
    ).rejects.toThrow(/needs hashing/);
  });

  it('resumes with Range after a truncated body and ends byte-identical', async () => {
    server = await startTestServer({ handlers: fileHandlers(), faults: { truncateRate: 1, times: 2 } });
    const target = path.join(dir, 'data.bin');
    const result = await downloadToFile(source(server), target, { sha256: sha });
    expect(result.resumes).toBe(2);
    expect(result.restarts).toBe(0);
    expect(Buffer.compare(await readFile(target), data)).toBe(0);
    const ranges = server.requests.map((r) => r.headers.range);
    expect(ranges[0]).toBeUndefined();
    expect(ranges[1]).toMatch(/^bytes=\d+-$/);
    expect(server.requests[1]?.status).toBe(206);
  });

  it('starts over when the server ignores Range, still byte-identical', async () => {
    server = await startTestServer({
      handlers: fileHandlers({ acceptRanges: false }),
      faults: { truncateRate: 1, times: 1 },
    });
    const target = path.join(dir, 'data.bin');
    const result = await downloadToFile(source(server), target, { sha256: sha });
    expect(result.restarts).toBe(1);
    expect(Buffer.compare(await readFile(target), data)).toBe(0);
  });

  it('leaves no file at all when the stream fails and cannot resume', async () => {
    server = await startTestServer({ handlers: fileHandlers(), faults: { truncateRate: 1 } });
    const target = path.join(dir, 'data.bin');
    const error = await downloadToFile(await storage(server).stream('files/data.bin'), target).catch(
      (e: unknown) => e,
    );
    expect(ConnectionError.isInstance(error)).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });

  it('gives up after maxResumes and leaves nothing behind', async () => {
    server = await startTestServer({ handlers: fileHandlers(), faults: { truncateRate: 1 } });
    const error = await downloadToFile(source(server), path.join(dir, 'data.bin'), { maxResumes: 2 }).catch(
      (e: unknown) => e,
    );
    expect(ConnectionError.isInstance(error)).toBe(true);
    expect(server.requests).toHaveLength(3);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a file whose sha256 does not match, keeping nothing', async () => {
    server = await startTestServer({ handlers: fileHandlers() });
    const target = path.join(dir, 'data.bin');
    const wrong = 'a'.repeat(64);
    const error = await downloadToFile(source(server), target, { sha256: wrong, keepPartial: true }).catch(
      (e: unknown) => e,
    );
    expect(IntegrityError.isInstance(error)).toBe(true);
    expect((error as IntegrityError).actual).toBe(sha);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a file whose size differs from the expected size', async () => {
    server = await startTestServer({ handlers: fileHandlers() });
    const error = await downloadToFile(await storage(server).stream('files/data.bin'), path.join(dir, 'x'), {
      expectedSize: data.length - 1,
    }).catch((e: unknown) => e);
    expect(IntegrityError.isInstance(error)).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });

  it('never saves an error page as data (expired signed URL)', async () => {
    server = await startTestServer({ handlers: fileHandlers() });
    const target = path.join(dir, 'data.bin');
    const c = createHttpClient({ baseUrl: server.url, service: 'storage', maxRetries: 0 });
    // A caller that accepts any status still cannot save the XML page: downloadToFile checks the status.
    const res = await c.stream('files/expired', { acceptStatus: () => true });
    const error = await downloadToFile(res, target, { service: 'storage' }).catch((e: unknown) => e);
    expect((error as Error).message).toContain('ExpiredToken: The provided token has expired.');
    expect(await readdir(dir)).toEqual([]);
    const res2 = await c.stream('files/forbidden', { acceptStatus: () => true });
    await expect(downloadToFile(res2, target)).rejects.toBeInstanceOf(PermissionDeniedError);
    expect(await readdir(dir)).toEqual([]);
  });

  it('keeps a partial file on interruption and resumes from it on the next run', async () => {
    server = await startTestServer({ handlers: fileHandlers(), faults: { truncateRate: 1, times: 1 } });
    const target = path.join(dir, 'data.bin');
    // First run: no resumes allowed, interrupted half way.
    await expect(
      downloadToFile(source(server), target, { keepPartial: true, maxResumes: 0 }),
    ).rejects.toBeInstanceOf(ConnectionError);
    expect(await readdir(dir)).toEqual([path.basename(partialPathFor(target))]);
    const partialSize = (await readFile(partialPathFor(target))).length;
    expect(partialSize).toBeGreaterThan(0);
    expect(partialSize).toBeLessThan(data.length);
    // Second run: resumes at the partial size and verifies the whole file's hash.
    server.clearLog();
    const events: DownloadProgress[] = [];
    const result = await downloadToFile(source(server), target, {
      keepPartial: true,
      sha256: sha,
      onProgress: (p) => events.push(p),
    });
    expect(server.requests[0]?.headers.range).toBe(`bytes=${partialSize}-`);
    expect(result.resumes).toBe(1);
    // Every event says where the resumed bytes started (a progress bar shows "resuming at …").
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.resumedFrom === partialSize)).toBe(true);
    expect(events.at(-1)?.bytes).toBe(data.length);
    expect(Buffer.compare(await readFile(target), data)).toBe(0);
    expect(await readdir(dir)).toEqual(['data.bin']);
  });

  it('stops on abort, leaving no file', async () => {
    server = await startTestServer({ handlers: fileHandlers(), faults: { latencyMs: 300 } });
    const controller = new AbortController();
    const target = path.join(dir, 'data.bin');
    const c = storage(server);
    const res = await c.stream('files/data.bin', { signal: controller.signal });
    const pending = downloadToFile(res, target, {
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    expect(await readdir(dir)).toEqual([]);
  });

  it('computes file hashes with flat memory', async () => {
    const p = path.join(dir, 'f');
    await writeFile(p, data);
    expect(await sha256File(p)).toBe(sha);
  });

  it('hashes files of every size around its read blocks (double-buffered reads)', async () => {
    const mib = 1024 * 1024;
    for (const size of [0, 1, mib - 1, mib, mib + 1, 2 * mib, 3 * mib - 7]) {
      const p = path.join(dir, `f${size}`);
      const bytes = data.subarray(0, size);
      await writeFile(p, bytes);
      expect(await sha256File(p), `${size} bytes`).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
  });

  it('stops with an AbortError when its signal is aborted', async () => {
    const p = path.join(dir, 'f');
    await writeFile(p, data);
    const controller = new AbortController();
    controller.abort();
    await expect(sha256File(p, controller.signal)).rejects.toBeInstanceOf(AbortError);
  });
});

describe('AtomicFile vectored writes', () => {
  it('writes chunks in order and counts their bytes', async () => {
    const chunks = [
      data.subarray(0, 10),
      data.subarray(10, 70_000),
      new Uint8Array(0),
      data.subarray(70_000),
    ];
    const target = path.join(dir, 'v.bin');
    const file = await AtomicFile.create(target);
    await file.writev(chunks);
    expect(file.bytesWritten).toBe(data.length);
    await file.commit();
    expect((await readFile(target)).equals(data)).toBe(true);
  });
});
