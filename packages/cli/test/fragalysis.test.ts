import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  createFragalysisSimulator,
  type FragalysisSimulator,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempConfigDir } from './helpers.js';

/** `sciport fragalysis …` end to end: the built CLI as a child process, over real sockets, against the simulator. */

let sim: FragalysisSimulator;
let server: TestServer;
let root: string;
let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  sim = createFragalysisSimulator({ seed: 8, buildMs: 30 });
  server = await startTestServer({ handlers: sim.handlers });
  ({ root, dir, cleanup } = await tempConfigDir());
});

afterEach(async () => {
  await server.close();
  await cleanup();
});

function fragalysis(args: string[], options: Parameters<typeof runCli>[1] = {}) {
  return runCli(['fragalysis', ...args], {
    ...options,
    env: {
      SCIPORT_CONFIG_DIR: dir,
      HOME: root,
      FRAGALYSIS_STACK: server.url,
      FRAGALYSIS_TOKEN: sim.tokenFor('demo'),
      ...options.env,
    },
  });
}

describe('sciport fragalysis targets', () => {
  it('lists targets with their TAS as a table, and as JSON lines with --json', async () => {
    const table = await fragalysis(['targets']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^TITLE\s+TAS\s+ID\s+DISPLAY NAME/);
    expect(lines.filter((l) => l.startsWith('Mpro'))).toHaveLength(2);
    expect(table.stderr).toContain('4 targets');

    const json = await fragalysis(['targets', '--json']);
    const rows = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { title: string; tas: string });
    expect(rows.map((r) => `${r.title}@${r.tas}`)).toEqual([
      'Mpro@lb18145-1',
      'A71EV2A@lb32627-66',
      'Mpro@sw30864-12',
      'NSP3@lb00000-1',
    ]);
    expect(json.stdout + json.stderr).not.toContain(sim.tokenFor('demo'));
  });

  it('works anonymously with public proposals only', async () => {
    const r = await fragalysis(['targets', '--json'], { env: { FRAGALYSIS_TOKEN: undefined } });
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('exits 3 with a clear message for a token the stack does not accept, never printing it', async () => {
    const bad = 'deadbeefdeadbeefdeadbeefdeadbeef';
    const r = await fragalysis(['targets'], { env: { FRAGALYSIS_TOKEN: bad } });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/token was not accepted/);
    expect(r.stderr).toContain('FRAGALYSIS_TOKEN');
    expect(r.stdout + r.stderr).not.toContain(bad);
    expect(r.stdout).toBe('');
  });
});

describe('sciport fragalysis download', () => {
  it('downloads and extracts with a flag per request field, and reports JSON without the file_url', async () => {
    const out = path.join(root, 'out');
    const r = await fragalysis([
      'download',
      'Mpro',
      '--tas',
      'sw30864-12',
      '--out',
      out,
      '--extract',
      '--event-file',
      '--pdb-info',
      '--no-readme',
      '--use-zip',
      '--proteins',
      'A0001a,A0002a',
      '--json',
    ]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ target: 'Mpro', tas: 'sw30864-12', format: 'zip', immediate: false });
    expect(result).not.toHaveProperty('fileUrl');
    expect(result.archive).toBe(path.join(out, 'Mpro_sw30864-12.zip'));
    const extracted = path.join(out, 'Mpro_sw30864-12');
    const top = await readdir(extracted);
    expect(top).not.toContain('README.md');
    expect(top).toContain('metadata.csv');
    expect((await readdir(path.join(extracted, 'aligned_files'))).sort()).toEqual(['A0001a', 'A0002a']);
    expect(await readdir(path.join(extracted, 'crystallographic_files'))).toHaveLength(2);
    const metadata = await readFile(path.join(extracted, 'metadata.csv'), 'utf8');
    expect(metadata.split('\n')[0]).toMatch(/^"Code","Long code"/);
    // No hash unless asked for; with --sha256, the archive's own.
    expect(result).not.toHaveProperty('sha256');
    const hashed = await fragalysis(['download', 'NSP3@lb00000-1', '--out', out, '--sha256', '--json']);
    expect(hashed.code).toBe(0);
    const h = JSON.parse(hashed.stdout) as { archive: string; sha256: string };
    expect(h.sha256).toBe(
      createHash('sha256')
        .update(await readFile(h.archive))
        .digest('hex'),
    );
  });

  it('accepts title@tas, and asks for the TAS when the title is ambiguous (exit 2)', async () => {
    const out = path.join(root, 'out');
    const ok = await fragalysis(['download', 'NSP3@lb00000-1', '--out', out]);
    expect(ok.code).toBe(0);
    expect(await readdir(out)).toEqual(['NSP3_lb00000-1.tar.gz', 'NSP3_lb00000-1.tar.gz.report.json']);
    const ambiguous = await fragalysis(['download', 'Mpro', '--out', out]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(/Mpro@lb18145-1, Mpro@sw30864-12/);
  });

  it('exits 4 for a proposal the user cannot read, with the server’s reason', async () => {
    const r = await fragalysis(['download', 'NSP3', '--tas', 'lb00000-1', '--out', root], {
      env: { FRAGALYSIS_TOKEN: sim.tokenFor('outsider') },
    });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/not a member of lb00000-1/);
  });

  it('takes both forms of every flag (--readme, --no-metadata-info, --all-aligned-structures, --no-event-file)', async () => {
    const out = path.join(root, 'both');
    const r = await fragalysis([
      'download',
      'Mpro',
      '--target-access-string',
      'lb18145-1',
      '--out',
      out,
      '--extract',
      '--readme',
      '--no-metadata-info',
      '--all-aligned-structures',
      '--no-event-file',
      '--no-single-sdf-file',
    ]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const extracted = path.join(out, 'Mpro_lb18145-1');
    const top = await readdir(extracted);
    expect(top).toContain('README.md');
    expect(top).not.toContain('metadata.csv');
    expect(top).not.toContain('Mpro_combined.sdf');
    const readme = await readFile(path.join(extracted, 'README.md'), 'utf8');
    for (const field of [
      '"readme":true',
      '"metadata_info":false',
      '"event_file":false',
      '"yaml_files":true',
    ]) {
      expect(readme).toContain(field);
    }
  });

  it('ends a lost build within --max-wait with a clear error (exit 1) and no file', async () => {
    sim.setTargetOutcome('NSP3', 'lb00000-1', 'lost');
    const out = path.join(root, 'lost');
    const r = await fragalysis(['download', 'NSP3@lb00000-1', '--out', out, '--max-wait', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/never started|not ready within/);
    // Nothing written: not even the folder.
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });

  it('exits 3 and says the session needs renewal when the stack redirects to its login host', async () => {
    const stale = 'stalesessiontoken0123456789abcdef';
    const staleSim = createFragalysisSimulator({ seed: 8, staleTokens: [stale] });
    const staleServer = await startTestServer({ handlers: staleSim.handlers });
    try {
      const r = await fragalysis(['targets'], {
        env: { FRAGALYSIS_STACK: staleServer.url, FRAGALYSIS_TOKEN: stale },
      });
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/needs renewal/);
      expect(r.stdout + r.stderr).not.toContain(stale);
    } finally {
      await staleServer.close();
    }
  });

  it('rejects an unknown flag with exit 2', async () => {
    const r = await fragalysis(['download', 'Mpro', '--tas', 'lb18145-1', '--event-files']);
    expect(r.code).toBe(2);
  });
});

