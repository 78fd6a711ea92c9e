import path from 'node:path';
import { writeFileAtomic } from '@sciport/core/node';
import { ARCHIVE_FLAGS, type ArchiveOptions } from '../schemas/download-options.js';
import { type ArchiveListing, listArchive } from './archive-listing.js';
import { csvValues } from './csv.js';

/**
 * The completeness check of a Fragalysis archive (spec §11.1): every requested observation present with the
 * files its options promise, `errors.csv` read, placeholder files found. The requested codes are the
 * `Downloaded=True` rows of `metadata.csv`, the options the request JSON that `README.md` embeds (§4.7), so an
 * archive or a folder is checked without other context.
 */

export const ARCHIVE_REPORT_SCHEMA = 'sciport.fragalysis.archive-report/1';

/** One row of `errors.csv`: a file the server could not add. */
export interface ArchiveErrorRow {
  param: string;
  code: string;
  /** The intended archive path, without the placeholder suffix (may be empty, or a source path). */
  path: string;
}

/** An observation whose folder is there but some promised file is absent, a placeholder, or in `errors.csv`. */
export interface IncompleteObservation {
  code: string;
  /** Promised files that are absent (a placeholder in their place counts as absent). */
  missing: string[];
  /** Placeholder files of this observation. */
  placeholders: string[];
  /** Its `errors.csv` rows, as `param,code,path`. */
  errors: string[];
}

/** The report of a check (`sciport.fragalysis.archive-report/1`), as written to `<archive>.report.json`. */
export interface ArchiveReport {
  schema: typeof ARCHIVE_REPORT_SCHEMA;
  /** The archive file or folder checked (absolute). */
  archive: string;
  /** Target title and access string, from the request in `README.md` (null when it holds none). */
  target: string | null;
  tas: string | null;
  /** Every requested observation complete, and no placeholder, errors.csv row or promised top-level file missing. */
  complete: boolean;
  observations: { requested: number; complete: number; incomplete: number; missing: number };
  incomplete: IncompleteObservation[];
  /** Requested observations of which no file is present. */
  missing: string[];
  /** Every placeholder file of the archive. */
  placeholders: string[];
  /** Every row of `errors.csv`. */
  errors: ArchiveErrorRow[];
  /** Top-level files the options promise (`metadata.csv`, `smiles.smi`, `<title>_combined.sdf`) that are absent. */
  missingFiles: string[];
  /** What limited the check (no `metadata.csv`, no request in `README.md`, no `errors.csv`). */
  warnings: string[];
}

export interface ArchiveCheckOptions {
  /**
   * What was asked, used when `README.md` embeds no request (an archive built with `readme: false`); the
   * request in `README.md` wins otherwise.
   */
  expected?: { target?: string | undefined; tas?: string | undefined; options?: ArchiveOptions | undefined };
  signal?: AbortSignal | undefined;
}

const METADATA = 'metadata.csv';
const ERRORS = 'errors.csv';
const README = 'README.md';
const TOP_LEVEL = [METADATA, ERRORS, README];

/** Per-observation files of the aligned-structure flags (spec §4.4): `aligned_files/<code>/<code><suffix>`. */
const ALIGNED_SUFFIXES: ReadonlyArray<readonly [string, string]> = [
  ['bound_file', '.pdb'],
  ['apo_file', '_apo.pdb'],
  ['apo_solv_file', '_apo-solv.pdb'],
  ['apo_desolv_file', '_apo-desolv.pdb'],
  ['ligand_pdb', '_ligand.pdb'],
  ['ligand_sdf', '_ligand.sdf'],
  ['ligand_smiles', '_ligand.smi'],
  ['sdf_info', '.sdf'],
];
/** Maps, not under the umbrella flag: `aligned_files/<code>/<code>_<kind>.ccp4`. */
const MAP_SUFFIXES: ReadonlyArray<readonly [string, string]> = [
  ['event_file', '_event.ccp4'],
  ['sigmaa_file', '_sigmaa.ccp4'],
  ['diff_file', '_diff.ccp4'],
];
/** Crystallographic files, `crystallographic_files/<crystal>/…`, by extension. */
const CRYSTAL_FILES: ReadonlyArray<readonly [string, RegExp, string]> = [
  ['pdb_info', /\.pdb$/i, '.pdb'],
  ['cif_info', /\.cif$/i, '.cif'],
  ['mtz_info', /\.mtz$/i, '.mtz'],
  ['map_info', /\.(map|ccp4|mrc)(\.gz)?$/i, '.map'],
];
const UMBRELLA = new Set([...ALIGNED_SUFFIXES.map(([flag]) => flag), 'smiles_info']);
const TRUE_WORDS = new Set(['true', 't', 'y', 'yes', 'on', '1']);

