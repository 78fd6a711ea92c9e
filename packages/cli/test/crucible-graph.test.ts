import path from 'node:path';
import { PassThrough } from 'node:stream';
import {
  type CrucibleSimulator,
  createCrucibleSimulator,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../src/index.js';
import { runCli, tempConfigDir } from './helpers.js';

/** `sciport crucible tree | files | projects members …` end to end, against the simulator over real sockets. */

let sim: CrucibleSimulator;
let server: TestServer;
let root: string;
let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  sim = createCrucibleSimulator({ seed: 9, datasets: 30 });
  server = await startTestServer({ handlers: sim.handlers });
  ({ root, dir, cleanup } = await tempConfigDir());
});

afterEach(async () => {
  await server.close();
  await sim.dispose();
  await cleanup();
});

function env(user = 'demo'): Record<string, string> {
  return {
    SCIPORT_CONFIG_DIR: dir,
    HOME: root,
    XDG_CACHE_HOME: path.join(root, 'cache'),
    CRUCIBLE_API_URL: `${server.url}/api/v2`,
    CRUCIBLE_API_KEY: sim.keyFor(user),
  };
}

function crucible(args: string[], user = 'demo', input?: string) {
  return runCli(['crucible', ...args], { env: env(user), ...(input !== undefined ? { input } : {}) });
}

