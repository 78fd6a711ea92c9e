import {
  ConflictError,
  NotFoundError,
  PermissionDeniedError,
  ResponseValidationError,
  UsageError,
} from '@sciport/core';
import {
  type CrucibleSimulator,
  createCrucibleSimulator,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { fixedAnswer, htmlPage } from '@sciport/testkit/hostile';
import { afterEach, describe, expect, it } from 'vitest';
import { CrucibleClient, type CrucibleGraph, cutGraph, renderTree, treeLines } from '../src/index.js';

/** Graphs (§19.4), files by content and deletion (§19.7), project membership (§19.8), over the simulator. */

const servers: TestServer[] = [];
const sims: CrucibleSimulator[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(sims.splice(0).map((s) => s.dispose()));
});

async function setup(raw: Parameters<typeof startTestServer>[0]['raw'] = []) {
  const sim = createCrucibleSimulator({ seed: 4, datasets: 30 });
  sims.push(sim);
  const server = await startTestServer({ handlers: sim.handlers, raw });
  servers.push(server);
  const as = (user: string) =>
    new CrucibleClient({ baseUrl: `${server.url}/api/v2`, apiKey: sim.keyFor(user), maxRetries: 0 });
  return { sim, server, client: as('demo'), as };
}

/** a → b → c, sample s associated with b, sample p → s. */
async function chain(client: CrucibleClient) {
  const ds = async (name: string) =>
    (await client.datasets.create({ datasetName: name, projectId: 'DEMO-0001' })).uniqueId as string;
  const a = await ds('a');
  const b = await ds('b');
  const c = await ds('c');
  const s = (await client.samples.create({ sampleName: 's', projectId: 'DEMO-0001' })).uniqueId as string;
  const p = (await client.samples.create({ sampleName: 'p', projectId: 'DEMO-0001' })).uniqueId as string;
  await client.datasets.linkChild(a, b);
  await client.datasets.linkChild(b, c);
  await client.datasets.linkSample(b, s);
  await client.samples.linkChild(p, s);
  return { a, b, c, s, p };
}

const graphOf = (edges: Array<[string, string]>, types: Record<string, string> = {}): CrucibleGraph => {
  const ids = [...new Set(edges.flat())];
  return {
    nodes: ids.map((id) => ({
      id,
      name: id,
      type: types[id] ?? 'dataset',
      projectId: undefined,
      raw: { id },
    })),
    edges: edges.map(([source, target]) => ({ source, target })),
    directed: true,
    multigraph: false,
  };
};

