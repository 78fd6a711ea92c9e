import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type CrucibleSimulator,
  createCrucibleSimulator,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempConfigDir } from './helpers.js';

/**
 * Issue 13 (basics), end to end: the built CLI as a child process against the simulator over real sockets.
 * Search (§19.2), status (§19.7), metadata on every resource (§19.6), explorer pages and the ingestion class
 * (§19.1).
 */

let sim: CrucibleSimulator;
let server: TestServer;
let root: string;
let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  sim = createCrucibleSimulator({
    seed: 9,
    datasets: 30,
    ingestionSteps: { requestedMs: 20, startedMs: 20 },
  });
  server = await startTestServer({ handlers: sim.handlers });
  ({ root, dir, cleanup } = await tempConfigDir());
});

afterEach(async () => {
  await server.close();
  await sim.dispose();
  await cleanup();
});

function crucible(args: string[], options: Parameters<typeof runCli>[1] = {}) {
  return runCli(['crucible', ...args], {
    ...options,
    env: {
      SCIPORT_CONFIG_DIR: dir,
      HOME: root,
      XDG_CACHE_HOME: path.join(root, 'cache'),
      CRUCIBLE_API_URL: `${server.url}/api/v2`,
      CRUCIBLE_API_KEY: sim.keyFor('demo'),
      ...options.env,
    },
  });
}

const lines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const apiCalls = (suffix: string) => server.requests.filter((r) => r.path.endsWith(suffix));

describe('sciport crucible search', () => {
  it('prints the server’s items as NDJSON in server order, and a table otherwise', async () => {
    const json = await crucible(['search', 'perovksite', '--type', 'samples', '--json']);
    expect(json.code).toBe(0);
    const found = lines(json.stdout);
    expect(found.length).toBeGreaterThan(0);
    // As the server sent them: the same items, order and keys (snake_case, no client fields).
    const [call] = apiCalls('/samples/search');
    expect(call?.query).toEqual({ q: ['perovksite'], limit: ['20'] });
    const direct = (await (
      await fetch(`${server.url}/api/v2/samples/search?q=perovksite&limit=20`, {
        headers: { authorization: `Bearer ${sim.keyFor('demo')}` },
      })
    ).json()) as { items: unknown[] };
    expect(found).toEqual(direct.items);
    for (const s of found) expect(String(s.sample_name)).toMatch(/^perovskite film/);

    const table = await crucible(['search', 'perovskites', '--type', 'projects']);
    expect(table.code).toBe(0);
    const rows = table.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^ID\s+TITLE\s+ORGANIZATION\s+STATUS$/i);
    expect(rows[1]).toMatch(/^10k_perovskites\s/);

    const users = await crucible(['search', 'demo', '--type', 'users', '--json', '--limit', '500']);
    expect(lines(users.stdout)[0]).toMatchObject({ username: 'demo' });
    // The server's cap: never more than 50 asked.
    expect(apiCalls('/users/search').at(-1)?.query.limit).toEqual(['50']);
  });

  it('searches metadata with --metadata, keeping one kind with --type', async () => {
    const all = await crucible(['search', 'CVD', '--metadata', '--json']);
    expect(all.code).toBe(0);
    const hits = lines(all.stdout);
    expect(hits.length).toBeGreaterThan(0);
    for (const h of hits) expect(h).toHaveProperty('rank');
    const samples = await crucible(['search', 'CVD', '--metadata', '--type', 'samples']);
    expect(samples.code).toBe(0);
    expect(samples.stdout).toMatch(/^ID\s+TYPE\s+NAME\s+RANK/i);
    expect(samples.stdout).toContain('sample');
    const datasets = await crucible(['search', 'CVD', '--metadata', '--type', 'datasets', '--json']);
    expect(lines(datasets.stdout).every((h) => h.resource_type === 'dataset')).toBe(true);
  });

  it('refuses an empty or short text with a usage error before any request', async () => {
    for (const text of ['', '  ', 'ab', ' a  ']) {
      const r = await crucible(['search', text]);
      expect(r.code, JSON.stringify(text)).toBe(2);
      expect(r.stderr).toMatch(/at least 3 characters/);
      expect(r.stdout).toBe('');
    }
    expect(server.requests).toHaveLength(0);
    const flag = await crucible(['search', 'perovskite', '--type', 'things']);
    expect(flag.code).toBe(2);
  });
});