/** Whether a file is a placeholder the server put where a file is missing (spec §11.1). */
export function isPlaceholder(name: string): boolean {
  const base = name.slice(name.lastIndexOf('/') + 1);
  return (
    base.endsWith('_FILE_NOT_IN_UPLOAD') ||
    base.endsWith('_MISSING') ||
    /(^|\/)scripts\/ERROR_DOWNLOADING_[^/]*$/.test(name)
  );
}

/** The path a placeholder stands for (`…/A.pdb_FILE_NOT_IN_UPLOAD` → `…/A.pdb`). */
function intendedPath(placeholder: string): string {
  return placeholder.replace(/_(FILE_NOT_IN_UPLOAD|MISSING)$/, '');
}

function truthy(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value === 1;
  return typeof value === 'string' && TRUE_WORDS.has(value.trim().toLowerCase());
}

/** The request JSON that `README.md` embeds (one line; spec §4.7), or undefined. */
export function requestInReadme(readme: string): Record<string, unknown> | undefined {
  for (const line of readme.split(/\r?\n/)) {
    const start = line.indexOf('{');
    const end = line.lastIndexOf('}');
    if (start < 0 || end <= start) continue;
    try {
      const value: unknown = JSON.parse(line.slice(start, end + 1));
      if (
        value !== null &&
        typeof value === 'object' &&
        !Array.isArray(value) &&
        ('target_name' in value || 'target_access_string' in value || 'proteins' in value)
      )
        return value as Record<string, unknown>;
    } catch {
      // Not the request line.
    }
  }
  return undefined;
}

/** A request body from the library's options (camelCase), with the server's JSON defaults. */
function requestOf(expected: NonNullable<ArchiveCheckOptions['expected']>): Record<string, unknown> {
  const body: Record<string, unknown> = {
    target_name: expected.target ?? null,
    target_access_string: expected.tas ?? null,
  };
  const options = expected.options ?? {};
  const proteins = options.proteins;
  body.proteins = typeof proteins === 'string' ? proteins : (proteins ?? []).join(',');
  for (const [key, wire, fallback] of ARCHIVE_FLAGS) body[wire] = options[key] ?? fallback;
  return body;
}

/** The JSON defaults of §4.4 for flags a request leaves out. */
const SERVER_DEFAULTS = new Set([
  'compound_sets',
  'soakdb_files',
  'yaml_files',
  'extra_files',
  'pymol_scripts',
  'readme',
]);

function flagOn(request: Record<string, unknown>, flag: string): boolean {
  const value = request[flag];
  if (value === undefined || value === null) {
    if (UMBRELLA.has(flag) && truthy(request.all_aligned_structures)) return true;
    return SERVER_DEFAULTS.has(flag);
  }
  return truthy(value) || (UMBRELLA.has(flag) && truthy(request.all_aligned_structures));
}

function csvRows(bytes: Buffer): string[][] {
  return csvValues(bytes.toString('utf8'));
}

