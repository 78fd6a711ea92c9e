import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type CrucibleSimulator,
  createCrucibleSimulator,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempConfigDir, waitFor } from './helpers.js';

/** `sciport crucible …` end to end: the built CLI as a child process, over real sockets, against the simulator. */

let sim: CrucibleSimulator;
let server: TestServer;
let root: string;
let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  sim = createCrucibleSimulator({
    seed: 9,
    datasets: 30,
    chunkSizeHint: 256 * 1024,
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

function storageRequests() {
  return server.requests.filter((r) => r.path.startsWith('/storage/'));
}

describe('sciport crucible: account and errors', () => {
  it('whoami shows the account, never the key', async () => {
    const r = await crucible(['whoami']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Dee Demo/);
    expect(r.stdout).toContain('[v2]');
    expect(r.stdout + r.stderr).not.toContain(sim.keyFor('demo'));
    const json = await crucible(['whoami', '--json', '--api-url', `${server.url}/api/v1`]);
    expect(JSON.parse(json.stdout)).toMatchObject({ apiVersion: 'v1', user: { name: 'Dee Demo' } });
  });

  it('exits 3 on a wrong key and when there is none, with a clear message', async () => {
    const bad = 'crk_not_a_real_key_123456';
    const r = await crucible(['whoami'], { env: { CRUCIBLE_API_KEY: bad } });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/did not accept the API key/);
    expect(r.stdout + r.stderr).not.toContain(bad);
    const none = await crucible(['whoami'], { env: { CRUCIBLE_API_KEY: undefined } });
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('CRUCIBLE_API_KEY');
  });

  it('refuses another user’s private dataset with exit 3 or 4 and the reason', async () => {
    const foreign = sim.datasets.find((d) => d.ownerOrcid === sim.user('outsider').orcid && !d.public);
    const r = await crucible(['datasets', 'get', foreign?.uniqueId as string]);
    expect([3, 4]).toContain(r.code);
    expect(r.stderr.length).toBeGreaterThan(20);
    expect(r.stdout).toBe('');
  });

  it('says which commands are admin-only when the key is not an admin’s', async () => {
    const r = await crucible([
      'instruments',
      'create',
      '--name',
      'Scope',
      '--owner',
      'me',
      '--location',
      'B67',
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/admin/i);
    const admin = await crucible(
      ['instruments', 'create', '--name', 'Scope', '--owner', 'me', '--location', 'B67'],
      {
        env: { CRUCIBLE_API_KEY: sim.keyFor('admin') },
      },
    );
    expect(admin.code).toBe(0);
    const got = await crucible(['instruments', 'get', 'Scope', '--by-name']);
    expect(JSON.parse(got.stdout)).toMatchObject({ instrument_name: 'Scope', location: 'B67' });
  });
});

describe('sciport crucible: datasets, metadata, samples', () => {
  it('creates a dataset with metadata and keywords, updates it, and reads it back', async () => {
    const created = await crucible([
      'datasets',
      'create',
      '--name',
      'XRD run 5',
      '--project',
      'DEMO-0001',
      '--measurement',
      'XRD',
      '--metadata',
      '{"beam": {"energy": 12}}',
      '--keyword',
      'sciport-e2e-kw',
      'film',
    ]);
    expect(created.code).toBe(0);
    const dsid = created.stdout.trim();
    expect(sim.dataset(dsid)?.datasetName).toBe('XRD run 5');
    expect((await crucible(['metadata', 'merge', dsid, '{"beam": {"current": 3}}'])).code).toBe(0);
    const md = await crucible(['metadata', 'get', dsid]);
    expect(JSON.parse(md.stdout)).toEqual({ beam: { energy: 12, current: 3 } });
    expect((await crucible(['metadata', 'set', dsid, '-'], { input: '{"only": 1}' })).code).toBe(0);
    expect(JSON.parse((await crucible(['metadata', 'get', dsid])).stdout)).toEqual({ only: 1 });
    expect((await crucible(['keywords', 'add', dsid, 'XRD'])).code).toBe(0);
    expect((await crucible(['datasets', 'update', dsid, '--session', 'pm', '--public'])).code).toBe(0);
    const got = JSON.parse((await crucible(['datasets', 'get', dsid, '--json'])).stdout) as Record<
      string,
      unknown
    >;
    expect(got).toMatchObject({ session_name: 'pm', public: true, scientific_metadata: { only: 1 } });
    const list = await crucible(['datasets', 'list', '--keyword', 'E2E-KW', '--json']);
    expect(
      list.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { unique_id: string }).unique_id),
    ).toEqual([dsid]);
    // A dataset from a JSON record in the API's names, its metadata and keywords with it; flags override it.
    const fromJson = await crucible([
      'datasets',
      'create',
      '--from',
      '{"dataset_name": "from json", "project_id": "DEMO-0001", "scientific_metadata": {"k": 1}, "keywords": ["json-kw"]}',
      '--session',
      'night',
    ]);
    expect(fromJson.code).toBe(0);
    const jsonId = fromJson.stdout.trim();
    expect(sim.dataset(jsonId)).toMatchObject({ datasetName: 'from json', sessionName: 'night' });
    expect(JSON.parse((await crucible(['metadata', 'get', jsonId])).stdout)).toEqual({ k: 1 });
    const bad = await crucible(['metadata', 'set', dsid, '[1,2]']);
    expect(bad.code).toBe(2);
    const nothing = await crucible(['datasets', 'update', dsid]);
    expect(nothing.code).toBe(2);
  });

  it('creates samples and links them, and links datasets', async () => {
    const a = (await crucible(['datasets', 'create', '--name', 'a', '--project', 'DEMO-0001'])).stdout.trim();
    const b = (await crucible(['datasets', 'create', '--name', 'b', '--project', 'DEMO-0001'])).stdout.trim();
    const s1 = (
      await crucible(['samples', 'create', '--name', 'film', '--project', 'DEMO-0001'])
    ).stdout.trim();
    const s2 = (
      await crucible(['samples', 'create', '--name', 'film.1', '--project', 'DEMO-0001'])
    ).stdout.trim();
    expect((await crucible(['samples', 'link', s1, '--dataset', a, '--child', s2])).code).toBe(0);
    expect((await crucible(['link-datasets', a, b])).code).toBe(0);
    const ofA = await crucible(['samples', 'list', '--dataset', a, '--json']);
    expect(
      ofA.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { unique_id: string }).unique_id),
    ).toEqual([s1]);
    expect(sim.samples.find((s) => s.uniqueId === s2)).toBeTruthy();
    const projects = await crucible(['projects', 'list', '--json']);
    expect(projects.stdout).toContain('DEMO-0001');
    // The explorer's pages are per project and type (spec §19.1): the id is looked up when not given.
    const open = await crucible(['open', a, '--print']);
    expect(open.stdout.trim()).toBe(`https://crucible.lbl.gov/explore/DEMO-0001/datasets/${a}`);
    const sample = await crucible(['open', s1, '--print']);
    expect(sample.stdout.trim()).toBe(`https://crucible.lbl.gov/explore/DEMO-0001/samples/${s1}`);
    const elsewhere = await crucible(['open', a, '--print', '--project', 'P2', '--type', 'sample'], {
      env: {
        CRUCIBLE_GRAPH_EXPLORER_URL: 'https://explorer.example.org/graph/',
        CRUCIBLE_API_KEY: undefined,
      },
    });
    expect(elsewhere.stdout.trim()).toBe(`https://explorer.example.org/graph/P2/samples/${a}`);
    // Without a project there is no page.
    const offline = await crucible(['open', a, '--print'], {
      env: { CRUCIBLE_EXPLORER_URL: 'https://explorer.example.org/graph/', CRUCIBLE_API_KEY: undefined },
    });
    expect(offline.code).toBe(2);
    expect(offline.stdout).toBe('');
    expect(offline.stderr).toContain('without a project');
    const flag = await crucible(['open', a, '--print', '--explorer-url', 'not a url']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('Not a URL');
  });
});

