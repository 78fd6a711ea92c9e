/**
 * The Crucible client against storage and an API that misbehave (issue 11), over real sockets: one bad file does
 * not stop a dataset's download, names too long or clashing are handled per file, an upload without progress
 * ends, an answer that names no user is not an account.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { IntegrityError, isAbortLike, ResponseValidationError } from '@sciport/core';
import {
  type CrucibleSimulator,
  createCrucibleSimulator,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { fixedAnswer, resumeIncompleteForever } from '@sciport/testkit/hostile';
import { HttpResponse, http } from 'msw';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CrucibleClient,
  type CrucibleEvent,
  DatasetDownloadError,
  fitSegment,
  MAX_SEGMENT_BYTES,
  UploadStalledError,
} from '../src/index.js';

let dir: string;
let sim: CrucibleSimulator;
let server: TestServer;
let client: CrucibleClient;
let events: CrucibleEvent[];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-crucible-hostile-'));
  process.env.XDG_CACHE_HOME = path.join(dir, 'cache');
  sim = createCrucibleSimulator({ seed: 4, datasets: 5 });
  server = await startTestServer({ handlers: sim.handlers });
  events = [];
  client = new CrucibleClient({
    baseUrl: `${server.url}/api/v2`,
    apiKey: sim.keyFor('demo'),
    maxRetries: 1,
    onEvent: (e) => events.push(e),
  });
});

afterEach(async () => {
  await server.close();
  await sim.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function listing(folder: string): Promise<string[]> {
  const names = await readdir(folder, { recursive: true }).catch(() => [] as string[]);
  return names.map((n) => n.replace(/\\/g, '/')).sort();
}

describe('dataset downloads with bad files', () => {
  it('reports a larger file and an HTML page per file, saves the others, then throws the list', async () => {
    const ds = await client.datasets.create({ datasetName: 'mixed', projectId: 'DEMO-0001' });
    const good = Buffer.from('good\n');
    await sim.addFile(ds.uniqueId, { filename: 'larger.dat', size: 1000 });
    await sim.addFile(ds.uniqueId, { filename: 'good.txt', bytes: good });
    await sim.addFile(ds.uniqueId, { filename: 'page.dat', size: 1000 });
    const base = `${server.url}/storage/mf-storage-prod/${ds.uniqueId}`;
    server.use(
      http.get(
        `${base}/larger.dat`,
        () => new HttpResponse(new Uint8Array(3000), { headers: { 'content-length': '3000' } }),
      ),
      http.get(
        `${base}/page.dat`,
        () => new HttpResponse('<html>Sign in</html>', { headers: { 'content-type': 'text/html' } }),
      ),
    );
    const out = path.join(dir, 'out');
    const reported: string[] = [];
    const error = await client.datasets
      .download(ds.uniqueId, out, { onFailure: (f) => reported.push(f.name) })
      .catch((e: unknown) => e);
    expect(DatasetDownloadError.isInstance(error)).toBe(true);
    const e = error as DatasetDownloadError;
    expect(e.code).toBe('download_incomplete');
    expect(e.failures.map((f) => f.name).sort()).toEqual(['larger.dat', 'page.dat']);
    expect(reported.sort()).toEqual(['larger.dat', 'page.dat']);
    expect(e.failures.every((f) => IntegrityError.isInstance(f.error))).toBe(true);
    expect(e.message).toMatch(/^2 of 3 files of dataset .* could not be downloaded: /);
    expect(e.downloaded).toHaveLength(1);
    expect(await listing(out)).toEqual(['good.txt']);
    expect((await readFile(path.join(out, 'good.txt'))).equals(good)).toBe(true);
    const json = JSON.parse(JSON.stringify(e)) as {
      failures: Array<{ name: string; error: { name: string } }>;
    };
    expect(json.failures.map((f) => f.error.name)).toEqual(['IntegrityError', 'IntegrityError']);
  });

  it('drops a kept .part longer than the file before resuming, and restarts once when a kept one is wrong', async () => {
    const ds = await client.datasets.create({ datasetName: 'parts', projectId: 'DEMO-0001' });
    const a = Buffer.from('a'.repeat(500));
    const b = Buffer.from('b'.repeat(500));
    await sim.addFile(ds.uniqueId, { filename: 'a.txt', bytes: a });
    await sim.addFile(ds.uniqueId, { filename: 'b.txt', bytes: b });
    const out = path.join(dir, 'out');
    await rm(out, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(out, { recursive: true }));
    await writeFile(path.join(out, '.a.txt.part'), Buffer.alloc(900, 0x41));
    await writeFile(path.join(out, '.b.txt.part'), Buffer.from('x'.repeat(200)));
    const saved = await client.datasets.download(ds.uniqueId, out);
    expect(saved.map((f) => f.name).sort()).toEqual(['a.txt', 'b.txt']);
    expect(await listing(out)).toEqual(['a.txt', 'b.txt']);
    expect((await readFile(path.join(out, 'a.txt'))).equals(a)).toBe(true);
    expect((await readFile(path.join(out, 'b.txt'))).equals(b)).toBe(true);
  });
});

describe('local names', () => {
  it('shortens a long segment to at most MAX_SEGMENT_BYTES, keeping the extension, apart by a hash', () => {
    const long = `${'é'.repeat(150)}.h5`;
    const fitted = fitSegment(long);
    expect(Buffer.byteLength(fitted)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
    expect(fitted).toMatch(/^é+~[0-9a-f]{8}\.h5$/);
    expect(fitSegment(`${'x'.repeat(300)}1.dat`)).not.toBe(fitSegment(`${'x'.repeat(300)}2.dat`));
    expect(fitSegment('short.txt')).toBe('short.txt');
  });

  it('saves a 300-character name shortened and refuses the second of two files with one local path', async () => {
    const ds = await client.datasets.create({ datasetName: 'names', projectId: 'DEMO-0001' });
    const long = `${'n'.repeat(300)}.h5`;
    await sim.addFile(ds.uniqueId, { filename: 'long.h5', bytes: Buffer.from('long\n'), datasetPath: long });
    await sim.addFile(ds.uniqueId, {
      filename: 'one.txt',
      bytes: Buffer.from('one\n'),
      datasetPath: 'a/b.txt',
    });
    await sim.addFile(ds.uniqueId, {
      filename: 'two.txt',
      bytes: Buffer.from('two\n'),
      datasetPath: 'a\\b.txt',
    });
    const out = path.join(dir, 'out');
    const error = (await client.datasets
      .download(ds.uniqueId, out)
      .catch((e: unknown) => e)) as DatasetDownloadError;
    expect(DatasetDownloadError.isInstance(error)).toBe(true);
    expect(error.failures).toHaveLength(1);
    expect(error.failures[0]?.name).toBe('a/b.txt');
    expect(error.failures[0]?.error.message).toMatch(/its local name a\/b\.txt is taken by/);
    const shortened = (error.downloaded as Array<{ name: string; shortenedFrom?: string }>).find((f) =>
      f.name.endsWith('.h5'),
    );
    expect(shortened?.shortenedFrom).toContain(long);
    expect(Buffer.byteLength(shortened?.name ?? '')).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
    expect(events.some((e) => e.type === 'warning' && /too long/.test(e.message))).toBe(true);
    expect((await listing(out)).filter((n) => n !== 'a')).toEqual(['a/b.txt', shortened?.name].sort());
  });
});

describe('uploads without progress', () => {
  it.each([
    ['308 with Range: bytes=0-0 forever', 'bytes=0-0', 300_000],
    ['308 without Range for a 0-byte file', undefined, 0],
  ])('%s: UploadStalledError after a bounded number of PUTs', async (_label, range, size) => {
    const ds = await client.datasets.create({ datasetName: 'stuck', projectId: 'DEMO-0001' });
    const file = path.join(dir, 'data.bin');
    await writeFile(file, Buffer.alloc(size, 1));
    const loop = resumeIncompleteForever({ method: 'PUT', path: '/storage/upload/*' }, { range });
    server.useRaw(loop);
    const error = await client.files.upload(ds.uniqueId, file).catch((e: unknown) => e);
    expect(UploadStalledError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/made no progress/);
    expect(loop.stats.requests).toBeGreaterThanOrEqual(5);
    expect(loop.stats.requests).toBeLessThanOrEqual(7);
  });

  it('stops waiting between rounds when aborted', async () => {
    const ds = await client.datasets.create({ datasetName: 'stuck', projectId: 'DEMO-0001' });
    const file = path.join(dir, 'data.bin');
    await writeFile(file, Buffer.alloc(1000, 1));
    const loop = resumeIncompleteForever(
      { method: 'PUT', path: '/storage/upload/*' },
      { range: 'bytes=0-0' },
    );
    server.useRaw(loop);
    const controller = new AbortController();
    const upload = client.files.upload(ds.uniqueId, file, {
      signal: controller.signal,
      onProgress: () => {
        if (loop.stats.requests >= 2) controller.abort();
      },
    });
    await expect(upload).rejects.toSatisfy((e: unknown) => isAbortLike(e));
    expect(loop.stats.requests).toBeLessThanOrEqual(3);
  });
});

describe('the account', () => {
  it.each([
    ['{}', '{}'],
    ['another service', '{"status":"ok"}'],
    ['null', 'null'],
  ])('refuses %s as an account with ResponseValidationError', async (_label, body) => {
    server.useRaw(
      fixedAnswer(
        { path: '/api/v2/account' },
        { status: 200, headers: { 'content-type': 'application/json' }, body },
      ),
    );
    const error = await client.users.me().catch((e: unknown) => e);
    expect(ResponseValidationError.isInstance(error)).toBe(true);
    if (body !== 'null') expect((error as Error).message).toMatch(/names no user/);
  });

  it('takes a key without a user record that names its group', async () => {
    server.useRaw(
      fixedAnswer(
        { path: '/api/v2/account' },
        {
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: '{"user_info":null,"user_unique_id":"0000-0002-1825-0097"}',
        },
      ),
    );
    const account = await client.users.me();
    expect(account.userUniqueId).toBe('0000-0002-1825-0097');
  });
});