/** `errors.csv`: a header row (skipped when it is one), then `param,code,path` (path may be empty or hold commas). */
export function parseErrorsCsv(bytes: Buffer): ArchiveErrorRow[] {
  const rows = csvRows(bytes);
  if (rows[0] && /^param$/i.test(rows[0][0] ?? '')) rows.shift();
  return rows
    .filter((row) => row.some((cell) => cell !== ''))
    .map((row) => ({ param: row[0] ?? '', code: row[1] ?? '', path: row.slice(2).join(',') }));
}

interface MetadataRow {
  code: string;
  experiment: string | undefined;
  downloaded: boolean | undefined;
}

/** `metadata.csv`: the `Code`, `Experiment code` and `Downloaded` columns of each row. */
export function parseMetadataCsv(bytes: Buffer): MetadataRow[] {
  const rows = csvRows(bytes);
  const head = (rows.shift() ?? []).map((h) => h.toLowerCase());
  const code = head.indexOf('code');
  if (code < 0) return [];
  const experiment = head.indexOf('experiment code');
  const downloaded = head.indexOf('downloaded');
  return rows
    .map((row) => ({
      code: row[code] ?? '',
      experiment: experiment >= 0 ? row[experiment] || undefined : undefined,
      downloaded: downloaded >= 0 ? truthy(row[downloaded] ?? '') : undefined,
    }))
    .filter((row) => row.code !== '');
}