async function api(method: string, p: string, body?: unknown, user = 'demo') {
  const res = await fetch(`${server.url}/api/v2/${p}`, {
    method,
    headers: { authorization: `Bearer ${sim.keyFor(user)}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  expect(res.status).toBeLessThan(300);
  return (await res.json()) as Record<string, unknown>;
}

/** a → b → c, sample s with b, sample p → s; `a`'s name carries an escape sequence. */
async function chain() {
  const ds = async (name: string) =>
    (await api('POST', 'datasets', { dataset_name: name, project_id: 'DEMO-0001' })).unique_id as string;
  const a = await ds('a\u001b[2Jwiped');
  const b = await ds('b');
  const c = await ds('c');
  const sample = async (name: string) =>
    (await api('POST', 'samples', { sample_name: name, project_id: 'DEMO-0001' })).unique_id as string;
  const s = await sample('s');
  const p = await sample('p');
  await api('POST', `datasets/${a}/children/${b}`);
  await api('POST', `datasets/${b}/children/${c}`);
  await api('POST', `datasets/${b}/samples/${s}`);
  await api('POST', `samples/${p}/children/${s}`);
  return { a, b, c, s, p };
}

// Many CLI runs a test: a generous budget on a loaded machine.
describe('sciport crucible tree', { timeout: 60_000 }, () => {
  it('draws the component as an indented tree, names escaped', async () => {
    const { a, b, c, s } = await chain();
    const r = await crucible(['tree', b]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`a\\x1b[2Jwiped  [dataset ${a}]`);
    expect(lines[1]).toBe(`└── b  [dataset ${b}] *`);
    expect(lines).toContain(`    ├── c  [dataset ${c}]`);
    expect(lines).toContain(`    └── ← s  [sample ${s}]`);
    expect(lines.at(-1)).toMatch(/└── s {2}\[sample .*\] \(shown above\)$/);
    expect(r.stdout).not.toContain('\u001b');
  });

  it('--json: root, every node and edge as given, edges as stored; --depth cuts around the id', async () => {
    const { a, b, c, s, p } = await chain();
    const r = await crucible(['tree', a, '--json']);
    expect(r.code).toBe(0);
    const all = JSON.parse(r.stdout);
    expect(all.root).toBe(a);
    expect(all.nodes.map((n: { id: string }) => n.id).sort()).toEqual([a, b, c, s, p].sort());
    expect(all.nodes.find((n: { id: string }) => n.id === s)).toEqual({ id: s, name: 's', type: 'sample' });
    expect(all.edges).toEqual(
      expect.arrayContaining([
        { source: a, target: b },
        { source: s, target: b },
        { source: p, target: s },
      ]),
    );
    expect(all.edges).toHaveLength(4);
    const near = JSON.parse((await crucible(['tree', a, '--json', '--depth', '1'])).stdout);
    expect(near.nodes.map((n: { id: string }) => n.id).sort()).toEqual([a, b].sort());
    expect(near.edges).toEqual([{ source: a, target: b }]);
    const two = JSON.parse((await crucible(['tree', c, '--json', '--depth', '2'])).stdout);
    expect(two.nodes.map((n: { id: string }) => n.id).sort()).toEqual([a, b, c, s].sort());
    const bad = await crucible(['tree', a, '--depth', 'two']);
    expect(bad.code).toBe(2);
  });

  it('--project draws the project; unknown ids exit 4; a stranger’s project is refused', async () => {
    const { a, p } = await chain();
    const r = await crucible(['tree', 'DEMO-0001', '--project', '--json']);
    expect(r.code).toBe(0);
    const g = JSON.parse(r.stdout);
    expect(g.root).toBe('DEMO-0001');
    expect(g.nodes.length).toBe(
      sim.datasets.filter((d) => d.projectId === 'DEMO-0001').length +
        sim.samples.filter((x) => x.projectId === 'DEMO-0001').length,
    );
    expect(g.nodes.map((n: { id: string }) => n.id)).toEqual(expect.arrayContaining([a, p]));
    const text = await crucible(['tree', 'DEMO-0001', '--project']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`└── b  [dataset`);
    const around = JSON.parse((await crucible(['tree', a, '--project', '--json', '--depth', '1'])).stdout);
    expect(around.nodes).toHaveLength(2);
    expect((await crucible(['tree', '0tbg8f8eq1sbs000x1sdqdtpnm'])).code).toBe(4);
    expect((await crucible(['tree', 'NOPE-PROJECT', '--project'])).code).toBe(4);
    expect((await crucible(['tree', 'DEMO-0001', '--project'], 'outsider')).code).toBe(3);
  });
});

// Many CLI runs a test: a generous budget on a loaded machine.
describe('sciport crucible files', { timeout: 60_000 }, () => {
  const demoFile = () => {
    const ds = sim.datasets.find(
      (d) => d.ownerOrcid === sim.user('demo').orcid && sim.filesOf(d.uniqueId).length > 1,
    );
    if (!ds) throw new Error('no dataset with two files');
    return { ds: ds.uniqueId, files: sim.filesOf(ds.uniqueId) };
  };

  it('find --sha256: a table of holders, NDJSON with --json; bad hex is a usage error', async () => {
    const { ds, files } = demoFile();
    const hex = files[0]?.sha256 as string;
    const t = await crucible(['files', 'find', '--sha256', hex.toUpperCase()]);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^DATASET\s+FILE\s+SIZE\s+NAME/);
    expect(t.stdout).toContain(ds);
    const j = await crucible(['files', 'find', '--sha256', hex, '--json']);
    const lines = j.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((f) => f.dataset_mfid)).toContain(ds);
    expect(lines.every((f) => f.sha256_hash === hex)).toBe(true);
    const bad = await crucible(['files', 'find', '--sha256', 'xyz']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/64 hexadecimal/);
  });

  it('delete: refused without --yes off a terminal; by name with --yes; unknown names exit 4', async () => {
    const { ds, files } = demoFile();
    const [first, second] = files;
    const refused = await crucible(['files', 'delete', ds, first?.mfid as string]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--yes/);
    expect(sim.filesOf(ds)).toHaveLength(files.length);
    const r = await crucible(['files', 'delete', ds, first?.mfid as string, '--yes', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ deleted: first?.mfid, dataset: ds });
    expect(sim.filesOf(ds).map((f) => f.mfid)).not.toContain(first?.mfid);
    const listed = await crucible(['datasets', 'files', ds, '--json']);
    if (listed.code === 0) expect(listed.stdout).not.toContain(first?.mfid as string);
    const name = String(second?.storagePath).split('/').pop() as string;
    const missing = await crucible(['files', 'delete', ds, 'no-such-file.txt', '--yes']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain(name);
    const byName = await crucible(['files', 'delete', ds, name, '--yes']);
    expect(byName.code).toBe(0);
    expect(sim.filesOf(ds).map((f) => f.mfid)).not.toContain(second?.mfid);
  });

  it('delete on a terminal asks first: "n" keeps the file, "y" deletes it', async () => {
    const { ds, files } = demoFile();
    const target = files[0]?.mfid as string;
    const run = async (answer: string) => {
      const stdin = Object.assign(new PassThrough(), { isTTY: true });
      let out = '';
      let err = '';
      const stdout = {
        write: (t: string) => {
          out += t;
          return true;
        },
        isTTY: true,
      };
      const stderr = {
        write: (t: string) => {
          err += t;
          if (t.includes('[y/N]')) stdin.end(`${answer}\n`);
          return true;
        },
        isTTY: true,
      };
      const code = await main(['crucible', 'files', 'delete', ds, target], {
        stdin,
        stdout,
        stderr,
        env: env(),
      });
      return { code, out, err };
    };
    const no = await run('n');
    expect(no.err).toMatch(/Delete .*\? \[y\/N\] Nothing deleted/);
    expect(no.code).toBe(1);
    expect(sim.filesOf(ds).map((f) => f.mfid)).toContain(target);
    const yes = await run('y');
    expect(yes.err).toContain('Deleted');
    expect(yes.code).toBe(0);
    expect(sim.filesOf(ds).map((f) => f.mfid)).not.toContain(target);
  });
});

// Many CLI runs a test: a generous budget on a loaded machine.
describe('sciport crucible projects members', { timeout: 60_000 }, () => {
  const usernames = async () =>
    (await crucible(['projects', 'members', 'list', 'DEMO-0001', '--json'])).stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).username)
      .sort();

  it('add by email, username and ORCID; remove; list as a table and NDJSON', async () => {
    expect(
      (await crucible(['projects', 'members', 'add', 'DEMO-0001', '--email', 'outsider@example.org'])).code,
    ).toBe(0);
    expect((await crucible(['projects', 'members', 'add', 'DEMO-0001', '--username', 'admin'])).code).toBe(0);
    expect(await usernames()).toEqual(['admin', 'outsider']);
    const table = await crucible(['projects', 'members', 'list', 'DEMO-0001']);
    expect(table.stdout).toMatch(/^ID\s+USERNAME\s+NAME\s+EMAIL/);
    expect(table.stdout).toContain('Otto Outsider');
    expect((await crucible(['projects', 'members', 'remove', 'DEMO-0001', '--username', 'admin'])).code).toBe(
      0,
    );
    expect(
      (await crucible(['projects', 'members', 'remove', 'DEMO-0001', sim.user('outsider').orcid])).code,
    ).toBe(0);
    expect(await usernames()).toEqual([]);
    expect(
      (await crucible(['projects', 'members', 'add', 'DEMO-0001', sim.user('outsider').orcid])).code,
    ).toBe(0);
    expect(await usernames()).toEqual(['outsider']);
    const both = await crucible([
      'projects',
      'members',
      'add',
      'DEMO-0001',
      '--email',
      'a@b.c',
      '--username',
      'x',
    ]);
    expect(both.code).toBe(2);
    expect((await crucible(['projects', 'members', 'add', 'DEMO-0001', '--username', 'nobody'])).code).toBe(
      4,
    );
    expect(
      (await crucible(['projects', 'members', 'add', 'DEMO-0001', '--username', 'demo'], 'outsider')).code,
    ).toBe(3);
  });

  it('join, requests, approve once (a second answer is a clear conflict), reject', async () => {
    const joined = await crucible(
      ['projects', 'join', 'DEMO-0001', '--reason', 'collab', '--json'],
      'outsider',
    );
    expect(joined.code).toBe(0);
    const request = JSON.parse(joined.stdout);
    expect(request).toMatchObject({ status: 'pending', group_name: 'DEMO-0001', reason: 'collab' });
    await crucible(['projects', 'join', 'DEMO-0001'], 'admin');
    const listed = await crucible([
      'projects',
      'members',
      'requests',
      'DEMO-0001',
      '--status',
      'pending',
      '--json',
    ]);
    const ids = listed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).requester_id);
    expect(ids).toEqual([sim.user('admin').orcid, sim.user('outsider').orcid]);
    const table = await crucible(['projects', 'members', 'requests', 'DEMO-0001']);
    expect(table.stdout).toMatch(/^ID\s+REQUESTER\s+STATUS\s+REQUESTED \(UTC\)\s+REASON/);
    expect((await crucible(['projects', 'members', 'requests', 'DEMO-0001', '--status', 'maybe'])).code).toBe(
      2,
    );
    const ok = await crucible([
      'projects',
      'members',
      'approve',
      String(request.id),
      '--notes',
      'welcome',
      '--json',
    ]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ status: 'approved', reviewer_notes: 'welcome' });
    expect(await usernames()).toEqual(['outsider']);
    const again = await crucible(['projects', 'members', 'reject', String(request.id)]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already answered/);
    const other = JSON.parse(
      (await crucible(['projects', 'members', 'requests', 'DEMO-0001', '--status', 'pending', '--json']))
        .stdout,
    );
    const rejected = await crucible(['projects', 'members', 'reject', String(other.id)]);
    expect(rejected.code).toBe(0);
    expect(rejected.stderr).toMatch(/rejected/);
    expect((await crucible(['projects', 'members', 'requests', 'DEMO-0001'], 'outsider')).code).toBe(3);
  });
});