describe('sciport crucible status', () => {
  it('prints one line per check and exits 0 when live, ready and the key are good', async () => {
    const r = await crucible(['status']);
    expect(r.code).toBe(0);
    const out = r.stdout.trim().split('\n');
    expect(out).toHaveLength(3);
    expect(out[0]).toMatch(/^ok\s+live/);
    expect(out[1]).toMatch(/^ok\s+ready\s+status ok, db ok \(1\.2 ms\), version crucible-sim/);
    expect(out[2]).toMatch(/^ok\s+key\s+Dee Demo/);
    // Health without the key, the account with it.
    for (const p of ['/health/live', '/health/ready'])
      expect(apiCalls(p).every((q) => q.headers.authorization === undefined)).toBe(true);
    expect(apiCalls('/account')[0]?.headers.authorization).toMatch(/^Bearer /);
    const json = await crucible(['status', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: true,
      live: { ok: true, status: 'ok' },
      ready: { ok: true, available: true, status: 'ok', db: 'ok', dbMs: 1.2, version: 'crucible-sim' },
      key: { ok: true, user: 'Dee Demo' },
    });
  });

  it('exits non-zero when the database is down, reading the 503 body', async () => {
    sim.setDatabaseHealth(false);
    const r = await crucible(['status']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL\s+ready\s+status degraded, db error/);
    expect(r.stdout).toMatch(/ok\s+key/);
    const json = await crucible(['status', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      ready: { ok: false, available: true, httpStatus: 503, db: 'error', dbMs: null },
    });
  });

  it('exits non-zero with a bad key or none, never printing the key; health is still checked', async () => {
    const bad = 'crk_not_a_real_key_123456';
    const r = await crucible(['status'], { env: { CRUCIBLE_API_KEY: bad } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/ok\s+live/);
    expect(r.stdout).toMatch(/FAIL\s+key\s+.*did not accept the API key/);
    expect(r.stdout + r.stderr).not.toContain(bad);
    const none = await crucible(['status', '--json'], { env: { CRUCIBLE_API_KEY: undefined } });
    expect(none.code).toBe(1);
    expect(JSON.parse(none.stdout)).toMatchObject({
      live: { ok: true },
      ready: { ok: true },
      key: { ok: false },
    });
  });

  it('says health is not available when the API has no health endpoint', async () => {
    const r = await crucible(['status', '--json', '--api-url', `${server.url}/api/v1`]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ready: { ok: false, available: false } });
  });
});