describe('sciport fragalysis uploads, sync and smiles', () => {
  it('prints upload statistics keyed by target and TAS', async () => {
    const r = await fragalysis(['uploads', '--json']);
    expect(r.code).toBe(0);
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { target: string; tas: string; lastUploadIndex: number });
    for (const row of rows) {
      const t = sim.targets.find((x) => x.title === row.target && x.tas === row.tas);
      expect(row.lastUploadIndex).toBe(t?.uploads.length);
    }
    expect(rows).toHaveLength(4);
  });

  it('syncs only what has a newer upload', async () => {
    const out = path.join(root, 'mirror');
    const first = await fragalysis(['sync', 'NSP3@lb00000-1', 'A71EV2A', '--out', out, '--json']);
    expect(first.code).toBe(0);
    const status = (text: string) =>
      text
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { status: string }).status);
    expect(status(first.stdout)).toEqual(['downloaded', 'downloaded']);
    const posts = sim.stats.postDownloads;
    const second = await fragalysis(['sync', 'NSP3@lb00000-1', 'A71EV2A', '--out', out, '--json']);
    expect(status(second.stdout)).toEqual(['up-to-date', 'up-to-date']);
    expect(sim.stats.postDownloads).toBe(posts);
    const byTas = await fragalysis(['sync', 'NSP3', '--tas', 'lb00000-1', '--out', out, '--json']);
    expect(status(byTas.stdout)).toEqual(['up-to-date']);
    sim.addUpload('A71EV2A', 'lb32627-66');
    const third = await fragalysis(['sync', 'NSP3@lb00000-1', 'A71EV2A', '--out', out, '--json']);
    expect(status(third.stdout)).toEqual(['up-to-date', 'downloaded']);
  });

  it('prints the SMILES of exactly the named target in smi, csv and json', async () => {
    const observations = sim.targets.find((t) => t.title === 'Mpro' && t.tas === 'lb18145-1')?.observations;
    const expected = [...new Set(observations?.map((o) => o.smiles))];
    const smi = await fragalysis(['smiles', 'Mpro', '--tas', 'lb18145-1']);
    expect(smi.code).toBe(0);
    // Each SMILES with its compound code (issue 15): a SMILES file.
    expect(smi.stdout.trim().split('\n')).toEqual(
      expected.map((s) => `${s}\t${observations?.find((o) => o.smiles === s)?.compoundCode}`),
    );
    const csv = await fragalysis(['smiles', 'Mpro@lb18145-1', '--format', 'csv']);
    expect(csv.stdout.split('\n')[0]).toBe('target,tas,smiles,compound_code');
    expect(csv.stdout.trim().split('\n')).toHaveLength(expected.length + 1);
    const json = await fragalysis(['smiles', 'Mpro@lb18145-1', '--format', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ target: 'Mpro', tas: 'lb18145-1', smiles: expected });
    const bad = await fragalysis(['smiles', 'Mpro@lb18145-1', '--format', 'sdf']);
    expect(bad.code).toBe(2);
  });
});
