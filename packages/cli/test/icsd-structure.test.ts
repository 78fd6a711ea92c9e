import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { optimadeStructureSchema } from '@sciport/icsd';
import { createIcsdSimulator, type IcsdSimulator, startTestServer, type TestServer } from '@sciport/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { icsdEnv, runCli, tempConfigDir, waitFor } from './helpers.js';

/**
 * `sciport icsd structure` and `sciport icsd export` end to end: the built CLI as a child process, over real
 * sockets against the simulator, on the parser's fixture CIFs (test/fixtures/cif of @sciport/icsd).
 */

const fixtures = new URL('../../icsd/test/fixtures/cif/', import.meta.url);
const fixture = (name: string) => readFile(new URL(name, fixtures), 'utf8');

/** A fixture CIF renumbered as collection code `code`. */
async function cifAs(name: string, code: number): Promise<string> {
  return (await fixture(name))
    .replace(/data_\d+-ICSD/, `data_${code}-ICSD`)
    .replace(/_database_code_ICSD \d+/, `_database_code_ICSD ${code}`)
    .replace(/#End of TTdata_\d+-ICSD/, `#End of TTdata_${code}-ICSD`);
}

let sim: IcsdSimulator;
let server: TestServer;
let root: string;
let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  sim = createIcsdSimulator({ entries: 60, seed: 12 });
  server = await startTestServer({ handlers: sim.handlers });
  ({ root, dir, cleanup } = await tempConfigDir());
});

afterEach(async () => {
  await server.close();
  await cleanup();
});

function icsd(args: string[], env: Record<string, string | undefined> = {}) {
  return runCli(['icsd', ...args], {
    env: icsdEnv(server.url, { root, dir }, env),
  });
}

async function localCifs(): Promise<{ nacl: string; mgni: string; broken: string }> {
  const work = path.join(root, 'cifs');
  await mkdir(work, { recursive: true });
  const nacl = path.join(work, 'nacl.cif');
  const mgni = path.join(work, 'mgni.cif');
  const broken = path.join(work, 'broken.cif');
  await writeFile(nacl, await fixture('rocksalt-nacl.cif'));
  await writeFile(mgni, await fixture('disorder-mg07ni03o.cif'));
  await writeFile(
    broken,
    (await fixture('rocksalt-nacl.cif')).replace(/_cell_length_b .*/, '_cell_length_b 0'),
  );
  return { nacl, mgni, broken };
}

