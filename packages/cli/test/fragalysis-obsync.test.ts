import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  createFragalysisSimulator,
  type FragalysisSimulator,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempConfigDir } from './helpers.js';

/** `sciport fragalysis sync --observations` end to end: the built CLI as a child process against the simulator. */

const TITLE = 'Mpro';
const TAS = 'lb18145-1';
let sim: FragalysisSimulator;
let server: TestServer;
let root: string;
let dir: string;
let out: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  sim = createFragalysisSimulator({ seed: 9, buildMs: 0 });
  server = await startTestServer({ handlers: sim.handlers });
  ({ root, dir, cleanup } = await tempConfigDir());
  out = path.join(root, 'copies');
});

afterEach(async () => {
  await server.close();
  await cleanup();
});

function sync(extra: string[] = []) {
  return runCli(
    ['fragalysis', 'sync', `${TITLE}@${TAS}`, '--out', out, '--observations', '--json', ...extra],
    {
      env: {
        SCIPORT_CONFIG_DIR: dir,
        HOME: root,
        FRAGALYSIS_STACK: server.url,
        FRAGALYSIS_TOKEN: sim.tokenFor('demo'),
      },
    },
  );
}

interface Group {
  count: number;
  codes: string[];
}
interface Line {
  status: string;
  folder: string;
  markers: string;
  new: Group;
  changed: Group;
  unchanged: Group;
  removed: Group;
  pruned: Group;
}
const line = (stdout: string) => JSON.parse(stdout.trim()) as Line;
const codes = () =>
  sim.targets.find((t) => t.title === TITLE && t.tas === TAS)?.observations.map((o) => o.code) ?? [];
const folder = () => path.join(out, `${TITLE}_${TAS}`);
const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

describe('sciport fragalysis sync --observations', () => {
  it('syncs the whole target first, then downloads only the two changed observations', async () => {
    // A temporary folder a killed run left behind is cleared.
    await mkdir(path.join(out, `.${TITLE}_${TAS}.obsync-old`), { recursive: true });
    const first = await sync();
    expect(first.code).toBe(0);
    const one = line(first.stdout);
    expect(one).toMatchObject({ status: 'downloaded', folder: folder(), changed: { count: 0 } });
    expect(one.new.count).toBe(codes().length);
    expect(one.markers).toBe(path.join(out, `${TITLE}_${TAS}.sciport-observations.json`));
    expect(await exists(path.join(out, `.${TITLE}_${TAS}.obsync-old`))).toBe(false);

    const changed = [...sim.reprocessObservations(TITLE, TAS, 2)].sort();
    const before = sim.builds().length;
    const second = await sync();
    expect(second.code).toBe(0);
    const two = line(second.stdout);
    expect(two).toMatchObject({
      status: 'downloaded',
      new: { count: 0 },
      changed: { count: 2, codes: changed },
    });
    expect(two.unchanged.count).toBe(codes().length - 2);
    expect(
      sim
        .builds()
        .slice(before)
        .map((b) => [...b.codes].sort()),
    ).toEqual([changed]);
    const pdb = await readFile(
      path.join(folder(), 'aligned_files', changed[0] as string, `${changed[0]}.pdb`),
      'utf8',
    );
    expect(pdb).toContain('REMARK   VERSION 2');

    const third = await sync();
    expect(line(third.stdout)).toMatchObject({
      status: 'up-to-date',
      new: { count: 0 },
      changed: { count: 0 },
    });
    expect(sim.builds().length).toBe(before + 1);

    // A table-less summary on stderr without --json.
    const human = await runCli(['fragalysis', 'sync', `${TITLE}@${TAS}`, '--out', out, '--observations'], {
      env: {
        SCIPORT_CONFIG_DIR: dir,
        HOME: root,
        FRAGALYSIS_STACK: server.url,
        FRAGALYSIS_TOKEN: sim.tokenFor('demo'),
      },
    });
    expect(human.code).toBe(0);
    expect(human.stderr).toContain(`0 new, 0 changed, ${codes().length} unchanged, 0 removed`);
  });

  it('reports removed observations and deletes them only with --prune', async () => {
    expect((await sync()).code).toBe(0);
    const gone = codes()[1] as string;
    sim.removeObservations(TITLE, TAS, [gone]);
    const kept = await sync();
    expect(kept.code).toBe(0);
    expect(line(kept.stdout)).toMatchObject({ removed: { count: 1, codes: [gone] }, pruned: { count: 0 } });
    expect(await exists(path.join(folder(), 'aligned_files', gone))).toBe(true);
    const pruned = await sync(['--prune']);
    expect(pruned.code).toBe(0);
    expect(line(pruned.stdout)).toMatchObject({ removed: { codes: [gone] }, pruned: { codes: [gone] } });
    expect(await exists(path.join(folder(), 'aligned_files', gone))).toBe(false);
  });

  it('resumes after a failed run: the same changed observations are fetched next time', async () => {
    expect((await sync()).code).toBe(0);
    const changed = [...sim.reprocessObservations(TITLE, TAS, 2)].sort();
    const markers = path.join(out, `${TITLE}_${TAS}.sciport-observations.json`);
    const kept = await readFile(markers, 'utf8');
    const before = sim.builds().length;
    server.setFaults({
      match: { method: 'GET', path: '/api/download_structures/' },
      failRate: 1,
      failStatus: 500,
    });
    const failed = await sync();
    expect(failed.code).toBe(1);
    // Nothing merged, nothing marked, no temporary folder left.
    expect(await readFile(markers, 'utf8')).toBe(kept);
    expect((await readdir(out)).filter((n) => n.includes('.obsync-'))).toEqual([]);
    server.setFaults(undefined);
    const resumed = await sync();
    expect(resumed.code).toBe(0);
    expect(line(resumed.stdout).changed.codes).toEqual(changed);
    // One build asked for exactly those two codes; the resumed run was handed it from the server's cache.
    expect(
      sim
        .builds()
        .slice(before)
        .map((b) => [...b.codes].sort()),
    ).toEqual([changed]);
  });

  it('refuses --prune without --observations, and --proteins with it (exit 2, nothing sent)', async () => {
    const env = { SCIPORT_CONFIG_DIR: dir, HOME: root, FRAGALYSIS_STACK: server.url };
    const prune = await runCli(['fragalysis', 'sync', `${TITLE}@${TAS}`, '--out', out, '--prune'], { env });
    expect(prune.code).toBe(2);
    expect(prune.stderr).toContain('--prune needs --observations');
    const proteins = await sync(['--proteins', 'A0001a']);
    expect(proteins.code).toBe(2);
    expect(server.requests).toHaveLength(0);
    await rm(out, { recursive: true, force: true });
  });
});
