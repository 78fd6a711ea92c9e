/**
 * Issue 13 (basics), the library over real sockets against the simulator: explorer pages and the ingestion
 * class (§19.1), search (§19.2), metadata on every resource (§19.6), status (§19.7). Wire shapes the simulator
 * does not send (a bare array, a body without `db`) come from raw routes.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UsageError } from '@sciport/core';
import {
  type CrucibleSimulator,
  createCrucibleSimulator,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { fixedAnswer } from '@sciport/testkit/hostile';
import { afterEach, describe, expect, it } from 'vitest';
import { CrucibleClient, DEFAULT_CRUCIBLE_EXPLORER_URL, explorerUrl } from '../src/index.js';

const servers: TestServer[] = [];
const sims: CrucibleSimulator[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(sims.splice(0).map((s) => s.dispose()));
});

async function setup(user = 'demo', raw: Parameters<typeof startTestServer>[0]['raw'] = []) {
  const sim = createCrucibleSimulator({ seed: 3, datasets: 30 });
  sims.push(sim);
  const server = await startTestServer({ handlers: sim.handlers, raw });
  servers.push(server);
  const client = new CrucibleClient({
    baseUrl: `${server.url}/api/v2`,
    apiKey: user ? sim.keyFor(user) : undefined,
    maxRetries: 1,
  });
  return { sim, server, client };
}

describe('explorer pages (§19.1)', () => {
  it('builds {explorer}/{project}/datasets|samples/{id}, and no URL without a project or a base', () => {
    expect(explorerUrl({ type: 'dataset', id: 'D1', projectId: 'P 1' }, DEFAULT_CRUCIBLE_EXPLORER_URL)).toBe(
      'https://crucible.lbl.gov/explore/P%201/datasets/D1',
    );
    expect(explorerUrl({ type: 'sample', id: 'S1', projectId: 'P1' }, 'https://x.org/graph/')).toBe(
      'https://x.org/graph/P1/samples/S1',
    );
    expect(explorerUrl({ type: 'sample', id: 'S1' }, 'https://x.org')).toBeUndefined();
    expect(explorerUrl({ type: 'sample', id: 'S1', projectId: 'P1' }, undefined)).toBeUndefined();
    expect(() => explorerUrl({ type: 'dataset', id: 'D1', projectId: 'P' }, 'not a url')).toThrow(UsageError);
    expect(() => explorerUrl({ type: 'dataset', id: 'D1', projectId: 'P' }, 'ftp://x.org')).toThrow(
      UsageError,
    );
    expect(explorerUrl({ type: 'dataset', id: 'D1', projectId: 'P1' }, DEFAULT_CRUCIBLE_EXPLORER_URL)).toBe(
      'https://crucible.lbl.gov/explore/P1/datasets/D1',
    );
  });
});

describe('ingestion class (§19.1)', () => {
  it('sends no ingestion_class by default (the server picks by file type), the named one when given', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sciport-basics-'));
    process.env.XDG_CACHE_HOME = path.join(dir, 'cache');
    try {
      const { client, server } = await setup();
      const ds = await client.datasets.create({ datasetName: 'ingest', projectId: 'DEMO-0001' });
      const image = path.join(dir, 'scan.png');
      await writeFile(image, 'pixels');
      const auto = await client.files.upload(ds.uniqueId, image, {
        ingest: true,
        wait: { maxWaitTime: 20_000 },
      });
      expect(auto.outcome?.request.ingestionClass).toBe('ImageIngestor');
      const other = path.join(dir, 'notes.bin');
      await writeFile(other, 'bytes');
      await client.files.upload(ds.uniqueId, other, { ingestionClass: 'ApiUploadIngestor' });
      const posts = server.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/ingest'));
      expect(posts.map((r) => r.query)).toEqual([{}, { ingestion_class: ['ApiUploadIngestor'] }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('search (§19.2)', () => {
  it('iterates lazily: no request until iterated, then one, typed items in server order', async () => {
    const { client, server } = await setup();
    const found = client.samples.search('  perovksite ', { limit: 3 });
    expect(server.requests).toHaveLength(0);
    const items = await found.toArray();
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.query).toEqual({ q: ['perovksite'], limit: ['3'] });
    expect(items.length).toBeGreaterThan(0);
    for (const s of items) expect(s.sampleName).toMatch(/^perovskite film/);
    const projects = await client.projects.search('perovskites').toArray();
    expect(projects[0]?.projectId).toBe('10k_perovskites');
    const instruments = await client.instruments.search('titan').toArray();
    expect(instruments[0]?.instrumentName).toBe('titanx');
    const users = await client.users.search('demo', { limit: 500 }).toArray();
    expect(users[0]?.username).toBe('demo');
    expect(server.requests.at(-1)?.query.limit).toEqual(['50']);
    const datasets = await client.datasets.search('diffraction', { projectId: 'DEMO-0001' }).toArray();
    expect(datasets.length).toBeGreaterThan(0);
    for (const d of datasets) expect(d.projectId).toBe('DEMO-0001');
    expect(server.requests.at(-1)?.query).toEqual({
      q: ['diffraction'],
      project_id: ['DEMO-0001'],
      limit: ['20'],
    });
  });

  it('throws UsageError for a text under 3 characters or a bad limit, before any request', async () => {
    const { client, server } = await setup();
    for (const text of ['', '  ', 'ab', ' a ']) {
      expect(() => client.datasets.search(text)).toThrow(UsageError);
      expect(() => client.resources.searchMetadata(text)).toThrow(/at least 3 characters/);
    }
    expect(() => client.users.search('demo', { limit: 0 })).toThrow(UsageError);
    expect(() => client.users.search('demo', { limit: 2.5 })).toThrow(UsageError);
    expect(server.requests).toHaveLength(0);
  });

  it('accepts an {items} envelope and a bare array', async () => {
    const bare = fixedAnswer(
      { path: '/api/v2/projects/search' },
      {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ project_id: 'BARE-1', organization: 'x' }]),
      },
    );
    const envelope = fixedAnswer(
      { path: '/api/v2/users/search' },
      {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          items: [{ unique_id: 'u1', username: 'enveloped' }],
          total: 1,
          limit: 20,
          offset: 0,
        }),
      },
    );
    const { client } = await setup('demo', [bare, envelope]);
    expect((await client.projects.search('bare').toArray()).map((p) => p.projectId)).toEqual(['BARE-1']);
    expect((await client.users.search('env').toArray()).map((u) => u.username)).toEqual(['enveloped']);
  });

  it('searches metadata: hits with kind and rank, best first, one kind with `type`', async () => {
    const { client } = await setup();
    const hits = await client.resources.searchMetadata('CVD').toArray();
    expect(hits.length).toBeGreaterThan(0);
    const ranks = hits.map((h) => h.rank as number);
    expect([...ranks].sort((a, b) => b - a)).toEqual(ranks);
    const samples = await client.resources.searchMetadata('CVD', { type: 'sample' }).toArray();
    expect(samples.length).toBeGreaterThan(0);
    expect(samples.every((h) => h.resourceType === 'sample')).toBe(true);
    expect(() => client.resources.searchMetadata('CVD', { type: 'project' as 'sample' })).toThrow(UsageError);
  });
});

describe('metadata on every resource (§19.6)', () => {
  it('reads, merges and replaces the metadata of samples, instruments (admin) and projects', async () => {
    const { client, sim } = await setup('admin');
    const sample = sim.samples[1] as { uniqueId: string };
    expect(await client.samples.metadata(sample.uniqueId)).toEqual({});
    expect(await client.samples.mergeMetadata(sample.uniqueId, { a: { b: 1 } })).toEqual({ a: { b: 1 } });
    expect(await client.samples.mergeMetadata(sample.uniqueId, { a: { c: 2 } })).toEqual({
      a: { b: 1, c: 2 },
    });
    expect(await client.samples.replaceMetadata(sample.uniqueId, { z: 1 })).toEqual({ z: 1 });
    expect(await client.samples.metadata(sample.uniqueId)).toEqual({ z: 1 });

    const instrument = sim.instruments[0] as { uniqueId: string };
    expect(await client.instruments.mergeMetadata(instrument.uniqueId, { kV: 300 })).toEqual({ kV: 300 });
    expect(await client.instruments.replaceMetadata(instrument.uniqueId, { kV: 80 })).toEqual({ kV: 80 });
    expect(await client.instruments.metadata(instrument.uniqueId)).toEqual({ kV: 80 });

    expect(await client.projects.mergeMetadata('MFP08540', { grant: 'BES' })).toEqual({ grant: 'BES' });
    expect(await client.projects.replaceMetadata('MFP08540', { grant: 'ERCAP' })).toEqual({ grant: 'ERCAP' });
    expect(await client.projects.metadata('MFP08540')).toEqual({ grant: 'ERCAP' });
    await expect(
      client.projects.mergeMetadata('MFP08540', [] as unknown as Record<string, unknown>),
    ).rejects.toThrow(UsageError);
  });

  it('refuses non-dataset metadata on API v1', async () => {
    const v1 = new CrucibleClient({ baseUrl: 'http://127.0.0.1:9/api/v1', apiKey: 'k' });
    await expect(v1.samples.metadata('S1')).rejects.toThrow(UsageError);
    await expect(v1.projects.replaceMetadata('P1', {})).rejects.toThrow(UsageError);
  });
});

describe('client.status() (§19.7)', () => {
  it('reports live, ready and the key; health goes without the key', async () => {
    const { client, server, sim } = await setup();
    const good = await client.status();
    expect(good).toMatchObject({
      ok: true,
      live: { ok: true, status: 'ok', httpStatus: 200 },
      ready: { ok: true, available: true, status: 'ok', db: 'ok', dbMs: 1.2, version: 'crucible-sim' },
      key: { ok: true, user: 'Dee Demo' },
    });
    const health = server.requests.filter((r) => r.path.includes('/health/'));
    expect(health).toHaveLength(2);
    expect(health.every((r) => r.headers.authorization === undefined)).toBe(true);
    sim.setDatabaseHealth(false);
    server.clearLog();
    const down = await client.status();
    expect(down).toMatchObject({
      ok: false,
      live: { ok: true },
      ready: { ok: false, available: true, httpStatus: 503, status: 'degraded', db: 'error', dbMs: null },
      key: { ok: true },
    });
    // The degraded answer is read once, not retried.
    expect(server.requests.filter((r) => r.path.endsWith('/health/ready'))).toHaveLength(1);
  });

  it('says health is not available for a body without db, and the key fails with none or a bad one', async () => {
    const old = fixedAnswer(
      { path: '/api/v2/health/ready' },
      {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ status: 'ok' }),
      },
    );
    const { client, server } = await setup('demo', [old]);
    const s = await client.status();
    expect(s.ok).toBe(false);
    expect(s.ready).toMatchObject({
      ok: false,
      available: false,
      error: expect.stringMatching(/not available/),
    });
    const noKey = new CrucibleClient({ baseUrl: `${server.url}/api/v2`, apiKey: undefined });
    const none = await noKey.status();
    expect(none.key).toMatchObject({
      ok: false,
      httpStatus: null,
      error: expect.stringMatching(/CRUCIBLE_API_KEY/),
    });
    const badKey = new CrucibleClient({
      baseUrl: `${server.url}/api/v2`,
      apiKey: 'crk_wrong_key_0000000000',
    });
    const bad = await badKey.status();
    expect(bad.key).toMatchObject({ ok: false, httpStatus: 401 });
    expect(JSON.stringify(bad)).not.toContain('crk_wrong_key_0000000000');
  });
});
