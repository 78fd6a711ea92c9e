import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import {
  createFragalysisSimulator,
  type FragalysisSimulator,
  type FragalysisSimulatorOptions,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, tempConfigDir } from './helpers.js';

/** `sciport fragalysis csets …` end to end: the built CLI against the simulated compound sets (issue 14). */

let sim: FragalysisSimulator;
let server: TestServer | undefined;
let cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  await server?.close();
  server = undefined;
  for (const c of cleanups) await c();
  cleanups = [];
});

async function setup(options: FragalysisSimulatorOptions = {}) {
  sim = createFragalysisSimulator({ seed: 8, buildMs: 30, ...options });
  server = await startTestServer({ handlers: sim.handlers });
  const { root, dir, cleanup } = await tempConfigDir();
  const work = await mkdtemp(path.join(os.tmpdir(), 'sciport-csets-'));
  cleanups.push(cleanup, () => rm(work, { recursive: true, force: true }));
  const url = server.url;
  const cli = (args: string[], env: Record<string, string | undefined> = {}) =>
    runCli(['fragalysis', 'csets', ...args], {
      env: {
        SCIPORT_CONFIG_DIR: dir,
        HOME: root,
        FRAGALYSIS_STACK: url,
        FRAGALYSIS_TOKEN: sim.tokenFor('demo'),
        ...env,
      },
    });
  return { cli, work };
}

function record(name: string, props: Record<string, string>): string {
  const items = Object.entries(props)
    .map(([k, v]) => `> <${k}>\n${v}\n\n`)
    .join('');
  return (
    `${name}\n     RDKit          3D\n\n  1  0  0  0  0  0  0  0  0  0999 V2000\n` +
    `    1.0000    2.0000    3.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\nM  END\n${items}$$$$\n`
  );
}

const HEADER = {
  submitter_name: 'A',
  submitter_email: 'a@example.org',
  submitter_institution: 'Lab',
  generation_date: '2026-01-01',
  method: 'dock2',
};

/** A stored (uncompressed) zip of the given names. */
function zipOf(names: string[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const name of names) {
    const data = Buffer.from('ATOM\n');
    const n = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(n.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, n, data);
    centrals.push(central, n);
    offset += 30 + n.length + data.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(names.length, 8);
  end.writeUInt16LE(names.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

describe('sciport fragalysis csets list', () => {
  it('lists sets as a table and as JSON lines, with an exact --name and a --target', async () => {
    const { cli } = await setup();
    const table = await cli(['list']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+TARGET\s+METHOD\s+UPLOADED/);
    expect(table.stderr).toContain('4 compound sets');
    const exact = await cli(['list', '--json', '--name', 'Mpro-set1']);
    expect(
      exact.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).name),
    ).toEqual(['Mpro-set1']);
    const byTarget = await cli(['list', '--json', '--target', 'Mpro@sw30864-12']);
    expect(
      byTarget.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).name),
    ).toEqual(['Mpro-set1-sw30864-12']);
  });

  it('filters by exact name itself when an old server ignores the filter', async () => {
    const { cli } = await setup({ oldServer: true });
    const r = await cli(['list', '--json', '--name', 'NSP3-set1']);
    expect(r.code).toBe(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).name),
    ).toEqual(['NSP3-set1']);
  });
});

