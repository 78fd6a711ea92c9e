import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  AbortError,
  AuthenticationError,
  ConnectionError,
  NotFoundError,
  UnsafeArchiveError,
  UsageError,
} from '@sciport/core';
import {
  createFragalysisSimulator,
  type FaultRule,
  type FragalysisSimulatorOptions,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { HttpResponse, http } from 'msw';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  FragalysisClient,
  type FragalysisClientOptions,
  type FragalysisEvent,
  FragalysisTaskError,
  FragalysisTaskTimeoutError,
  SYNC_STATE_FILE,
} from '../src/index.js';
import { advanceDateOn, filesUnder } from './helpers.js';

/**
 * The client over real sockets against the testkit simulator. Nothing here races the clock: the simulator runs
 * on a clock of its own (`now`), which moves only when the client reports a build running or a full queue, so a
 * build ends exactly one poll after the client has seen it run; the waits that must end by a deadline run on a
 * faked `Date` that moves when the client reports what it saw; aborts follow the client's own events.
 */

let server: TestServer | undefined;
const servers: TestServer[] = [];
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-fragalysis-'));
});

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** Short pauses between polls; a deadline no test comes near (builds end by the simulator's clock). */
const WAIT = { pollInterval: 10, maxWaitTime: 30 * 60_000 };
/** How long a simulated build runs, on the simulator's clock. */
const BUILD_MS = 60_000;

/** The simulator's clock: it stands still until moved. */
function simClock() {
  let time = Date.parse('2026-03-01T12:00:00Z');
  return {
    now: () => time,
    advance: (ms: number) => {
      time += ms;
    },
  };
}

async function setup(
  simOptions: FragalysisSimulatorOptions = {},
  clientOptions: FragalysisClientOptions & {
    user?: 'demo' | 'outsider' | 'anonymous';
    /**
     * Move the simulator's clock past a build when the client reports it running, or reports a full queue
     * (default true). Without it, a build runs for ever.
     */
    builds?: boolean;
  } = {},
  faults?: FaultRule | FaultRule[],
) {
  const clock = simClock();
  const sim = createFragalysisSimulator({ seed: 4, buildMs: BUILD_MS, now: clock.now, ...simOptions });
  server = await startTestServer({ handlers: sim.handlers, ...(faults ? { faults } : {}), seed: 2 });
  servers.push(server);
  const events: FragalysisEvent[] = [];
  const { user = 'demo', builds = true, ...options } = clientOptions;
  const client = new FragalysisClient({
    stack: server.url,
    ...(user === 'anonymous' ? {} : { token: sim.tokenFor(user) }),
    maxRetries: 3,
    onEvent: (e) => {
      events.push(e);
      if (builds && e.type === 'archive' && (e.phase === 'running' || e.phase === 'queued'))
        clock.advance(BUILD_MS);
    },
    ...options,
  });
  return { sim, server, client, events, clock };
}

const hits = (s: TestServer, p: string, method = 'GET') =>
  s.requests.filter((r) => r.path === p && r.method === method).length;

describe('targets and identity', () => {
  it('lists public targets anonymously and private ones with a token, each with its TAS', async () => {
    const { client } = await setup({}, { user: 'anonymous' });
    const anon = (await client.targets.list().toArray()).map((t) => `${t.title}@${t.tas}`);
    expect(anon).toEqual(['Mpro@lb18145-1', 'A71EV2A@lb32627-66']);
    const { client: demo } = await setup();
    const all = await demo.targets.list().toArray();
    expect(all.map((t) => `${t.title}@${t.tas}`)).toEqual([
      'Mpro@lb18145-1',
      'A71EV2A@lb32627-66',
      'Mpro@sw30864-12',
      'NSP3@lb00000-1',
    ]);
    expect(new Set(all.map((t) => t.id)).size).toBe(4);
  });

  it('follows every page, re-basing next links on the stack whatever host they name', async () => {
    const { client, server: s } = await setup({}, { pageSize: 1 });
    s.use(
      http.get(/\/api\/targets\/$/, async ({ request }) => {
        const url = new URL(request.url);
        if (url.searchParams.get('offset') !== null) return undefined;
        return HttpResponse.json({
          count: 2,
          next: 'http://evil.invalid/api/targets/?limit=1&offset=3',
          previous: null,
          results: [
            {
              id: 9,
              title: 'First',
              project: 1,
              project_title: 'lb18145-1',
              display_name: 'First',
            },
          ],
        });
      }),
    );
    const titles = (await client.targets.list().toArray()).map((t) => t.title);
    expect(titles).toEqual(['First', 'NSP3']);
    const paged = s.requests.filter((r) => r.path === '/api/targets/');
    expect(paged.map((r) => r.query.offset?.[0])).toEqual([undefined, '3']);
    expect(paged.every((r) => r.headers.cookie?.includes('sessionid='))).toBe(true);
  });

  it('tells same-named targets apart by TAS and asks for one when the title is ambiguous', async () => {
    const { client } = await setup();
    await expect(client.targets.get('Mpro')).rejects.toThrow(UsageError);
    await expect(client.targets.get('Mpro')).rejects.toThrow(/Mpro@lb18145-1, Mpro@sw30864-12/);
    expect((await client.targets.get('Mpro', 'sw30864-12')).id).toBe(3);
    await expect(client.targets.get('NSP3', 'lb18145-1')).rejects.toThrow(NotFoundError);
    await expect(client.targets.get('NSP3', 'lb18145-1')).rejects.toThrow(/exists under lb00000-1/);
  });

  it('reports a token the server treats as anonymous as an authentication error, without the token', async () => {
    const { client, server: s } = await setup({}, { token: 'expired-session-abcdefghijklmnop' });
    const error = await client.targets
      .list()
      .toArray()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(String((error as Error).message)).toMatch(/not accepted.*anonymous/);
    expect(JSON.stringify(error)).not.toContain('expired-session-abcdefghijklmnop');
    expect(String((error as Error).stack)).not.toContain('expired-session-abcdefghijklmnop');
    // It never got as far as listing public data.
    expect(hits(s, '/api/targets/')).toBe(0);
    await expect(
      client.archives.download({ target: 'Mpro', tas: 'lb18145-1', destination: dir, ...WAIT }),
    ).rejects.toThrow(AuthenticationError);
    expect(hits(s, '/api/download_structures/', 'POST')).toBe(0);
  });

  it('refuses to follow a stale session to the login host and says the session needs renewal', async () => {
    const stale = 'stale-session-0123456789abcdef';
    const { client } = await setup({ staleTokens: [stale] }, { token: stale });
    const error = await client.users.me().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).toMatch(/needs renewal/);
    expect((error as Error).message).not.toContain(stale);
  });

  it('returns camelCase records with the server’s object under raw, as lists with limit and pages()', async () => {
    const { client, server: s } = await setup({}, { pageSize: 2 });
    const me = await client.users.me();
    expect(me.user).toBe('demo');
    expect(me.userId).toBe(2);
    expect(me.targetAccess).toEqual(me.raw.target_access);
    const [first, ...rest] = await client.targets.list({ limit: 1 }).toArray();
    expect(rest).toEqual([]);
    expect(first?.tas).toBe(first?.raw.project_title);
    expect(first?.projectId).toBe(first?.raw.project);
    expect(first?.displayName).toBe(first?.raw.display_name);
    // A limit below the page size asks for no more than that.
    expect(s.requests.find((r) => r.path === '/api/targets/')?.query.limit).toEqual(['1']);
    const pages: number[] = [];
    for await (const p of client.projects.list().pages()) pages.push(p.results.length);
    expect(pages).toEqual([2, 2]);
    const project = (await client.projects.list().toArray())[0];
    expect(project?.targetAccessString).toBe(project?.raw.target_access_string);
    const [stats] = await client.uploads.list({ limit: 1 }).toArray();
    const upload = stats?.uploads[0];
    expect(upload?.uploadIndex).toBe(upload?.raw.upload_version);
    expect(upload?.targetName).toBe(stats?.targetName);
    expect(upload?.timestamp).toBeInstanceOf(Date);
    const observation = (await client.observations.list('NSP3', 'lb00000-1', { limit: 1 }).toArray())[0];
    expect(observation?.compoundCode).toBe(observation?.raw.compound_code);
    expect(client.targets.viewerUrl('Mpro', 'lb18145-1')).toBe(
      `${client.baseUrl}/viewer/react/preview/target/Mpro/tas/lb18145-1`,
    );
    await client.dispose();
  });

  it('answers users.me anonymously without a token, and reports the stack’s warnings to the logger', async () => {
    const { client: anonymous } = await setup({}, { user: 'anonymous' });
    expect(anonymous.authenticated).toBe(false);
    expect((await anonymous.users.me()).userId).toBe(1);

    const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const { client, server: s } = await setup({}, { logger });
    expect(client.authenticated).toBe(true);
    s.use(http.get(/\/api\/user\/$/, () => HttpResponse.json({ detail: 'Not found.' }, { status: 404 })));
    // A stack without /api/user/ cannot check the token: the lists say so, and go on.
    expect(await client.targets.list().toArray()).toHaveLength(4);
    expect(logger.warn).toHaveBeenCalledWith(expect.stringMatching(/has no \/api\/user\/: the token cannot/));
    expect(logger.debug).toHaveBeenCalledWith(expect.stringMatching(/^→ GET .*\/api\/targets\//));
    await expect(client.users.me()).rejects.toThrow(NotFoundError);
  });

  it('keeps upload statistics per (title, TAS), and SMILES per exact target', async () => {
    const { client, sim } = await setup();
    const stats = await client.uploads.list().toArray();
    const mpro = stats.filter((s) => s.targetName === 'Mpro');
    expect(mpro.map((s) => s.tas).sort()).toEqual(['lb18145-1', 'sw30864-12']);
    for (const s of stats) {
      const t = sim.targets.find((x) => x.title === s.targetName && x.tas === s.tas);
      expect(s.lastUploadIndex).toBe(t?.uploads.length);
      expect(s.lastUploadTimestamp.toISOString().slice(0, 19)).toBe(t?.uploads.at(-1)?.at.slice(0, 19));
      expect(s.uploads.map((u) => u.uploadIndex)).toEqual(t?.uploads.map((u) => u.version));
    }
    const a = await client.observations.smiles('Mpro', 'lb18145-1').toArray();
    const b = await client.observations.smiles('Mpro', 'sw30864-12').toArray();
    const expected = (tas: string) => [
      ...new Set(
        sim.targets.find((t) => t.title === 'Mpro' && t.tas === tas)?.observations.map((o) => o.smiles),
      ),
    ];
    expect(a).toEqual(expected('lb18145-1'));
    expect(b).toEqual(expected('sw30864-12'));
    expect(a).not.toEqual(b);
    const observations = [];
    for await (const o of client.observations.list('NSP3', 'lb00000-1')) observations.push(o.code);
    expect(observations).toHaveLength(4);
    const sets = await client.compoundSets.list({ target: 4 }).toArray();
    expect(sets.map((s) => s.name)).toEqual(['NSP3-set1']);
  });
});

describe('archives.download', () => {
  it('builds, polls, and saves a byte-identical tar.gz, then extracts it; the next identical call is immediate', async () => {
    const { client, sim, server: s, events } = await setup();
    const first = await client.archives.download({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      extract: true,
      options: { eventFile: true },
      ...WAIT,
    });
    expect(first.immediate).toBe(false);
    expect(first.format).toBe('tar.gz');
    expect(first.archive).toBe(path.join(dir, 'Mpro_sw30864-12.tar.gz'));
    const onDisk = await readFile(first.archive);
    expect(onDisk.equals(Buffer.from(sim.archiveBytes(first.fileUrl) as Uint8Array))).toBe(true);
    expect(first.bytes).toBe(onDisk.byteLength);
    expect(first.extractedTo).toBe(path.join(dir, 'Mpro_sw30864-12'));
    const files = await filesUnder(first.extractedTo as string);
    expect(files).toContain('metadata.csv');
    expect(files).toContain('Mpro_combined.sdf');
    expect(files).toContain('aligned_files/A0001a/A0001a_ligand.sdf');
    const readme = await readFile(path.join(first.extractedTo as string, 'README.md'), 'utf8');
    // Every flag went as JSON, defaults included.
    for (const flag of ['"yaml_files":true', '"readme":true', '"event_file":true', '"map_info":false']) {
      expect(readme).toContain(flag);
    }
    expect(events.some((e) => e.type === 'archive' && e.phase === 'running')).toBe(true);

    const second = await client.archives.download({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      options: { eventFile: true },
      ...WAIT,
    });
    expect(second.immediate).toBe(true);
    // The same cached archive; hashing is off unless asked for.
    expect(second.fileUrl).toBe(first.fileUrl);
    expect(second.sha256).toBeUndefined();
    const hashed = await client.archives.download({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: path.join(dir, 'hashed'),
      options: { eventFile: true },
      checksum: true,
      ...WAIT,
    });
    const served = Buffer.from(sim.archiveBytes(first.fileUrl) as Uint8Array);
    expect(hashed.sha256).toBe(createHash('sha256').update(served).digest('hex'));
    expect(sim.stats.buildsStarted).toBe(1);
    // One CSRF bootstrap for both POSTs, and the session cookie on every call.
    expect(sim.stats.csrfBootstraps).toBe(1);
    const posts = s.requests.filter((r) => r.method === 'POST');
    expect(
      posts.every(
        (r) => r.headers['x-csrftoken'] && r.headers['content-type']?.startsWith('application/json'),
      ),
    ).toBe(true);
    // Each download's completeness report lies beside what it saved (spec §11.1).
    expect(await readdir(dir)).toEqual([
      'Mpro_sw30864-12',
      'Mpro_sw30864-12.report.json',
      'Mpro_sw30864-12.tar.gz',
      'Mpro_sw30864-12.tar.gz.report.json',
      'hashed',
    ]);
  });

  it('takes the old servers’ immediate zip answer and extracts the zip', async () => {
    const { client } = await setup({ legacyImmediate: true }, { user: 'anonymous' });
    const result = await client.archives.download({
      target: 'A71EV2A',
      tas: 'lb32627-66',
      destination: dir,
      extract: true,
      keepArchive: false,
      ...WAIT,
    });
    expect(result.immediate).toBe(true);
    expect(result.format).toBe('zip');
    expect(await filesUnder(dir)).toContain('A71EV2A_lb32627-66/metadata.csv');
    expect(await readdir(dir)).toEqual(['A71EV2A_lb32627-66', 'A71EV2A_lb32627-66.report.json']);
  });

  it('retries a truncated transfer and ends with a byte-identical file', async () => {
    const { client, sim } = await setup({}, {}, [
      { match: { method: 'GET', path: '/api/download_structures/' }, truncateRate: 1, times: 2 },
    ]);
    const result = await client.archives.download({
      target: 'NSP3',
      tas: 'lb00000-1',
      destination: dir,
      ...WAIT,
    });
    const bytes = await readFile(result.archive);
    expect(bytes.equals(Buffer.from(sim.archiveBytes(result.fileUrl) as Uint8Array))).toBe(true);
    expect(sim.stats.archiveFetches).toBe(3);
  });

  it('leaves no file under the final name when the transfer is interrupted', async () => {
    const { client } = await setup({}, { maxRetries: 0 }, [
      { match: { method: 'GET', path: '/api/download_structures/' }, resetRate: 1 },
    ]);
    await expect(
      client.archives.download({ target: 'NSP3', tas: 'lb00000-1', destination: dir, ...WAIT }),
    ).rejects.toThrow(ConnectionError);
    expect(await readdir(dir)).toEqual([]);

    // Aborted while the archive's response is held back by the server: when the client reports that request.
    const controller = new AbortController();
    const { client: slow } = await setup({}, {}, [
      { match: { method: 'GET', path: '/api/download_structures/' }, latencyMs: 5000 },
    ]);
    slow.onEvent((e) => {
      if (e.type === 'request' && e.method === 'GET' && e.url.includes('/api/download_structures/'))
        controller.abort();
    });
    const pending = slow.archives.download({
      target: 'NSP3',
      tas: 'lb00000-1',
      destination: dir,
      signal: controller.signal,
      ...WAIT,
    });
    await expect(pending).rejects.toThrow(AbortError);
    expect(controller.signal.aborted).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports a failed build with the server’s reason', async () => {
    const { client, sim, events } = await setup();
    sim.setTargetOutcome('NSP3', 'lb00000-1', 'failure');
    const failed = await client.archives
      .download({ target: 'NSP3', tas: 'lb00000-1', destination: dir, ...WAIT })
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(FragalysisTaskError);
    expect((failed as FragalysisTaskError).reason).toBe('failed');
    expect((failed as FragalysisTaskError).code).toBe('task_failed');
    expect((failed as Error).message).toMatch(/No space left on device/);
    expect(events.filter((e) => e.type === 'archive' && e.phase === 'running')).toHaveLength(1);
    expect(await readdir(dir)).toEqual([]);
  });

  it('calls a build still unknown after unknownTimeout lost, well before the deadline', async () => {
    const { client, sim, events } = await setup();
    sim.setTargetOutcome('Mpro', 'lb18145-1', 'lost');
    // Each poll that finds the task not started moves the clock a minute: lost at the sixth, after 5 minutes.
    advanceDateOn(client, 'waiting', 60_000);
    const lost = await client.archives
      .download({ target: 'Mpro', tas: 'lb18145-1', destination: dir, ...WAIT, unknownTimeout: 5 * 60_000 })
      .catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(FragalysisTaskError);
    expect((lost as FragalysisTaskError).reason).toBe('lost');
    expect((lost as Error).message).toMatch(/never started \(still UNKNOWN after 300 s\)/);
    expect(events.filter((e) => e.type === 'archive' && e.phase === 'waiting')).toHaveLength(5);
    expect(await readdir(dir)).toEqual([]);
  });

  it('ends a build that never finishes at the deadline', async () => {
    const { client, events } = await setup({}, { builds: false });
    // Each poll that finds the build running moves the clock a minute: the 5-minute deadline comes after 5.
    advanceDateOn(client, 'running', 60_000);
    const slow = await client.archives
      .download({
        target: 'A71EV2A',
        tas: 'lb32627-66',
        destination: dir,
        pollInterval: 10,
        maxWaitTime: 5 * 60_000,
      })
      .catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(FragalysisTaskTimeoutError);
    expect((slow as FragalysisTaskTimeoutError).reason).toBe('timeout');
    expect((slow as Error).message).toMatch(/not ready within 300 s/);
    expect((slow as FragalysisTaskTimeoutError).messages[0]).toMatch(/^Start processing|^Creating|^Adding/);
    expect(events.filter((e) => e.type === 'archive' && e.phase === 'running')).toHaveLength(5);
    expect(await readdir(dir)).toEqual([]);
  });

  it('waits out a full build queue (429 without Retry-After) and then downloads', async () => {
    // Another client's build holds the only place: it runs until our client reports the queue full (the
    // simulator's clock moves then), so ours meets a full queue whatever the machine's pace.
    const { client, sim, events } = await setup({ maxConcurrentBuilds: 1 });
    const other = new FragalysisClient({ stack: server?.url as string, token: sim.tokenFor('demo') });
    let resolve = () => {};
    const otherRunning = new Promise<void>((r) => {
      resolve = r;
    });
    const busy = other.archives.request({
      target: 'NSP3',
      tas: 'lb00000-1',
      ...WAIT,
      onStatus: () => resolve(),
    });
    await otherRunning;
    const result = await client.archives.download({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      ...WAIT,
    });
    await busy;
    const queued = events.filter((e) => e.type === 'archive' && e.phase === 'queued');
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({ message: 'the build queue is full' });
    expect((queued[0] as { delayMs: number }).delayMs).toBeGreaterThanOrEqual(10);
    expect((await stat(result.archive)).size).toBeGreaterThan(0);
    expect(sim.stats.buildsStarted).toBe(2);
  });

  it('reports a proposal the caller cannot read as not found, with the server’s reason', async () => {
    const { client } = await setup({}, { user: 'outsider' });
    const error = await client.archives
      .download({ target: 'NSP3', tas: 'lb00000-1', destination: dir, ...WAIT })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).toMatch(/not a member of lb00000-1/);
  });
});

/** A `.tar.gz` with one hostile entry, built by hand (only the header fields tar readers need). */
function hostileTarGz(entry: {
  name: string;
  type: '0' | '2' | '1';
  link?: string;
  data?: string;
}): Uint8Array {
  const header = Buffer.alloc(512);
  const data = Buffer.from(entry.data ?? '');
  header.write(entry.name, 0, 100, 'utf8');
  header.write('0000644\0', 100, 8, 'latin1');
  header.write('0000000\0', 108, 8, 'latin1');
  header.write('0000000\0', 116, 8, 'latin1');
  header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 12, 'latin1');
  header.write('00000000000\0', 136, 12, 'latin1');
  header.write('        ', 148, 8, 'latin1');
  header.write(entry.type, 156, 1, 'latin1');
  if (entry.link) header.write(entry.link, 157, 100, 'utf8');
  header.write('ustar\0', 257, 6, 'latin1');
  header.write('00', 263, 2, 'latin1');
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return gzipSync(Buffer.concat([header, data, pad, Buffer.alloc(1024)]));
}

