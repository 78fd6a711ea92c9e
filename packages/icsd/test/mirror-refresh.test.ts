import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AbortError } from '@sciport/core';
import {
  createIcsdSimulator,
  type IcsdSimulator,
  type IcsdSimulatorOptions,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { HttpResponse, http } from 'msw';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IcsdClient, type MirrorReport } from '../src/index.js';
import { JOURNAL_FILE } from '../src/node/journal.js';

let server: TestServer | undefined;
let dir: string;
const clients: IcsdClient[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-icsd-refresh-'));
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose().catch(() => undefined)));
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function setup(simOptions: IcsdSimulatorOptions = {}) {
  const sim = createIcsdSimulator({ entries: 1200, seed: 11, cifsPerSession: null, ...simOptions });
  server = await startTestServer({ handlers: sim.handlers, seed: 5 });
  const client = new IcsdClient({
    baseUrl: `${server.url}/ws`,
    username: 'demo',
    password: 'demo-password',
    maxRetries: 2,
  });
  clients.push(client);
  return { sim, server, client };
}

const fileOf = (cc: number) => `icsd_${String(cc).padStart(6, '0')}.cif`;
const today = () => new Date().toISOString().slice(0, 10);

/** Every CIF file of the folder: name → size, inode, modification time and bytes. */
async function snapshot(d: string) {
  const out = new Map<string, { ino: number; mtimeMs: number; bytes: Buffer }>();
  for (const name of (await readdir(d)).filter((f) => f.endsWith('.cif'))) {
    const s = await stat(path.join(d, name));
    out.set(name, { ino: s.ino, mtimeMs: s.mtimeMs, bytes: await readFile(path.join(d, name)) });
  }
  return out;
}

const cifRequests = (sim: IcsdSimulator) => sim.stats.requests.cif + sim.stats.requests['cif/multiple'];

/** The ids asked of `/cif/multiple` and `/cif/{id}` since the log was cleared. */
function askedIds(s: TestServer): number[] {
  return s.requests.flatMap((r) => {
    if (r.path.endsWith('/cif/multiple')) return (r.query.idnum ?? []).map(Number);
    const one = /\/cif\/(\d+)$/.exec(r.path);
    return one ? [Number(one[1])] : [];
  });
}

function checkCounts(report: MirrorReport) {
  expect(report.new + report.updated + report.unchanged + report.unavailable).toBe(report.discovered);
  expect(report.downloaded).toBe(report.new + report.updated);
  expect(report.unavailable).toBe(report.badIds.length);
}