describe('sciport fragalysis csets download', () => {
  it('saves an SDF set and its scores, and unpacks a zip set with its _MISSING placeholders', async () => {
    const { cli, work } = await setup();
    const sdf = await cli(['download', 'NSP3-set1', '--out', work]);
    expect(sdf.code).toBe(0);
    const text = await readFile(path.join(work, 'NSP3-set1.sdf'), 'utf8');
    expect(text.startsWith('ver_1.2\n')).toBe(true);
    expect(text.match(/^\$\$\$\$$/gm)).toHaveLength(4);
    const csv = (await readFile(path.join(work, 'NSP3-set1.scores.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('name,smiles,docking_score,comment');
    expect(csv[1]).toMatch(/^NSP3-m1,[^,]+,-5,"best, ""by far"""$/);
    expect(csv).toHaveLength(4);

    const zip = await cli(['download', 'Mpro-set1', '--out', work, '--json']);
    expect(zip.code).toBe(0);
    const result = JSON.parse(zip.stdout);
    expect(result).toMatchObject({ format: 'zip', missing: ['A0002a.pdb_MISSING'], molecules: 3 });
    expect((await readdir(path.join(work, 'Mpro-set1'))).sort()).toEqual([
      'A0001a.pdb',
      'A0002a.pdb_MISSING',
      'A0003b.pdb',
      'Mpro-set1.sdf',
    ]);
    // Nothing temporary is left beside.
    expect((await readdir(work)).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('exits 4 for a set the server does not know, and 3 for one of a proposal without access', async () => {
    const { cli, work } = await setup();
    const unknown = await cli(['download', 'nope', '--out', work]);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toMatch(/ComputedSet 'nope' not found/);
    const hidden = await cli(['download', 'NSP3-set1', '--out', work], { FRAGALYSIS_TOKEN: undefined });
    expect(hidden.code).toBe(3);
    expect(await readdir(work)).toEqual([]);
  });
});

describe('sciport fragalysis csets upload', () => {
  it('validates only and prints the problems per molecule, escaped, exiting 1', async () => {
    const { cli, work } = await setup();
    const file = path.join(work, 'bad.sdf');
    await writeFile(
      file,
      record('ver_1.2', { ...HEADER, submitter_email: '' }) +
        record('ok-1', { ref_mols: 'A0001a', 'original SMILES': 'CC' }) +
        record('evil\u001b[31mred', { ref_mols: 'A0001a,Z9999z', 'original SMILES': 'CC' }),
    );
    const r = await cli(['upload', file, '--target', 'NSP3', '--tas', 'lb00000-1', '--validate-only']);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^MOLECULE\s+FIELD\s+WARNING$/);
    expect(r.stdout).toMatch(/ver_1\.2\s+submitter_email\s+submitter_email field not found!/);
    expect(r.stdout).toContain('Z9999z is not a known observation of NSP3');
    expect(r.stdout + r.stderr).not.toContain('\u001b[31m');
    expect(r.stderr).toMatch(/did not validate: 3 problem/);

    const json = await cli([
      'upload',
      file,
      '--target',
      'NSP3',
      '--tas',
      'lb00000-1',
      '--validate-only',
      '--json',
    ]);
    const body = JSON.parse(json.stdout);
    expect(body).toMatchObject({ validated: false, task: { kind: 'validate' } });
    expect(body.issues).toContainEqual({
      molecule: 'evil\u001b[31mred',
      field: 'ref_mols',
      warning: 'Z9999z is not a known observation of NSP3',
    });
    expect(json.stdout).not.toContain('\u001b[31m');
  });

  it('uploads with --wait, prints the new set, which the list then shows', async () => {
    const { cli, work } = await setup();
    const file = path.join(work, 'good.sdf');
    const pdbs = path.join(work, 'pdbs.zip');
    await writeFile(
      file,
      record('ver_1.2', HEADER) +
        record('m-1', { ref_mols: 'A0001a', 'original SMILES': 'CCO', score: '1.5' }),
    );
    await writeFile(pdbs, zipOf(['A0001a.pdb']));
    const r = await cli([
      'upload',
      file,
      '--target',
      'NSP3',
      '--tas',
      'lb00000-1',
      '--pdb-zip',
      pdbs,
      '--wait',
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Uploaded: http:\/\/127\.0\.0\.1:\d+\/viewer\/compound_set\/NSP3-dock2/);
    const list = await cli(['list', '--json', '--name', 'NSP3-dock2']);
    expect(
      list.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).name),
    ).toEqual(['NSP3-dock2']);
  });

  it('gives up at the deadline of a task that never finishes, naming the task', async () => {
    const { cli, work } = await setup({ csetTasks: 'never' });
    const file = path.join(work, 'good.sdf');
    await writeFile(
      file,
      record('ver_1.2', HEADER) + record('m-1', { ref_mols: 'A0001a', 'original SMILES': 'C' }),
    );
    const started = Date.now();
    const r = await cli([
      'upload',
      file,
      '--target',
      'NSP3',
      '--tas',
      'lb00000-1',
      '--validate-only',
      '--max-wait',
      '2',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /compound-set validation task [0-9a-f-]{36} did not finish within \d+ s \(still PENDING/,
    );
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('refuses a file that is not an SDF and a PDB zip that escapes or is no zip, before sending anything', async () => {
    const { cli, work } = await setup();
    const good = path.join(work, 'good.sdf');
    await writeFile(
      good,
      record('ver_1.2', HEADER) + record('m-1', { ref_mols: 'A0001a', 'original SMILES': 'C' }),
    );
    const cases: Array<[string[], RegExp]> = [];
    const notSdf = path.join(work, 'notes.sdf');
    await writeFile(notSdf, 'just some text\nwith lines\n');
    cases.push([[notSdf], /notes\.sdf is not an SD file.*counts line|notes\.sdf is not an SD file/]);
    const noEnd = path.join(work, 'noend.sdf');
    await writeFile(noEnd, record('ver_1.2', HEADER).replace(/\$\$\$\$\n$/, ''));
    cases.push([[noEnd], /does not end with a \$\$\$\$ line/]);
    for (const [name, entry] of [
      ['dotdot.zip', '../evil.pdb'],
      ['absolute.zip', '/etc/evil.pdb'],
      ['drive.zip', 'C:evil.pdb'],
    ] as const) {
      const zip = path.join(work, name);
      await writeFile(zip, zipOf(['ok.pdb', entry]));
      cases.push([[good, '--pdb-zip', zip], /would land outside the folder/]);
    }
    const notZip = path.join(work, 'pdbs.zip');
    await writeFile(notZip, 'PDB files, honestly\n');
    cases.push([[good, '--pdb-zip', notZip], /pdbs\.zip is not a zip file/]);
    for (const [args, message] of cases) {
      const r = await cli(['upload', ...args, '--target', 'NSP3', '--tas', 'lb00000-1', '--wait']);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(sim.stats.requests).toBe(0);
  });
});
