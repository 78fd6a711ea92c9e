import { type ArchiveFile, text } from '../archives.js';
import type { FragalysisSimTarget } from './fragalysis-simulator.js';

/**
 * The gaps of real archives (spec §11.1), put into a simulated one: files absent from the upload (placeholders
 * and `errors.csv` rows), records without a file, observations without an SD record (silent gaps), observations
 * left out, metadata-only archives, PyMOL scripts that could not be fetched, missing transform files, and any
 * raw `errors.csv` rows. Set per target with the simulator's `archiveQuirks` option or `setArchiveQuirks`.
 */
export interface FragalysisArchiveQuirks {
  /**
   * Files absent from the upload, by observation code: option names (`apo_file`, `event_file`, `pdb_info`, …)
   * whose file (when the request asked for it) becomes the empty `<path>_FILE_NOT_IN_UPLOAD`, with the row
   * `<option>,<code>,<path>` in `errors.csv`.
   */
  absentFiles?: Readonly<Record<string, readonly string[]>>;
  /**
   * Records without any file, by observation code: the option's file becomes
   * `aligned_files/<code>/<option>_FILE_NOT_IN_UPLOAD` (`crystallographic_files/<crystal>/<option>_…` for
   * crystallographic options), with the row `<option>,<code>,<folder>/<option>`.
   */
  noFileRecords?: Readonly<Record<string, readonly string[]>>;
  /**
   * Silent gaps: observations without an SD record. Their `<code>.sdf` and `<code>_ligand.sdf` and their part
   * of the combined SDF are left out, with no placeholder and no `errors.csv` row.
   */
  noSdRecord?: readonly string[];
  /** Observations whose `aligned_files/<code>/` is left out, without a trace (`metadata.csv` still lists them). */
  droppedObservations?: readonly string[];
  /**
   * A metadata-only archive: no `aligned_files/` and no `crystallographic_files/` at all, while `metadata.csv`
   * marks the selection `Downloaded=True`.
   */
  metadataOnly?: boolean;
  /** The PyMOL scripts could not be fetched: `scripts/ERROR_DOWNLOADING_pymol` (the error text) instead. */
  pymolError?: boolean;
  /** The transform files are missing: `<name>_FILE_NOT_IN_UPLOAD`, with no `errors.csv` row. */
  missingTransforms?: boolean;
  /** Lines appended to `errors.csv` as they are (quoted fields, empty paths, unknown codes). */
  errorRows?: readonly string[];
}

const ALIGNED: Readonly<Record<string, string>> = {
  bound_file: '.pdb',
  apo_file: '_apo.pdb',
  apo_solv_file: '_apo-solv.pdb',
  apo_desolv_file: '_apo-desolv.pdb',
  ligand_pdb: '_ligand.pdb',
  ligand_sdf: '_ligand.sdf',
  ligand_smiles: '_ligand.smi',
  sdf_info: '.sdf',
  event_file: '_event.ccp4',
  sigmaa_file: '_sigmaa.ccp4',
  diff_file: '_diff.ccp4',
};
const CRYSTAL: Readonly<Record<string, string>> = {
  pdb_info: '.pdb',
  cif_info: '.cif',
  mtz_info: '.mtz',
  map_info: '_2fofc.map',
};
const TRANSFORMS = /^[^/]*_transforms\.yaml$/;

/** Applies a target's quirks to the files of its archive (the archive builder's output). */
export function applyArchiveQuirks(
  built: readonly ArchiveFile[],
  target: FragalysisSimTarget,
  quirks: FragalysisArchiveQuirks | undefined,
): ArchiveFile[] {
  if (!quirks) return [...built];
  let files = [...built];
  const rows: string[] = [];
  const has = (p: string) => files.some((f) => f.path === p);
  const drop = (test: (p: string) => boolean) => {
    files = files.filter((f) => !test(f.path));
  };
  const add = (p: string, content = '') => files.push({ path: p, data: text(content) });
  const crystalOf = (code: string) => target.observations.find((o) => o.code === code)?.xtal ?? code;
  /** The folder and file of an option's file for an observation. */
  const fileOf = (code: string, option: string): { folder: string; file: string } | undefined => {
    if (ALIGNED[option] !== undefined)
      return { folder: `aligned_files/${code}`, file: `aligned_files/${code}/${code}${ALIGNED[option]}` };
    const xtal = crystalOf(code);
    if (CRYSTAL[option] !== undefined)
      return {
        folder: `crystallographic_files/${xtal}`,
        file: `crystallographic_files/${xtal}/${xtal}${CRYSTAL[option]}`,
      };
    return undefined;
  };
  for (const [code, options] of Object.entries(quirks.absentFiles ?? {})) {
    for (const option of options) {
      const where = fileOf(code, option);
      if (!where || !has(where.file)) continue;
      drop((p) => p === where.file);
      add(`${where.file}_FILE_NOT_IN_UPLOAD`);
      rows.push(`${option},${code},${where.file}`);
    }
  }
  for (const [code, options] of Object.entries(quirks.noFileRecords ?? {})) {
    for (const option of options) {
      const where = fileOf(code, option);
      if (!where) continue;
      drop((p) => p === where.file);
      add(`${where.folder}/${option}_FILE_NOT_IN_UPLOAD`);
      rows.push(`${option},${code},${where.folder}/${option}`);
    }
  }
  for (const code of quirks.noSdRecord ?? []) {
    drop(
      (p) => p === `aligned_files/${code}/${code}.sdf` || p === `aligned_files/${code}/${code}_ligand.sdf`,
    );
    files = files.map((f) => {
      if (!f.path.endsWith('_combined.sdf') || f.path.includes('/')) return f;
      const blocks = Buffer.from(f.data)
        .toString('utf8')
        .split(/(?<=\$\$\$\$\n)/);
      return { path: f.path, data: text(blocks.filter((b) => b.split('\n')[0] !== code).join('')) };
    });
  }
  for (const code of quirks.droppedObservations ?? []) drop((p) => p.startsWith(`aligned_files/${code}/`));
  if (quirks.metadataOnly)
    drop((p) => p.startsWith('aligned_files/') || p.startsWith('crystallographic_files/'));
  if (quirks.pymolError && files.some((f) => f.path.startsWith('scripts/pymol/'))) {
    drop((p) => p.startsWith('scripts/pymol/'));
    add(
      'scripts/ERROR_DOWNLOADING_pymol',
      'Failed to download the PyMOL scripts: HTTP 503 Service Unavailable\n',
    );
  }
  if (quirks.missingTransforms) {
    const names = files.filter((f) => TRANSFORMS.test(f.path)).map((f) => f.path);
    drop((p) => names.includes(p));
    for (const name of names) add(`${name}_FILE_NOT_IN_UPLOAD`);
  }
  rows.push(...(quirks.errorRows ?? []));
  if (rows.length > 0) {
    files = files.map((f) => {
      if (f.path !== 'errors.csv') return f;
      const before = Buffer.from(f.data).toString('utf8').replace(/\n*$/, '\n');
      return { path: f.path, data: text(`${before}${rows.join('\n')}\n`) };
    });
  }
  return files;
}