describe('sciport crucible: files', () => {
  it('uploads, ingests and waits, then downloads byte-identical files; the key never reaches storage', async () => {
    const dsid = (
      await crucible(['datasets', 'create', '--name', 'files', '--project', 'DEMO-0001'])
    ).stdout.trim();
    const data = randomBytes(700_000);
    const file = path.join(root, 'scan.h5');
    await writeFile(file, data);
    const up = await crucible(['upload', dsid, file, '--ingest', 'ApiUploadIngestor', '--wait', '--json']);
    expect(up.stderr).not.toMatch(/error/i);
    expect(up.code).toBe(0);
    const line = JSON.parse(up.stdout.trim()) as {
      mfid: string;
      skipped: boolean;
      request: { status: string };
    };
    expect(line.skipped).toBe(false);
    expect(line.request.status).toBe('complete');
    const out = path.join(root, 'out');
    const down = await crucible(['download', dsid, '--out', out]);
    expect(down.code).toBe(0);
    expect(await readdir(out)).toEqual(['scan.h5']);
    expect((await readFile(path.join(out, 'scan.h5'))).equals(data)).toBe(true);
    expect(storageRequests().length).toBeGreaterThan(2);
    expect(storageRequests().every((r) => r.headers.authorization === undefined)).toBe(true);
    expect(sim.stats.storageAuthorizationHeaders).toBe(0);
    expect(up.stdout + up.stderr + down.stdout + down.stderr).not.toContain(sim.keyFor('demo'));
    // Again: the server has these bytes, nothing is sent.
    const again = await crucible(['upload', dsid, file, '--json']);
    expect((JSON.parse(again.stdout.trim()) as { skipped: boolean }).skipped).toBe(true);
    // Other bytes under the same name are refused (the older record would serve them), unless --replace.
    await writeFile(file, randomBytes(1000));
    const clash = await crucible(['upload', dsid, file]);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/already has a file named scan\.h5/);
    const replaced = await crucible(['upload', dsid, file, '--replace', '--json']);
    expect(replaced.code).toBe(0);
    // `ingest <dataset>` on v2 ingests the dataset's files that are not ingested yet.
    const ingest = await crucible(['ingest', dsid, '--class', 'ApiUploadIngestor', '--wait', '--json']);
    expect(ingest.code).toBe(0);
    const outcome = JSON.parse(ingest.stdout.trim()) as { status: string; succeeded: boolean };
    expect(outcome).toMatchObject({ status: 'complete', succeeded: true });
    expect(sim.filesOf(dsid).every((f) => f.storagePath !== null)).toBe(true);
  });

  it('resumes an upload whose process was killed, from the committed offset', async () => {
    const dsid = (
      await crucible(['datasets', 'create', '--name', 'big', '--project', 'DEMO-0001'])
    ).stdout.trim();
    const data = randomBytes(4 * 1024 * 1024);
    const file = path.join(root, 'big.bin');
    await writeFile(file, data);
    server.setFaults([{ match: { method: 'PUT', path: '/storage/*' }, latencyMs: 150 }]);
    const killed = await crucible(['upload', dsid, file], {
      onSpawn: (child) => {
        waitFor(() => (sim.sessions[0]?.persisted ?? 0) >= 1024 * 1024, 20_000)
          .then(() => child.kill('SIGKILL'))
          .catch(() => child.kill('SIGKILL'));
      },
    });
    expect(killed.signal).toBe('SIGKILL');
    const persisted = sim.sessions[0]?.persisted ?? 0;
    expect(persisted).toBeGreaterThanOrEqual(1024 * 1024);
    expect(persisted).toBeLessThan(data.length);
    server.setFaults(undefined);
    const resumed = await crucible(['upload', dsid, file, '--json']);
    expect(resumed.code).toBe(0);
    const result = JSON.parse(resumed.stdout.trim()) as { mfid: string; resumed: boolean; sha256: string };
    expect(result.resumed).toBe(true);
    expect(sim.sessions).toHaveLength(1);
    expect(sim.servedSha256(result.mfid)).toBe(result.sha256);
    // Only the part after the committed offset (plus at most the chunk in flight) was sent again.
    expect(sim.stats.bytesPersisted).toBeLessThan(data.length + 512 * 1024);
  });

  it('works against API v1 with the same commands (multipart upload, per-dataset ingestion)', async () => {
    const v1 = { env: { CRUCIBLE_API_URL: `${server.url}/api/v1` } };
    const dsid = (
      await crucible(['datasets', 'create', '--name', 'old', '--project', 'DEMO-0001'], v1)
    ).stdout.trim();
    const file = path.join(root, 'notes.txt');
    await writeFile(file, 'hello crucible\n');
    const up = await crucible(
      ['upload', dsid, file, '--ingest', 'ApiUploadIngestor', '--wait', '--json'],
      v1,
    );
    expect(up.code).toBe(0);
    expect((JSON.parse(up.stdout.trim()) as { request: { status: string } }).request.status).toBe('complete');
    const list = await crucible(['datasets', 'list', '--project', 'DEMO-0001', '--json'], v1);
    expect(list.stdout).toContain(dsid);
  });
});
