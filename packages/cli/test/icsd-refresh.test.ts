import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { createIcsdSimulator, type IcsdSimulator, startTestServer, type TestServer } from '@sciport/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { icsdEnv, runCli, tempConfigDir, waitFor } from './helpers.js';

/** `sciport icsd mirror --refresh` end to end: the built CLI as a child process, over real sockets. */

let sim: IcsdSimulator;
let server: TestServer;
let root: string;
let dir: string;
let cleanup: () => Promise<void>;
let release: (() => void) | undefined;

beforeEach(async () => {
  sim = createIcsdSimulator({ entries: 1400, seed: 23 });
  server = await startTestServer({ handlers: sim.handlers });
  ({ root, dir, cleanup } = await tempConfigDir());
});

afterEach(async () => {
  release?.();
  release = undefined;
  await server.close();
  await cleanup();
});

function icsd(args: string[], options: Parameters<typeof runCli>[1] = {}) {
  return runCli(['icsd', ...args], {
    ...options,
    env: icsdEnv(server.url, { root, dir }, options.env),
  });
}

const fileOf = (cc: number) => `icsd_${String(cc).padStart(6, '0')}.cif`;
const cifRequests = () => sim.stats.requests.cif + sim.stats.requests['cif/multiple'];

/** The ids asked of `/cif/multiple` since the log was cleared. */
const askedIds = () =>
  server.requests
    .filter((r) => r.path.endsWith('/cif/multiple'))
    .flatMap((r) => (r.query.idnum ?? []).map(Number));

describe('sciport icsd mirror --refresh', () => {
  it('replaces the entries changed upstream and reports the counts, as text and with --json', async () => {
    const out = path.join(root, 'mirror');
    const range = ['--from', '1', '--to', '3000'];
    expect((await icsd(['mirror', '--out', out, ...range])).code).toBe(0);
    const held = sim.entries.filter((e) => e.collectionCode <= 3000);
    const names = (await readdir(out)).filter((f) => f.endsWith('.cif'));
    expect(names).toHaveLength(held.length);
    const before = new Map<string, { mtimeMs: number; ino: number; bytes: Buffer }>();
    for (const name of names) {
      const s = await stat(path.join(out, name));
      before.set(name, { mtimeMs: s.mtimeMs, ino: s.ino, bytes: await readFile(path.join(out, name)) });
    }

    const changed = sim.modify(held.filter((_, i) => i % 23 === 4).map((e) => e.collectionCode));
    server.clearLog();
    const r = await icsd(['--json', 'mirror', '--out', out, ...range, '--refresh']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      new: 0,
      updated: changed.length,
      unchanged: held.length - changed.length,
      unavailable: 0,
      downloaded: changed.length,
      badIds: [],
    });
    expect(report.since).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(askedIds().sort((a, b) => a - b)).toEqual(
      changed.map((cc) => sim.entryByCode(cc)!.id).sort((a, b) => a - b),
    );
    const changedFiles = new Set(changed.map(fileOf));
    for (const [name, was] of before) {
      const now = await readFile(path.join(out, name));
      const s = await stat(path.join(out, name));
      if (changedFiles.has(name)) {
        expect(now.toString('utf8')).toBe(sim.cif(sim.entryByCode(Number(name.slice(5, 11)))!.id));
      } else {
        expect(now.equals(was.bytes)).toBe(true);
        expect([s.ino, s.mtimeMs]).toEqual([was.ino, was.mtimeMs]);
      }
    }

    // Up to date now: text summary, and not one CIF request.
    const cifs = cifRequests();
    const again = await icsd(['mirror', '--out', out, ...range, '--refresh']);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`0 new, 0 updated, ${held.length} unchanged, 0 unavailable`);
    expect(again.stderr).toMatch(/modified since \d{4}-\d{2}-\d{2}/);
    expect(cifRequests()).toBe(cifs);
    expect(sim.stats.liveTokens).toBe(0);
  });

  it('a plain mirror reports the counts in --json and never looks for modifications', async () => {
    const out = path.join(root, 'mirror');
    const first = JSON.parse((await icsd(['--json', 'mirror', '--out', out, '--to', '2000'])).stdout);
    expect(first).toMatchObject({ new: first.downloaded, updated: 0, unavailable: 0 });
    sim.modify([sim.entries[0]!.collectionCode]);
    server.clearLog();
    const again = JSON.parse((await icsd(['--json', 'mirror', '--out', out, '--to', '2000'])).stdout);
    expect(again).toMatchObject({ new: 0, updated: 0, unchanged: first.downloaded, downloaded: 0 });
    expect(again.since).toBeUndefined();
    expect(server.requests.some((q) => q.path.endsWith('/csv'))).toBe(false);
  });

  it('Ctrl-C during a refresh exits 130; the next refresh finishes it without fetching again what was replaced', async () => {
    const out = path.join(root, 'mirror');
    expect((await icsd(['mirror', '--out', out])).code).toBe(0);
    // More changes than one request carries (500): two replacement batches, one after the other.
    const changed = sim.modify(sim.entries.filter((_, i) => i % 2 === 0).map((e) => e.collectionCode));
    expect(changed.length).toBeGreaterThan(500);
    const lastId = sim.entryByCode(changed.at(-1)!)!.id;
    // `/cif/multiple` answered on the raw socket with the simulator's documents, but the batch holding the last
    // changed entry is held until the client goes away: the Ctrl-C comes while it waits.
    server.useRaw({
      match: { path: '/ws/cif/multiple' },
      async handle(_req, res, { url, signal }) {
        const ids = url.searchParams.getAll('idnum').map(Number);
        if (ids.includes(lastId)) {
          await new Promise<void>((resolve) => {
            release = resolve;
            signal.addEventListener('abort', () => resolve(), { once: true });
          });
          res.destroy();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/cif;charset=UTF-8' });
        res.end(ids.map((id) => sim.cif(id)).join(''));
      },
    });
    server.clearLog();
    const r = await icsd(['mirror', '--out', out, '--refresh', '--concurrency', '1'], {
      onSpawn: (child) => {
        waitFor(() => askedIds().includes(lastId), 60_000).then(
          () => child.kill('SIGINT'),
          () => child.kill('SIGKILL'),
        );
      },
    });
    expect(r.code).toBe(130);
    const firstAsked = askedIds().filter((id) => id !== lastId);
    const heldBatch = new Set(
      server.requests
        .filter((q) => q.path.endsWith('/cif/multiple') && (q.query.idnum ?? []).includes(String(lastId)))
        .flatMap((q) => (q.query.idnum ?? []).map(Number)),
    );
    const replaced = firstAsked.filter((id) => !heldBatch.has(id));
    expect(replaced.length).toBe(500);
    expect((await readdir(out)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    release?.();
    server.resetHandlers();

    server.clearLog();
    const done = await icsd(['--json', 'mirror', '--out', out, '--refresh']);
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ new: 0, updated: changed.length - 500, unavailable: 0 });
    const asked = askedIds();
    expect(asked.filter((id) => replaced.includes(id))).toEqual([]);
    expect(asked).toHaveLength(changed.length - 500);
    for (const cc of changed) {
      expect(await readFile(path.join(out, fileOf(cc)), 'utf8')).toBe(sim.cif(sim.entryByCode(cc)!.id));
    }
    expect(sim.stats.liveTokens).toBe(0);
  });
});
