import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { IntegrityError, UsageError } from '@sciport/core';
import {
  type ArchiveFile,
  createFragalysisSimulator,
  startTestServer,
  type TestServer,
  writeArchiveZip,
  writeTarGz,
} from '@sciport/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ArchiveReport, archiveReportPath, checkArchive, FragalysisClient } from '../src/index.js';

/**
 * The completeness check (spec §11.1) on archives made as the server's builder makes them (§4.7): the same
 * tree as a `.tar.gz` (`./` names), a `.zip` and an extracted folder, and end to end after a download from the
 * testkit simulator with the gaps of real archives.
 */

let dir: string;
const servers: TestServer[] = [];
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-check-'));
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

const REQUEST = {
  target_name: 'NUDT7A',
  target_access_string: 'lb27156-1',
  proteins: '',
  all_aligned_structures: false,
  bound_file: true,
  apo_file: true,
  sdf_info: true,
  event_file: true,
  pdb_info: true,
  metadata_info: true,
  single_sdf_file: true,
  pymol_scripts: true,
};

const META_HEAD = '"Code","Long code","Experiment code","Compound code","Smiles","Downloaded","GOOD count"';
const meta = (rows: Array<[string, string, boolean]>) =>
  `${META_HEAD}\n${rows.map(([code, xtal, on]) => `"${code}","${xtal}_A_1","${xtal}","Z1","CCO","${on ? 'True' : 'False'}",1`).join('\n')}\n`;

/** A tree as the builder makes it, with each kind of gap. */
function tree(): ArchiveFile[] {
  const files: Record<string, string> = {
    'README.md': `# Fragalysis download\n\n${JSON.stringify(REQUEST)}\n\n## Files included\n- /code/media/tmp/x\n`,
    'metadata.csv': meta([
      ['N0001a', 'x01', true],
      ['N0002a', 'x02', true],
      ['N0003a', 'x03', true],
      ['N0004a', 'x04', true],
      ['N0005a', 'x05', true],
      ['N0006a', 'x06', false],
    ]),
    // A header, quoted fields, an empty path; CRLF line ends.
    'errors.csv':
      'Param,Code,File not found when assembling download\r\n' +
      'apo_file,N0002a,aligned_files/N0002a/N0002a_apo.pdb\r\n' +
      '"event_file","N0003a","aligned_files/N0003a/event_file"\r\n' +
      'single_sdf_file,N0004a,\r\n',
    'NUDT7A_combined.sdf': 'N0001a\n\nM  END\n$$$$\n',
    'scripts/ERROR_DOWNLOADING_pymol': 'HTTP 503',
    'yaml_files/upload_1/config.yaml': 'a: 1\n',
  };
  const full = (code: string, xtal: string) => {
    files[`aligned_files/${code}/${code}.pdb`] = 'ATOM\n';
    files[`aligned_files/${code}/${code}_apo.pdb`] = 'ATOM\n';
    files[`aligned_files/${code}/${code}.sdf`] = `${code}\n`;
    files[`aligned_files/${code}/${code}_event.ccp4`] = 'map';
    files[`crystallographic_files/${xtal}/${xtal}.pdb`] = 'ATOM\n';
  };
  full('N0001a', 'x01');
  // N0002a: the apo file absent from the upload (placeholder and row).
  full('N0002a', 'x02');
  delete files['aligned_files/N0002a/N0002a_apo.pdb'];
  files['aligned_files/N0002a/N0002a_apo.pdb_FILE_NOT_IN_UPLOAD'] = '';
  // N0003a: a record without an event map.
  full('N0003a', 'x03');
  delete files['aligned_files/N0003a/N0003a_event.ccp4'];
  files['aligned_files/N0003a/event_file_FILE_NOT_IN_UPLOAD'] = '';
  // N0004a: no SD record (a silent gap) and a row for the combined SDF.
  full('N0004a', 'x04');
  delete files['aligned_files/N0004a/N0004a.sdf'];
  // N0005a: nothing at all; N0006a: not requested.
  return Object.entries(files).map(([p, content]) => ({ path: p, data: new TextEncoder().encode(content) }));
}

