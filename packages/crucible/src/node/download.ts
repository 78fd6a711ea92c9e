import { stat } from 'node:fs/promises';
import path from 'node:path';
import {
  ApiError,
  AuthenticationError,
  IntegrityError,
  isAbortLike,
  PermissionDeniedError,
  type RequestOptions,
  registerSecret,
  requestOptions,
  SciportError,
  throwIfAborted,
  toSciportError,
} from '@sciport/core';
import {
  downloadToFile,
  partialPathFor,
  rangeHeader,
  removePartial,
  safeJoin,
  sha256File,
  writeFileAtomic,
} from '@sciport/core/node';
import { z } from 'zod';
import { DatasetDownloadError, type DownloadFailure } from '../crucible-error.js';
import { type Context, getRecord, id } from '../internal/context.js';
import { Datasets } from '../resources/datasets.js';
import { type Files, listFiles } from '../resources/files.js';
import type { CrucibleFile } from '../schemas/files.js';
import {
  clashKey,
  foldsCase,
  localName,
  MAX_SEGMENT_BYTES,
  sanitiseName,
  unwritableReason,
} from './local-names.js';
import {
  type FileSelection,
  hasSelection,
  listingEntries,
  pathInDataset,
  selectEntries,
  showName,
  unsafePathReason,
} from './select.js';

export { localName, sanitiseName } from './local-names.js';

export interface DownloadOptions extends RequestOptions {
  /**
   * Which files: globs tested against each file's path in the dataset (spec §19.3, `.gitignore`-like: `*` stays
   * in one folder, `**` crosses folders, a pattern without `/` matches the last segment; see `compileGlob`),
   * or (as before) a predicate on the local relative name. Default: every file.
   */
  include?: string | readonly string[] | ((name: string) => boolean);
  /** Globs of files to leave out, applied after `include`. */
  exclude?: string | readonly string[];
  /** Single files, each by file id (mfid), exact path in the dataset or unique last path segment. */
  files?: string | readonly string[];
  /**
   * Also save the dataset's record (`GET /datasets/{id}?include_metadata=true`, unchanged, indented 2) as
   * `record.json` in `dir`, atomically.
   */
  record?: boolean;
  /**
   * Each file's bytes on disk as they arrive; `resumedFrom` when a kept partial file (or a transfer cut short)
   * is being resumed at that offset.
   */
  onProgress?: (progress: {
    file: string;
    bytes: number;
    total: number | undefined;
    resumedFrom?: number;
  }) => void;
  /** Called for each file that fails, as it fails (the others go on; the call then throws `DatasetDownloadError`). */
  onFailure?: (failure: DownloadFailure) => void;
}

export interface DownloadedFile {
  /** The local name, relative to the output folder. */
  name: string;
  path: string;
  bytes: number;
  sha256: string;
  /** Already complete on disk (same size and SHA-256): not fetched. */
  skipped: boolean;
  /** The server's name, when it was too long for a file system and `name` is a shortened one. */
  shortenedFrom?: string;
}

/**
 * Downloads a dataset's ingested files into `dir` through their signed URLs, with a storage client that never
 * carries the API key: streamed to a temporary file, checked against the record's size and SHA-256, renamed
 * into place; an error page (an expired or refused link) is never saved; an expired link is renewed once; a
 * transfer cut short resumes with `Range`; files already complete on disk are not fetched again.
 *
 * A file that fails (wrong size or hash, an error page, a name that clashes with another file's) is reported
 * (`onFailure`) and the others still download; the call then throws a `DatasetDownloadError` listing the
 * failures. An interruption (`signal`), a refused API key or a full or read-only disk stops at once.
 */
