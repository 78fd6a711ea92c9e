import { describe, expect, it } from 'vitest';
import { type Api, type Json, newDataset, serve } from './crucible-test-helpers.js';

/** Graphs (§19.4), file deletion (§19.7) and project membership (§19.8) on the simulator. */

interface Graph {
  nodes: Array<{ id: string; name: string; entity_type: string }>;
  edges: Array<{ source: string; target: string }>;
  directed: boolean;
}

async function sampleIn(api: Api, name: string, project = 'DEMO-0001') {
  const res = await api.send('POST', 'samples', { sample_name: name, project_id: project });
  expect(res.status).toBeLessThan(300);
  return (res.body as Json).unique_id as string;
}

/** a → b → c (datasets), sample s ↔ b, sample p → s: one component of five. */
async function chain(api: Api) {
  const a = await newDataset(api, { dataset_name: 'a' });
  const b = await newDataset(api, { dataset_name: 'b' });
  const c = await newDataset(api, { dataset_name: 'c' });
  const s = await sampleIn(api, 's');
  const p = await sampleIn(api, 'p');
  for (const path of [
    `datasets/${a}/children/${b}`,
    `datasets/${b}/children/${c}`,
    `datasets/${b}/samples/${s}`,
    `samples/${p}/children/${s}`,
  ])
    expect((await api.send('POST', path)).status).toBeLessThan(300);
  return { a, b, c, s, p };
}

const ids = (g: Graph) => g.nodes.map((n) => n.id).sort();
const pairs = (g: Graph) => g.edges.map((e) => `${e.source}>${e.target}`).sort();

describe('Crucible simulator: graphs', () => {
  it('first degree by default, the whole component with recursive=true, parent → child edges', async () => {
    const { v2 } = await serve();
    const { a, b, c, s, p } = await chain(v2());
    const first = (await v2().get(`entity_graph_cte/${a}`)).body as Graph;
    expect(ids(first)).toEqual([a, b].sort());
    expect(pairs(first)).toEqual([`${a}>${b}`]);
    const mid = (await v2().get(`entity_graph_cte/${b}`)).body as Graph;
    expect(ids(mid)).toEqual([a, b, c, s].sort());
    const all = (await v2().get(`entity_graph_cte/${a}?recursive=true`)).body as Graph;
    expect(ids(all)).toEqual([a, b, c, s, p].sort());
    expect(pairs(all)).toEqual([`${a}>${b}`, `${b}>${c}`, `${s}>${b}`, `${p}>${s}`].sort());
    expect(all).toMatchObject({ directed: true, multigraph: false, graph: {} });
    expect(all.nodes.find((n) => n.id === s)).toMatchObject({ name: 's', entity_type: 'sample' });
    expect(all.nodes.find((n) => n.id === c)).toMatchObject({ name: 'c', entity_type: 'dataset' });
  });

  it('shows readable resources only, and 404 / 403 for an unknown or unreadable root', async () => {
    const { sim, v2 } = await serve();
    const { a } = await chain(v2());
    const secret = sim.datasets.find((d) => d.ownerOrcid === sim.user('outsider').orcid && !d.public);
    expect(secret).toBeDefined();
    const x = secret?.uniqueId as string;
    expect((await v2('admin').send('POST', `datasets/${a}/children/${x}`)).status).toBeLessThan(300);
    expect(ids((await v2('admin').get(`entity_graph_cte/${a}?recursive=true`)).body as Graph)).toContain(x);
    expect(ids((await v2().get(`entity_graph_cte/${a}?recursive=true`)).body as Graph)).not.toContain(x);
    expect((await v2().get(`entity_graph_cte/${x}`)).status).toBe(403);
    expect((await v2().get('entity_graph_cte/0tbg8f8eq1sbs000x1sdqdtpnm')).status).toBe(404);
  });

  it('project_graph: every dataset and sample of the project, for members only', async () => {
    const { sim, v2 } = await serve();
    const { a, b, c, s, p } = await chain(v2());
    const g = (await v2().get('project_graph/DEMO-0001')).body as Graph;
    const inProject = sim.datasets.filter((d) => d.projectId === 'DEMO-0001').length;
    expect(g.nodes.filter((n) => n.entity_type === 'dataset')).toHaveLength(inProject);
    expect(ids(g)).toEqual(expect.arrayContaining([a, b, c, s, p]));
    const known = new Set(ids(g));
    expect(g.edges.every((e) => known.has(e.source) && known.has(e.target))).toBe(true);
    expect(pairs(g)).toEqual(expect.arrayContaining([`${a}>${b}`, `${p}>${s}`]));
    expect((await v2('outsider').get('project_graph/DEMO-0001')).status).toBe(403);
    expect((await v2().get('project_graph/NOPE')).status).toBe(404);
  });
});