describe('sciport icsd structure (local files)', () => {
  it('reads .cif files without logging in and prints one JSON object per line', async () => {
    const { nacl, mgni } = await localCifs();
    const r = await icsd(['structure', nacl, mgni], { ICSD_USERNAME: undefined, ICSD_PASSWORD: undefined });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    const [first, second] = lines.map((l) => JSON.parse(l));
    expect(first).toMatchObject({ collectionCode: 900001, block: '900001-ICSD', disordered: false });
    expect(first.atoms).toHaveLength(8);
    expect(second).toMatchObject({ collectionCode: 900009, disordered: true });
    expect(server.requests).toHaveLength(0);
  });

  it('writes OPTIMADE entries that validate against the exported schema', async () => {
    const { nacl, mgni } = await localCifs();
    const r = await icsd(['structure', '--format', 'optimade', nacl, mgni]);
    expect(r.code).toBe(0);
    const entries = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => optimadeStructureSchema.parse(JSON.parse(l)));
    expect(entries.map((e) => [e.id, e.attributes.chemical_formula_reduced])).toEqual([
      ['900001', 'ClNa'],
      ['900009', 'Mg7Ni3O10'],
    ]);
  });

  it('writes one file per operand with --out, refuses the disordered POSCAR and still writes the others', async () => {
    const { nacl, mgni } = await localCifs();
    const out = path.join(root, 'out');
    const r = await icsd(['structure', '--format', 'poscar', '--out', out, nacl, mgni]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/mgni\.cif: Entry 900009 cannot be written as POSCAR: it is disordered/);
    expect(r.stderr).toMatch(/Use the optimade, json or xyz format/);
    expect(await readdir(out)).toEqual(['icsd_900001.vasp']);
    const poscar = await readFile(path.join(out, 'icsd_900001.vasp'), 'utf8');
    expect(poscar.split('\n').slice(5, 8)).toEqual(['  Cl Na', '  4 4', 'Direct']);
    expect(r.stdout).toBe('');
  });

  it('names the entry and the line of an invalid CIF (exit 1) and still produces the other operands', async () => {
    const { nacl, broken } = await localCifs();
    const r = await icsd(['structure', '--format', 'xyz', broken, nacl]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken\.cif: Invalid CIF \(entry 900001, line \d+\)/);
    expect(r.stdout.split('\n')[0]).toBe('8');
    expect(r.stdout).toMatch(/pbc="T T T" icsd_collection_code=900001/);
  });

  it('gives a --json summary of the files written and the operands that failed', async () => {
    const { nacl, broken } = await localCifs();
    const out = path.join(root, 'out');
    const r = await icsd([
      '--json',
      'structure',
      '--format',
      'xyz',
      '--out',
      out,
      nacl,
      broken,
      'missing.cif',
    ]);
    expect(r.code).toBe(1);
    const summary = JSON.parse(r.stdout);
    expect(summary.written).toEqual([
      { operand: nacl, collectionCode: 900001, file: path.join(out, 'icsd_900001.xyz') },
    ]);
    expect(summary.failed).toEqual([
      expect.objectContaining({ operand: broken, exitCode: 1, problem: 'bad_cell', entry: '900001' }),
      expect.objectContaining({ operand: 'missing.cif', exitCode: 2, code: 'usage_error' }),
    ]);
    expect(typeof summary.failed[0].line).toBe('number');
    for (const line of r.stderr.trimEnd().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('refuses bad flags with exit 2 before doing anything', async () => {
    const { nacl } = await localCifs();
    expect((await icsd(['structure', '--format', 'cml', nacl])).code).toBe(2);
    const r = await icsd(['--json', 'structure', '--format', 'poscar', nacl]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/add --out/);
    expect(r.stdout).toBe('');
  });
});

describe('sciport icsd structure (collection codes)', () => {
  it('fetches codes from the service, one document per operand, in the order given', async () => {
    // The simulator serves symmetry-consistent CIFs: every one parses.
    const [a, b] = [sim.entries[5]!, sim.entries[9]!];
    const r = await icsd([
      'structure',
      '--format',
      'optimade',
      String(b.collectionCode),
      String(a.collectionCode),
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const ids = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => optimadeStructureSchema.parse(JSON.parse(l)).id);
    expect(ids).toEqual([String(b.collectionCode), String(a.collectionCode)]);
    expect(sim.stats.cifsServed).toBe(2);
    expect(sim.stats).toMatchObject({ logins: 1, logouts: 1, liveTokens: 0 });
  });

  it('reports a code that does not exist by number (exit 4) and still writes the others', async () => {
    const known = sim.entries[3]!.collectionCode;
    const unknown = Math.max(...sim.entries.map((e) => e.collectionCode)) + 7;
    const out = path.join(root, 'out');
    const r = await icsd(['structure', '--out', out, String(known), String(unknown)]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`No ICSD entry with collection code ${unknown}`);
    expect(await readdir(out)).toEqual([`icsd_${known}.json`]);
    const written = JSON.parse(await readFile(path.join(out, `icsd_${known}.json`), 'utf8'));
    expect(written.collectionCode).toBe(known);
  });
});

describe('sciport icsd export', () => {
  async function mirrorFolder(): Promise<string> {
    const mirror = path.join(root, 'mirror');
    await mkdir(mirror, { recursive: true });
    await writeFile(path.join(mirror, 'icsd_000011.cif'), await cifAs('rutile-tio2.cif', 11));
    await writeFile(path.join(mirror, 'icsd_000012.cif'), await cifAs('vacancy-fe095o.cif', 12));
    await writeFile(
      path.join(mirror, 'icsd_000013.cif'),
      (await cifAs('fluorite-caf2.cif', 13)).replace(/^_atom_site_fract_x/m, '_atom_site_fract_x\n_extra'),
    );
    await writeFile(path.join(mirror, '.sciport-icsd.ndjson'), '{}\n');
    return mirror;
  }

  it('streams the mirror into OPTIMADE JSON Lines and lists each refused entry with its reason', async () => {
    const mirror = await mirrorFolder();
    const out = path.join(root, 'all.jsonl');
    const r = await icsd(['export', mirror, '--format', 'optimade', '--out', out], {
      ICSD_USERNAME: undefined,
      ICSD_PASSWORD: undefined,
    });
    expect(r.code).toBe(0);
    const lines = (await readFile(out, 'utf8')).trimEnd().split('\n');
    expect(lines.map((l) => optimadeStructureSchema.parse(JSON.parse(l)).id)).toEqual(['11', '12']);
    expect(r.stderr).toMatch(/^refused icsd_000013\.cif:\d+ \(\w+\): Invalid CIF \(entry 13, line \d+\)/m);
    expect(r.stderr).toMatch(/2 entries written to .*all\.jsonl, 1 refused/);
    // No progress bar without a terminal.
    expect(r.stderr).not.toMatch(/ETA|\[=|░/);
    expect(server.requests).toHaveLength(0);
  });

  it('gives the counts and the refusals in --json, and exits 1 with --strict', async () => {
    const mirror = await mirrorFolder();
    const out = path.join(root, 'all.jsonl');
    const r = await icsd(['--json', 'export', mirror, '--out', out, '--strict']);
    expect(r.code).toBe(1);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ file: out, format: 'optimade', written: 2, refused: 1 });
    expect(summary.refusals).toEqual([
      expect.objectContaining({ file: 'icsd_000013.cif', collectionCode: 13, line: expect.any(Number) }),
    ]);
    expect((await readFile(out, 'utf8')).trimEnd().split('\n')).toHaveLength(2);
  });

  it('leaves neither FILE nor a temporary file when interrupted (exit 130)', async () => {
    const mirror = path.join(root, 'big');
    await mkdir(mirror);
    const text = await fixture('spinel-mgal2o4.cif');
    await Promise.all(
      Array.from({ length: 3000 }, (_, i) =>
        writeFile(
          path.join(mirror, `icsd_${String(i + 1).padStart(6, '0')}.cif`),
          text.replace(/900\d{3}/g, String(i + 1)),
        ),
      ),
    );
    const outDir = path.join(root, 'out');
    await mkdir(outDir);
    const r = await runCli(['icsd', 'export', mirror, '--out', path.join(outDir, 'all.jsonl')], {
      env: { SCIPORT_CONFIG_DIR: dir, HOME: root },
      onSpawn: (child) => {
        // Interrupt once the temporary file exists: the export is under way.
        void waitFor(() => readdirSync(outDir).length > 0, 20_000).then(() => child.kill('SIGINT'));
      },
    });
    expect(r.code).toBe(130);
    expect(readdirSync(outDir)).toEqual([]);
  });

  it('refuses an --out inside a missing folder with exit 2 and writes nothing', async () => {
    const mirror = await mirrorFolder();
    const r = await icsd(['export', mirror, '--out', path.join(root, 'no', 'such', 'x.jsonl')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/does not exist/);
    expect(existsSync(path.join(root, 'no'))).toBe(false);
  });
});
