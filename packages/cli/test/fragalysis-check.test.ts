import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  createFragalysisSimulator,
  type FragalysisSimulator,
  startTestServer,
  type TestServer,
  writeTarGz,
} from '@sciport/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempConfigDir } from './helpers.js';

/**
 * The completeness check (spec §11.1) end to end: `sciport fragalysis download` prints its summary, writes the
 * report and puts it in `--json`, `--strict` exits 1 for an incomplete archive and keeps its files, and
 * `sciport fragalysis check` checks one already on disk. The built CLI as a child process, against the simulator
 * with the gaps of real archives.
 */

let sim: FragalysisSimulator;
let server: TestServer;
let root: string;
let dir: string;
let cleanup: () => Promise<void>;

const TARGET = ['A71EV2A', '--tas', 'lb32627-66'];

beforeEach(async () => {
  sim = createFragalysisSimulator({
    seed: 8,
    buildMs: 30,
    archiveQuirks: {
      // A bound file absent from the upload, an observation without an SD record, one left out entirely.
      'A71EV2A|lb32627-66': {
        absentFiles: { A0002a: ['bound_file'] },
        noSdRecord: ['A0004a'],
        droppedObservations: ['A0005a'],
      },
    },
  });
  server = await startTestServer({ handlers: sim.handlers });
  ({ root, dir, cleanup } = await tempConfigDir());
});

afterEach(async () => {
  await server.close();
  await cleanup();
});

function fragalysis(args: string[]) {
  return runCli(['fragalysis', ...args], {
    env: { SCIPORT_CONFIG_DIR: dir, HOME: root, FRAGALYSIS_STACK: server.url, FRAGALYSIS_TOKEN: undefined },
  });
}

interface Report {
  schema: string;
  archive: string;
  complete: boolean;
  observations: { requested: number; complete: number; incomplete: number; missing: number };
  incomplete: Array<{ code: string; missing: string[] }>;
  missing: string[];
}

describe('sciport fragalysis download: the completeness check', () => {
  it('prints the summary with the first codes and writes <archive>.report.json', async () => {
    const out = path.join(root, 'out');
    const r = await fragalysis(['download', ...TARGET, '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /Incomplete archive: 6 observations requested: 3 complete, 2 incomplete \(A0002a, A0004a\), 1 missing \(A0005a\)/,
    );
    const archive = path.join(out, 'A71EV2A_lb32627-66.tar.gz');
    expect(r.stderr).toContain(`Report: ${archive}.report.json`);
    const report = JSON.parse(await readFile(`${archive}.report.json`, 'utf8')) as Report;
    expect(report.schema).toBe('sciport.fragalysis.archive-report/1');
    expect(report.archive).toBe(archive);
    expect(report.missing).toEqual(['A0005a']);
  });

  it('puts the report in --json, and with --strict exits 1 keeping the archive and the report', async () => {
    const out = path.join(root, 'out');
    const r = await fragalysis(['download', ...TARGET, '--out', out, '--extract', '--strict', '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/incomplete \(2 incomplete, 1 missing of 6 observations.*files are kept/);
    const printed = JSON.parse(r.stdout) as { extractedTo: string; reportFile: string; report: Report };
    expect(printed.reportFile).toBe(`${printed.extractedTo}.report.json`);
    expect(JSON.parse(await readFile(printed.reportFile, 'utf8'))).toEqual(printed.report);
    expect(printed.report.incomplete.map((i) => i.code)).toEqual(['A0002a', 'A0004a']);
    expect((await readdir(out)).sort()).toEqual([
      'A71EV2A_lb32627-66',
      'A71EV2A_lb32627-66.report.json',
      'A71EV2A_lb32627-66.tar.gz',
    ]);
  });

  it('exits 0 with --strict when the archive is complete', async () => {
    sim.setArchiveQuirks('A71EV2A', 'lb32627-66', undefined);
    const out = path.join(root, 'out');
    const r = await fragalysis(['download', ...TARGET, '--out', out, '--strict']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Complete: 6 observations requested/);
  });
});

describe('sciport fragalysis check', () => {
  it('checks an archive on disk, writes its report, and exits 1 with --strict when it is incomplete', async () => {
    const out = path.join(root, 'out');
    expect((await fragalysis(['download', ...TARGET, '--out', out, '--json'])).code).toBe(0);
    const archive = path.join(out, 'A71EV2A_lb32627-66.tar.gz');
    await writeFile(`${archive}.report.json`, 'stale');
    const table = await fragalysis(['check', archive]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/2 incomplete \(A0002a, A0004a\), 1 missing \(A0005a\)/);
    const json = await fragalysis(['check', archive, '--json', '--strict']);
    expect(json.code).toBe(1);
    const printed = JSON.parse(json.stdout) as { reportFile: string; report: Report };
    expect(printed.report.observations).toEqual({ requested: 6, complete: 3, incomplete: 2, missing: 1 });
    expect(JSON.parse(await readFile(`${archive}.report.json`, 'utf8'))).toEqual(printed.report);
  });

  it('exits 2 for a path that is neither an archive nor a folder', async () => {
    const r = await fragalysis(['check', path.join(root, 'nothing.tar.gz')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/No such archive or folder/);
  });

  it('escapes file names and codes from the archive before the terminal', async () => {
    const evil = 'A\u001b[2J\u001b]0;pwned\u0007';
    const enc = (s: string) => new TextEncoder().encode(s);
    const archive = path.join(root, 'evil.tar.gz');
    await writeFile(
      archive,
      writeTarGz(
        [
          { path: 'README.md', data: enc(`${JSON.stringify({ target_name: 'T', bound_file: true })}\n`) },
          { path: 'metadata.csv', data: enc(`"Code","Downloaded"\n"${evil}","True"\n`) },
          { path: 'errors.csv', data: enc('Param,Code,File not found when assembling download\n') },
        ],
        1_700_000_000,
      ),
    );
    const r = await fragalysis(['check', archive]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1 missing \(A\\x1b\[2J/);
    expect(r.stdout + r.stderr).not.toContain('\u001b');
    expect(r.stdout + r.stderr).not.toContain('\u0007');
  });
});
