import { UsageError } from '@sciport/core';

/**
 * Every field of `POST /api/download_structures/` (spec §4.4), named in camelCase, with the web front end's
 * defaults (spec §6): all aligned structures, metadata and the combined SDF on; maps and crystallographic
 * files off; the groups the server includes by default (compound sets, soakdb files, YAML, extra files,
 * PyMOL scripts, README) on. Every flag is sent explicitly, as JSON: a form-encoded body would silently turn
 * the default-true groups off.
 */
export interface ArchiveOptions {
  /** Observation codes to include (`A0001a`); empty or omitted: every observation of the target. */
  proteins?: readonly string[] | string;
  /** Umbrella for every aligned-structure file below (default true, as in the web dialog). */
  allAlignedStructures?: boolean;
  apoFile?: boolean;
  boundFile?: boolean;
  apoSolvFile?: boolean;
  apoDesolvFile?: boolean;
  ligandPdb?: boolean;
  ligandSdf?: boolean;
  ligandSmiles?: boolean;
  sdfInfo?: boolean;
  smilesInfo?: boolean;
  /** PanDDA event maps. */
  eventFile?: boolean;
  /** 2FoFc maps. */
  sigmaaFile?: boolean;
  /** FoFc maps. */
  diffFile?: boolean;
  /** Crystallographic PDB files (not re-aligned). */
  pdbInfo?: boolean;
  /** Ligand restraints (CIF). */
  cifInfo?: boolean;
  /** Reflections (MTZ). */
  mtzInfo?: boolean;
  /** Every crystallographic map (very big). */
  mapInfo?: boolean;
  /** `<title>_combined.sdf` (default true). */
  singleSdfFile?: boolean;
  /** `metadata.csv` (default true). */
  metadataInfo?: boolean;
  /** Transformation matrices. */
  transMatrixInfo?: boolean;
  /** Compound sets, "virtual hits" (default true). */
  compoundSets?: boolean;
  /** `soakdb_*` files among the extra files (default true). */
  soakdbFiles?: boolean;
  /** Upload YAML files (default true). */
  yamlFiles?: boolean;
  /** The uploader's extra files (default true). */
  extraFiles?: boolean;
  /** PyMOL helper scripts (default true). */
  pymolScripts?: boolean;
  /** README.md and README.pdf (default true). */
  readme?: boolean;
  /** A "preserved" download that does not expire (the server may still hand back a cached dynamic one). */
  staticLink?: boolean;
  /** Re-fetch an earlier static download by the `file_url` it returned. */
  fileUrl?: string;
  /** A `.zip` (slower to build) instead of `.tar.gz`. */
  useZip?: boolean;
  /** With an empty `proteins`: also observations without an experiment. */
  includeVirtualObservations?: boolean;
}

/** The request fields: option name → wire name and default. */
export const ARCHIVE_FLAGS = [
  ['allAlignedStructures', 'all_aligned_structures', true],
  ['apoFile', 'apo_file', false],
  ['boundFile', 'bound_file', false],
  ['apoSolvFile', 'apo_solv_file', false],
  ['apoDesolvFile', 'apo_desolv_file', false],
  ['ligandPdb', 'ligand_pdb', false],
  ['ligandSdf', 'ligand_sdf', false],
  ['ligandSmiles', 'ligand_smiles', false],
  ['sdfInfo', 'sdf_info', false],
  ['smilesInfo', 'smiles_info', false],
  ['eventFile', 'event_file', false],
  ['sigmaaFile', 'sigmaa_file', false],
  ['diffFile', 'diff_file', false],
  ['pdbInfo', 'pdb_info', false],
  ['cifInfo', 'cif_info', false],
  ['mtzInfo', 'mtz_info', false],
  ['mapInfo', 'map_info', false],
  ['singleSdfFile', 'single_sdf_file', true],
  ['metadataInfo', 'metadata_info', true],
  ['transMatrixInfo', 'trans_matrix_info', false],
  ['compoundSets', 'compound_sets', true],
  ['soakdbFiles', 'soakdb_files', true],
  ['yamlFiles', 'yaml_files', true],
  ['extraFiles', 'extra_files', true],
  ['pymolScripts', 'pymol_scripts', true],
  ['readme', 'readme', true],
  ['staticLink', 'static_link', false],
  ['useZip', 'use_zip', false],
  ['includeVirtualObservations', 'include_virtual_observations', false],
] as const satisfies ReadonlyArray<readonly [keyof ArchiveOptions, string, boolean]>;

export type ArchiveFlag = (typeof ARCHIVE_FLAGS)[number][0];

/** The server's limit on `proteins` (characters). */
export const MAX_PROTEINS_LENGTH = 5000;

const OBSERVATION_CODE = /^[A-Za-z0-9_.+-]+$/;

/** Builds the JSON body of `POST /api/download_structures/`, every flag explicit. */
export function archiveRequestBody(
  target: string,
  tas: string,
  options: ArchiveOptions = {},
): Record<string, unknown> {
  if (!target.trim()) throw new UsageError('The target title is empty');
  if (!tas.trim()) throw new UsageError(`The target access string of ${target} is empty`);
  const known = new Set<string>([...ARCHIVE_FLAGS.map(([k]) => k), 'proteins', 'fileUrl']);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new UsageError(`Unknown download option ${JSON.stringify(key)}`);
  }
  const codes =
    options.proteins === undefined
      ? []
      : typeof options.proteins === 'string'
        ? options.proteins.split(',')
        : [...options.proteins];
  const cleaned = codes.map((c) => c.trim()).filter((c) => c !== '');
  for (const code of cleaned) {
    if (!OBSERVATION_CODE.test(code))
      throw new UsageError(`Not an observation code: ${JSON.stringify(code)}`);
  }
  const proteins = [...new Set(cleaned)].join(',');
  if (proteins.length > MAX_PROTEINS_LENGTH) {
    throw new UsageError(
      `The observation list is ${proteins.length} characters long; the server takes at most ${MAX_PROTEINS_LENGTH}`,
      { hint: 'Split it into several downloads, or download all observations' },
    );
  }
  const body: Record<string, unknown> = {
    target_name: target,
    target_access_string: tas,
    proteins,
    file_url: options.fileUrl ?? '',
  };
  for (const [key, wire, fallback] of ARCHIVE_FLAGS) {
    const value = options[key];
    if (value !== undefined && typeof value !== 'boolean') {
      throw new UsageError(`The download option ${key} must be true or false, got ${JSON.stringify(value)}`);
    }
    body[wire] = value ?? fallback;
  }
  return body;
}

/**
 * The v1 "legacy" stack's names for some flags (`bound_info`, `event_info`, `sigmaa_info`, `diff_info`; spec
 * §4.4), derived from a request body built by `archiveRequestBody`. Other servers ignore these fields.
 */
export function legacyFieldNames(body: Readonly<Record<string, unknown>>): Record<string, boolean> {
  const on = (name: string) => body[name] === true;
  return {
    bound_info: on('all_aligned_structures') || on('bound_file'),
    event_info: on('event_file'),
    sigmaa_info: on('sigmaa_file'),
    diff_info: on('diff_file'),
  };
}
