import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NotFoundError, UsageError } from '@sciport/core';
import {
  addFolderFiles,
  type CrucibleSimulator,
  createCrucibleSimulator,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CrucibleClient, compileGlob, NoFilesSelectedError, pathInDataset } from '../src/index.js';
import { unsafePathReason } from '../src/node/select.js';

/** Selective downloads (issue 13, spec §19.3): glob semantics, paths, `files`, `record`, requests per route. */

describe('globs (§19.3, sciport’s choice)', () => {
  const matches = (glob: string, paths: string[]) => paths.filter(compileGlob(glob));
  const paths = [
    'a.h5',
    'raw/x.h5',
    'raw/sub/y.h5',
    'raw/sub/deeper/x.h5',
    'other/raw/z.h5',
    'raw/notes.txt',
    '.hidden.h5',
    'raw2/x.h5',
  ];

  it('a pattern without / tests the last segment, at any depth', () => {
    expect(matches('*.h5', paths)).toEqual(paths.filter((p) => p.endsWith('.h5')));
    expect(matches('x.h5', paths)).toEqual(['raw/x.h5', 'raw/sub/deeper/x.h5', 'raw2/x.h5']);
  });

  it('* and ? never cross /; ** spans whole folders', () => {
    expect(matches('raw/*', paths)).toEqual(['raw/x.h5', 'raw/notes.txt']);
    expect(matches('raw/?.h5', paths)).toEqual(['raw/x.h5']);
    expect(matches('raw/**', paths)).toEqual([
      'raw/x.h5',
      'raw/sub/y.h5',
      'raw/sub/deeper/x.h5',
      'raw/notes.txt',
    ]);
    expect(matches('**/x.h5', paths)).toEqual(['raw/x.h5', 'raw/sub/deeper/x.h5', 'raw2/x.h5']);
    expect(matches('raw/**/x.h5', paths)).toEqual(['raw/x.h5', 'raw/sub/deeper/x.h5']);
    expect(matches('r*/x.h5', paths)).toEqual(['raw/x.h5', 'raw2/x.h5']);
  });

  it('as in .gitignore: a leading / anchors, a trailing / is a folder’s contents', () => {
    expect(matches('/a.h5', ['a.h5', 'raw/a.h5'])).toEqual(['a.h5']);
    expect(matches('raw/', paths)).toEqual([
      'raw/x.h5',
      'raw/sub/y.h5',
      'raw/sub/deeper/x.h5',
      'other/raw/z.h5',
      'raw/notes.txt',
    ]);
    expect(matches('/raw/', paths)).toHaveLength(4);
    expect(matches('raw', paths)).toEqual([]);
  });

  it('is case-sensitive; an empty pattern is a usage error', () => {
    expect(matches('*.H5', paths)).toEqual([]);
    expect(() => compileGlob('')).toThrow(UsageError);
    expect(() => compileGlob('/')).toThrow(UsageError);
  });
});

describe('paths in the dataset', () => {
  const file = (storagePath: string | null, filename = 'up/x.bin') =>
    ({ storagePath, filename }) as Parameters<typeof pathInDataset>[0];

  it('strips mf-storage-prod/<dsid>/, else keeps the last segment; no storage_path is not downloadable', () => {
    expect(pathInDataset(file('mf-storage-prod/DS1/raw/a/b.h5'), 'DS1')).toBe('raw/a/b.h5');
    expect(pathInDataset(file('elsewhere/bucket/b.h5'), 'DS1')).toBe('b.h5');
    expect(pathInDataset(file(null), 'DS1')).toBeUndefined();
  });

  it('refuses .., absolute, drive-letter, empty and . segments', () => {
    for (const bad of ['../x', 'a/../../x', '/etc/x', 'C:/x', 'a//b', 'a/./b', 'a\\..\\b', ''])
      expect(unsafePathReason(bad), bad).toBeDefined();
    expect(unsafePathReason('raw/run 1/x.h5')).toBeUndefined();
  });
});