describe('mirror --refresh', () => {
  it('replaces exactly the entries changed upstream, byte-identical, and leaves the others untouched', async () => {
    const { sim, client, server: s } = await setup();
    const range = { from: 1, to: 3000 };
    const first = await client.cifs.mirror(dir, range);
    expect(first).toMatchObject({ updated: 0, unavailable: 0, since: undefined });
    expect(first.new).toBe(first.discovered);
    const held = sim.entries.filter((e) => e.collectionCode <= range.to);
    expect(first.discovered).toBe(held.length);
    const before = await snapshot(dir);

    const changed = sim.modify(held.filter((_, i) => i % 37 === 5).map((e) => e.collectionCode));
    expect(changed.length).toBeGreaterThan(5);
    s.clearLog();
    const report = await client.cifs.mirror(dir, { ...range, refresh: true });
    checkCounts(report);
    expect(report).toMatchObject({ new: 0, updated: changed.length, unavailable: 0 });
    expect(report.unchanged).toBe(held.length - changed.length);
    // The first refresh of a folder searches from the day before its batches were written.
    expect(report.since! < today()).toBe(true);
    // Only the changed entries were asked for.
    const changedIds = changed.map((cc) => sim.entryByCode(cc)!.id).sort((a, b) => a - b);
    expect(askedIds(s).sort((a, b) => a - b)).toEqual(changedIds);

    const after = await snapshot(dir);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    const changedFiles = new Set(changed.map(fileOf));
    for (const [name, was] of before) {
      const now = after.get(name)!;
      if (changedFiles.has(name)) {
        const cc = Number(name.slice(5, 11));
        expect(now.bytes.toString('utf8')).toBe(sim.cif(sim.entryByCode(cc)!.id));
        expect(now.bytes.equals(was.bytes)).toBe(false);
      } else {
        expect(now.ino).toBe(was.ino);
        expect(now.mtimeMs).toBe(was.mtimeMs);
        expect(now.bytes.equals(was.bytes)).toBe(true);
      }
    }
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    // The complete refresh moved D to today: the next one searches from today and fetches nothing.
    const manifest = await readFile(path.join(dir, JOURNAL_FILE), 'utf8');
    expect(manifest).toContain(`"t":"synced","date":"${today()}"`);
    s.clearLog();
    const cifsBefore = cifRequests(sim);
    const again = await client.cifs.mirror(dir, { ...range, refresh: true });
    checkCounts(again);
    expect(again).toMatchObject({ new: 0, updated: 0, unchanged: held.length, since: today() });
    expect(cifRequests(sim)).toBe(cifsBefore);
    const searches = s.requests.filter((r) => r.path.endsWith('/search/expert'));
    expect(searches.some((r) => /MODIFICATIONDATE : \d{4}-\d{2}-\d{2}-/.test(r.query.query?.[0] ?? ''))).toBe(
      true,
    );
  });

  it('makes no CIF request for an up-to-date mirror (only searches and /csv)', async () => {
    const { sim, client, server: s } = await setup();
    await client.cifs.mirror(dir, { from: 1, to: 2000 });
    const cifsBefore = cifRequests(sim);
    s.clearLog();
    const report = await client.cifs.mirror(dir, { from: 1, to: 2000, refresh: true });
    checkCounts(report);
    expect(report).toMatchObject({ new: 0, updated: 0, unavailable: 0 });
    expect(report.unchanged).toBe(report.discovered);
    expect(cifRequests(sim)).toBe(cifsBefore);
    const paths = new Set(s.requests.map((r) => r.path.replace(/^.*\/ws\//, '')));
    expect([...paths].every((p) => ['auth/login', 'auth/logout', 'search/expert', 'csv'].includes(p))).toBe(
      true,
    );
  });

  it('fetches what is missing and what changed in one run, and counts each once', async () => {
    const { sim, client, server: s } = await setup();
    await client.cifs.mirror(dir, { from: 1, to: 1200 });
    const inFolder = sim.entries.filter((e) => e.collectionCode <= 1200);
    const changed = sim.modify(inFolder.slice(0, 4).map((e) => e.collectionCode));
    s.clearLog();
    const report = await client.cifs.mirror(dir, { from: 1, to: 2400, refresh: true });
    checkCounts(report);
    const wanted = sim.entries.filter((e) => e.collectionCode <= 2400);
    expect(report).toMatchObject({
      discovered: wanted.length,
      new: wanted.length - inFolder.length,
      updated: changed.length,
      unchanged: inFolder.length - changed.length,
    });
    for (const e of wanted) {
      expect(await readFile(path.join(dir, fileOf(e.collectionCode)), 'utf8')).toBe(sim.cif(e.id));
    }
  });

  it('resumes an interrupted refresh without fetching again the entries already replaced', async () => {
    const { sim, client, server: s } = await setup();
    const range = { from: 1, to: 4000 };
    await client.cifs.mirror(dir, range);
    const held = sim.entries.filter((e) => e.collectionCode <= range.to);
    const changed = sim.modify(held.filter((_, i) => i % 11 === 3).map((e) => e.collectionCode));
    expect(changed.length).toBeGreaterThan(40);
    const controller = new AbortController();
    let updatedWhenStopped = 0;
    await expect(
      client.cifs.mirror(dir, {
        ...range,
        refresh: true,
        batchSize: 5,
        concurrency: 1,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.updated >= 15 && !controller.signal.aborted) {
            updatedWhenStopped = p.updated;
            controller.abort();
          }
        },
      }),
    ).rejects.toBeInstanceOf(AbortError);
    expect(updatedWhenStopped).toBeGreaterThanOrEqual(15);
    // The replacements made are on disk and in the manifest; nothing half-written; D did not move.
    const done: number[] = [];
    for (const cc of changed) {
      const text = await readFile(path.join(dir, fileOf(cc)), 'utf8');
      if (text === sim.cif(sim.entryByCode(cc)!.id)) done.push(cc);
    }
    expect(done.length).toBeGreaterThanOrEqual(15);
    expect(done.length).toBeLessThan(changed.length);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(await readFile(path.join(dir, JOURNAL_FILE), 'utf8')).not.toContain('"t":"synced"');

    s.clearLog();
    const report = await client.cifs.mirror(dir, { ...range, refresh: true });
    checkCounts(report);
    expect(report.updated).toBe(changed.length - done.length);
    const doneIds = new Set(done.map((cc) => sim.entryByCode(cc)!.id));
    const asked = askedIds(s);
    expect(asked.filter((id) => doneIds.has(id))).toEqual([]);
    expect(asked.length).toBe(changed.length - done.length);
    for (const cc of changed) {
      expect(await readFile(path.join(dir, fileOf(cc)), 'utf8')).toBe(sim.cif(sim.entryByCode(cc)!.id));
    }
    expect(await readFile(path.join(dir, JOURNAL_FILE), 'utf8')).toContain('"t":"synced"');
  });

  it('refreshes a folder whose manifest was written by an older version (no dates): dates from the files', async () => {
    const { sim, client, server: s } = await setup();
    const range = { from: 1, to: 2400 };
    await client.cifs.mirror(dir, range);
    const held = sim.entries.filter((e) => e.collectionCode <= range.to);
    // Entries changed and already replaced: their files hold today's date.
    const earlier = sim.modify(held.filter((_, i) => i % 31 === 2).map((e) => e.collectionCode));
    expect((await client.cifs.mirror(dir, { ...range, refresh: true })).updated).toBe(earlier.length);
    // An older version's manifest: no `dates`, no `synced` lines, no sizes.
    const file = path.join(dir, JOURNAL_FILE);
    const lines = (await readFile(file, 'utf8'))
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => Array.isArray(l.dates))).toBe(true);
    const old = lines
      .filter((l) => l.t !== 'synced')
      .map(({ dates: _d, sizes: _s, ...rest }) => JSON.stringify(rest));
    await writeFile(file, `${old.join('\n')}\n`);
    // Entries not changed before (a second change on the same day would not move the date: see below).
    const changed = sim.modify(
      held.filter((e, i) => i % 29 === 7 && !earlier.includes(e.collectionCode)).map((e) => e.collectionCode),
    );
    s.clearLog();
    const report = await client.cifs.mirror(dir, { ...range, refresh: true });
    checkCounts(report);
    // The search finds both sets (modified today); the files of the first already say so: not fetched again.
    expect(report).toMatchObject({
      new: 0,
      updated: changed.length,
      unchanged: held.length - changed.length,
    });
    const changedIds = changed.map((cc) => sim.entryByCode(cc)!.id).sort((a, b) => a - b);
    expect(askedIds(s).sort((a, b) => a - b)).toEqual(changedIds);
    for (const cc of [...changed, ...earlier]) {
      expect(await readFile(path.join(dir, fileOf(cc)), 'utf8')).toBe(sim.cif(sim.entryByCode(cc)!.id));
    }
  });

  it('fetches once more, on a later day, an entry changed twice on the day its file was fetched', async () => {
    const { sim, client, server: s } = await setup();
    const range = { from: 1, to: 1200 };
    await client.cifs.mirror(dir, range);
    const [cc] = sim.modify([sim.entries[4]!.collectionCode]);
    expect((await client.cifs.mirror(dir, { ...range, refresh: true })).updated).toBe(1);
    // A second change the same day: the date does not move, so today's refresh cannot see it.
    sim.modify([cc!]);
    const id = sim.entryByCode(cc!)!.id;
    expect((await client.cifs.mirror(dir, { ...range, refresh: true })).updated).toBe(0);
    expect(await readFile(path.join(dir, fileOf(cc!)), 'utf8')).not.toBe(sim.cif(id));
    // The next day's refresh fetches it once more (the client's clock moves; the service keeps its own).
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 86_400_000);
      s.clearLog();
      const next = await client.cifs.mirror(dir, { ...range, refresh: true });
      expect(next).toMatchObject({ updated: 1, new: 0 });
      expect(askedIds(s)).toEqual([id]);
      expect(await readFile(path.join(dir, fileOf(cc!)), 'utf8')).toBe(sim.cif(id));
      // Fetched on a later day than its date: settled, the next refresh asks for no CIF.
      s.clearLog();
      expect((await client.cifs.mirror(dir, { ...range, refresh: true })).updated).toBe(0);
      expect(askedIds(s)).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps the old file of an entry whose new version cannot be served, counts it unavailable, and keeps D', async () => {
    const { sim, client, server: s } = await setup();
    const range = { from: 1, to: 1200 };
    await client.cifs.mirror(dir, range);
    const held = sim.entries.filter((e) => e.collectionCode <= range.to);
    const changed = sim.modify(held.slice(2, 8).map((e) => e.collectionCode));
    const lost = sim.entryByCode(changed[0]!)!;
    const oldBytes = await readFile(path.join(dir, fileOf(lost.collectionCode)));
    // The service now refuses that entry: 500 for any batch holding it, 404 alone.
    s.use(
      http.get('*/ws/cif/multiple', ({ request }) =>
        new URL(request.url).searchParams.getAll('idnum').includes(String(lost.id))
          ? HttpResponse.text('Internal Server Error', { status: 500 })
          : undefined,
      ),
      http.get(`*/ws/cif/${lost.id}`, () => HttpResponse.text('Not Found', { status: 404 })),
    );
    const report = await client.cifs.mirror(dir, { ...range, refresh: true });
    checkCounts(report);
    expect(report).toMatchObject({ updated: changed.length - 1, unavailable: 1, badIds: [lost.id] });
    expect((await readFile(path.join(dir, fileOf(lost.collectionCode)))).equals(oldBytes)).toBe(true);
    expect(await readFile(path.join(dir, JOURNAL_FILE), 'utf8')).not.toContain('"t":"synced"');
  });

  it('without refresh, behaves as before and records each entry’s modification date', async () => {
    const { sim, client, server: s } = await setup();
    await client.cifs.mirror(dir, { from: 1, to: 800 });
    const changed = sim.modify(sim.entries.slice(0, 3).map((e) => e.collectionCode));
    s.clearLog();
    const report = await client.cifs.mirror(dir, { from: 1, to: 800 });
    expect(report).toMatchObject({ downloaded: 0, new: 0, updated: 0, since: undefined });
    expect(report.unchanged).toBe(report.skipped);
    expect(s.requests.some((r) => /MODIFICATIONDATE/i.test(r.query.query?.[0] ?? ''))).toBe(false);
    expect(s.requests.some((r) => r.path.endsWith('/csv'))).toBe(false);
    // The manifest keeps each entry's date, as its CIF gives it.
    const lines = (await readFile(path.join(dir, JOURNAL_FILE), 'utf8'))
      .split('\n')
      .filter((l) => l.includes('"t":"batch"'))
      .map((l) => JSON.parse(l) as { codes: number[]; dates: string[] });
    const recorded = new Map(lines.flatMap((l) => l.codes.map((cc, i) => [cc, l.dates[i]] as const)));
    for (const e of sim.entries.filter((x) => x.collectionCode <= 800)) {
      const original = changed.includes(e.collectionCode) ? undefined : e.modificationDate;
      if (original) expect(recorded.get(e.collectionCode)).toBe(original);
    }
  });
});
