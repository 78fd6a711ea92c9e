import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../http-server.js';
import {
  type CrucibleSimulator,
  type CrucibleSimulatorOptions,
  createCrucibleSimulator,
} from './crucible-simulator.js';

const servers: TestServer[] = [];
const sims: CrucibleSimulator[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(sims.map((s) => s.dispose()));
});

type Json = Record<string, unknown>;

interface Api {
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  get(path: string): Promise<{ status: number; body: unknown }>;
  send(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
}

function client(base: string, key: string | undefined): Api {
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const h: Record<string, string> = { ...headers };
    if (key !== undefined) h.authorization = `Bearer ${key}`;
    let payload: BodyInit | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      h['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    return fetch(`${base}/${path.replace(/^\//, '')}`, {
      method,
      headers: h,
      ...(payload ? { body: payload } : {}),
    });
  };
  const read = async (res: Response) => {
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  };
  return {
    call,
    get: async (path) => read(await call('GET', path)),
    send: async (method, path, body) => read(await call(method, path, body)),
  };
}

async function serve(options: CrucibleSimulatorOptions = {}) {
  const clock = { t: Date.UTC(2026, 5, 1, 12, 0, 0) };
  const sim = createCrucibleSimulator({ seed: 3, now: () => clock.t, ...options });
  const server = await startTestServer({ handlers: sim.handlers });
  servers.push(server);
  sims.push(sim);
  const as = (version: 'v1' | 'v2', user?: string) =>
    client(`${server.url}/api/${version}`, user === undefined ? undefined : sim.keyFor(user));
  return { sim, server, clock, as, v1: (u = 'demo') => as('v1', u), v2: (u = 'demo') => as('v2', u) };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
/** Byte equality without vitest's element-by-element diff (slow on megabytes). */
const sameBytes = (a: Uint8Array | undefined, b: Uint8Array) =>
  expect(a !== undefined && Buffer.from(a).equals(Buffer.from(b))).toBe(true);

function bytesOf(size: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** A dataset of `owner`, private, by index pattern of the seed data (see crucible-model.ts). */
function datasetOf(sim: CrucibleSimulator, owner: string, isPublic = false) {
  const orcid = sim.user(owner).orcid;
  const ds = sim.datasets.find(
    (d) => d.ownerOrcid === orcid && d.public === isPublic && sim.filesOf(d.uniqueId).length > 0,
  );
  if (!ds) throw new Error(`no dataset of ${owner}`);
  return ds;
}

async function newDataset(api: Api, fields: Json = {}) {
  const res = await api.send('POST', 'datasets', {
    dataset_name: 'new one',
    project_id: 'DEMO-0001',
    ...fields,
  });
  expect(res.status).toBeLessThan(300);
  return (res.body as Json).unique_id as string;
}

const GRANULE = 256 * 1024;

describe('Crucible simulator: authentication and account', () => {
  it('routes exact paths: a trailing slash is redirected (as FastAPI does), an empty segment is 404', async () => {
    const { sim, server, v2 } = await serve();
    const slash = await fetch(`${server.url}/api/v2/account/`, {
      headers: { authorization: `Bearer ${sim.keyFor('demo')}` },
      redirect: 'manual',
    });
    expect(slash.status).toBe(307);
    expect(slash.headers.get('location')).toBe(`${server.url}/api/v2/account`);
    expect((await v2().call('GET', 'datasets//keywords')).status).toBe(404);
    expect((await v2().get('account')).status).toBe(200);
  });

  it('answers /account on v1 and v2 with each version’s shape', async () => {
    const { sim, server, v1, v2 } = await serve();
    const one = await v1().get('account');
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      user_info: { orcid: sim.user('demo').orcid, first_name: 'Dee', lbl_email: 'demo@lbl.gov' },
      access_group_name: sim.user('demo').orcid,
    });
    expect((one.body as Json).access_group_ids).toEqual(expect.arrayContaining([expect.any(Number)]));
    const two = await v2().get('account');
    expect(two.body).toMatchObject({
      user_unique_id: sim.user('demo').orcid,
      user_info: { unique_id: sim.user('demo').orcid, username: 'demo', is_service_account: false },
    });
    expect((two.body as Json).user_info).not.toHaveProperty('orcid');
    const svc = await client(`${server.url}/api/v1`, sim.keyFor('ingest-worker')).get('account');
    expect((svc.body as Json).user_info).toBeNull();
  });

  it('rejects a missing key with 401 and an unknown key with 400 on v1, 401 on v2 (configurable)', async () => {
    const { server, as, sim } = await serve();
    const none = await as('v1').call('GET', 'account');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    const wrong1 = await client(`${server.url}/api/v1`, 'not-a-key').get('account');
    expect(wrong1).toEqual({ status: 400, body: { detail: 'No account found for this API key' } });
    const wrong2 = await client(`${server.url}/api/v2`, 'not-a-key').get('datasets');
    expect(wrong2.status).toBe(401);
    expect(sim.stats.authFailures).toBe(3);
    const other = await serve({ invalidKeyStatus: { v1: 403 } });
    expect((await client(`${other.server.url}/api/v1`, 'nope').get('account')).status).toBe(403);
  });

  it('serves /testapi as v1 too, health checks without a key on v2 only, 404 and 405 with detail', async () => {
    const { server, sim, as } = await serve();
    const legacy = await client(`${server.url}/testapi`, sim.keyFor('demo')).get('datasets?limit=1');
    expect(Array.isArray(legacy.body)).toBe(true);
    expect((await as('v2').get('health/live')).body).toEqual({ status: 'ok' });
    expect((await as('v2').get('health/ready')).body).toMatchObject({ status: 'ok', db: 'ok' });
    expect((await as('v1', 'demo').get('health/ready')).status).toBe(404);
    const ds = sim.datasets[0]?.uniqueId as string;
    const del = await as('v1', 'demo').send('DELETE', `datasets/${ds}`);
    expect(del).toEqual({ status: 405, body: { detail: 'Method Not Allowed' } });
    expect(await as('v2', 'demo').get('nothing/here')).toEqual({
      status: 404,
      body: { detail: 'Not Found' },
    });
    // Trailing slash of a base stored with one (crucible-lens) still routes.
    expect(
      (
        await fetch(`${server.url}/api/v2/account/`, {
          headers: { authorization: `Bearer ${sim.keyFor('demo')}` },
        })
      ).status,
    ).toBe(200);
  });

  it('v2 self-service: profile, api key, verify; username rules', async () => {
    const { v2 } = await serve();
    const me = v2();
    expect((await me.get('account/profile')).body).toMatchObject({
      username: 'demo',
      email: 'demo@example.org',
    });
    expect((await me.send('PATCH', 'account/profile', { username: 'Bad Name' })).status).toBe(422);
    expect((await me.send('PATCH', 'account/profile', { username: 'admin' })).status).toBe(409);
    expect((await me.send('PATCH', 'account/profile', { is_service_account: true })).status).toBe(422);
    expect((await me.send('PATCH', 'account/profile', { username: 'dee' })).body).toMatchObject({
      username: 'dee',
    });
    expect((await me.get('account/apikey')).body).toMatchObject({ api_key: expect.stringMatching(/^crk_/) });
    expect((await me.get('account/verify')).body).toMatchObject({ valid: true });
  });
});