describe('sciport crucible metadata <id> --merge | --replace', () => {
  it('merges and replaces the metadata of a sample and of a project, printing the result', async () => {
    const sample = sim.samples.find((s) => s.ownerOrcid === sim.user('demo').orcid) as { uniqueId: string };
    const patch = path.join(root, 'patch.json');
    await writeFile(patch, JSON.stringify({ anneal: { temperature_C: 300 } }));
    const merged = await crucible(['metadata', sample.uniqueId, '--merge', patch]);
    expect(merged.code).toBe(0);
    const after = JSON.parse(merged.stdout) as Record<string, unknown>;
    expect(after).toMatchObject({ anneal: { temperature_C: 300 } });
    const replaced = await crucible(['metadata', sample.uniqueId, '--replace', '-'], {
      input: '{"only": true}',
    });
    expect(replaced.code).toBe(0);
    expect(JSON.parse(replaced.stdout)).toEqual({ only: true });
    expect(sim.samples.find((s) => s.uniqueId === sample.uniqueId)?.metadata).toEqual({ only: true });

    const project = await crucible(['metadata', 'DEMO-0001', '--merge', patch]);
    expect(project.code).toBe(0);
    expect(JSON.parse(project.stdout)).toEqual({ anneal: { temperature_C: 300 } });
    const projectReplaced = await crucible(['metadata', 'DEMO-0001', '--replace', '-'], {
      input: '{"funding": "BES"}',
    });
    expect(JSON.parse(projectReplaced.stdout)).toEqual({ funding: 'BES' });
    expect(sim.projects.find((p) => p.projectId === 'DEMO-0001')?.metadata).toEqual({ funding: 'BES' });
  });

  it('needs exactly one of --merge and --replace, and keeps get/set/merge working', async () => {
    const ds = sim.datasets.find((d) => d.ownerOrcid === sim.user('demo').orcid) as { uniqueId: string };
    const patch = path.join(root, 'p.json');
    await writeFile(patch, '{"a": 1}');
    for (const args of [[ds.uniqueId], [ds.uniqueId, '--merge', patch, '--replace', patch], []]) {
      const r = await crucible(['metadata', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect(server.requests).toHaveLength(0);
    const notObject = await crucible(['metadata', ds.uniqueId, '--merge', '-'], { input: '[1]' });
    expect(notObject.code).toBe(2);
    // The subcommands, with the API flags after them.
    const set = await crucible([
      'metadata',
      'set',
      ds.uniqueId,
      '{"b": 2}',
      '--api-url',
      `${server.url}/api/v2`,
    ]);
    expect(set.code).toBe(0);
    const got = await crucible(['metadata', 'get', ds.uniqueId, '--api-url', `${server.url}/api/v1`]);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toEqual({ b: 2 });
    expect(apiCalls(`/api/v1/datasets/${ds.uniqueId}/scientific_metadata`)).toHaveLength(1);
  });
});

describe('sciport crucible open and upload --ingest (§19.1)', () => {
  it('builds explorer pages per project on the live explorer, whichever API answers the lookup', async () => {
    const live = await crucible(['open', 'DSID1', '--print', '--project', 'P1', '--type', 'dataset'], {
      env: { CRUCIBLE_API_URL: undefined, CRUCIBLE_API_KEY: undefined },
    });
    expect(live.stdout.trim()).toBe('https://crucible.lbl.gov/explore/P1/datasets/DSID1');
    const sample = sim.samples[0] as { uniqueId: string; projectId: string };
    const looked = await crucible(['open', sample.uniqueId, '--print'], {
      env: { CRUCIBLE_API_KEY: sim.keyFor('admin') },
    });
    expect(looked.stdout.trim()).toBe(
      `https://crucible.lbl.gov/explore/${sample.projectId}/samples/${sample.uniqueId}`,
    );
    const instrument = sim.instruments[0] as { uniqueId: string };
    const none = await crucible(['open', instrument.uniqueId, '--print', '--project', 'P1']);
    expect(none.code).toBe(2);
  });

  it('sends no ingestion_class without a class, and the named one with it', async () => {
    const dsid = (
      await crucible(['datasets', 'create', '--name', 'ingest', '--project', 'DEMO-0001'])
    ).stdout.trim();
    const file = path.join(root, 'photo.png');
    await writeFile(file, Buffer.from('not really a png, but named like one'));
    const auto = await crucible(['upload', dsid, file, '--ingest', '--wait', '--json']);
    expect(auto.code).toBe(0);
    const ingests = server.requests.filter(
      (r) => r.method === 'POST' && /\/files\/[^/]+\/ingest$/.test(r.path),
    );
    expect(ingests).toHaveLength(1);
    expect(ingests[0]?.query).toEqual({});
    // The server picked by file type.
    expect(JSON.parse(auto.stdout)).toMatchObject({
      request: { status: 'complete', ingestionClass: 'ImageIngestor' },
    });

    const other = path.join(root, 'notes.bin');
    await writeFile(other, Buffer.from('plain bytes'));
    server.clearLog();
    const named = await crucible(['upload', dsid, other, '--ingest', 'ApiUploadIngestor', '--json']);
    expect(named.code).toBe(0);
    const sent = server.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/ingest'));
    expect(sent.map((r) => r.query)).toEqual([{ ingestion_class: ['ApiUploadIngestor'] }]);
  });
});
