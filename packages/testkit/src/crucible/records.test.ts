import { describe, expect, it } from 'vitest';
import { type Json, newDataset, serve } from './crucible-test-helpers.js';

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
