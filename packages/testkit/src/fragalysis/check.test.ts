import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../http-server.js';
import { unzip } from '../icsd/icsd-test-helpers.js';
import {
  createFragalysisSimulator,
  type FragalysisSimulator,
  type FragalysisSimulatorOptions,
} from './fragalysis-simulator.js';

const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** An old server (the archive is built in the POST) with a public target: no session, no polling. */
async function archiveOf(
  options: FragalysisSimulatorOptions,
  body: Record<string, unknown>,
  before?: (sim: FragalysisSimulator) => void,
): Promise<Map<string, string>> {
  const sim = createFragalysisSimulator({ seed: 5, legacyImmediate: true, ...options });
  before?.(sim);
  const server = await startTestServer({ handlers: sim.handlers });
  servers.push(server);
  const res = await fetch(`${server.url}/api/download_structures/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ target_name: 'A71EV2A', target_access_string: 'lb32627-66', ...body }),
  });
  expect(res.status).toBe(200);
  const { file_url } = (await res.json()) as { file_url: string };
  const fetched = await fetch(
    `${server.url}/api/download_structures/?file_url=${encodeURIComponent(file_url)}`,
  );
  const files = unzip(Buffer.from(await fetched.arrayBuffer()));
  return new Map(files.map((f) => [f.name, f.data.toString('utf8')]));
}

const ALL = { all_aligned_structures: true, metadata_info: true, single_sdf_file: true, pdb_info: true };

describe('Fragalysis simulator: the gaps of real archives (spec §11.1)', () => {
  it('puts placeholders and errors.csv rows for files absent from the upload and records without a file', async () => {
    const files = await archiveOf(
      {
        archiveQuirks: {
          'A71EV2A|lb32627-66': {
            absentFiles: { A0001a: ['apo_file', 'pdb_info'] },
            noFileRecords: { A0002a: ['ligand_sdf'] },
            errorRows: ['"sdf_files","A0004a",missing', 'single_sdf_file,A0005a,'],
          },
        },
      },
      ALL,
    );
    expect(files.has('aligned_files/A0001a/A0001a_apo.pdb')).toBe(false);
    expect(files.get('aligned_files/A0001a/A0001a_apo.pdb_FILE_NOT_IN_UPLOAD')).toBe('');
    expect(files.has('crystallographic_files/A71EV2A-x0001/A71EV2A-x0001.pdb')).toBe(false);
    expect(files.has('crystallographic_files/A71EV2A-x0001/A71EV2A-x0001.pdb_FILE_NOT_IN_UPLOAD')).toBe(true);
    expect(files.has('aligned_files/A0002a/A0002a_ligand.sdf')).toBe(false);
    expect(files.has('aligned_files/A0002a/ligand_sdf_FILE_NOT_IN_UPLOAD')).toBe(true);
    const errors = (files.get('errors.csv') as string).trim().split('\n');
    expect(errors).toEqual([
      'Param,Code,File not found when assembling download',
      'apo_file,A0001a,aligned_files/A0001a/A0001a_apo.pdb',
      'pdb_info,A0001a,crystallographic_files/A71EV2A-x0001/A71EV2A-x0001.pdb',
      'ligand_sdf,A0002a,aligned_files/A0002a/ligand_sdf',
      '"sdf_files","A0004a",missing',
      'single_sdf_file,A0005a,',
    ]);
  });

  it('leaves silent gaps, dropped observations and a metadata-only archive without a trace in errors.csv', async () => {
    const quirky = await archiveOf(
      {
        archiveQuirks: {
          'A71EV2A|lb32627-66': { noSdRecord: ['A0003b'], droppedObservations: ['A0004a'] },
        },
      },
      ALL,
    );
    expect(quirky.has('aligned_files/A0003b/A0003b.sdf')).toBe(false);
    expect(quirky.has('aligned_files/A0003b/A0003b_ligand.sdf')).toBe(false);
    expect(quirky.has('aligned_files/A0003b/A0003b.pdb')).toBe(true);
    expect(quirky.get('A71EV2A_combined.sdf')).not.toMatch(/^A0003b$/m);
    expect(quirky.get('A71EV2A_combined.sdf')).toMatch(/^A0002a$/m);
    expect([...quirky.keys()].some((n) => n.startsWith('aligned_files/A0004a/'))).toBe(false);
    expect(quirky.get('metadata.csv')).toMatch(/^"A0004a",.*"True"/m);
    expect((quirky.get('errors.csv') as string).trim().split('\n')).toHaveLength(1);

    const bare = await archiveOf({}, ALL, (sim) =>
      sim.setArchiveQuirks('A71EV2A', 'lb32627-66', { metadataOnly: true, pymolError: true }),
    );
    const names = [...bare.keys()];
    expect(names.some((n) => n.startsWith('aligned_files/') || n.startsWith('crystallographic_files/'))).toBe(
      false,
    );
    expect(bare.get('metadata.csv')).toMatch(/"True"/);
    expect(bare.has('README.md')).toBe(true);
    expect(bare.get('scripts/ERROR_DOWNLOADING_pymol')).toMatch(/Failed to download/);
    expect(names.some((n) => n.startsWith('scripts/pymol/'))).toBe(false);
  });

  it('marks missing transform files with the suffix and no errors.csv row', async () => {
    const files = await archiveOf(
      { archiveQuirks: { 'A71EV2A|lb32627-66': { missingTransforms: true } } },
      { trans_matrix_info: true },
    );
    expect(files.has('neighbourhood_transforms.yaml')).toBe(false);
    expect(files.has('neighbourhood_transforms.yaml_FILE_NOT_IN_UPLOAD')).toBe(true);
    expect((files.get('errors.csv') as string).trim().split('\n')).toHaveLength(1);
  });
});