const EXPECTED: Omit<ArchiveReport, 'archive'> = {
  schema: 'sciport.fragalysis.archive-report/1',
  target: 'NUDT7A',
  tas: 'lb27156-1',
  complete: false,
  observations: { requested: 5, complete: 1, incomplete: 3, missing: 1 },
  incomplete: [
    {
      code: 'N0002a',
      missing: ['aligned_files/N0002a/N0002a_apo.pdb'],
      placeholders: ['aligned_files/N0002a/N0002a_apo.pdb_FILE_NOT_IN_UPLOAD'],
      errors: ['apo_file,N0002a,aligned_files/N0002a/N0002a_apo.pdb'],
    },
    {
      code: 'N0003a',
      missing: ['aligned_files/N0003a/N0003a_event.ccp4'],
      placeholders: ['aligned_files/N0003a/event_file_FILE_NOT_IN_UPLOAD'],
      errors: ['event_file,N0003a,aligned_files/N0003a/event_file'],
    },
    {
      code: 'N0004a',
      missing: ['aligned_files/N0004a/N0004a.sdf'],
      placeholders: [],
      errors: ['single_sdf_file,N0004a,'],
    },
  ],
  missing: ['N0005a'],
  placeholders: [
    'aligned_files/N0002a/N0002a_apo.pdb_FILE_NOT_IN_UPLOAD',
    'aligned_files/N0003a/event_file_FILE_NOT_IN_UPLOAD',
    'scripts/ERROR_DOWNLOADING_pymol',
  ],
  errors: [
    { param: 'apo_file', code: 'N0002a', path: 'aligned_files/N0002a/N0002a_apo.pdb' },
    { param: 'event_file', code: 'N0003a', path: 'aligned_files/N0003a/event_file' },
    { param: 'single_sdf_file', code: 'N0004a', path: '' },
  ],
  missingFiles: [],
  warnings: [],
};

/** The report with its lists in a fixed order (a folder walk's order is the file system's). */
function sorted(report: ArchiveReport): ArchiveReport {
  return {
    ...report,
    placeholders: [...report.placeholders].sort(),
    incomplete: report.incomplete.map((i) => ({ ...i, placeholders: [...i.placeholders].sort() })),
  };
}

async function writeFolder(root: string, files: readonly ArchiveFile[]): Promise<void> {
  for (const f of files) {
    await mkdir(path.dirname(path.join(root, f.path)), { recursive: true });
    await writeFile(path.join(root, f.path), f.data);
  }
}

