import { NotFoundError, UsageError } from '@sciport/core';
import { unsafeReason } from '@sciport/core/node';
import picomatch from 'picomatch';
import type { CrucibleFile } from '../schemas/files.js';

/**
 * Which files of a dataset a selective download takes (spec §19.3): `include`/`exclude` globs tested against
 * each file's path in the dataset, and `files` naming single files by id, path or name.
 *
 * Globs are matched with picomatch (the matcher behind micromatch, fast-glob and tinyglobby, which the manifests
 * already use; well kept, no dependencies): its defaults already are the `.gitignore`-like rules §19.3 chooses —
 * `*` and `?` stay in one folder, `**` spans whole folders, and `basename` tests a pattern without `/` against the
 * last path segment. On top of that, as in `.gitignore`: a leading `/` anchors a pattern at the dataset's top (`/x.h5` is
 * only the top-level `x.h5`), a trailing `/` means everything below that folder (`raw/` = `raw/**`, and a bare
 * `raw/` matches a `raw` folder at any depth); `*` also matches names that start with a dot; a leading `!` or
 * `#` is an ordinary character (`--exclude` is the negation); matching is case-sensitive and the same on every
 * platform (`/` is the only separator).
 */

export interface FileSelection {
  /** Globs: a file is kept when it matches one of them (default: every file). */
  include?: readonly string[];
  /** Globs: a file that matches one of them is left out (applied after `include`). */
  exclude?: readonly string[];
  /**
   * Single files, each by file id (mfid), else by its exact path in the dataset, else by a unique last path
   * segment. Named files are kept (with `include`, as well as the files the globs select); `exclude` still applies.
   */
  files?: readonly string[];
}

/** A downloadable file as a selection sees it: its id (when known), its path in the dataset, and what it stands for. */
export interface Selectable<T> {
  id: string | undefined;
  /** The path in the dataset, as the server has it (unsanitised: checked before writing). */
  path: string;
  item: T;
}

/** How many names an error lists before "and N more". */
const NAMES_SHOWN = 20;

const OPTIONS: picomatch.PicomatchOptions = {
  dot: true,
  nonegate: true,
  noextglob: true,
  // `/` is the only separator, on every platform: these are paths in a dataset, not local paths.
  windows: false,
};

/** One glob, compiled: `test(path)` says whether a path in the dataset matches. */
export function compileGlob(pattern: string, flag = '--include'): (path: string) => boolean {
  if (pattern.trim() === '') throw new UsageError(`${flag} needs a pattern, got an empty one`);
  let glob = pattern;
  let anchored = false;
  if (glob.startsWith('/')) {
    glob = glob.replace(/^\/+/, '');
    anchored = true;
  }
  if (glob.endsWith('/')) {
    glob = glob.replace(/\/+$/, '');
    // `raw/` as in .gitignore: the folder's contents, at any depth when the pattern has no other `/`.
    glob = anchored || glob.includes('/') ? `${glob}/**` : `**/${glob}/**`;
    anchored = true;
  }
  if (glob === '') throw new UsageError(`${flag} ${pattern} names no file (use ** for every file)`);
  const matcher = picomatch(glob, { ...OPTIONS, basename: !anchored && !glob.includes('/') });
  return (path) => matcher(path);
}

/** The path of a file in its dataset (§19.3), or undefined when it has no `storage_path` (not downloadable). */
export function pathInDataset(file: CrucibleFile, datasetId: string): string | undefined {
  const storage = file.storagePath;
  if (!storage) return undefined;
  const prefix = `mf-storage-prod/${datasetId}/`;
  if (storage.startsWith(prefix)) return storage.slice(prefix.length);
  return storage.slice(storage.lastIndexOf('/') + 1);
}

/** The name a file is listed under in messages: its path in the dataset, else the basename of `filename`. */
function shownName(file: CrucibleFile, datasetId: string): string {
  return (
    pathInDataset(file, datasetId) ?? file.filename.replace(/\\/g, '/').split('/').pop() ?? file.filename
  );
}

/**
 * Why a path in the dataset cannot be written below the output folder as it is, or undefined: `..`, `.` or
 * empty segments, an absolute path or a drive letter, a NUL byte (both `/` and `\` count as separators).
 */
export function unsafePathReason(path: string): string | undefined {
  const reason = unsafeReason(path);
  if (reason) return reason;
  const parts = path.split(/[\\/]/);
  if (parts.some((p) => p === '')) return 'it has an empty path segment';
  if (parts.some((p) => p === '.')) return 'it has a "." path segment';
  return undefined;
}

/** A server's or a user's name in a message: in JSON string syntax when it holds control characters or `, `. */
export function showName(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is escaped
  return /[\u0000-\u001f\u007f-\u009f]|, |^\s|\s$/.test(name) ? JSON.stringify(name) : name;
}

/** Names shown in a message: escaped (`showName`), at most `shown` of them, then "and N more". */
export function listNames(names: readonly string[], shown = NAMES_SHOWN): string {
  if (names.length === 0) return '(none)';
  const head = names.slice(0, shown).map(showName).join(', ');
  return names.length > shown ? `${head} and ${names.length - shown} more` : head;
}