export async function downloadDataset(
  ctx: Context,
  files: Pick<Files, 'links' | 'link'>,
  datasetId: string,
  dir: string,
  options: DownloadOptions = {},
): Promise<DownloadedFile[]> {
  const signal = options.signal;
  const call = requestOptions(options);
  const selection = selectionOf(options);
  const selective = hasSelection(selection);
  const listUrl = ctx.http.url(`datasets/${id(datasetId, 'dataset id')}/files`).href;
  const records = await listFiles(ctx, datasetId, call);
  const root = path.resolve(dir);
  let candidates: Job[];
  let links: Record<string, string> = {};
  if (selective && ctx.version === 'v2') {
    // Spec §19.3 (sciport's choice): the listing carries size and SHA-256; links are asked per selected file.
    const { entries, notIngested } = listingEntries(records, datasetId);
    candidates = selectEntries(entries, datasetId, selection, listUrl, notIngested).map((record) => {
      const inDataset = pathInDataset(record, datasetId) as string;
      return {
        name: inDataset,
        serverName: inDataset,
        record,
        key: record.mfid ?? inDataset,
        perFile: true,
      };
    });
  } else {
    links = await files.links(datasetId, call);
    if (Object.keys(links).length === 0 && !options.record) {
      // No links: a dataset with nothing ingested yet, or (some servers answer alike) no dataset at all.
      await getRecord(
        ctx,
        `datasets/${id(datasetId, 'dataset id')}`,
        z.looseObject({}),
        `dataset ${datasetId}`,
        call,
      );
    }
    candidates = linkCandidates(ctx, records, links, datasetId);
    if (selective) {
      // v1 has no per-file links: the dataset's links, selected by their paths.
      const entries = candidates.map((job) => ({
        id: job.record?.mfid ?? undefined,
        path: job.serverName,
        item: job,
      }));
      candidates = selectEntries(entries, datasetId, selection, listUrl);
    }
  }
  if (typeof options.include === 'function') {
    const keep = options.include;
    candidates = candidates.filter((job) => keep(job.name));
  }
  if (options.record) await saveRecord(ctx, datasetId, root, call);
  const { jobs, refused } = await planJobs(ctx, candidates, root, options);
  const out: DownloadedFile[] = [];
  const failures: DownloadFailure[] = [];
  const fail = (failure: DownloadFailure) => {
    failures.push(failure);
    options.onFailure?.(failure);
  };
  for (const failure of refused) fail(failure);
  for (const job of jobs) {
    throwIfAborted(signal);
    const firstLink = async () => {
      if (job.perFile && job.record?.mfid) return (await files.link(job.record.mfid, call)).url;
      const url = links[job.key];
      if (url === undefined) throw new SciportError(`No download link for ${showName(job.serverName)}`);
      return url;
    };
    try {
      out.push(await downloadOne(ctx, files, datasetId, root, job, firstLink, options));
    } catch (error) {
      if (stopsAll(error) || signal?.aborted) throw error;
      fail({
        name: job.name,
        serverName: job.serverName,
        mfid: job.record?.mfid ?? undefined,
        error: toSciportError(error),
      });
    }
  }
  if (failures.length > 0) throw new DatasetDownloadError(datasetId, failures, out);
  return out;
}

/** The selection options as lists of globs and names (a predicate `include` is not a selection). */
function selectionOf(options: DownloadOptions): FileSelection {
  const list = (v: string | readonly string[] | undefined) =>
    v === undefined ? [] : typeof v === 'string' ? [v] : [...v];
  return {
    include: typeof options.include === 'function' ? [] : list(options.include),
    exclude: list(options.exclude),
    files: list(options.files),
  };
}

/**
 * The dataset's record with its scientific metadata, unchanged, as `record.json` in `root` (atomically). v2:
 * `GET /datasets/{id}?include_metadata=true`; v1, where a dataset's metadata is a call of its own, the record
 * with `scientific_metadata` added.
 */
async function saveRecord(
  ctx: Context,
  datasetId: string,
  root: string,
  call: RequestOptions,
): Promise<void> {
  const dataset = await new Datasets(ctx).get(datasetId, { ...call, includeMetadata: true });
  const raw = dataset.raw as Record<string, unknown>;
  const record =
    ctx.version === 'v2' || 'scientific_metadata' in raw
      ? raw
      : { ...raw, scientific_metadata: dataset.scientificMetadata ?? null };
  await writeFileAtomic(path.join(root, RECORD_NAME), `${JSON.stringify(record, null, 2)}\n`, {
    signal: call.signal,
  });
}

const RECORD_NAME = 'record.json';

interface Job {
  name: string;
  serverName: string;
  record: CrucibleFile | undefined;
  key: string;
  /** Its link is asked for on its own (`GET /files/{mfid}/download_link`), not taken from the dataset's. */
  perFile?: boolean;
}