describe('client.datasets.download with a selection', () => {
  let sim: CrucibleSimulator;
  let server: TestServer;
  let dir: string;
  let client: CrucibleClient;
  let dsid: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sciport-crucible-select-'));
    sim = createCrucibleSimulator({ seed: 5, datasets: 5 });
    server = await startTestServer({ handlers: sim.handlers });
    client = new CrucibleClient({ baseUrl: `${server.url}/api/v2`, apiKey: sim.keyFor('demo') });
    dsid = (await client.datasets.create({ datasetName: 'folders', projectId: 'DEMO-0001' })).uniqueId;
    await addFolderFiles(sim, dsid, { files: 30, perFolder: 10, size: 200 });
  });

  afterEach(async () => {
    await server.close();
    await sim.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const routes = () => sim.stats.routes;

  it('asks for the selected files’ links only: one listing, no download_links, no file records', async () => {
    const out = path.join(dir, 'out');
    const saved = await client.datasets.download(dsid, out, {
      include: ['raw/run-0001/**', 'frame-0009.h5'],
      exclude: 'frame-0005.h5',
    });
    expect(saved.map((f) => f.name)).toEqual([
      'raw/run-0000/frame-0009.h5',
      ...[0, 1, 2, 3, 4, 6, 7, 8, 9].map((k) => `raw/run-0001/frame-000${k}.h5`),
      'raw/run-0002/frame-0009.h5',
    ]);
    expect(saved.every((f) => !f.skipped && f.bytes === 200)).toBe(true);
    const r = routes();
    expect(r['GET /datasets/{dsid}/files']).toBe(1);
    expect(r['GET /files/{mfid}/download_link']).toBe(11);
    expect(r['GET /datasets/{dsid}/download_links']).toBeUndefined();
    expect(r['GET /files/{mfid}']).toBeUndefined();
    // A second run finds them complete: no link asked for.
    const again = await client.datasets.download(dsid, out, {
      include: ['raw/run-0001/**', 'frame-0009.h5'],
    });
    expect(again.filter((f) => f.skipped)).toHaveLength(11);
    expect(again.filter((f) => !f.skipped).map((f) => f.name)).toEqual(['raw/run-0001/frame-0005.h5']);
    expect(routes()['GET /files/{mfid}/download_link']).toBe(12);
  });

  it('files: by id, exact path, unique last segment; ambiguous and unknown names are errors', async () => {
    const listed = await client.files.list(dsid).toArray();
    const out = path.join(dir, 'files');
    const one = listed[3];
    const saved = await client.datasets.download(dsid, out, {
      files: [one?.mfid as string, 'raw/run-0002/frame-0001.h5'],
    });
    expect(saved.map((f) => f.name)).toEqual(['raw/run-0000/frame-0003.h5', 'raw/run-0002/frame-0001.h5']);
    const ambiguous = await client.datasets.download(dsid, out, { files: ['frame-0001.h5'] }).catch((e) => e);
    expect(UsageError.isInstance(ambiguous)).toBe(true);
    expect(ambiguous.message).toContain('names 3 files');
    const unknown = await client.datasets.download(dsid, out, { files: ['nope'] }).catch((e) => e);
    expect(unknown).toBeInstanceOf(NoFilesSelectedError);
    expect(NotFoundError.isInstance(unknown)).toBe(true);
    expect(unknown.names).toHaveLength(30);
    expect(unknown.message).toMatch(
      /has 30 downloadable files: raw\/run-0000\/frame-0000\.h5, .* and 10 more$/,
    );
  });

  it('nothing selected writes nothing and asks for no link; record: true saves the dataset’s record unchanged', async () => {
    const out = path.join(dir, 'none');
    const error = await client.datasets
      .download(dsid, out, { include: '*.cif', record: true })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoFilesSelectedError);
    expect(await readdir(out).catch(() => [])).toEqual([]);
    expect(routes()['GET /files/{mfid}/download_link']).toBeUndefined();

    await client.datasets.mergeMetadata(dsid, { sample: { temperature_k: 4.2 } });
    const rec = path.join(dir, 'rec');
    await client.datasets.download(dsid, rec, { include: 'raw/run-0000/frame-0000.h5', record: true });
    const answer = await (
      await fetch(`${server.url}/api/v2/datasets/${dsid}?include_metadata=true`, {
        headers: { authorization: `Bearer ${sim.keyFor('demo')}` },
      })
    ).text();
    const written = await readFile(path.join(rec, 'record.json'), 'utf8');
    expect(written).toBe(`${JSON.stringify(JSON.parse(answer), null, 2)}\n`);
    expect(JSON.parse(written).scientific_metadata).toEqual({ sample: { temperature_k: 4.2 } });
    expect((await readdir(rec)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('a selected file at record.json is refused when the record is saved', async () => {
    await addFolderFiles(sim, dsid, { files: 1, pathOf: () => 'record.json' });
    const out = path.join(dir, 'clash');
    const error = await client.datasets
      .download(dsid, out, { include: 'record.json', record: true })
      .catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('download_incomplete');
    expect((error as Error).message).toContain('record.json');
    expect(JSON.parse(await readFile(path.join(out, 'record.json'), 'utf8')).unique_id).toBe(dsid);
  });
});
