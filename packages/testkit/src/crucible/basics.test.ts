import { describe, expect, it } from 'vitest';
import { type Json, serve } from './crucible-test-helpers.js';
import { fuzzyScore } from './search.js';

/** Issue 13 (basics): search as spec §19.2 says, health with a database that can fail (§15.1, §19.7). */

const items = (body: unknown) => (body as { items: Json[] }).items;

describe('Crucible simulator: search (§19.2)', () => {
  it('matches names fuzzily, best first: a prefix, a word, a typo', () => {
    expect(fuzzyScore('pero', 'perovskite film 2')).toBeGreaterThan(0);
    expect(fuzzyScore('perovksite', 'perovskite film 2')).toBeGreaterThan(0);
    expect(fuzzyScore('perovskite', 'perovskite')).toBeGreaterThan(
      fuzzyScore('perovskite', 'perovskite film'),
    );
    expect(fuzzyScore('film', 'perovskite film')).toBeGreaterThan(fuzzyScore('ilm', 'perovskite film'));
    expect(fuzzyScore('xyz', 'perovskite film')).toBe(0);
  });

  it('answers each search in its envelope, typo-tolerant and ranked; users as a bare array', async () => {
    const { v2 } = await serve();
    const samples = await v2().get('samples/search?q=perovksite');
    expect(samples.status).toBe(200);
    expect(samples.body).toMatchObject({ limit: 20, offset: 0 });
    expect(items(samples.body).length).toBeGreaterThan(0);
    for (const s of items(samples.body)) expect(String(s.sample_name)).toMatch(/^perovskite film/);
    const projects = await v2().get('projects/search?q=perovskites');
    const ids = items(projects.body).map((p) => p.project_id);
    // The exact word first; every project (not only the caller's), without lead or metadata.
    expect(ids[0]).toBe('10k_perovskites');
    expect(ids).toContain('DEMO-0001');
    for (const p of items(projects.body)) {
      expect(p).not.toHaveProperty('lead');
      expect(p).not.toHaveProperty('scientific_metadata');
    }
    const instruments = await v2().get('instruments/search?q=titan');
    expect(items(instruments.body)[0]).toMatchObject({ instrument_name: 'titanx' });
    const users = await v2().get('users/search?q=demo');
    expect(Array.isArray(users.body)).toBe(true);
    expect((users.body as Json[])[0]).toMatchObject({ username: 'demo' });
    const datasets = await v2().get('datasets/search?q=diffraction&limit=3&project_id=DEMO-0001');
    expect(items(datasets.body)).toHaveLength(3);
    for (const d of items(datasets.body)) expect(d.project_id).toBe('DEMO-0001');
  });

  it('refuses a text under 3 characters and a limit over 50 with 422', async () => {
    const { v2 } = await serve();
    for (const path of [
      'datasets/search?q=ab',
      'samples/search?q=%20%20a%20',
      'projects/search',
      'users/search?q=de',
      'instruments/search?q=ti',
      'resources/metadata/search?q=x',
      'datasets/search?q=stem&limit=51',
    ]) {
      const r = await v2().get(path);
      expect(r.status, path).toBe(422);
      expect((r.body as Json).detail, path).toEqual(expect.any(Array));
    }
    expect(items((await v2().get('datasets/search?q=stem&limit=50')).body).length).toBeLessThanOrEqual(50);
  });

  it('gives metadata hits with their kind, name and rank, best first, readable resources only', async () => {
    const { v2, sim } = await serve();
    const r = await v2().get('resources/metadata/search?q=CVD');
    expect(r.status).toBe(200);
    const hits = items(r.body);
    expect(hits.length).toBeGreaterThan(0);
    for (const h of hits) {
      expect(Object.keys(h).sort()).toEqual(
        [
          'creation_time',
          'modification_time',
          'name',
          'owner_orcid',
          'rank',
          'resource_type',
          'scientific_metadata',
          'unique_id',
        ].sort(),
      );
      const sample = sim.samples.find((s) => s.uniqueId === h.unique_id);
      expect(sample?.ownerOrcid === sim.user('outsider').orcid && !sample?.public).toBe(false);
    }
    const ranks = hits.map((h) => h.rank as number);
    expect([...ranks].sort((a, b) => b - a)).toEqual(ranks);
  });
});

describe('Crucible simulator: health (§15.1)', () => {
  it('answers live and ready without a key; ready is a 503 degraded body while the database is down', async () => {
    const { as, sim } = await serve();
    const anonymous = as('v2');
    expect(await anonymous.get('health/live')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await anonymous.get('health/ready')).toMatchObject({
      status: 200,
      body: { status: 'ok', db: 'ok', db_ms: expect.any(Number), version: expect.any(String) },
    });
    sim.setDatabaseHealth(false);
    expect(await anonymous.get('health/ready')).toMatchObject({
      status: 503,
      body: { status: 'degraded', db: 'error', db_ms: null },
    });
    expect((await anonymous.get('health/live')).body).toEqual({ status: 'ok' });
    sim.reset();
    expect((await anonymous.get('health/ready')).body).toMatchObject({ db: 'ok' });
  });
});
