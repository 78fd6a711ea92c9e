import { describe, expect, it } from 'vitest';
import { datasetOf, type Json, newDataset, serve } from './crucible-test-helpers.js';

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
    const { sim, v1, v2 } = await serve({ datasets: 20_000 });
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
    // Quick by construction, not by a stopwatch: one request per page, 21 in all.
    expect(sim.stats.routes['GET /datasets']).toBe(21);
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