describe('Crucible simulator: datasets, access and pagination', () => {
  it('v1 lists are bare arrays, oldest first, limited by `limit` (default 100), readable datasets only', async () => {
    const { sim, v1 } = await serve({ datasets: 300 });
    const admin = await v1('admin').get('datasets');
    expect(admin.body).toHaveLength(100);
    const five = (await v1('admin').get('datasets?limit=5')).body as Json[];
    expect(five.map((d) => d.unique_id)).toEqual(sim.datasets.slice(0, 5).map((d) => d.uniqueId));
    expect(Object.keys(five[0] as Json)).toHaveLength(18);
    const outsider = (await v1('outsider').get('datasets?limit=1000')).body as Json[];
    const orcid = sim.user('outsider').orcid;
    expect(outsider.every((d) => d.owner_orcid === orcid || d.public === true)).toBe(true);
    expect(outsider.some((d) => d.owner_orcid !== orcid)).toBe(true);
    // offset is not a v1 parameter: ignored.
    expect(((await v1('admin').get('datasets?limit=2&offset=50')).body as Json[])[0]?.unique_id).toBe(
      sim.datasets[0]?.uniqueId,
    );
  });

  it('v1 include_metadata double-nests the whole metadata record', async () => {
    const { v1 } = await serve();
    const list = (await v1().get('datasets?limit=10&include_metadata=True')).body as Json[];
    const withMd = list.find((d) => d.scientific_metadata !== null) as Json;
    expect(withMd.scientific_metadata).toMatchObject({
      dataset_id: withMd.id,
      scientific_metadata: { tags: expect.any(Array) },
    });
    expect(list.some((d) => d.scientific_metadata === null)).toBe(true);
  });

  it('v2 keyset pages: newest first, total only on the first page, cursor until null, clamped limit', async () => {
    const { sim, v2 } = await serve({ datasets: 130 });
    const first = (await v2('admin').get('datasets?limit=50')).body as Json;
    expect(first).toMatchObject({ limit: 50, total: 130, offset: null });
    expect((first.items as Json[])[0]?.unique_id).toBe(sim.datasets.at(-1)?.uniqueId);
    const seen = (first.items as Json[]).map((d) => d.unique_id);
    let cursor = first.next_cursor as string | null;
    while (cursor) {
      const page = (await v2('admin').get(`datasets?limit=50&cursor=${encodeURIComponent(cursor)}&offset=7`))
        .body as Json;
      expect(page.total).toBeNull();
      seen.push(...(page.items as Json[]).map((d) => d.unique_id));
      cursor = page.next_cursor as string | null;
    }
    expect(seen).toEqual(sim.datasets.map((d) => d.uniqueId).reverse());
    expect(((await v2('admin').get('datasets?limit=5000')).body as Json).limit).toBe(1000);
    expect((await v2('admin').get('datasets?limit=0')).status).toBe(422);
    expect((await v2('admin').get('datasets?cursor=garbage')).status).toBe(400);
    // A cursor is tied to its filters.
    const pub = (await v2('admin').get('datasets?limit=3&public=true')).body as Json;
    const changed = await v2('admin').get(
      `datasets?limit=3&public=false&cursor=${pub.next_cursor as string}`,
    );
    expect(changed.status).toBe(400);
    const last = (await v2('admin').get('datasets?limit=200')).body as Json;
    expect(last.next_cursor).toBeNull();
  });

  it('filters: exact fields, case-insensitive keyword substring, booleans, ints, unknown params ignored', async () => {
    const { sim, v2, v1 } = await serve();
    const kw = (await v2('admin').get('datasets?keyword=haad&limit=1000')).body as Json;
    expect((kw.items as Json[]).length).toBeGreaterThan(0);
    const kwIds = (kw.items as Json[]).map((d) => d.unique_id);
    for (const id of kwIds) expect(sim.dataset(id as string)?.keywords).toContain('haadf');
    const pub = (await v2('outsider').get('datasets?public=true&limit=1000&bogus=1')).body as Json;
    expect((pub.items as Json[]).every((d) => d.public === true)).toBe(true);
    expect((await v2('admin').get('datasets?public=maybe')).status).toBe(422);
    expect((await v1('admin').get('datasets?size=abc')).status).toBe(422);
    const byProject = (await v1('admin').get('datasets?project_id=OUTSIDE-01&limit=1000')).body as Json[];
    expect(byProject.every((d) => d.project_id === 'OUTSIDE-01')).toBe(true);
    const gte = sim.datasets[40]?.creationMs as number;
    const recent = (
      await v2('admin').get(`datasets?creation_time_gte=${new Date(gte).toISOString()}&limit=1000`)
    ).body as Json;
    expect(recent.total).toBe(10);
  });

  it('another user’s private dataset is 403 with a reason; missing is 200 null on v1, 404 on v2 (or null)', async () => {
    const { sim, v1, v2 } = await serve();
    const secret = datasetOf(sim, 'demo');
    const denied = await v1('outsider').get(`datasets/${secret.uniqueId}`);
    expect(denied).toEqual({
      status: 403,
      body: { detail: `You do not have permission to read dataset ${secret.uniqueId}` },
    });
    expect((await v2('outsider').get(`datasets/${secret.uniqueId}/keywords`)).status).toBe(403);
    const pub = datasetOf(sim, 'outsider', true);
    expect((await v1('demo').get(`datasets/${pub.uniqueId}`)).status).toBe(200);
    expect((await v2('demo').send('PATCH', `datasets/${pub.uniqueId}`, { dataset_name: 'x' })).status).toBe(
      403,
    );
    const missing = '0tbg8f8eq1sbs000x1sdqdtpnm';
    expect(await v1().get(`datasets/${missing}`)).toEqual({ status: 200, body: null });
    expect((await v2().get(`datasets/${missing}`)).status).toBe(404);
    expect((await v1().get(`datasets/${missing}/keywords`)).status).toBe(404);
    const lax = await serve({ v2MissingRecords: 'null' });
    expect(await lax.v2().get(`datasets/${missing}`)).toEqual({ status: 200, body: null });
  });

  it('creates (v1 200, v2 201), drops unknown fields, patches, and refuses foreign projects and owners', async () => {
    const { sim, v1, v2 } = await serve();
    const one = await v1().send('POST', 'datasets', {
      dataset_name: 'tray 5',
      project_id: 'DEMO-0001',
      instrument_name: 'PhotoBox',
      filter_me_out: 1,
    });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      dataset_name: 'tray 5',
      owner_orcid: sim.user('demo').orcid,
      instrument_id: 38,
    });
    expect(one.body).not.toHaveProperty('filter_me_out');
    const two = await v2().send('POST', 'datasets', {
      dataset_name: 'run',
      project_id: 'MFP08540',
      timestamp: '2026-05-12T09:31:00+00:00',
    });
    expect(two.status).toBe(201);
    expect(two.body).toMatchObject({
      resource_type: 'dataset',
      timestamp: '2026-05-12T09:31:00+00:00',
      size: null,
    });
    expect(two.body).not.toHaveProperty('owner_user_id');
    const id = (two.body as Json).unique_id as string;
    expect(id).toMatch(/^[0-9a-hjkmnp-tv-z]{26}$/);
    const patched = await v2().send('PATCH', `datasets/${id}`, { session_name: 's1', public: true });
    expect(patched.body).toMatchObject({ session_name: 's1', public: true });
    expect((await v2('outsider').get(`datasets/${id}`)).status).toBe(200);
    expect((await v2().send('POST', 'datasets', { project_id: 'OUTSIDE-01' })).status).toBe(403);
    expect((await v2().send('POST', 'datasets', { owner_orcid: sim.user('admin').orcid })).status).toBe(403);
    expect((await v2().send('POST', 'datasets', { unique_id: id })).status).toBe(409);
    expect((await v2().send('POST', 'datasets', { unique_id: 'NOT-AN-MFID' })).status).toBe(422);
    expect((await v2().send('POST', 'datasets', [1, 2])).status).toBe(422);
  });

  it('v2 dataset includes: flat metadata, links, owner', async () => {
    const { sim, v2 } = await serve();
    const ds = sim.datasets.find((d) => d.metadata !== null && d.ownerOrcid === sim.user('demo').orcid);
    const res = (
      await v2().get(`datasets/${ds?.uniqueId}?include_metadata=true&include_links=true&include_owner=true`)
    ).body as Json;
    expect(res.scientific_metadata).toEqual(ds?.metadata);
    expect(Array.isArray(res.links)).toBe(true);
    expect(res.owner).toMatchObject({ username: 'demo', email: 'demo@example.org' });
    const plain = (await v2().get(`datasets/${ds?.uniqueId}`)).body as Json;
    expect(plain).not.toHaveProperty('links');
  });

  it('pages through 20,000 datasets quickly (v2 keyset by 1000, v1 one big array)', async () => {
    const started = Date.now();
    const { v1, v2 } = await serve({ datasets: 20_000 });
    let cursor: string | null = null;
    let count = 0;
    let pages = 0;
    const ids = new Set<unknown>();
    do {
      const path: string = `datasets?limit=1000${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await v2('admin').get(path)).body as Json;
      if (pages === 0) expect(page.total).toBe(20_000);
      for (const d of page.items as Json[]) ids.add(d.unique_id);
      count += (page.items as Json[]).length;
      cursor = page.next_cursor as string | null;
      pages += 1;
    } while (cursor);
    expect(count).toBe(20_000);
    expect(ids.size).toBe(20_000);
    expect(pages).toBe(20);
    const v1All = (await v1('demo').get('datasets?limit=20000')).body as Json[];
    expect(v1All).toHaveLength(16_000);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe('Crucible simulator: keywords, metadata, thumbnails, access groups', () => {
  it('adds keywords by query parameter, reuses spellings, counts datasets once', async () => {
    const { v1, v2 } = await serve();
    const id = await newDataset(v2());
    const k1 = await v1().send('POST', `datasets/${id}/keywords?keyword=Perovskite`);
    const before = (k1.body as Json).num_datasets as number;
    expect(k1.body).toMatchObject({ keyword: 'perovskite' });
    const k2 = await v1().send('POST', `datasets/${id}/keywords?keyword=perovskite`);
    expect((k2.body as Json).num_datasets).toBe(before);
    expect((await v2().send('POST', `datasets/${id}/keywords?keyword=Brand%20New`)).body).toMatchObject({
      keyword: 'Brand New',
      num_datasets: 1,
    });
    expect((await v2().send('POST', `datasets/${id}/keywords`)).status).toBe(422);
    const mine = (await v2().get(`datasets/${id}/keywords`)).body as Json[];
    expect(mine.map((k) => k.keyword)).toEqual(['perovskite', 'Brand New']);
    const all = (await v1().get('keywords')).body as Json[];
    expect(all.find((k) => k.keyword === 'Brand New')).toMatchObject({ num_datasets: 1 });
  });

  it('v1 metadata: wrapper or null, POST replaces, PATCH merges top-level keys', async () => {
    const { v1, v2 } = await serve();
    const id = await newDataset(v2());
    expect(await v1().get(`datasets/${id}/scientific_metadata`)).toEqual({ status: 200, body: null });
    await v1().send('POST', `datasets/${id}/scientific_metadata`, { a: { x: 1, y: 2 }, b: 1 });
    const merged = await v1().send('PATCH', `datasets/${id}/scientific_metadata`, { a: { z: 3 }, c: 2 });
    expect((merged.body as Json).scientific_metadata).toEqual({ a: { z: 3 }, b: 1, c: 2 });
    const replaced = await v1().send('POST', `datasets/${id}/scientific_metadata`, { only: true });
    expect((replaced.body as Json).scientific_metadata).toEqual({ only: true });
    expect((await v1('outsider').send('PATCH', `datasets/${id}/scientific_metadata`, {})).status).toBe(403);
  });

  it('v2 /resources/{id}/metadata: null, create, 409 on bare POST, overwrite, deep merge; samples, instruments, projects', async () => {
    const { sim, v2 } = await serve();
    const id = await newDataset(v2());
    expect(await v2().get(`resources/${id}/metadata`)).toEqual({ status: 200, body: null });
    const created = await v2().send('POST', `resources/${id}/metadata`, { a: { x: 1 }, list: [1, 2] });
    expect(created.body).toEqual({ unique_id: id, scientific_metadata: { a: { x: 1 }, list: [1, 2] } });
    expect((await v2().send('POST', `resources/${id}/metadata`, { b: 1 })).status).toBe(409);
    const merged = await v2().send('PATCH', `resources/${id}/metadata`, { a: { y: 2 }, list: [3] });
    expect((merged.body as Json).scientific_metadata).toEqual({ a: { x: 1, y: 2 }, list: [3] });
    const over = await v2().send('POST', `resources/${id}/metadata?overwrite=true`, { fresh: 1 });
    expect((over.body as Json).scientific_metadata).toEqual({ fresh: 1 });
    expect(
      ((await v2().get(`datasets/${id}?include_metadata=true`)).body as Json).scientific_metadata,
    ).toEqual({ fresh: 1 });
    const s = sim.samples.find((x) => x.ownerOrcid === sim.user('demo').orcid);
    expect((await v2().send('PATCH', `resources/${s?.uniqueId}/metadata`, { k: 1 })).status).toBe(200);
    const inst = sim.instruments[0]?.uniqueId;
    expect((await v2().send('PATCH', `resources/${inst}/metadata`, { k: 1 })).status).toBe(403);
    expect((await v2('admin').send('PATCH', `resources/${inst}/metadata`, { k: 1 })).status).toBe(200);
    expect((await v2().send('PATCH', 'resources/DEMO-0001/metadata', { goal: 'x' })).body).toEqual({
      unique_id: 'DEMO-0001',
      scientific_metadata: { goal: 'x' },
    });
    expect((await v2('outsider').get('resources/DEMO-0001/metadata')).status).toBe(403);
    expect((await v2().get('resources/nothing/metadata')).status).toBe(404);
    const search = (await v2().get('resources/metadata/search?q=goal')).body as Json;
    expect(search.limit).toBe(20);
    expect((await v2().get('resources/metadata/search?q=go')).status).toBe(422);
  });

  it('thumbnails: add, list (integer dataset_id), delete on v2', async () => {
    const { v1, v2 } = await serve();
    const id = await newDataset(v2());
    const t = await v1().send('POST', `datasets/${id}/thumbnails`, {
      thumbnail_name: 'a.png',
      thumbnail_b64str: 'iVBORw0K',
    });
    expect(t.body).toMatchObject({
      thumbnail_name: 'a.png',
      dataset_id: expect.any(Number),
      id: expect.any(Number),
    });
    expect((await v2().get(`datasets/${id}/thumbnails`)).body).toHaveLength(1);
    expect((await v2().send('POST', `datasets/${id}/thumbnails`, { thumbnail_name: 'b' })).status).toBe(422);
    expect((await v2().send('DELETE', `datasets/${id}/thumbnails/${(t.body as Json).id}`)).status).toBe(200);
    expect((await v2().get(`datasets/${id}/thumbnails`)).body).toEqual([]);
  });

  it('access groups are admin-only; a group grant makes a private dataset readable', async () => {
    const { sim, v1, v2 } = await serve();
    const secret = datasetOf(sim, 'demo');
    expect(await v1().get(`datasets/${secret.uniqueId}/access_groups`)).toEqual({
      status: 403,
      body: { detail: 'Requires admin permissions' },
    });
    const groups = (await v1('admin').get(`datasets/${secret.uniqueId}/access_groups`)).body as Json[];
    expect(groups.map((g) => g.group_name)).toEqual(
      expect.arrayContaining([sim.user('demo').orcid, 'DEMO-0001']),
    );
    expect((await v2('outsider').get(`datasets/${secret.uniqueId}`)).status).toBe(403);
    await v2('admin').send(
      'POST',
      `resources/${secret.uniqueId}/access_groups?group_name=reviewers&read=true&write=false`,
    );
    await v2('admin').send('POST', `users/${sim.user('outsider').orcid}/access_groups/reviewers`);
    expect((await v2('outsider').get(`datasets/${secret.uniqueId}`)).status).toBe(200);
    expect(
      (await v2('outsider').get(`users/${sim.user('outsider').orcid}/datasets/${secret.uniqueId}`)).body,
    ).toEqual({
      read: true,
      write: false,
    });
    expect((await v2('outsider').get(`users/${sim.user('demo').orcid}/access_groups`)).status).toBe(403);
  });
});

describe('Crucible simulator: samples, links, projects, users, instruments', () => {
  it('samples: v1 arrays with datasets, null when missing; v2 keyset newest first; create and patch', async () => {
    const { sim, v1, v2 } = await serve();
    const list = (await v1().get('samples')).body as Json[];
    expect(list.length).toBeGreaterThan(0);
    expect(list.every((s) => Array.isArray(s.datasets))).toBe(true);
    expect(await v1().get('samples/0tbg8f8eq1sbs000x1sdqdtpnm')).toEqual({ status: 200, body: null });
    const page = (await v2().get('samples?limit=2')).body as Json;
    expect(page).toMatchObject({ limit: 2, total: list.length });
    expect(typeof page.next_cursor).toBe('string');
    const created = await v1().send('POST', 'samples', {
      sample_name: 'flake 9',
      sample_type: null,
      project_id: 'DEMO-0001',
      owner_orcid: sim.user('demo').orcid,
      date_created: null,
    });
    expect(created.body).toMatchObject({ sample_name: 'flake 9', sample_type: null, datasets: [] });
    const sid = (created.body as Json).unique_id as string;
    const newest = (await v2().get('samples?limit=1')).body as Json;
    expect((newest.items as Json[])[0]?.unique_id).toBe(sid);
    const patched = await v2().send('PATCH', `samples/${sid}`, {
      description: 'shiny',
      public: true,
      sample_type: null,
    });
    expect(patched.body).toMatchObject({ description: 'shiny', public: true });
    expect((await v2('outsider').send('PATCH', `samples/${sid}`, { description: 'no' })).status).toBe(403);
  });

  it('links: sample↔dataset, sample parent/child, dataset parent/child; v1 arrays, v2 envelopes and links', async () => {
    const { sim, v1, v2 } = await serve();
    const a = await newDataset(v2());
    const b = await newDataset(v2());
    const s1 = (
      (await v2().send('POST', 'samples', { sample_name: 'p', project_id: 'DEMO-0001' })).body as Json
    ).unique_id as string;
    const s2 = (
      (await v2().send('POST', 'samples', { sample_name: 'c', project_id: 'DEMO-0001' })).body as Json
    ).unique_id as string;
    expect((await v1().send('POST', `datasets/${a}/samples/${s1}`)).body).toEqual({
      dataset_id: a,
      sample_id: s1,
    });
    expect((await v1().send('POST', `samples/${s1}/children/${s2}`)).status).toBe(200);
    expect((await v1().send('POST', `datasets/${a}/children/${b}`)).status).toBe(200);
    expect(((await v1().get(`datasets/${a}/samples`)).body as Json[]).map((s) => s.unique_id)).toEqual([s1]);
    expect(((await v1().get(`samples/${s1}/datasets`)).body as Json[]).map((d) => d.unique_id)).toEqual([a]);
    expect(((await v1().get(`samples/${s2}/parents`)).body as Json[]).map((s) => s.unique_id)).toEqual([s1]);
    expect(((await v1().get(`datasets/${b}/parents`)).body as Json[]).map((d) => d.unique_id)).toEqual([a]);
    expect(await v1().get(`datasets/${b}/children`)).toEqual({ status: 200, body: [] });
    const kids = (await v2().get(`datasets/${a}/children`)).body as Json;
    expect(kids).toMatchObject({ total: 1, offset: 0, limit: 100 });
    const links = (await v2().get(`resources/${a}/links`)).body as Json[];
    expect(links).toEqual(
      expect.arrayContaining([
        { unique_id: b, resource_type: 'dataset', name: 'new one', relationship: 'child' },
        { unique_id: s1, resource_type: 'sample', name: 'p', relationship: 'associated' },
      ]),
    );
    expect(((await v2().get(`samples/${s1}?include_links=true`)).body as Json).links).toEqual(
      expect.arrayContaining([{ unique_id: s2, resource_type: 'sample', name: 'c', relationship: 'child' }]),
    );
    expect((await v2().send('DELETE', `datasets/${a}/samples/${s1}`)).status).toBe(403);
    expect((await v2('admin').send('DELETE', `datasets/${a}/samples/${s1}`)).status).toBe(200);
    expect((await v2().send('DELETE', `samples/${s1}/children/${s2}`)).status).toBe(200);
    expect((await v2().send('DELETE', `datasets/${a}/children/${b}`)).status).toBe(200);
    expect(((await v2().get(`samples/${s2}/parents`)).body as Json).total).toBe(0);
    expect(sim.stats.writes['POST /datasets/{dsid}/samples/{sid}']).toBe(1);
  });

  it('projects: v1 list admin-only, any project readable (null if unknown), members admin-only, 404 for unknown', async () => {
    const { sim, v1, v2 } = await serve();
    expect(await v1().get('projects')).toEqual({
      status: 403,
      body: { detail: 'Requires admin permissions' },
    });
    expect(((await v1('admin').get('projects')).body as Json[]).length).toBe(4);
    expect((await v1('outsider').get('projects/DEMO-0001')).body).toEqual({
      id: expect.any(Number),
      project_id: 'DEMO-0001',
      organization: 'Molecular Foundry',
      title: 'Demo perovskite films',
      status: 'active',
      project_lead_email: 'demo@example.org',
      project_lead_name: 'Dee Demo',
    });
    expect(await v1().get('projects/NOPE')).toEqual({ status: 200, body: null });
    expect((await v1().get('projects/MFP08540/users')).status).toBe(403);
    expect(((await v1('admin').get('projects/MFP08540/users')).body as Json[]).map((u) => u.orcid)).toEqual([
      sim.user('demo').orcid,
    ]);
    expect((await v1('admin').get('projects/NOPE/users')).status).toBe(404);
    const mine = (await v2().get('projects')).body as Json;
    expect((mine.items as Json[]).map((p) => p.project_id).sort()).toEqual(['DEMO-0001', 'MFP08540']);
    const foreign = (await v2('outsider').get('projects/DEMO-0001')).body as Json;
    expect(foreign.lead).not.toHaveProperty('email');
    expect(
      (
        await v2('admin').send('POST', 'projects', {
          project_id: 'NEW-1',
          organization: 'MF',
          project_lead_orcid: sim.user('outsider').orcid,
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await v2('admin').send('POST', 'projects', {
          project_id: 'NEW-1',
          organization: 'MF',
          project_lead_orcid: sim.user('outsider').orcid,
        })
      ).status,
    ).toBe(409);
    expect((await v2().send('POST', 'projects', { project_id: 'NEW-2', organization: 'MF' })).status).toBe(
      403,
    );
    const added = await v2('outsider').send('POST', `projects/NEW-1/users/${sim.user('demo').orcid}`);
    expect((added.body as Json[]).map((u) => u.unique_id)).toEqual([sim.user('demo').orcid]);
    expect((await v2().send('POST', 'projects/NEW-1/users/me?username=admin')).status).toBe(403);
    expect(((await v2().get(`users/${sim.user('demo').orcid}/projects`)).body as Json).total).toBe(3);
  });

  it('users: admin-only lookups (null when unknown), email lookup, upsert; public records elsewhere', async () => {
    const { sim, v1, v2 } = await serve();
    const demo = sim.user('demo').orcid;
    expect((await v1().get(`users/${demo}`)).status).toBe(403);
    expect((await v1('admin').get(`users/${demo}`)).body).toMatchObject({
      orcid: demo,
      employee_number: expect.any(String),
    });
    expect(await v1('admin').get('users/0000-0000-0000-0000')).toEqual({ status: 200, body: null });
    expect(await v1('admin').get('users?email=nobody@example.org')).toEqual({ status: 200, body: [] });
    expect(((await v1('admin').get('users?lbl_email=demo@lbl.gov')).body as Json[])[0]).toMatchObject({
      orcid: demo,
    });
    const up = await v1('admin').send('POST', 'users', {
      user_info: {
        orcid: '0000-0004-0000-0001',
        first_name: 'New',
        last_name: 'Person',
        email: 'new@example.org',
      },
      project_ids: ['DEMO-0001'],
    });
    expect(up.body).toMatchObject({ orcid: '0000-0004-0000-0001', first_name: 'New' });
    expect((await v2('admin').get('users?email=new@example.org')).body).toMatchObject({ total: 1 });
    expect((await v2().get('users/search?q=dem')).body).toEqual([
      expect.not.objectContaining({ email: expect.anything() }),
    ]);
    expect((await v2().get('users/by-username/outsider')).body).toMatchObject({ username: 'outsider' });
    const resolved = (await v2().send('POST', 'users/resolve', { usernames: ['admin', 'ghost'] }))
      .body as Json;
    expect(resolved[sim.user('admin').orcid]).toMatchObject({ username: 'admin' });
    expect(resolved.ghost).toBeNull();
  });

  it('instruments: case-insensitive name lookup, [] when none, admin-only create on v2', async () => {
    const { v1, v2 } = await serve();
    expect(((await v1().get('instruments?instrument_name=TitanX')).body as Json[])[0]).toMatchObject({
      instrument_name: 'titanx',
      id: 36,
    });
    expect(await v1().get('instruments?instrument_name=nope')).toEqual({ status: 200, body: [] });
    expect(
      (await v1().send('POST', 'instruments', { instrument_name: 'newscope', location: 'B67', owner: 'me' }))
        .status,
    ).toBe(200);
    expect(
      (await v2().send('POST', 'instruments', { instrument_name: 'other', location: 'B67', owner: 'me' }))
        .status,
    ).toBe(403);
    const page = (await v2().get('instruments?limit=2&offset=2')).body as Json;
    expect(page).toMatchObject({ total: 6, limit: 2, offset: 2 });
    const iid = ((page.items as Json[])[0] as Json).unique_id;
    expect((await v2().get(`instruments/${iid}`)).body).toMatchObject({ resource_type: 'instrument' });
    expect((await v2().get(`resources/${iid}`)).body).toMatchObject({ resource_type: 'instrument' });
  });
});

describe('Crucible simulator: v2 resumable upload, ingestion and signed download', () => {
  async function initiate(api: Api, dsid: string, data: Uint8Array, filename = 'run5.bin') {
    const res = await api.send('POST', `datasets/${dsid}/upload/initiate`, {
      filename,
      size: data.byteLength,
      sha256_hash: sha256(data),
    });
    expect(res.status).toBe(200);
    return res.body as {
      upload_id: string | null;
      resumable_uri: string | null;
      chunk_size_hint: number;
      existing_file: Json | null;
    };
  }
  const put = (
    uri: string,
    data: Uint8Array<ArrayBuffer>,
    first: number,
    last: number,
    total: number,
    headers: Record<string, string> = {},
  ) =>
    fetch(uri, {
      method: 'PUT',
      headers: { 'content-range': `bytes ${first}-${last}/${total}`, ...headers },
      body: data.subarray(first, last + 1),
    });
  const probe = (uri: string, total: number) =>
    fetch(uri, { method: 'PUT', headers: { 'content-range': `bytes */${total}` }, body: new Uint8Array(0) });

  it('uploads in chunks with 308 + Range, persists partially on demand, answers probes, completes with SHA-256', async () => {
    const { sim, v2 } = await serve();
    const dsid = await newDataset(v2());
    const data = bytesOf(4 * GRANULE + 1000, 7);
    const init = await initiate(v2(), dsid, data);
    expect(init).toMatchObject({ chunk_size_hint: 8 * 1024 * 1024, existing_file: null });
    const uri = init.resumable_uri as string;
    expect(new URL(uri).pathname).toBe('/storage/upload/storage/v1/b/crucible-uploads/o');
    // A fresh session: a probe says nothing is persisted (308 without Range).
    const empty = await probe(uri, data.byteLength);
    expect(empty.status).toBe(308);
    expect(empty.headers.get('range')).toBeNull();
    // First chunk of two granules: only one is persisted this time.
    sim.persistPartially(GRANULE);
    const r1 = await put(uri, data, 0, 2 * GRANULE - 1, data.byteLength);
    expect(r1.status).toBe(308);
    expect(r1.headers.get('range')).toBe(`bytes=0-${GRANULE - 1}`);
    const p = await probe(uri, data.byteLength);
    expect(p.status).toBe(308);
    expect(p.headers.get('range')).toBe(`bytes=0-${GRANULE - 1}`);
    // Continue from the persisted offset with an overlapping chunk: the overlap is ignored.
    const r2 = await put(uri, data, GRANULE - 100, 4 * GRANULE - 1, data.byteLength);
    expect(r2.status).toBe(308);
    expect(r2.headers.get('range')).toBe(`bytes=0-${4 * GRANULE - 1}`);
    const r3 = await put(uri, data, 4 * GRANULE, data.byteLength - 1, data.byteLength);
    expect(r3.status).toBe(200);
    const object = (await r3.json()) as Json;
    expect(object).toMatchObject({
      bucket: 'crucible-uploads',
      size: String(data.byteLength),
      crc32c: expect.any(String),
    });
    // A probe after completion answers 200 too.
    expect((await probe(uri, data.byteLength)).status).toBe(200);
    const done = await v2().send('POST', `datasets/${dsid}/upload/complete`, {
      upload_id: init.upload_id,
      sha256_hash: sha256(data),
    });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({
      dataset_mfid: dsid,
      storage_path: null,
      size: data.byteLength,
      sha256_hash: sha256(data),
    });
    expect((done.body as Json).filename).toBe(`crucible-uploads/api-uploads/${dsid}/run5.bin`);
    const mfid = (done.body as Json).mfid as string;
    sameBytes(await sim.fileBytes(mfid), data);
    expect(sim.sessions.find((s) => s.uploadId === init.upload_id)).toMatchObject({
      completed: true,
      fileMfid: mfid,
      probes: 2,
    });
    const again = await v2().send('POST', `datasets/${dsid}/upload/complete`, {
      upload_id: init.upload_id,
      sha256_hash: sha256(data),
    });
    expect((again.body as Json).mfid).toBe(mfid);
    expect(sim.stats).toMatchObject({
      partialChunks: 1,
      uploadsCompleted: 1,
      repeatedCompletes: 1,
      storageAuthorizationHeaders: 0,
    });
  });

  it('accepts overlapping chunks (skipping persisted bytes), persists only 256 KiB multiples of unaligned chunks', async () => {
    const { sim, v2 } = await serve();
    const dsid = await newDataset(v2());
    const data = bytesOf(3 * GRANULE, 3);
    const init = await initiate(v2(), dsid, data);
    const uri = init.resumable_uri as string;
    const a = await put(uri, data, 0, GRANULE + 99, data.byteLength);
    expect(a.status).toBe(308);
    expect(a.headers.get('range')).toBe(`bytes=0-${GRANULE - 1}`);
    const b = await put(uri, data, GRANULE - 10, data.byteLength - 1, data.byteLength);
    expect(b.status).toBe(200);
    expect(sim.stats.misalignedChunks).toBe(1);
    const done = await v2().send('POST', `datasets/${dsid}/upload/complete`, {
      upload_id: init.upload_id,
      sha256_hash: sha256(data),
    });
    sameBytes(await sim.fileBytes((done.body as Json).mfid as string), data);
  });

  it('refuses gaps, bad Content-Range, length mismatches; complete before the end is 409, wrong hash 400', async () => {
    const { sim, v2 } = await serve();
    const dsid = await newDataset(v2());
    const data = bytesOf(2 * GRANULE, 5);
    const init = await initiate(v2(), dsid, data);
    const uri = init.resumable_uri as string;
    expect((await put(uri, data, GRANULE, 2 * GRANULE - 1, data.byteLength)).status).toBe(400);
    const bad = await fetch(uri, { method: 'PUT', headers: { 'content-range': 'bytes=0-1/2' }, body: 'ab' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/xml/);
    expect((await put(uri, data, 0, GRANULE - 1, data.byteLength + 1)).status).toBe(400);
    expect(
      (
        await v2().send('POST', `datasets/${dsid}/upload/complete`, {
          upload_id: init.upload_id,
          sha256_hash: sha256(data),
        })
      ).status,
    ).toBe(409);
    expect((await put(uri, data, 0, 2 * GRANULE - 1, data.byteLength)).status).toBe(200);
    const wrong = await v2().send('POST', `datasets/${dsid}/upload/complete`, {
      upload_id: init.upload_id,
      sha256_hash: 'a'.repeat(64),
    });
    expect(wrong.status).toBe(400);
    expect(
      (
        await v2().send('POST', `datasets/${dsid}/upload/complete`, {
          upload_id: 'nope',
          sha256_hash: sha256(data),
        })
      ).status,
    ).toBe(404);
    expect(sim.stats.rejectedChunks).toBe(3);
  });

  it('skips the upload when the dataset already has these bytes (existing_file)', async () => {
    const { sim, v2 } = await serve();
    const ds = datasetOf(sim, 'demo');
    const f = sim.filesOf(ds.uniqueId)[0];
    const bytes = (await sim.fileBytes(f?.mfid as string)) as Uint8Array;
    const init = await initiate(v2(), ds.uniqueId, bytes, 'again.dat');
    expect(init.upload_id).toBeNull();
    expect(init.resumable_uri).toBeNull();
    expect(init.existing_file).toMatchObject({ mfid: f?.mfid, sha256_hash: sha256(bytes) });
    expect(sim.stats.dedupHits).toBe(1);
    expect(
      (
        await v2().send('POST', `datasets/${ds.uniqueId}/upload/initiate/multipart`, {
          filename: 'x',
          size: 1,
          sha256_hash: 'b'.repeat(64),
        })
      ).status,
    ).toBe(501);
  });

  it('uploads an empty file with `bytes */0`', async () => {
    const { v2 } = await serve();
    const dsid = await newDataset(v2());
    const init = await initiate(v2(), dsid, new Uint8Array(0), 'empty.txt');
    const res = await fetch(init.resumable_uri as string, {
      method: 'PUT',
      headers: { 'content-range': 'bytes */0' },
      body: new Uint8Array(0),
    });
    expect(res.status).toBe(200);
    const done = await v2().send('POST', `datasets/${dsid}/upload/complete`, {
      upload_id: init.upload_id,
      sha256_hash: sha256(new Uint8Array(0)),
    });
    expect(done.body).toMatchObject({ size: 0 });
  });

  it('storage refuses an Authorization header (400 XML) and counts it; expired and cancelled sessions', async () => {
    const { sim, v2 } = await serve();
    const dsid = await newDataset(v2());
    const data = bytesOf(1000);
    const init = await initiate(v2(), dsid, data);
    const uri = init.resumable_uri as string;
    const withKey = await put(uri, data, 0, 999, 1000, { authorization: `Bearer ${sim.keyFor('demo')}` });
    expect(withKey.status).toBe(400);
    expect(await withKey.text()).toMatch(/<Error><Code>InvalidAuthentication<\/Code>/);
    expect(sim.stats.storageAuthorizationHeaders).toBe(1);
    expect(sim.sessions[0]?.persisted).toBe(0);
    sim.expireUploadSessions();
    expect((await probe(uri, 1000)).status).toBe(404);
    const second = await initiate(v2(), dsid, data);
    expect((await fetch(second.resumable_uri as string, { method: 'DELETE' })).status).toBe(499);
    expect((await probe(second.resumable_uri as string, 1000)).status).toBe(410);
  });

  it('ingests per file over time (requested → started → complete), then serves signed links with Range', async () => {
    const { sim, clock, v2, server } = await serve();
    const dsid = await newDataset(v2());
    const data = bytesOf(3 * GRANULE + 17, 11);
    const init = await initiate(v2(), dsid, data, 'image.raw');
    await put(init.resumable_uri as string, data, 0, data.byteLength - 1, data.byteLength);
    const file = (
      await v2().send('POST', `datasets/${dsid}/upload/complete`, {
        upload_id: init.upload_id,
        sha256_hash: sha256(data),
      })
    ).body as Json;
    const mfid = file.mfid as string;
    expect((await v2().get(`files/${mfid}/download_link`)).status).toBe(404);
    expect((await v2().get(`datasets/${dsid}/download_links`)).status).toBe(404);
    const req = (await v2().send('POST', `files/${mfid}/ingest?ingestion_class=ApiUploadIngestor`))
      .body as Json;
    expect(req).toMatchObject({
      status: 'requested',
      file_mfid: mfid,
      dataset_mfid: dsid,
      ingestion_class: 'ApiUploadIngestor',
    });
    clock.t += 150;
    expect(((await v2().get(`ingestion_requests/${req.id}`)).body as Json).status).toBe('started');
    clock.t += 500;
    const done = (await v2().get(`ingestion_requests/${req.id}`)).body as Json;
    expect(done).toMatchObject({
      status: 'complete',
      error_message: null,
      time_completed: expect.stringMatching(/-0[78]:00$/),
    });
    expect(((await v2().get(`ingestion_requests?file_id=${mfid}`)).body as Json).total).toBe(1);
    const rec = (await v2().get(`files/${mfid}`)).body as Json;
    expect(rec.storage_path).toBe(`mf-storage-prod/${dsid}/image.raw`);
    expect(((await v2().get(`datasets/${dsid}`)).body as Json).size).toBe(data.byteLength);
    const link = (await v2().get(`files/${mfid}/download_link`)).body as { url: string; expires_in: number };
    expect(link.expires_in).toBe(3600);
    expect(
      link.url.startsWith(`${server.url}/storage/mf-storage-prod/${dsid}/image.raw?X-Goog-Algorithm=`),
    ).toBe(true);
    const full = await fetch(link.url);
    expect(full.status).toBe(200);
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    sameBytes(new Uint8Array(await full.arrayBuffer()), data);
    const part = await fetch(link.url, { headers: { range: 'bytes=100-299' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-299/${data.byteLength}`);
    sameBytes(new Uint8Array(await part.arrayBuffer()), data.subarray(100, 300));
    expect((await fetch(link.url, { headers: { range: `bytes=${data.byteLength}-` } })).status).toBe(416);
    const links = (await v2().get(`datasets/${dsid}/download_links`)).body as Json;
    expect(Object.keys(links)).toEqual([mfid]);
    // Sending the key to storage is refused even with a valid signature.
    const leaky = await fetch(link.url, { headers: { authorization: `Bearer ${sim.keyFor('demo')}` } });
    expect(leaky.status).toBe(400);
    // Tampered and expired links: 403 with an XML error page.
    const forged = new URL(link.url);
    forged.searchParams.set('X-Goog-Signature', 'f'.repeat(64));
    const bad = await fetch(forged);
    expect(bad.status).toBe(403);
    expect(await bad.text()).toMatch(/SignatureDoesNotMatch/);
    clock.t += 3601_000;
    const late = await fetch(link.url);
    expect(late.status).toBe(403);
    expect(late.headers.get('content-type')).toMatch(/application\/xml/);
    expect(await late.text()).toMatch(/<Code>ExpiredToken<\/Code>/);
    const fresh = (await v2().get(`files/${mfid}/download_link`)).body as { url: string };
    expect((await fetch(fresh.url)).status).toBe(200);
    sim.expireLinks();
    expect((await fetch(fresh.url)).status).toBe(403);
    expect(sim.stats).toMatchObject({
      expiredLinkHits: 2,
      badSignatures: 1,
      storageAuthorizationHeaders: 1,
      rangeDownloads: 1,
    });
  });

  it('ingestion outcomes: auto-detect (not supported), unknown class (failed), forced failure, stuck', async () => {
    const { sim, clock, v2 } = await serve();
    const dsid = await newDataset(v2());
    const upload = async (name: string, seed: number) => {
      const data = bytesOf(100, seed);
      const init = await initiate(v2(), dsid, data, name);
      await put(init.resumable_uri as string, data, 0, 99, 100);
      return (
        (
          await v2().send('POST', `datasets/${dsid}/upload/complete`, {
            upload_id: init.upload_id,
            sha256_hash: sha256(data),
          })
        ).body as Json
      ).mfid as string;
    };
    const generic = await upload('blob.bin', 1);
    const image = await upload('pic.png', 2);
    const forced = await upload('data.h5', 3);
    const ingest = async (mfid: string, query = '') =>
      ((await v2().send('POST', `files/${mfid}/ingest${query}`)).body as Json).id;
    const r1 = await ingest(generic);
    const r2 = await ingest(image);
    const r3 = await ingest(generic, '?ingestion_class=NoSuchIngestor');
    sim.setIngestionOutcome(forced, 'failed');
    const r4 = await ingest(forced);
    sim.setIngestionOutcome(dsid, 'stuck');
    const r5 = await ingest(image);
    clock.t += 10_000;
    const status = async (id: unknown) => (await v2().get(`ingestion_requests/${id}`)).body as Json;
    expect(await status(r1)).toMatchObject({ status: 'not supported', ingestion_class: null });
    expect(await status(r2)).toMatchObject({ status: 'complete', ingestion_class: 'ImageIngestor' });
    expect(await status(r3)).toMatchObject({
      status: 'failed',
      error_message: 'Unknown ingestion class: NoSuchIngestor',
    });
    expect(await status(r4)).toMatchObject({ status: 'failed', error_message: expect.any(String) });
    expect(await status(r5)).toMatchObject({ status: 'requested' });
    expect(sim.file(generic)?.storagePath).toBeNull();
    expect((await v2().get(`files/${generic}/download_link`)).status).toBe(404);
    // An admin (the worker) can finish a request by PATCH; others get 403.
    expect(
      (await v2().send('PATCH', `ingestion_requests/${r5}`, { id: r5, status: 'complete' })).status,
    ).toBe(403);
    const patched = await v2('admin').send('PATCH', `ingestion_requests/${r5}`, {
      id: r5,
      status: 'complete',
      ingestion_githash: 'abc',
    });
    expect(patched.body).toMatchObject({ status: 'complete', ingestion_githash: 'abc' });
    expect((await v2().get('ingestors')).body).toContain('ApiUploadIngestor');
  });

  it('download_links without ingested files: 404, or 200 with detail (crucible-lens quirk)', async () => {
    const { v2 } = await serve({ emptyDownloadLinks: 'detail' });
    const dsid = await newDataset(v2());
    expect(await v2().get(`datasets/${dsid}/download_links`)).toEqual({
      status: 200,
      body: { detail: `No files found for dataset ${dsid}` },
    });
  });

  it('streams a 48 MiB file up in 8 MiB chunks and down again, bytes and hashes intact', async () => {
    const { sim, v2, clock } = await serve();
    const dsid = await newDataset(v2());
    const data = bytesOf(48 * 1024 * 1024 + 5, 13);
    const init = await initiate(v2(), dsid, data, 'big.h5');
    const chunk = init.chunk_size_hint;
    for (let at = 0; at < data.byteLength; at += chunk) {
      const last = Math.min(data.byteLength, at + chunk) - 1;
      const res = await put(init.resumable_uri as string, data, at, last, data.byteLength);
      expect(res.status).toBe(last === data.byteLength - 1 ? 200 : 308);
    }
    const file = (
      await v2().send('POST', `datasets/${dsid}/upload/complete`, {
        upload_id: init.upload_id,
        sha256_hash: sha256(data),
      })
    ).body as Json;
    const path = sim.filePath(file.mfid as string) as string;
    expect(path.startsWith(tmpdir())).toBe(true);
    await v2().send('POST', `files/${file.mfid}/ingest?ingestion_class=ApiUploadIngestor`);
    clock.t += 1000;
    const { url } = (await v2().get(`files/${file.mfid}/download_link`)).body as { url: string };
    const res = await fetch(url);
    const hash = createHash('sha256');
    let size = 0;
    for await (const piece of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(piece);
      size += piece.byteLength;
    }
    expect(size).toBe(data.byteLength);
    expect(hash.digest('hex')).toBe(sha256(data));
  });

  it('addFile serves generated content of any size without storing it', async () => {
    const { sim, v2 } = await serve();
    const ds = datasetOf(sim, 'demo');
    const f = await sim.addFile(ds.uniqueId, { filename: 'huge.bin', size: 5 * 1024 * 1024 + 3 });
    expect(sim.filePath(f.mfid)).toBeUndefined();
    const { url } = (await v2().get(`files/${f.mfid}/download_link`)).body as { url: string };
    const tail = await fetch(url, { headers: { range: 'bytes=-10' } });
    expect(tail.status).toBe(206);
    const all = new Uint8Array(await (await fetch(url)).arrayBuffer());
    expect(sha256(all)).toBe(f.sha256);
    sameBytes(new Uint8Array(await tail.arrayBuffer()), all.subarray(all.byteLength - 10));
  });
});