describe('checkArchive (spec §11.1)', () => {
  it('tells complete, incomplete and missing observations apart in a tar.gz, a zip and a folder alike', async () => {
    const files = tree();
    const tgz = path.join(dir, 'NUDT7A.tar.gz');
    const zip = path.join(dir, 'NUDT7A.zip');
    const folder = path.join(dir, 'NUDT7A_lb27156-1');
    await writeFile(tgz, writeTarGz(files, 1_700_000_000));
    await writeFile(zip, writeArchiveZip(files, 1_700_000_000));
    await writeFolder(folder, files);
    for (const location of [tgz, zip, folder]) {
      const report = await checkArchive(location);
      expect(sorted(report)).toEqual({ ...EXPECTED, archive: location });
    }
    expect(archiveReportPath(`${folder}/`)).toBe(`${folder}.report.json`);
    expect(archiveReportPath(tgz)).toBe(`${tgz}.report.json`);
  });

  it('calls an archive complete only when every promised file is there and nothing is a placeholder', async () => {
    const request = { ...REQUEST, event_file: false, pymol_scripts: false };
    const files: ArchiveFile[] = [
      { path: 'README.md', data: new TextEncoder().encode(`x\n${JSON.stringify(request)}\n`) },
      { path: 'metadata.csv', data: new TextEncoder().encode(meta([['N0001a', 'x01', true]])) },
      {
        path: 'errors.csv',
        data: new TextEncoder().encode('Param,Code,File not found when assembling download\n'),
      },
      { path: 'NUDT7A_combined.sdf', data: new TextEncoder().encode('N0001a\n') },
      ...['N0001a.pdb', 'N0001a_apo.pdb', 'N0001a.sdf'].map((n) => ({
        path: `aligned_files/N0001a/${n}`,
        data: new TextEncoder().encode('x'),
      })),
      // The newest builders name crystallographic files after the observation.
      { path: 'crystallographic_files/x01/N0001a.pdb', data: new TextEncoder().encode('x') },
    ];
    const tgz = path.join(dir, 'ok.tar.gz');
    await writeFile(tgz, writeTarGz(files, 1_700_000_000));
    const report = await checkArchive(tgz);
    expect(report.complete).toBe(true);
    expect(report.observations).toEqual({ requested: 1, complete: 1, incomplete: 0, missing: 0 });

    // The combined SDF promised but absent: the archive is not complete, though every observation is.
    await writeFile(
      tgz,
      writeTarGz(
        files.filter((f) => !f.path.endsWith('_combined.sdf')),
        1_700_000_000,
      ),
    );
    const gap = await checkArchive(tgz);
    expect(gap.complete).toBe(false);
    expect(gap.missingFiles).toEqual(['NUDT7A_combined.sdf']);
  });

  it('uses the download options when README.md holds no request, and says what it could not check', async () => {
    const files = tree().filter((f) => f.path !== 'README.md' && f.path !== 'errors.csv');
    const folder = path.join(dir, 'bare');
    await writeFolder(folder, files);
    const blind = await checkArchive(folder);
    expect(blind.target).toBeNull();
    expect(blind.warnings.join('\n')).toMatch(/README\.md holds no request: the options are unknown/);
    expect(blind.warnings.join('\n')).toMatch(/errors\.csv is absent/);
    // Without options only the folders count: N0005a has none.
    expect(blind.missing).toEqual(['N0005a']);
    const told = await checkArchive(folder, {
      expected: {
        target: 'NUDT7A',
        tas: 'lb27156-1',
        options: { allAlignedStructures: false, apoFile: true },
      },
    });
    expect(told.target).toBe('NUDT7A');
    // N0002a's apo file is asked for and absent; N0003a holds a placeholder whatever was asked.
    expect(told.incomplete.map((i) => i.code)).toEqual(['N0002a', 'N0003a']);
    expect(told.incomplete[0]?.missing).toEqual(['aligned_files/N0002a/N0002a_apo.pdb']);
  });

  it('reads an errors.csv the CSV parser refuses (an unclosed quote) line by line', async () => {
    const files = tree().map((f) =>
      f.path === 'errors.csv'
        ? {
            path: f.path,
            data: new TextEncoder().encode('apo_file,N0002a,"aligned_files/N0002a/N0002a_apo.pdb\n'),
          }
        : f,
    );
    const folder = path.join(dir, 'odd');
    await writeFolder(folder, files);
    const report = await checkArchive(folder);
    expect(report.errors).toEqual([
      { param: 'apo_file', code: 'N0002a', path: 'aligned_files/N0002a/N0002a_apo.pdb' },
    ]);
  });

  it('refuses what is not an archive with a clear error, and a broken archive as an integrity error', async () => {
    await expect(checkArchive(path.join(dir, 'nothing-here.tar.gz'))).rejects.toSatisfy(
      (e) => UsageError.isInstance(e) && /No such archive or folder/.test((e as Error).message),
    );
    const page = path.join(dir, 'page.tar.gz');
    await writeFile(page, '<!doctype html><title>Login</title>');
    await expect(checkArchive(page)).rejects.toSatisfy(
      (e) => UsageError.isInstance(e) && /neither a \.tar\.gz nor a \.zip/.test((e as Error).message),
    );
    const cut = path.join(dir, 'cut.tar.gz');
    const whole = writeTarGz(tree(), 1_700_000_000);
    await writeFile(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    await expect(checkArchive(cut)).rejects.toSatisfy((e) => IntegrityError.isInstance(e));
  });
});

describe('archives.download checks what it saved', () => {
  async function client(quirks: Parameters<typeof createFragalysisSimulator>[0]) {
    const sim = createFragalysisSimulator({ seed: 4, legacyImmediate: true, ...quirks });
    const server = await startTestServer({ handlers: sim.handlers });
    servers.push(server);
    return new FragalysisClient({ stack: server.url, maxRetries: 0 });
  }

  it('reports a metadata-only archive as every observation missing, and writes the report beside it', async () => {
    const c = await client({ archiveQuirks: { 'A71EV2A|lb32627-66': { metadataOnly: true } } });
    const result = await c.archives.download({ target: 'A71EV2A', tas: 'lb32627-66', destination: dir });
    const report = result.report as ArchiveReport;
    expect(report.complete).toBe(false);
    expect(report.observations).toEqual({ requested: 6, complete: 0, incomplete: 0, missing: 6 });
    expect(result.reportFile).toBe(`${result.archive}.report.json`);
    expect(JSON.parse(await readFile(result.reportFile as string, 'utf8'))).toEqual(report);
    expect((await readdir(dir)).sort()).toEqual([
      'A71EV2A_lb32627-66.zip',
      'A71EV2A_lb32627-66.zip.report.json',
    ]);
  });

  it('checks the extracted folder when extracting, and writes <folder>.report.json', async () => {
    const c = await client({
      archiveQuirks: {
        'A71EV2A|lb32627-66': { absentFiles: { A0002a: ['bound_file'] }, noSdRecord: ['A0004a'] },
      },
    });
    const result = await c.archives.download({
      target: 'A71EV2A',
      tas: 'lb32627-66',
      destination: dir,
      extract: true,
      keepArchive: false,
      options: { eventFile: false },
    });
    const report = result.report as ArchiveReport;
    expect(report.archive).toBe(result.extractedTo);
    expect(result.reportFile).toBe(`${result.extractedTo}.report.json`);
    expect(report.incomplete.map((i) => [i.code, i.missing])).toEqual([
      ['A0002a', ['aligned_files/A0002a/A0002a.pdb']],
      ['A0004a', ['aligned_files/A0004a/A0004a_ligand.sdf', 'aligned_files/A0004a/A0004a.sdf']],
    ]);
    expect(report.observations).toEqual({ requested: 6, complete: 4, incomplete: 2, missing: 0 });
    const none = await (await client({})).archives.download({
      target: 'A71EV2A',
      tas: 'lb32627-66',
      destination: path.join(dir, 'plain'),
      options: { eventFile: false },
      check: false,
    });
    expect(none.report).toBeUndefined();
    expect(await readdir(path.join(dir, 'plain'))).toEqual(['A71EV2A_lb32627-66.zip']);
  });
});
