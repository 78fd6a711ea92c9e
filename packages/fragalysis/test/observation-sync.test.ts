import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UsageError } from '@sciport/core';
import {
  createFragalysisSimulator,
  type FragalysisSimulator,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FragalysisClient, OBSERVATION_MARKERS_SUFFIX, observationMarkersFile } from '../src/index.js';
import { withDownloaded } from '../src/node/observation-metadata.js';
import { splitCodes } from '../src/node/observation-sync.js';

/** Observation-level sync (spec §11.3) over real sockets against the simulator. */

const TITLE = 'Mpro';
const TAS = 'lb18145-1';
let sim: FragalysisSimulator;
let server: TestServer;
let client: FragalysisClient;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-obsync-'));
  // Builds finish at once: the tests are about what is asked for, not about waiting.
  sim = createFragalysisSimulator({ seed: 5, buildMs: 0 });
  server = await startTestServer({ handlers: sim.handlers });
  client = new FragalysisClient({ stack: server.url, token: sim.tokenFor('demo'), maxRetries: 1 });
});

afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const sync = (options: Parameters<FragalysisClient['archives']['sync']>[2] = {}) =>
  client.archives.sync([{ title: TITLE, tas: TAS }], dir, {
    pollInterval: 10,
    observations: true,
    ...options,
  });
const folder = () => path.join(dir, `${TITLE}_${TAS}`);
const codes = () =>
  sim.targets.find((t) => t.title === TITLE && t.tas === TAS)?.observations.map((o) => o.code) ?? [];
const hits = (p: string, method = 'GET') =>
  server.requests.filter((r) => r.path === p && r.method === method).length;
const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );
async function downloadedColumn(): Promise<Record<string, string>> {
  const lines = (await readFile(path.join(folder(), 'metadata.csv'), 'utf8')).trim().split('\n').slice(1);
  return Object.fromEntries(
    lines.map((l) => [JSON.parse(l.split(',')[0] as string), JSON.parse(l.split(',')[6] as string)]),
  );
}