/** Appends to the list under `key`. */
function push<K>(map: Map<K, string[]>, key: K, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

const SUFFIX_OF = new Map([...ALIGNED_SUFFIXES, ...MAP_SUFFIXES]);
const CRYSTAL_EXT_OF = new Map(CRYSTAL_FILES.map(([flag, , ext]) => [flag, ext]));
const OPTION_NAMES = new Set<string>(ARCHIVE_FLAGS.map(([, wire]) => wire));

/** The file an intended placeholder path names: itself, or for an option name, that option's file. */
function standsFor(intended: string, code: string, crystal: string | undefined): string | undefined {
  const slash = intended.lastIndexOf('/');
  const folder = intended.slice(0, slash);
  const base = intended.slice(slash + 1);
  if (!OPTION_NAMES.has(base)) return intended;
  const suffix = SUFFIX_OF.get(base);
  if (suffix && folder.startsWith('aligned_files/')) return `${folder}/${code}${suffix}`;
  const ext = CRYSTAL_EXT_OF.get(base);
  if (ext && crystal && folder.startsWith('crystallographic_files/')) return `${folder}/${crystal}${ext}`;
  return undefined;
}

/** Checks a listing against the request: the rule and the report of §11.1. */
export function judgeArchive(
  archive: string,
  listing: Pick<ArchiveListing, 'files' | 'contents'>,
  options: Pick<ArchiveCheckOptions, 'expected'> = {},
): ArchiveReport {
  const { files, contents } = listing;
  const warnings: string[] = [];
  const present = new Set(files);
  const readme = contents.get(README);
  let request = readme ? requestInReadme(readme.toString('utf8')) : undefined;
  if (!request) {
    if (options.expected) request = requestOf(options.expected);
    warnings.push(
      `${README} holds no request: ${options.expected ? 'the options of the download were used' : 'the options are unknown, so only folders, placeholders and errors.csv were checked'}`,
    );
  }
  const target = typeof request?.target_name === 'string' ? request.target_name : null;
  const tas = typeof request?.target_access_string === 'string' ? request.target_access_string : null;

  const errorsFile = contents.get(ERRORS);
  const errors = errorsFile ? parseErrorsCsv(errorsFile) : [];
  if (!errorsFile) warnings.push(`${ERRORS} is absent (the server writes it into every archive)`);

  // The requested codes: Downloaded=True rows of metadata.csv, else the request's list, else the folders.
  const metadataFile = contents.get(METADATA);
  const rows = metadataFile ? parseMetadataCsv(metadataFile) : [];
  const crystalOf = new Map(rows.map((r) => [r.code, r.experiment]));
  let requested: string[];
  if (rows.length > 0) {
    if (rows.some((r) => r.downloaded === undefined))
      warnings.push(`${METADATA} has no Downloaded column: every row was taken as requested`);
    requested = rows.filter((r) => r.downloaded !== false).map((r) => r.code);
  } else {
    const asked = typeof request?.proteins === 'string' ? request.proteins : '';
    const list = asked
      .split(',')
      .map((c) => c.trim())
      .filter(Boolean);
    const folders = [
      ...new Set(files.filter((f) => f.startsWith('aligned_files/')).map((f) => f.split('/')[1] as string)),
    ];
    requested = list.length > 0 ? list : folders;
    warnings.push(
      `${metadataFile ? `${METADATA} has no rows` : `${METADATA} is absent`}: the requested observations are ${list.length > 0 ? 'those of the request' : 'the folders present (a missing one cannot be told)'}`,
    );
  }
  requested = [...new Set(requested)];

  const on = (flag: string) => (request ? flagOn(request, flag) : false);
  const missingFiles: string[] = [];
  if (request) {
    const top: Array<[string, string]> = [
      ['metadata_info', METADATA],
      ['smiles_info', 'smiles.smi'],
    ];
    if (target) top.push(['single_sdf_file', `${target}_combined.sdf`]);
    for (const [flag, name] of top) if (on(flag) && !present.has(name)) missingFiles.push(name);
  }

  const placeholders = files.filter(isPlaceholder);
  const placeholdersOf = new Map<string, string[]>();
  const crystalPlaceholders = new Map<string, string[]>();
  for (const p of placeholders) {
    const [top, folder] = p.split('/');
    if (folder === undefined) continue;
    if (top === 'aligned_files') push(placeholdersOf, folder, p);
    else if (top === 'crystallographic_files') push(crystalPlaceholders, folder, p);
  }
  const errorsOf = new Map<string, string[]>();
  for (const e of errors) push(errorsOf, e.code, `${e.param},${e.code},${e.path}`);
  // What is in each observation's folder and each crystal's folder (one pass over the names).
  const inFolder = new Map<string, string[]>();
  for (const f of files) {
    if (!f.startsWith('aligned_files/') && !f.startsWith('crystallographic_files/')) continue;
    const end = f.indexOf('/', f.indexOf('/') + 1);
    if (end > 0) push(inFolder, f.slice(0, end), f);
  }

  const incomplete: IncompleteObservation[] = [];
  const missing: string[] = [];
  let complete = 0;
  for (const code of requested) {
    const dir = `aligned_files/${code}`;
    const own = inFolder.get(dir) ?? [];
    const expected: string[] = [];
    const absent: string[] = [];
    let found = own.length > 0;
    for (const [flag, suffix] of [...ALIGNED_SUFFIXES, ...MAP_SUFFIXES]) {
      if (!on(flag)) continue;
      const name = `${dir}/${code}${suffix}`;
      expected.push(name);
      if (!present.has(name)) absent.push(name);
    }
    const crystal = crystalOf.get(code);
    const theirs: string[] = [];
    if (crystal) {
      const cdir = `crystallographic_files/${crystal}`;
      const inCrystal = (inFolder.get(cdir) ?? []).filter((f) => !isPlaceholder(f));
      for (const [flag, pattern, ext] of CRYSTAL_FILES) {
        if (!on(flag)) continue;
        if (inCrystal.some((f) => pattern.test(f))) found = true;
        else absent.push(`${cdir}/${crystal}${ext}`);
      }
      theirs.push(...(crystalPlaceholders.get(crystal) ?? []));
    }
    const ownPlaceholders = [...(placeholdersOf.get(code) ?? []), ...theirs];
    const ownErrors = errorsOf.get(code) ?? [];
    // A placeholder stands for an absent file, promised or not: `<path>_FILE_NOT_IN_UPLOAD` for `<path>`,
    // `<folder>/<option>_FILE_NOT_IN_UPLOAD` for the option's file.
    for (const p of ownPlaceholders) {
      const intended = standsFor(intendedPath(p), code, crystal);
      if (intended && !present.has(intended) && !absent.includes(intended)) absent.push(intended);
    }
    if (!found && ownPlaceholders.length === 0 && (expected.length > 0 || absent.length > 0 || !request)) {
      missing.push(code);
    } else if (absent.length > 0 || ownPlaceholders.length > 0 || ownErrors.length > 0) {
      incomplete.push({ code, missing: absent, placeholders: ownPlaceholders, errors: ownErrors });
    } else {
      complete += 1;
    }
  }

  const report: ArchiveReport = {
    schema: ARCHIVE_REPORT_SCHEMA,
    archive,
    target,
    tas,
    complete:
      incomplete.length === 0 &&
      missing.length === 0 &&
      placeholders.length === 0 &&
      errors.length === 0 &&
      missingFiles.length === 0,
    observations: {
      requested: requested.length,
      complete,
      incomplete: incomplete.length,
      missing: missing.length,
    },
    incomplete,
    missing,
    placeholders,
    errors,
    missingFiles,
    warnings,
  };
  return report;
}

/**
 * Checks an archive (`.tar.gz`, `.zip`) or an extracted folder against what was asked (spec §11.1): reads only
 * its names and its `metadata.csv`, `errors.csv` and `README.md`, streaming the archive, never unpacking it.
 * Throws a `UsageError` for a path that is neither, an `IntegrityError` for an archive that cannot be read.
 */
export async function checkArchive(
  location: string,
  options: ArchiveCheckOptions = {},
): Promise<ArchiveReport> {
  const archive = path.resolve(location);
  const listing = await listArchive(archive, { wanted: new Set(TOP_LEVEL), signal: options.signal });
  // A folder or archive made by hand around the extracted tree: its top-level files are one level down.
  const wrapped = TOP_LEVEL.some((n) => listing.contents.has(n)) ? undefined : wrappingFolder(listing.files);
  if (!wrapped) return judgeArchive(archive, listing, options);
  const inner = await listArchive(archive, {
    wanted: new Set(TOP_LEVEL.map((n) => `${wrapped}${n}`)),
    signal: options.signal,
  });
  return judgeArchive(
    archive,
    {
      files: inner.files.map((f) => f.slice(wrapped.length)),
      contents: new Map([...inner.contents].map(([k, v]) => [k.slice(wrapped.length), v])),
    },
    options,
  );
}

/** `X/` when every file is under the one folder `X`. */
function wrappingFolder(files: string[]): string | undefined {
  if (files.length === 0 || files.some((f) => !f.includes('/'))) return undefined;
  const first = `${(files[0] as string).split('/')[0]}/`;
  return files.every((f) => f.startsWith(first)) ? first : undefined;
}

/** Where the report of a checked archive or folder goes: `<archive>.report.json` beside it. */
export function archiveReportPath(checked: string): string {
  return `${path.resolve(checked).replace(/[\\/]+$/, '')}.report.json`;
}

/** Writes a report as `<archive>.report.json` beside what was checked (atomically); returns its path. */
export async function writeArchiveReport(
  report: ArchiveReport,
  file = archiveReportPath(report.archive),
): Promise<string> {
  await writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

/**
 * The check after `archives.download`: of the extracted folder when there is one (its report beside it,
 * `<folder>.report.json`), else of the archive file (`<archive>.report.json`, e.g. `Mpro_lb18145-1.tar.gz.report.json`).
 */
export async function checkDownloaded(
  saved: { archive: string; extractedTo?: string | undefined; target: string; tas: string },
  request: { options?: ArchiveOptions | undefined; signal?: AbortSignal | undefined },
): Promise<{ report: ArchiveReport; reportFile: string }> {
  const report = await checkArchive(saved.extractedTo ?? saved.archive, {
    expected: { target: saved.target, tas: saved.tas, options: request.options },
    signal: request.signal,
  });
  return { report, reportFile: await writeArchiveReport(report) };
}