describe('Crucible simulator: files and membership', () => {
  it('a deleted file leaves the dataset listing and the sha256 search', async () => {
    const { sim, v2 } = await serve();
    const ds = sim.datasets.find(
      (d) => d.ownerOrcid === sim.user('demo').orcid && sim.filesOf(d.uniqueId).length > 0,
    );
    const f = sim.filesOf(ds?.uniqueId as string)[0];
    const found = (await v2().get(`files?sha256_hash=${f?.sha256?.toUpperCase()}`)).body as Json;
    expect((found.items as Json[]).map((x) => x.mfid)).toContain(f?.mfid);
    expect((await v2('outsider').send('DELETE', `files/${f?.mfid}`)).status).toBe(403);
    expect((await v2().send('DELETE', `files/${f?.mfid}`)).status).toBe(200);
    const listed = (await v2().get(`datasets/${ds?.uniqueId}/files`)).body as Json[];
    expect(listed.map((x) => x.mfid)).not.toContain(f?.mfid);
    expect(((await v2().get(`files?sha256_hash=${f?.sha256}`)).body as Json).items).toEqual([]);
    expect((await v2().send('DELETE', `files/${f?.mfid}`)).status).toBe(404);
  });

  it('adds and removes members by email and username through users/me', async () => {
    const { sim, v2 } = await serve();
    const members = async () =>
      (((await v2().get('projects/DEMO-0001/users')).body as Json).items as Json[]).map((u) => u.username);
    const added = await v2().send('POST', 'projects/DEMO-0001/users/me?email=outsider%40example.org');
    expect((added.body as Json[]).map((u) => u.username)).toEqual(['outsider']);
    expect((await v2().send('DELETE', 'projects/DEMO-0001/users/me?username=outsider')).status).toBe(200);
    expect(await members()).toEqual([]);
    await v2().send('POST', `projects/DEMO-0001/users/${sim.user('admin').orcid}`);
    expect(await members()).toEqual(['admin']);
    expect((await v2().send('POST', 'projects/DEMO-0001/users/me?username=nobody')).status).toBe(404);
  });

  it('join requests: pending, listed newest first to the lead, approved once (409 after), member added', async () => {
    const { sim, v2 } = await serve();
    const first = await v2('outsider').send('POST', 'access_groups/DEMO-0001/join', { reason: 'collab' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: 'pending', group_name: 'DEMO-0001', reason: 'collab' });
    expect((await v2('outsider').send('POST', 'access_groups/DEMO-0001/join', { reason: null })).status).toBe(
      409,
    );
    expect((await v2('outsider').send('POST', 'access_groups/NOPE/join', {})).status).toBe(404);
    const second = await v2('admin').send('POST', 'access_groups/MFP08540/join', {});
    expect(second.status).toBe(201);
    expect((await v2('outsider').get('join_requests?group_name=DEMO-0001')).status).toBe(403);
    const listed = (await v2().get('join_requests?group_name=DEMO-0001&status=pending')).body as Json;
    expect((listed.items as Json[]).map((r) => r.requester_id)).toEqual([sim.user('outsider').orcid]);
    const all = (await v2('admin').get('join_requests')).body as Json;
    expect((all.items as Json[]).map((r) => r.group_name)).toEqual(['MFP08540', 'DEMO-0001']);
    const id = (first.body as Json).id;
    const ok = await v2().send('PATCH', `join_requests/${id}`, {
      status: 'approved',
      reviewer_notes: 'welcome',
    });
    expect(ok.body).toMatchObject({
      status: 'approved',
      reviewer_notes: 'welcome',
      reviewer_id: sim.user('demo').orcid,
    });
    expect((await v2('outsider').get('projects/DEMO-0001')).status).toBe(200);
    expect((await v2('outsider').get('project_graph/DEMO-0001')).status).toBe(200);
    expect((await v2().send('PATCH', `join_requests/${id}`, { status: 'rejected' })).status).toBe(409);
    expect((await v2('outsider').send('POST', 'access_groups/DEMO-0001/join', {})).status).toBe(409);
    sim.reset();
    expect(((await v2('admin').get('join_requests')).body as Json).items).toEqual([]);
  });
});