/** The files of the dataset's links, with their local names. */
function linkCandidates(
  ctx: Context,
  records: readonly CrucibleFile[],
  links: Record<string, string>,
  datasetId: string,
): Job[] {
  const candidates: Job[] = [];
  for (const key of Object.keys(links)) {
    let record: CrucibleFile | undefined;
    let name: string;
    let serverName: string;
    if (ctx.version === 'v2') {
      record = records.find((r) => r.mfid === key);
      name = record ? localName(record, datasetId) : sanitiseName(key, 'file');
      serverName = record?.storagePath ?? record?.filename ?? key;
    } else {
      // v1 keys are `<dataset id>/<path>`; records are matched by basename.
      serverName = key.startsWith(`${datasetId}/`) ? key.slice(datasetId.length + 1) : key;
      name = sanitiseName(serverName, key);
      const base = path.posix.basename(name);
      record = records.find((r) => path.posix.basename(r.filename.replace(/\\/g, '/')) === base);
    }
    candidates.push({ name, serverName, record, key });
  }
  return candidates;
}

/**
 * The files to fetch; the files refused before any transfer (a path in the dataset that is not safe to write
 * as it is, a local name that cannot be written, or that another file of the dataset, or `record.json`, takes).
 */
async function planJobs(
  ctx: Context,
  all: readonly Job[],
  root: string,
  options: DownloadOptions,
): Promise<{ jobs: Job[]; refused: DownloadFailure[] }> {
  const jobs: Job[] = [];
  const refused: DownloadFailure[] = [];
  const refuse = (job: Job, message: string, hint?: string) =>
    refused.push({
      name: job.name,
      serverName: job.serverName,
      mfid: job.record?.mfid ?? undefined,
      error: new SciportError(message, hint ? { hint } : {}),
    });
  const candidates: Job[] = [];
  for (const job of all) {
    if (!job.perFile) {
      candidates.push(job);
      continue;
    }
    // A selected file lands at its path in the dataset, which must be a plain relative path (§19.3).
    const unsafe = unsafePathReason(job.serverName);
    if (unsafe) refuse(job, `Not downloading ${showName(job.serverName)}: ${unsafe}`);
    else candidates.push({ ...job, name: sanitiseName(job.serverName, 'file') });
  }
  // Names that differ only in case are one file where the file system folds case (macOS, Windows).
  const folded = candidates.length > 1 && (await foldsCase(root));
  const taken = new Map<string, Job>();
  if (options.record) {
    const name = RECORD_NAME;
    taken.set(clashKey(name, folded), {
      name,
      serverName: 'the dataset record (--record)',
      record: undefined,
      key: name,
    });
  }
  for (const job of candidates) {
    const unwritable = unwritableReason(job.name);
    if (unwritable) {
      refuse(job, `Not downloading ${job.serverName}: ${unwritable}`);
      continue;
    }
    const key = clashKey(job.name, folded);
    const first = taken.get(key);
    if (first) {
      const same = first.record?.storagePath != null && first.record.storagePath === job.record?.storagePath;
      if (same) {
        // Two records of one stored object (spec §17.1: a re-upload under the same name): fetched once.
        ctx.events.emit({
          type: 'warning',
          message: `${job.serverName}: another record (${job.record?.mfid ?? job.key}) of the same stored file; downloaded once`,
        });
        continue;
      }
      refuse(
        job,
        `Not downloading ${job.serverName}: its local name ${job.name} is taken by ${first.serverName}${folded && first.name !== job.name ? ' (this file system ignores case)' : ''}`,
        'Download it on its own into another folder (with --include) or rename one of the files on the server',
      );
      continue;
    }
    taken.set(key, job);
    if (isShortened(job)) {
      ctx.events.emit({
        type: 'warning',
        message: `${job.serverName.slice(0, 60)}…: the name is too long for a file system; saved as ${job.name}`,
      });
    }
    jobs.push(job);
  }
  return { jobs, refused };
}
/** Errors after which no other file can do better: an interruption, a refused key, a full or read-only disk. */
function stopsAll(error: unknown): boolean {
  if (isAbortLike(error) || AuthenticationError.isInstance(error) || PermissionDeniedError.isInstance(error))
    return true;
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && DISK_ERRORS.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

const DISK_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EMFILE', 'ENFILE']);

/** One file: skipped when complete on disk, else fetched (resumed from a kept partial file), verified, renamed. */
async function downloadOne(
  ctx: Context,
  files: Pick<Files, 'links' | 'link'>,
  datasetId: string,
  root: string,
  job: Job,
  firstLink: () => Promise<string>,
  options: DownloadOptions,
): Promise<DownloadedFile> {
  const signal = options.signal;
  const call = requestOptions(options);
  const target = safeJoin(root, job.name);
  const expectedSize = typeof job.record?.size === 'number' ? job.record.size : undefined;
  const expectedSha = job.record?.sha256Hash?.toLowerCase() || undefined;
  const shortened = isShortened(job) ? { shortenedFrom: job.serverName } : {};
  if (expectedSha && (await isComplete(target, expectedSize, expectedSha, signal))) {
    return {
      name: job.name,
      path: target,
      bytes: expectedSize ?? 0,
      sha256: expectedSha,
      skipped: true,
      ...shortened,
    };
  }
  let url = await firstLink();
  registerSecret(signedPart(url));
  let renewed = false;
  const fetchAt = async ({ offset, signal: s }: { offset: number; signal: AbortSignal | undefined }) => {
    for (;;) {
      try {
        const response = await ctx.storage.stream(url, {
          headers: { range: rangeHeader(offset) },
          auth: false,
          timeout: options.timeout,
          signal: s,
        });
        return response;
      } catch (error) {
        const refused =
          ApiError.isInstance(error) &&
          (error.status === 400 || error.status === 401 || error.status === 403);
        if (!refused) throw error;
        if (renewed) {
          // Still refused with a fresh link: say so plainly (the error page is never saved).
          throw new SciportError(
            `Storage refused the download of ${job.name} (${error.status}${error.detail ? `: ${error.detail}` : ''}), also with a freshly issued link`,
            {
              cause: error,
              hint: 'The link may have expired on the way or the file may have moved; try again later',
            },
          );
        }
        // An expired or refused signed URL: ask once for a fresh one.
        renewed = true;
        if (ctx.version === 'v2' && job.record?.mfid)
          url = (await files.link(job.record.mfid, { ...call, signal: s })).url;
        else url = (await files.links(datasetId, { ...call, signal: s }))[job.key] ?? url;
        registerSecret(signedPart(url));
      }
    }
  };
  const save = () =>
    downloadToFile(fetchAt, target, {
      ...(expectedSize !== undefined ? { expectedSize } : {}),
      ...(expectedSha ? { sha256: expectedSha } : {}),
      keepPartial: true,
      signal,
      service: 'crucible',
      ...(options.onProgress
        ? {
            onProgress: (p) =>
              options.onProgress?.({
                file: job.name,
                bytes: p.bytes,
                total: p.total,
                ...(p.resumedFrom !== undefined ? { resumedFrom: p.resumedFrom } : {}),
              }),
          }
        : {}),
    });
  // A partial file longer than the file cannot be the beginning of it.
  const kept = await dropOversizedPartial(target, expectedSize);
  try {
    let saved: Awaited<ReturnType<typeof save>>;
    try {
      saved = await save();
    } catch (error) {
      // A kept partial file of other bytes (the file changed on the server) fails the check: once from zero.
      if (kept === 0 || !IntegrityError.isInstance(error) || signal?.aborted) throw error;
      await removePartial(target);
      saved = await save();
    }
    return {
      name: job.name,
      path: target,
      bytes: saved.bytes,
      sha256: saved.sha256,
      skipped: false,
      ...shortened,
    };
  } catch (error) {
    // An interruption keeps its partial file for the next run to resume, unless it already holds too much.
    if (isAbortLike(error)) await dropOversizedPartial(target, expectedSize);
    throw error;
  }
}

/** Removes the kept partial file of `target` when it is longer than `size`; returns the size kept. */
async function dropOversizedPartial(target: string, size: number | undefined): Promise<number> {
  const kept = await stat(partialPathFor(target)).then(
    (s) => (s.isFile() ? s.size : 0),
    () => 0,
  );
  if (size !== undefined && kept > size) {
    await removePartial(target);
    return 0;
  }
  return kept;
}

/** Whether a segment of the server's name was too long and the local name is a shortened one. */
function isShortened(job: Job): boolean {
  return job.serverName.split(/[\\/]+/).some((segment) => Buffer.byteLength(segment) > MAX_SEGMENT_BYTES);
}

async function isComplete(
  file: string,
  size: number | undefined,
  sha256: string,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  try {
    const s = await stat(file);
    if (!s.isFile() || (size !== undefined && s.size !== size)) return false;
    return (await sha256File(file, signal)) === sha256;
  } catch {
    return false;
  }
}

/** The capability part of a signed URL (its query), registered as a secret so that it never shows. */
function signedPart(url: string): string | undefined {
  try {
    const search = new URL(url).search;
    return search.length > 8 ? search.slice(1) : undefined;
  } catch {
    return undefined;
  }
}