/** The selection is empty, or a `--file` names nothing: what the dataset has instead (`names`, bounded in the message). */
export class NoFilesSelectedError extends NotFoundError {
  static override readonly kind: string = 'NoFilesSelectedError';
  readonly datasetId: string;
  /** The paths in the dataset of its downloadable files (all of them). */
  readonly names: readonly string[];

  constructor(datasetId: string, what: string, names: readonly string[], url: string) {
    super(
      { status: 404, method: 'GET', url, service: 'crucible' },
      names.length === 0
        ? `${what}: dataset ${datasetId} has no downloadable (ingested) files`
        : `${what}; dataset ${datasetId} has ${names.length} downloadable file${names.length === 1 ? '' : 's'}: ${listNames(names)}`,
    );
    this.datasetId = datasetId;
    this.names = names;
  }
}

/** Whether a selection is given (then the download asks for the selected files' links only). */
export function hasSelection(selection: FileSelection): boolean {
  return (
    (selection.include?.length ?? 0) > 0 ||
    (selection.exclude?.length ?? 0) > 0 ||
    (selection.files?.length ?? 0) > 0
  );
}

/**
 * The entries a selection keeps, in their order. A `files` value that names nothing throws
 * `NoFilesSelectedError` (exit 4; `notIngested(value)` names a file that exists but cannot be downloaded yet),
 * one that names several files by their last segment a `UsageError` naming them; an empty result throws
 * `NoFilesSelectedError` listing the names that exist.
 */
export function selectEntries<T>(
  entries: readonly Selectable<T>[],
  datasetId: string,
  selection: FileSelection,
  url: string,
  notIngested: (value: string) => string | undefined = () => undefined,
): T[] {
  const include = (selection.include ?? []).map((g) => compileGlob(g, '--include'));
  const exclude = (selection.exclude ?? []).map((g) => compileGlob(g, '--exclude'));
  const names = entries.map((f) => f.path);
  const named = new Set<Selectable<T>>();
  for (const wanted of selection.files ?? []) {
    for (const f of resolveFile(wanted, entries, datasetId, names, url, notIngested)) named.add(f);
  }
  const everything = include.length === 0 && (selection.files?.length ?? 0) === 0;
  const kept = entries.filter(
    (f) =>
      (everything || named.has(f) || include.some((test) => test(f.path))) &&
      !exclude.some((test) => test(f.path)),
  );
  if (kept.length === 0) {
    const what = [
      ...(selection.include ?? []).map((g) => `--include ${showName(g)}`),
      ...(selection.exclude ?? []).map((g) => `--exclude ${showName(g)}`),
      ...(selection.files ?? []).map((g) => `--file ${showName(g)}`),
    ].join(' ');
    throw new NoFilesSelectedError(datasetId, `No file selected by ${what}`, names, url);
  }
  return kept.map((f) => f.item);
}

/** The entries one `--file` value names: by id, else exact path, else a unique last segment. */
function resolveFile<T>(
  wanted: string,
  entries: readonly Selectable<T>[],
  datasetId: string,
  names: readonly string[],
  url: string,
  notIngested: (value: string) => string | undefined,
): Selectable<T>[] {
  if (wanted.trim() === '') throw new UsageError('--file needs a file id, path or name, got an empty one');
  const byId = entries.filter((f) => f.id !== undefined && f.id === wanted);
  if (byId.length > 0) return byId;
  const pending = notIngested(wanted);
  if (pending !== undefined) {
    throw new NoFilesSelectedError(
      datasetId,
      `File ${showName(wanted)} (${showName(pending)}) is not ingested yet, so it cannot be downloaded`,
      names,
      url,
    );
  }
  const byPath = entries.filter((f) => f.path === wanted);
  if (byPath.length > 0) return byPath;
  const bySegment = entries.filter((f) => f.path.slice(f.path.lastIndexOf('/') + 1) === wanted);
  const paths = [...new Set(bySegment.map((f) => f.path))];
  if (paths.length > 1) {
    throw new UsageError(`--file ${showName(wanted)} names ${paths.length} files: ${listNames(paths)}`, {
      hint: 'Give the file’s path in the dataset or its id instead',
    });
  }
  if (bySegment.length > 0) return bySegment;
  throw new NoFilesSelectedError(datasetId, `No file ${showName(wanted)}`, names, url);
}

/** The selectable files of a v2 listing (those with a `storage_path`), and a lookup of the others by id. */
export function listingEntries(
  records: readonly CrucibleFile[],
  datasetId: string,
): { entries: Selectable<CrucibleFile>[]; notIngested: (value: string) => string | undefined } {
  const entries: Selectable<CrucibleFile>[] = [];
  const pending = new Map<string, string>();
  for (const record of records) {
    const path = pathInDataset(record, datasetId);
    if (path !== undefined) entries.push({ id: record.mfid ?? undefined, path, item: record });
    else if (record.mfid) pending.set(record.mfid, shownName(record, datasetId));
  }
  return { entries, notIngested: (value) => pending.get(value) };
}