describe('Crucible simulator: v1 files, ingestion and SciCat', () => {
  function form(name: string, data: Uint8Array<ArrayBuffer>): FormData {
    const f = new FormData();
    f.append('files', new Blob([data], { type: 'application/octet-stream' }), name);
    return f;
  }

  it('multipart upload → api-uploads/<basename> with server sha256 → ingest → download_links keyed <dsid>/<name>', async () => {
    const { sim, clock, v1 } = await serve();
    const dsid = (
      (
        await v1().send('POST', 'datasets', {
          dataset_name: 'v1',
          project_id: 'DEMO-0001',
          file_to_upload: 'api-uploads/alpha.bin',
        })
      ).body as Json
    ).unique_id as string;
    const data = bytesOf(70_000, 21);
    const up = await v1().call('POST', `datasets/${dsid}/upload`, form('alpha.bin', data));
    expect(up.status).toBe(200);
    const rec = (await up.json()) as Json;
    expect(rec).toMatchObject({
      filename: 'api-uploads/alpha.bin',
      size: 70_000,
      sha256_hash: sha256(data),
      file_id: expect.any(String),
    });
    expect(((await v1().get(`datasets/${dsid}/associated_files`)).body as Json[]).length).toBe(1);
    expect(await v1().get(`datasets/${dsid}/download_links`)).toEqual({ status: 200, body: {} });
    const req = (
      await v1().send(
        'POST',
        `datasets/${dsid}/ingest?ingestion_class=ApiUploadIngestor&file_to_upload=api-uploads/alpha.bin`,
      )
    ).body as Json;
    expect(req).toMatchObject({ status: 'requested', id: expect.any(Number) });
    clock.t += 200;
    expect(((await v1().get(`datasets/${dsid}/ingest/${req.id}`)).body as Json).status).toBe('started');
    clock.t += 1000;
    expect(((await v1().get(`datasets/${dsid}/ingest/${req.id}`)).body as Json).status).toBe('complete');
    const ds = (await v1().get(`datasets/${dsid}`)).body as Json;
    expect(ds).toMatchObject({ size: 70_000, sha256_hash_file_to_upload: sha256(data), data_format: 'bin' });
    const links = (await v1().get(`datasets/${dsid}/download_links`)).body as Record<string, string>;
    expect(Object.keys(links)).toEqual([`${dsid}/alpha.bin`]);
    const body = new Uint8Array(await (await fetch(links[`${dsid}/alpha.bin`] as string)).arrayBuffer());
    sameBytes(body, data);
    expect(sim.stats.writes['POST /datasets/{dsid}/upload']).toBe(1);
    expect(sim.stats.writes['POST /datasets/{dsid}/ingest']).toBe(1);
    expect((await v1().get(`datasets/${dsid}/ingest/99999`)).status).toBe(404);
  });

  it('the shared upload folder: a later upload of the same basename to another dataset clobbers the bytes', async () => {
    const { clock, v1 } = await serve();
    const a = ((await v1().send('POST', 'datasets', { project_id: 'DEMO-0001' })).body as Json)
      .unique_id as string;
    const b = ((await v1().send('POST', 'datasets', { project_id: 'DEMO-0001' })).body as Json)
      .unique_id as string;
    await v1().call('POST', `datasets/${a}/upload`, form('data.h5', bytesOf(500, 1)));
    const later = bytesOf(600, 2);
    await v1().call('POST', `datasets/${b}/upload`, form('/home/me/data.h5', later));
    await v1().send(
      'POST',
      `datasets/${a}/ingest?file_to_upload=api-uploads/data.h5&ingestion_class=ApiUploadIngestor`,
    );
    clock.t += 1000;
    const links = (await v1().get(`datasets/${a}/download_links`)).body as Record<string, string>;
    sameBytes(new Uint8Array(await (await fetch(links[`${a}/data.h5`] as string)).arrayBuffer()), later);
  });

  it('refuses parts over the direct-upload limit with 413, and malformed bodies with 422', async () => {
    const { sim, v1 } = await serve({ v1UploadLimit: 1000 });
    const dsid = ((await v1().send('POST', 'datasets', { project_id: 'DEMO-0001' })).body as Json)
      .unique_id as string;
    const big = await v1().call('POST', `datasets/${dsid}/upload`, form('big.bin', bytesOf(5000)));
    expect(big.status).toBe(413);
    expect(sim.stats.uploadsTooLarge).toBe(1);
    expect((await v1().call('POST', `datasets/${dsid}/upload`, form('ok.bin', bytesOf(1000)))).status).toBe(
      200,
    );
    expect((await v1().send('POST', `datasets/${dsid}/upload`, { not: 'multipart' })).status).toBe(422);
    expect((await v1().call('POST', `datasets/${dsid}/upload`, form('x.bin', bytesOf(10)))).status).toBe(200);
    expect(
      (await v1('outsider').call('POST', `datasets/${dsid}/upload`, form('x.bin', bytesOf(10)))).status,
    ).toBe(403);
  });

  it('a metadata-only associated file ingests to `file not found` (the bytes never arrived)', async () => {
    const { clock, v1 } = await serve();
    const dsid = ((await v1().send('POST', 'datasets', { project_id: 'DEMO-0001' })).body as Json)
      .unique_id as string;
    const rec = await v1().send('POST', `datasets/${dsid}/associated_files`, {
      filename: 'api-uploads/huge.h5',
      size: 2e8,
      sha256_hash: 'C'.repeat(64),
    });
    expect(rec.body).toMatchObject({ filename: 'api-uploads/huge.h5', sha256_hash: 'c'.repeat(64) });
    const req = (await v1().send('POST', `datasets/${dsid}/ingest?file_to_upload=api-uploads/huge.h5`))
      .body as Json;
    clock.t += 1000;
    expect(((await v1().get(`datasets/${dsid}/ingest/${req.id}`)).body as Json).status).toBe(
      'file not found',
    );
  });

  it('SciCat requests complete over time, can be forced to fail, admin-only PATCH, gone on v2', async () => {
    const { sim, clock, v1, v2 } = await serve();
    const ds = datasetOf(sim, 'demo');
    const r = (await v1().send('POST', `datasets/${ds.uniqueId}/scicat_update?overwrite_data=True`))
      .body as Json;
    expect(r).toMatchObject({ status: 'requested', overwrite_data: true });
    sim.setIngestionOutcome(ds.uniqueId, 'failed');
    const f = (await v1().send('POST', `datasets/${ds.uniqueId}/scicat_update`)).body as Json;
    clock.t += 1000;
    expect(((await v1().get(`datasets/${ds.uniqueId}/scicat_update/${r.id}`)).body as Json).status).toBe(
      'complete',
    );
    expect(((await v1().get(`datasets/${ds.uniqueId}/scicat_update/${f.id}`)).body as Json).status).toBe(
      'failed',
    );
    expect(
      (await v1().send('PATCH', `datasets/${ds.uniqueId}/scicat_update/${r.id}`, { id: r.id, status: 'x' }))
        .status,
    ).toBe(403);
    expect(
      (await v1('admin').send('PATCH', `datasets/${ds.uniqueId}/ingest/${r.id}`, { id: r.id, status: 'x' }))
        .status,
    ).toBe(404);
    expect((await v2().send('POST', `datasets/${ds.uniqueId}/scicat_update`)).status).toBe(404);
    expect(sim.requests.filter((x) => x.kind === 'scicat')).toHaveLength(2);
  });

  it('v1 and v2 see the same data: a v1 write is visible on v2', async () => {
    const { v1, v2 } = await serve();
    const dsid = (
      (await v1().send('POST', 'datasets', { dataset_name: 'shared', project_id: 'DEMO-0001' })).body as Json
    ).unique_id as string;
    await v1().send('POST', `datasets/${dsid}/keywords?keyword=shared-kw`);
    expect((await v2().get(`datasets/${dsid}`)).body).toMatchObject({ dataset_name: 'shared' });
    expect(((await v2().get(`datasets/${dsid}/keywords`)).body as Json[])[0]).toMatchObject({
      keyword: 'shared-kw',
    });
  });
});

describe('Crucible simulator: helpers', () => {
  it('reset() restores the seeded state with the same keys and zeroed counters', async () => {
    const { sim, v2 } = await serve();
    const key = sim.keyFor('demo');
    const count = sim.datasets.length;
    await newDataset(v2());
    expect(sim.datasets.length).toBe(count + 1);
    sim.reset();
    expect(sim.datasets.length).toBe(count);
    expect(sim.keyFor('demo')).toBe(key);
    expect(sim.stats.requests).toBe(0);
    expect((await v2().get('account')).status).toBe(200);
  });

  it('is deterministic per seed', () => {
    const a = createCrucibleSimulator({ seed: 9, datasets: 5 });
    const b = createCrucibleSimulator({ seed: 9, datasets: 5 });
    const c = createCrucibleSimulator({ seed: 10, datasets: 5 });
    expect(a.datasets.map((d) => d.uniqueId)).toEqual(b.datasets.map((d) => d.uniqueId));
    expect(a.keyFor('admin')).toBe(b.keyFor('admin'));
    expect(a.keyFor('admin')).not.toBe(c.keyFor('admin'));
    expect(() => a.keyFor('nobody')).toThrow(RangeError);
  });
});