describe('safe extraction of hostile archives', () => {
  for (const [label, entry] of [
    ['a ../ entry', { name: '../escaped.txt', type: '0', data: 'x' }],
    ['an absolute path', { name: '/tmp/sciport-absolute-escape.txt', type: '0', data: 'x' }],
    ['a symlink pointing out', { name: 'link', type: '2', link: '../../outside' }],
    ['a hard link', { name: 'hard', type: '1', link: '/etc/passwd' }],
  ] as const) {
    it(`refuses ${label} and writes nothing outside the destination`, async () => {
      const archiveFile = path.join(dir, 'served', 'hostile.tar.gz');
      await mkdir(path.dirname(archiveFile));
      await writeFile(archiveFile, hostileTarGz(entry));
      const { client } = await setup({ archiveFiles: { 'Hostile|lb00000-1': archiveFile } });
      const dest = path.join(dir, 'out');
      const error = await client.archives
        .download({ target: 'Hostile', tas: 'lb00000-1', destination: dest, extract: true, ...WAIT })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnsafeArchiveError);
      expect(await readdir(dir)).toEqual(['out', 'served']);
      // The archive itself is kept for inspection; nothing was unpacked.
      expect(await readdir(dest)).toEqual(['Hostile_lb00000-1.tar.gz']);
      await expect(stat('/tmp/sciport-absolute-escape.txt')).rejects.toThrow();
    });
  }
});