describe('archives.sync with observations', () => {
  it('downloads the whole target once, then settles a resync by the upload index alone', async () => {
    const [first] = await sync();
    expect(first?.status).toBe('downloaded');
    expect(first?.observations?.new).toEqual([...codes()].sort());
    expect(sim.builds()).toEqual([expect.objectContaining({ codes: [] })]);
    for (const code of codes())
      expect(await exists(path.join(folder(), 'aligned_files', code, `${code}.pdb`))).toBe(true);
    const markers = JSON.parse(await readFile(observationMarkersFile(dir, TITLE, TAS), 'utf8'));
    expect(observationMarkersFile(dir, TITLE, TAS)).toBe(
      path.join(dir, `${TITLE}_${TAS}${OBSERVATION_MARKERS_SUFFIX}`),
    );
    expect(Object.keys(markers.observations).sort()).toEqual([...codes()].sort());

    server.clearLog();
    const [second] = await sync();
    expect(second).toMatchObject({
      status: 'up-to-date',
      observations: { cheap: true, new: [], changed: [] },
    });
    expect(second?.observations?.unchanged).toHaveLength(codes().length);
    expect(hits('/api/site_observations/')).toBe(0);
    expect(hits('/api/download_structures/', 'POST')).toBe(0);
  });

  it('downloads only the re-processed observations and merges them into the tree', async () => {
    await sync();
    const changed = sim.reprocessObservations(TITLE, TAS, 2);
    const before = sim.builds().length;
    const [result] = await sync();
    expect(result?.observations?.changed).toEqual([...changed].sort());
    expect(result?.observations?.new).toEqual([]);
    expect(result?.observations?.unchanged).toHaveLength(codes().length - 2);
    const asked = sim.builds().slice(before);
    expect(asked).toHaveLength(1);
    expect([...(asked[0]?.codes ?? [])].sort()).toEqual([...changed].sort());
    for (const code of changed) {
      const pdb = await readFile(path.join(folder(), 'aligned_files', code, `${code}.pdb`), 'utf8');
      expect(pdb).toContain('REMARK   VERSION 2');
    }
    // metadata.csv is the new archive's, with Downloaded saying what the local tree holds (all of it).
    expect(Object.values(await downloadedColumn()).every((v) => v === 'True')).toBe(true);
    // The temporary folder inside the destination is gone.
    expect((await readdir(dir)).filter((n) => n.includes('.obsync-'))).toEqual([]);
  });

  it('reports removed observations and deletes them only with prune', async () => {
    await sync();
    const [gone] = codes();
    sim.removeObservations(TITLE, TAS, [gone as string]);
    const added = sim.addObservations(TITLE, TAS, 1);
    const [kept] = await sync();
    expect(kept?.observations).toMatchObject({ removed: [gone], pruned: [], new: added });
    expect(await exists(path.join(folder(), 'aligned_files', gone as string))).toBe(true);
    // Still reported on a cheap resync, and pruned then.
    const [pruned] = await sync({ prune: true });
    expect(pruned?.observations).toMatchObject({ cheap: true, removed: [gone], pruned: [gone] });
    expect(await exists(path.join(folder(), 'aligned_files', gone as string))).toBe(false);
    const markers = JSON.parse(await readFile(observationMarkersFile(dir, TITLE, TAS), 'utf8'));
    expect(markers.observations[gone as string]).toBeUndefined();
    expect((await sync({ prune: true }))[0]?.observations?.removed).toEqual([]);
  });

  it('resumes an interrupted sync: markers are written only for merged codes', async () => {
    await sync();
    const changed = [...sim.reprocessObservations(TITLE, TAS, 4)].sort();
    const controller = new AbortController();
    const before = sim.builds().length;
    // One code per subset archive; the sync is stopped after the first one is merged.
    await expect(
      sync({
        maxProteinsLength: 6,
        signal: controller.signal,
        onMerged: () => controller.abort(),
      }),
    ).rejects.toThrow();
    expect(
      sim
        .builds()
        .slice(before)
        .map((b) => b.codes),
    ).toEqual([[changed[0]]]);
    const [resumed] = await sync({ maxProteinsLength: 6 });
    expect(resumed?.observations?.changed).toEqual(changed.slice(1));
    expect(
      sim
        .builds()
        .slice(before + 1)
        .map((b) => b.codes),
    ).toEqual(changed.slice(1).map((c) => [c]));
    expect((await sync())[0]?.observations?.cheap).toBe(true);
  });

  it('refuses proteins, a file_url, and prune without observations', async () => {
    await expect(sync({ options: { proteins: 'A0001a' } })).rejects.toThrow(UsageError);
    await expect(sync({ options: { fileUrl: '/x/y.tar.gz' } })).rejects.toThrow(UsageError);
    await expect(client.archives.sync([{ title: TITLE, tas: TAS }], dir, { prune: true })).rejects.toThrow(
      /observations/,
    );
    expect(hits('/api/download_structures/', 'POST')).toBe(0);
  });
});

describe('observation sync helpers', () => {
  it('splits a long list of codes into lists the server takes (≤ 5000 characters)', () => {
    const list = Array.from({ length: 2000 }, (_, i) => `A${String(i).padStart(4, '0')}a`);
    const groups = splitCodes(list);
    expect(groups.length).toBe(3);
    for (const g of groups) expect(g.join(',').length).toBeLessThanOrEqual(5000);
    expect(groups.flat()).toEqual(list);
  });

  it('rewrites only the Downloaded column of metadata.csv, quoted fields with commas included', () => {
    const text = '"Code","Smiles","Downloaded","N"\n"A1","C(,)C","False",3\n"A2","C\n","True",4\n';
    expect(withDownloaded(text, new Set(['A1']))).toBe(
      '"Code","Smiles","Downloaded","N"\n"A1","C(,)C","True",3\n"A2","C\n","False",4\n',
    );
  });
});