describe('graphs', () => {
  it('resources.graph: first degree by default, the component when recursive, typed nodes', async () => {
    const { client } = await setup();
    const { a, b, c, s, p } = await chain(client);
    const first = await client.resources.graph(a);
    expect(first.nodes.map((n) => n.id).sort()).toEqual([a, b].sort());
    const all = await client.resources.graph(a, { recursive: true });
    expect(all.nodes.map((n) => n.id).sort()).toEqual([a, b, c, s, p].sort());
    expect(all.nodes.find((n) => n.id === s)).toMatchObject({
      name: 's',
      type: 'sample',
      projectId: 'DEMO-0001',
    });
    expect(all.edges).toContainEqual({ source: a, target: b });
    const near = cutGraph(all, a, 1);
    expect(near.nodes.map((n) => n.id).sort()).toEqual([a, b].sort());
    expect(near.edges).toEqual([{ source: a, target: b }]);
    expect(
      cutGraph(all, c, 2)
        .nodes.map((n) => n.id)
        .sort(),
    ).toEqual([a, b, c, s].sort());
    await expect(client.resources.graph('0tbg8f8eq1sbs000x1sdqdtpnm')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('renderTree: parent → child indented, associations both ways shown as stored, repeats marked', async () => {
    const { client } = await setup();
    const { b } = await chain(client);
    const text = renderTree(await client.resources.graph(b, { recursive: true }), {
      root: b,
      label: (n) => n.name ?? n.id,
    });
    expect(text).toBe(
      ['a', '└── b *', '    ├── c', '    └── ← s', 'p', '└── s (shown above)', ''].join('\n'),
    );
  });

  it('projects.graph: the project’s datasets and samples, members only', async () => {
    const { client, as, sim } = await setup();
    const { a, p } = await chain(client);
    const g = await client.projects.graph('DEMO-0001');
    expect(g.nodes.filter((n) => n.type === 'dataset')).toHaveLength(
      sim.datasets.filter((d) => d.projectId === 'DEMO-0001').length,
    );
    expect(g.nodes.map((n) => n.id)).toEqual(expect.arrayContaining([a, p]));
    await expect(as('outsider').projects.graph('DEMO-0001')).rejects.toBeInstanceOf(PermissionDeniedError);
  });

  it('accepts `links`, older name keys, numeric ids and extra keys', async () => {
    const body = JSON.stringify({
      directed: true,
      multigraph: false,
      graph: { note: 'x' },
      nodes: [
        { id: 'A', sample_name: 'flake', entity_type: 'sample', extra: [1] },
        { id: 7, dataset_name: 'scan', entity_type: 'dataset' },
        { id: 'Z' },
      ],
      links: [{ source: 'A', target: 7, key: 0 }],
    });
    const { client } = await setup([
      fixedAnswer(
        { path: /entity_graph_cte/ },
        { status: 200, headers: { 'content-type': 'application/json' }, body },
      ),
    ]);
    const g = await client.resources.graph('A');
    expect(g.nodes.map((n) => [n.id, n.name, n.type])).toEqual([
      ['A', 'flake', 'sample'],
      ['7', 'scan', 'dataset'],
      ['Z', undefined, undefined],
    ]);
    expect(g.edges).toEqual([{ source: 'A', target: '7' }]);
    expect(g.nodes[0]?.raw).toMatchObject({ extra: [1] });
  });

  it('a login page instead of a graph is a ResponseValidationError, not a crash', async () => {
    const { client } = await setup([htmlPage({ path: /project_graph/ })]);
    await expect(client.projects.graph('DEMO-0001')).rejects.toBeInstanceOf(ResponseValidationError);
  });
});

describe('tree walks (pure)', () => {
  it('a self-loop and an edge to a node the server left out end cleanly', () => {
    const g = graphOf([['x', 'x']]);
    g.edges.push({ source: 'x', target: 'ghost' });
    expect(renderTree(g, { root: 'x', label: (n) => n.id })).toBe('x *\n└── x * (shown above)\n');
    expect(cutGraph(g, 'x', 1).edges).toEqual([{ source: 'x', target: 'x' }]);
  });

  it('ends on cycles and shared children, every node shown once in full', () => {
    const cyc = treeLines(
      graphOf([
        ['x', 'y'],
        ['y', 'x'],
      ]),
      'x',
    );
    expect(cyc.map((l) => `${l.node.id}${l.repeat ? '!' : ''}`)).toEqual(['x', 'y', 'x!']);
    const shared = renderTree(
      graphOf([
        ['a', 'c'],
        ['b', 'c'],
        ['c', 'd'],
      ]),
      { label: (n) => n.id },
    );
    expect(shared).toBe(['a', '└── c', '    └── d', 'b', '└── c (shown above)', ''].join('\n'));
  });

  it('walks a chain of 20,000 without overflowing, and cuts by depth ignoring direction', () => {
    const edges: Array<[string, string]> = [];
    for (let i = 0; i < 20_000; i++) edges.push([`n${i}`, `n${i + 1}`]);
    const g = graphOf(edges);
    expect(treeLines(g, 'n0')).toHaveLength(20_001);
    const cut = cutGraph(g, 'n100', 2);
    expect(cut.nodes.map((n) => n.id)).toEqual(['n98', 'n99', 'n100', 'n101', 'n102']);
    expect(cut.edges).toHaveLength(4);
    expect(cutGraph(g, 'n5', 0).nodes.map((n) => n.id)).toEqual(['n5']);
    expect(cutGraph(g, 'missing', 3).nodes).toEqual([]);
    expect(() => cutGraph(g, 'n0', -1)).toThrow(RangeError);
  });
});

describe('files by content and deletion', () => {
  it('find: any case of hex, lowercased on the wire; bad input is a UsageError before any request', async () => {
    const { client, sim, server } = await setup();
    const ds = sim.datasets.find(
      (d) => d.ownerOrcid === sim.user('demo').orcid && sim.filesOf(d.uniqueId).length > 0,
    );
    const file = sim.filesOf(ds?.uniqueId as string)[0];
    const hex = file?.sha256 as string;
    const found = await client.files.find({ sha256: hex.toUpperCase() }).toArray();
    expect(found.map((f) => [f.mfid, f.datasetMfid])).toContainEqual([file?.mfid, ds?.uniqueId]);
    expect(server.requests.at(-1)?.url).toContain(`sha256_hash=${hex}`);
    const before = server.requests.length;
    for (const bad of ['abc', `${hex}0`, 'g'.repeat(64), ''])
      expect(() => client.files.find({ sha256: bad })).toThrow(UsageError);
    expect(server.requests.length).toBe(before);
    await client.files.delete(file?.mfid as string);
    expect((await client.files.list(ds?.uniqueId as string).toArray()).map((f) => f.mfid)).not.toContain(
      file?.mfid,
    );
    expect(await client.files.find({ sha256: hex }).toArray()).toEqual([]);
    await expect(client.files.delete(file?.mfid as string)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('project members', () => {
  it('adds by email, username and ORCID, removes, and refuses an ambiguous reference', async () => {
    const { client, sim } = await setup();
    const names = async () =>
      (await client.projects.users('DEMO-0001').toArray()).map((u) => u.username).sort();
    expect(
      (await client.projects.addMember('DEMO-0001', { email: 'outsider@example.org' })).map(
        (u) => u.username,
      ),
    ).toEqual(['outsider']);
    await client.projects.addMember('DEMO-0001', { username: 'admin' });
    expect(await names()).toEqual(['admin', 'outsider']);
    await client.projects.removeMember('DEMO-0001', { orcid: sim.user('outsider').orcid });
    await client.projects.removeMember('DEMO-0001', { username: 'admin' });
    expect(await names()).toEqual([]);
    await client.projects.addMember('DEMO-0001', { orcid: sim.user('outsider').orcid });
    expect(await names()).toEqual(['outsider']);
    await expect(
      client.projects.addMember('DEMO-0001', { email: 'a@b.c', username: 'x' } as unknown as {
        email: string;
      }),
    ).rejects.toBeInstanceOf(UsageError);
    await expect(client.projects.addMember('DEMO-0001', { username: 'nobody' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('join requests: listed newest first, approved once (ConflictError after), the member added', async () => {
    const { client, as, sim } = await setup();
    const outsider = as('outsider');
    const admin = as('admin');
    const first = await outsider.projects.join('DEMO-0001', { reason: 'collaboration' });
    expect(first).toMatchObject({ status: 'pending', groupName: 'DEMO-0001', reason: 'collaboration' });
    await admin.projects.join('DEMO-0001');
    const pending = await client.projects
      .joinRequests({ groupName: 'DEMO-0001', status: 'pending' })
      .toArray();
    expect(pending.map((r) => r.requesterId)).toEqual([sim.user('admin').orcid, sim.user('outsider').orcid]);
    await expect(outsider.projects.joinRequests({ groupName: 'DEMO-0001' }).toArray()).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
    const answered = await client.projects.answerJoinRequest(first.id, 'approved', { notes: 'welcome' });
    expect(answered).toMatchObject({ status: 'approved', reviewerNotes: 'welcome' });
    expect((await outsider.projects.graph('DEMO-0001')).nodes.length).toBeGreaterThan(0);
    const again = client.projects.answerJoinRequest(first.id, 'rejected');
    await expect(again).rejects.toBeInstanceOf(ConflictError);
    await expect(again).rejects.toThrow(/already answered/);
    expect(
      await client.projects.joinRequests({ groupName: 'DEMO-0001', status: 'approved' }).toArray(),
    ).toHaveLength(1);
    expect(() => client.projects.joinRequests({ status: 'maybe' as 'pending' })).toThrow(UsageError);
  });
});
