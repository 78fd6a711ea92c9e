import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { FragalysisClient, type FragalysisClientOptions } from '../../src/index.js';
import { BASE, createStack, type StackOptions, TOKEN } from './server.js';

/** What every conformance test file shares: the stack in msw, a client on it, a fresh folder per test. */

export const mock = setupServer();

/** The current test's folder (a live binding: a new one per test). */
export let dir: string;

/** Registers the hooks: call once at the top of a test file. */
export function useConformanceStack(): void {
  beforeAll(() => mock.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => mock.resetHandlers());
  afterAll(() => mock.close());
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sciport-fragalysis-conformance-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
}

/**
 * Short pauses between polls, and a deadline no test comes near (the stack's replies are scripted per poll, not
 * per second); hashing on, so that tests can compare archives by their SHA-256.
 */
export const QUICK = { pollInterval: 10, maxWaitTime: 30 * 60_000, checksum: true };

export function connect(
  options: StackOptions = {},
  client: FragalysisClientOptions & { anonymous?: boolean } = {},
) {
  const stack = createStack(options);
  mock.use(...stack.handlers);
  const { anonymous, ...rest } = client;
  const fragalysis = new FragalysisClient({
    stack: `${BASE}/`,
    ...(anonymous ? {} : { token: TOKEN }),
    ...rest,
  });
  return { stack, client: fragalysis };
}

export const EXPECTED_BODY = {
  target_name: 'Mpro',
  target_access_string: 'sw30864-12',
  proteins: '',
  file_url: '',
  // The web dialog's defaults (spec §6).
  all_aligned_structures: true,
  metadata_info: true,
  single_sdf_file: true,
  // The groups the server includes by default, sent explicitly.
  compound_sets: true,
  soakdb_files: true,
  yaml_files: true,
  extra_files: true,
  pymol_scripts: true,
  readme: true,
  // Everything else off.
  apo_file: false,
  bound_file: false,
  apo_solv_file: false,
  apo_desolv_file: false,
  ligand_pdb: false,
  ligand_sdf: false,
  ligand_smiles: false,
  sdf_info: false,
  smiles_info: false,
  event_file: false,
  sigmaa_file: false,
  diff_file: false,
  pdb_info: false,
  cif_info: false,
  mtz_info: false,
  map_info: false,
  trans_matrix_info: false,
  static_link: false,
  use_zip: false,
  include_virtual_observations: false,
};