describe('archives.sync', () => {
  it('downloads a target only when a newer upload exists, keeping its state in the destination', async () => {
    const { client, sim } = await setup();
    const targets = [
      { title: 'Mpro', tas: 'lb18145-1' },
      { title: 'NSP3', tas: 'lb00000-1' },
    ];
    const first = await client.archives.sync(targets, dir, WAIT);
    expect(first.map((r) => r.status)).toEqual(['downloaded', 'downloaded']);
    const state = JSON.parse(await readFile(path.join(dir, SYNC_STATE_FILE), 'utf8')) as {
      targets: Record<string, { lastUploadIndex: number }>;
    };
    expect(state.targets['Mpro|lb18145-1']?.lastUploadIndex).toBe(2);
    const posts = sim.stats.postDownloads;

    const second = await client.archives.sync(targets, dir, WAIT);
    expect(second.map((r) => r.status)).toEqual(['up-to-date', 'up-to-date']);
    expect(sim.stats.postDownloads).toBe(posts);

    sim.addUpload('NSP3', 'lb00000-1');
    const third = await client.archives.sync(targets, dir, WAIT);
    expect(third.map((r) => r.status)).toEqual(['up-to-date', 'downloaded']);
    expect(third[1]?.lastUploadIndex).toBe(3);

    // A target that cannot be downloaded fails alone; the others still sync.
    const mixed = await client.archives.sync([{ title: 'Ghost', tas: 'lb18145-1' }, ...targets], dir, WAIT);
    expect(mixed.map((r) => r.status)).toEqual(['failed', 'up-to-date', 'up-to-date']);
    expect(mixed[0]?.error?.message).toMatch(/Target "Ghost" does not exist/);
  });

  it('refuses a state file from another stack or of another shape', async () => {
    const { client } = await setup();
    await writeFile(
      path.join(dir, SYNC_STATE_FILE),
      '{"version":1,"stack":"https://elsewhere","targets":{}}',
    );
    await expect(client.archives.sync([{ title: 'Mpro', tas: 'lb18145-1' }], dir, WAIT)).rejects.toThrow(
      /synced from/,
    );
    await writeFile(path.join(dir, SYNC_STATE_FILE), 'garbage');
    await expect(client.archives.sync([{ title: 'Mpro', tas: 'lb18145-1' }], dir, WAIT)).rejects.toThrow(
      UsageError,
    );
  });
});
