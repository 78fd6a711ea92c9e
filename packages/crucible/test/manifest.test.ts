import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ServerError } from '@sciport/core';
import {
  type CrucibleSimulator,
  createCrucibleSimulator,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ApplyAction,
  applyManifest,
  CrucibleClient,
  ManifestError,
  parseManifest,
  statePathFor,
} from '../src/index.js';

/** Batch manifests (spec §19.5.1): parsing with lines, validation before any write, idempotent re-runs. */

let dir: string;
let sim: CrucibleSimulator;
let server: TestServer;
let client: CrucibleClient;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-manifest-'));
  process.env.XDG_CACHE_HOME = path.join(dir, 'cache');
  sim = createCrucibleSimulator({ seed: 5, datasets: 10, chunkSizeHint: 256 * 1024 });
  server = await startTestServer({ handlers: sim.handlers });
  client = new CrucibleClient({ baseUrl: `${server.url}/api/v2`, apiKey: sim.keyFor('demo'), maxRetries: 0 });
});

afterEach(async () => {
  await client.dispose();
  await server.close();
  await sim.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** Requests that change something (API and storage): anything but GET and HEAD. */
function writeRequests() {
  return server.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD');
}

/** The parse error of a manifest text, with its problems. */
function problemsOf(text: string) {
  try {
    parseManifest(text, { file: 'm.yaml' });
  } catch (error) {
    expect(error).toBeInstanceOf(ManifestError);
    return (error as ManifestError).problems;
  }
  throw new Error('the manifest was accepted');
}

const MANIFEST = `version: 1
project: DEMO-0001
samples:
  - id: wafer
    name: wafer 12
    type: substrate
    metadata: {thickness_nm: 500, vendor: {name: acme}}
  - id: piece
    name: wafer 12 piece A
    parents: [wafer]
datasets:
  - id: raw
    name: XRD raw 12
    measurement: xrd
    keywords: [xrd, raw]
    metadata: meta.json
    files: [data/*.csv]
    samples: [piece]
  - id: fit
    name: XRD fit 12
    files: [fit.txt]
    ingest: false
    parents: [raw]
    samples: [wafer]
`;

async function writeProject(manifest = MANIFEST) {
  await mkdir(path.join(dir, 'data'), { recursive: true });
  await writeFile(path.join(dir, 'data', 'a.csv'), 'x,y\n1,2\n');
  await writeFile(path.join(dir, 'data', 'b.csv'), 'x,y\n3,4\n');
  await writeFile(path.join(dir, 'fit.txt'), 'a = 1.5\n');
  await writeFile(path.join(dir, 'meta.json'), JSON.stringify({ wavelength: 1.54, detector: { id: 'd1' } }));
  const file = path.join(dir, 'manifest.yaml');
  await writeFile(file, manifest);
  return file;
}

describe('parseManifest: every problem with its line', () => {
  it('names an unknown key and its line, with the allowed keys', () => {
    const p = problemsOf('version: 1\nsamples:\n  - id: a\n    name: A\n    colour: red\n');
    expect(p).toEqual([
      expect.objectContaining({
        line: 5,
        column: 5,
        field: 'colour',
        message: expect.stringContaining('unknown key "colour"'),
      }),
    ]);
    expect(problemsOf('version: 1\nextras: 1\n')[0]).toMatchObject({ line: 2, field: 'extras' });
  });

  it('reports wrong types, bad and duplicate ids, at their lines', () => {
    const p = problemsOf(
      [
        'version: 1', // 1
        'samples:', // 2
        '  - id: a', // 3
        '    name: 12', // 4: not a string
        '    public: yes-please', // 5: not a boolean
        '  - id: "bad id!"', // 6
        '    name: B', // 7
        'datasets:', // 8
        '  - id: a', // 9: duplicate of the sample
        '    name: D', // 10
        '    keywords: xrd', // 11: not a list
        '    ingest: 3', // 12
        '    metadata: [1, 2]', // 13
      ].join('\n'),
    );
    const lines = p.map((x) => [x.line, x.field]);
    expect(lines).toEqual([
      [4, 'name'],
      [5, 'public'],
      [6, 'id'],
      [9, 'id'],
      [11, 'keywords'],
      [12, 'ingest'],
      [13, 'metadata'],
    ]);
    expect(p.find((x) => x.line === 9)?.message).toContain('duplicate id "a"');
  });

  it('refuses references that are not local ids of the right kind nor MFIDs, and cycles', () => {
    const p = problemsOf(
      [
        'version: 1',
        'samples:',
        '  - {id: s1, name: S1, parents: [s2]}', // 3
        '  - {id: s2, name: S2, parents: [s1]}', // 4
        'datasets:',
        '  - id: d1', // 6
        '    name: D1',
        '    samples: [d1]', // 8: a dataset, not a sample
        '    parents: [typo]', // 9
      ].join('\n'),
    );
    expect(p.map((x) => x.line)).toEqual([3, 8, 9]);
    expect(p[0]?.message).toMatch(/cycle: s1 → s2 → s1/);
    expect(p[1]?.message).toContain('"d1" is a dataset of this manifest, not a sample');
    expect(p[2]?.message).toContain('"typo" is neither a dataset id of this manifest nor an MFID');
  });

  it('requires version 1, and reports YAML syntax and duplicate keys with lines', () => {
    expect(problemsOf('samples: []\n')[0]?.message).toContain('version');
    expect(problemsOf('version: 2\n')[0]).toMatchObject({ line: 1, message: 'version must be 1' });
    expect(problemsOf('version: 1\nversion: 1\n')[0]).toMatchObject({ line: 2 });
    expect(problemsOf('version: 1\nsamples: [\n')[0]?.line).toBeGreaterThan(0);
    expect(() => parseManifest('- 1\n', { file: 'x.yaml' })).toThrow(
      /x\.yaml:1:1: a manifest is one YAML mapping/,
    );
  });

  it('orders samples and datasets parents first and keeps the defaults', () => {
    const m = parseManifest(
      'version: 1\nproject: P\nsamples:\n  - {id: c, name: C, parents: [b]}\n  - {id: b, name: B, parents: [a]}\n  - {id: a, name: A, project: Q}\n',
    );
    expect(m.samples.map((s) => [s.id, s.project])).toEqual([
      ['a', 'Q'],
      ['b', 'P'],
      ['c', 'P'],
    ]);
    expect(parseManifest(MANIFEST).datasets.map((d) => d.ingest)).toEqual([true, false]);
  });
});

describe('applyManifest against the simulator', () => {
  it('creates samples, datasets, metadata, keywords, links and files; a second run sends no write', async () => {
    const file = await writeProject();
    const samplesBefore = sim.samples.length;
    const first = await applyManifest(client, file);
    expect(first.summary.matched).toBe(0);
    const state = JSON.parse(await readFile(statePathFor(file), 'utf8'));
    const [wafer, piece] = [state.samples.wafer.uniqueId, state.samples.piece.uniqueId];
    const [raw, fit] = [state.datasets.raw.uniqueId, state.datasets.fit.uniqueId];
    expect(sim.samples.length).toBe(samplesBefore + 2);
    const rawDs = sim.dataset(raw);
    expect(rawDs).toMatchObject({ datasetName: 'XRD raw 12', measurement: 'xrd', projectId: 'DEMO-0001' });
    expect(rawDs?.metadata).toEqual({ wavelength: 1.54, detector: { id: 'd1' } });
    expect(rawDs?.keywords.map((k) => k.toLowerCase()).sort()).toEqual(['raw', 'xrd']);
    expect(sim.samples.find((s) => s.uniqueId === wafer)?.metadata).toEqual({
      thickness_nm: 500,
      vendor: { name: 'acme' },
    });
    expect(
      sim
        .filesOf(raw)
        .map((f) => f.filename.split('/').pop())
        .sort(),
    ).toEqual(['a.csv', 'b.csv']);
    expect(sim.filesOf(fit)).toHaveLength(1);
    const links = async (id: string) =>
      (await client.datasets.links(id).toArray()).map((l) => `${l.relationship}:${l.uniqueId}`).sort();
    expect(await links(piece)).toEqual([`associated:${raw}`, `parent:${wafer}`].sort());
    expect(await links(fit)).toEqual([`associated:${wafer}`, `parent:${raw}`].sort());
    // Ingestion: raw's two files with no class (the server picks), none for fit (ingest: false).
    const ingests = writeRequests().filter((r) => r.path.endsWith('/ingest'));
    expect(ingests).toHaveLength(2);
    for (const r of ingests) expect(r.query.ingestion_class).toBeUndefined();

    server.clearLog();
    const seen: ApplyAction[] = [];
    const second = await applyManifest(client, file, { onProgress: (a) => seen.push(a) });
    expect(writeRequests()).toEqual([]);
    expect(second.writes).toBe(0);
    expect(second.summary).toEqual({ done: 0, matched: first.actions.length, planned: 0 });
    expect(seen.map((a) => a.outcome)).toEqual(first.actions.map(() => 'matched'));
    expect(sim.samples.length).toBe(samplesBefore + 2);
  });

  it('a dry run sends no write and writes no state; it lists the plan', async () => {
    const file = await writeProject();
    const r = await applyManifest(client, file, { dryRun: true });
    expect(writeRequests()).toEqual([]);
    expect(r.summary.planned).toBe(r.actions.length);
    expect(r.actions.filter((a) => a.action === 'create').map((a) => [a.id, a.uniqueId])).toEqual([
      ['wafer', undefined],
      ['piece', undefined],
      ['raw', undefined],
      ['fit', undefined],
    ]);
    expect(r.actions.filter((a) => a.action === 'upload').map((a) => a.file)).toEqual([
      'data/a.csv',
      'data/b.csv',
      'fit.txt',
    ]);
    await expect(readFile(statePathFor(file))).rejects.toThrow();
  });

  it('creates nothing when a file, a glob, a metadata file or a reference is wrong, naming the lines', async () => {
    const missingMfid = '0tbg8f8eq1sbs000x1sdqdtpnm';
    const someDataset = sim.datasets.find((d) => d.ownerOrcid === sim.user('demo').orcid)?.uniqueId as string;
    const file = await writeProject(
      [
        'version: 1', // 1
        'project: DEMO-0001', // 2
        'samples:', // 3
        '  - id: s', // 4
        '    name: S', // 5
        `    parents: [${missingMfid}]`, // 6: not on the server
        '    metadata: data/a.csv', // 7: not JSON
        'datasets:', // 8
        '  - id: d', // 9
        '    name: D', // 10
        '    files: [nothere.txt, "logs/*.log", data/a.csv]', // 11
        `    samples: [${someDataset}]`, // 12: a dataset, not a sample
        '  - id: e', // 13
        '    name: E', // 14
        '    project: NO-SUCH-PROJECT', // 15
        '    metadata: {a: 1}', // 16
      ].join('\n'),
    );
    const attempt = async () => {
      try {
        await applyManifest(client, file);
      } catch (error) {
        return error as ManifestError;
      }
      throw new Error('applied');
    };
    // Local problems first (the files, the metadata file): the server is not asked yet.
    const local = await attempt();
    expect(local).toBeInstanceOf(ManifestError);
    expect(local.problems.map((p) => [p.line, p.field])).toEqual([
      [7, 'metadata'],
      [11, 'files'],
      [11, 'files'],
    ]);
    expect(local.message).toContain('no such file: nothere.txt');
    expect(local.message).toContain('logs/*.log matches no file');
    await writeFile(path.join(dir, 'data', 'a.json'), '[1, 2]');
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace('metadata: data/a.csv', 'metadata: data/a.json'),
    );
    await mkdir(path.join(dir, 'logs'));
    await writeFile(path.join(dir, 'logs', 'x.log'), 'log');
    await writeFile(path.join(dir, 'nothere.txt'), 'now here');
    expect((await attempt()).problems.map((p) => [p.line, p.field])).toEqual([[7, 'metadata']]);
    await writeFile(path.join(dir, 'data', 'a.json'), '{"ok": true}');
    const remote = await attempt();
    expect(remote.problems.map((p) => [p.line, p.field])).toEqual([
      [6, 'parents'],
      [12, 'samples'],
      [13, 'project'],
    ]);
    expect(remote.message).toContain(`"${missingMfid}" is neither in this manifest nor on the server`);
    expect(remote.message).toContain('is a dataset on the server, not a sample');
    expect(writeRequests()).toEqual([]);
    await expect(readFile(statePathFor(file))).rejects.toThrow();
  });

  it('a run that fails part-way leaves its state; the next goes on without duplicates', async () => {
    const file = await writeProject();
    const samplesBefore = sim.samples.length;
    const datasetsBefore = sim.datasets.length;
    // Keywords fail (no retries): samples, datasets and metadata are done by then.
    server.setFaults({ match: { method: 'POST', path: /\/keywords$/ }, failRate: 1, failStatus: 500 });
    await expect(applyManifest(client, file)).rejects.toBeInstanceOf(ServerError);
    const state = JSON.parse(await readFile(statePathFor(file), 'utf8'));
    expect(Object.keys(state.samples)).toEqual(['wafer', 'piece']);
    expect(state.datasets.raw.metadata).toMatch(/^[0-9a-f]{64}$/);
    server.setFaults(undefined);
    server.clearLog();
    const r = await applyManifest(client, file);
    expect(r.actions.filter((a) => a.action === 'create').map((a) => a.outcome)).toEqual([
      'matched',
      'matched',
      'matched',
      'matched',
    ]);
    expect(writeRequests().filter((w) => /\/(samples|datasets)$/.test(w.path))).toEqual([]);
    expect(sim.samples.length).toBe(samplesBefore + 2);
    expect(sim.datasets.length).toBe(datasetsBefore + 2);
    expect(sim.dataset(state.datasets.raw.uniqueId)?.keywords).toHaveLength(2);
  });

  it('matches what the server already has when the state is stale (a create or a merge not recorded)', async () => {
    const file = await writeProject();
    await applyManifest(client, file);
    const statePath = statePathFor(file);
    const state = JSON.parse(await readFile(statePath, 'utf8'));
    // As if killed right after each write: creates still pending, nothing else recorded.
    for (const table of [state.samples, state.datasets])
      for (const id of Object.keys(table)) table[id] = { uniqueId: table[id].uniqueId, pending: true };
    state.links = [];
    await writeFile(statePath, JSON.stringify(state));
    server.clearLog();
    const r = await applyManifest(client, file);
    expect(writeRequests().map((w) => `${w.method} ${w.path}`)).toEqual([]);
    expect(r.summary.done).toBe(0);
    // …and the state is complete again.
    const after = JSON.parse(await readFile(statePath, 'utf8'));
    expect(after.links).toHaveLength(4);
    expect(after.datasets.raw.keywords).toEqual(['xrd', 'raw']);
  });
});
