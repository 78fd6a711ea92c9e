import { readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { ApiError, NotFoundError, ServerError, UsageError } from '@sciport/core';
import { detectArchiveFormat, extractArchive } from '@sciport/core/extract';
import {
  type DownloadProgress,
  type DownloadResult,
  downloadToFile,
  nodeDownloadFetch,
  safeJoin,
  writeFileAtomic,
} from '@sciport/core/node';
import { z } from 'zod';
import type { ArchiveOptions } from '../download-options.js';
import {
  ARCHIVE_ACCEPT,
  type ArchiveLocation,
  type ArchiveRequest,
  FragalysisClient as BaseFragalysisClient,
  type CallOptions,
  type FragalysisClientOptions,
  targetKey,
  type UploadStats,
} from '../fragalysis-client.js';

export interface DownloadTargetOptions extends Omit<ArchiveRequest, 'options'> {
  /** Folder to save into (created if needed). */
  destination: string;
  /** Every field of the web front end's download dialog (see `ArchiveOptions`). */
  options?: ArchiveOptions;
  /** Unpack the archive (zip or tar.gz, checked entry by entry) into `<destination>/<title>_<tas>/`. */
  extract?: boolean;
  /** Keep the archive file after extracting (default true). */
  keepArchive?: boolean;
  /**
   * Compute the archive's SHA-256 as it arrives (`sha256` in the result). Default false: Fragalysis publishes
   * no checksum to compare with (the size is checked either way), and hashing costs about a third of the
   * transfer's CPU time.
   */
  checksum?: boolean;
  onProgress?: (progress: DownloadProgress) => void;
}

export interface DownloadTargetResult {
  target: string;
  tas: string;
  /** The archive on disk (removed when `keepArchive: false`). */
  archive: string;
  format: 'tar.gz' | 'zip';
  bytes: number;
  /** SHA-256 of the archive, hex, with `checksum: true`. */
  sha256?: string;
  /** The server path of the archive (a capability: it can be fetched without credentials). */
  fileUrl: string;
  /** Whether the server had the archive ready at once. */
  immediate: boolean;
  /** Where it was unpacked, with `extract`. */
  extractedTo?: string;
}

export interface SyncOptions extends Omit<DownloadTargetOptions, 'destination' | 'target' | 'tas'> {
  /** Called after each target. */
  onTarget?: (result: SyncResult) => void;
}

export interface SyncResult {
  target: string;
  tas: string;
  status: 'downloaded' | 'up-to-date' | 'failed';
  lastUploadIndex?: number | undefined;
  archive?: string | undefined;
  error?: Error | undefined;
}

export const SYNC_STATE_FILE = '.sciport-fragalysis.json';

const syncStateSchema = z.object({
  version: z.literal(1),
  stack: z.string(),
  targets: z.record(
    z.string(),
    z.object({
      title: z.string(),
      tas: z.string(),
      lastUploadIndex: z.number().int(),
      lastUploadTimestamp: z.string(),
      archive: z.string(),
      extractedTo: z.string().optional(),
      downloadedAt: z.string(),
    }),
  ),
});
type SyncState = z.infer<typeof syncStateSchema>;

/** A file-system-safe name for a target: `<title>_<tas>` (the server's own naming of upload folders). */
export function targetFolderName(title: string, tas: string): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_');
  return `${clean(title)}_${clean(tas)}`;
}

/** The Fragalysis client with the parts that write files: `downloadTarget` and `sync`. */
export class FragalysisClient extends BaseFragalysisClient {
  constructor(options: FragalysisClientOptions = {}) {
    super(options, { downloadFetch: nodeDownloadFetch });
  }

  /**
   * Builds (or finds) a target's archive with the given options, streams it to disk atomically (a temporary
   * file renamed into place once its size is checked; a transfer cut short is fetched again from the start:
   * the server has no Range support), and unpacks it safely with `extract`. The format is read from the file
   * itself (the server calls every archive `application/zip`), else from its name.
   *
   * A cached archive the server handed out at once may have been deleted meanwhile (the server then answers
   * 500): a new build is asked for, once.
   */
  async downloadTarget(request: DownloadTargetOptions): Promise<DownloadTargetResult> {
    const signal = request.signal;
    const name = targetFolderName(request.target, request.tas);
    const destination = path.resolve(request.destination);
    let location = await this.requestArchive(request);
    let saved: SavedArchive;
    try {
      saved = await this.saveArchive(location, destination, name, request);
    } catch (error) {
      if (!location.immediate || request.options?.fileUrl || !archiveGone(error)) throw error;
      this.emit({
        type: 'warning',
        message: 'the cached archive Fragalysis offered is gone from the server; asking for a new build',
      });
      location = await this.requestArchive(request);
      saved = await this.saveArchive(location, destination, name, request);
    }
    const result: DownloadTargetResult = {
      target: request.target,
      tas: request.tas,
      archive: saved.path,
      format: saved.format,
      bytes: saved.bytes,
      ...(saved.sha256 !== undefined ? { sha256: saved.sha256 } : {}),
      fileUrl: location.fileUrl,
      immediate: location.immediate,
    };
    if (request.extract) {
      const into = safeJoin(destination, name);
      // Fragalysis archives hold only files and directories (spec §4.7): any link is refused.
      await extractArchive(saved.path, into, { overwrite: true, symlinks: 'refuse', signal });
      result.extractedTo = into;
      if (request.keepArchive === false) await unlink(saved.path);
    }
    return result;
  }

  /** Streams an archive to `<destination>/<name>.<format>`, explaining a missing archive. */
  private async saveArchive(
    location: ArchiveLocation,
    destination: string,
    name: string,
    request: CallOptions & {
      onProgress?: ((progress: DownloadProgress) => void) | undefined;
      checksum?: boolean | undefined;
    },
  ): Promise<SavedArchive> {
    const { fileUrl } = location;
    let disposition: string | null = null;
    const guess = formatOfName(fileUrl) ?? 'tar.gz';
    const target = safeJoin(destination, `${name}.${guess}`);
    let saved: Omit<DownloadResult, 'sha256'> & { sha256: string | undefined };
    try {
      saved = await downloadToFile(
        // No Range: the server ignores it (a cut-short transfer starts again from zero).
        async ({ signal }) => {
          const response = await this.http.stream('/api/download_structures/', {
            query: { file_url: fileUrl },
            headers: { accept: ARCHIVE_ACCEPT },
            signal,
          });
          disposition = response.headers.get('content-disposition');
          return response;
        },
        target,
        {
          signal: request.signal,
          maxResumes: 3,
          service: 'fragalysis',
          hash: request.checksum === true,
          ...(request.onProgress ? { onProgress: request.onProgress } : {}),
        },
      );
    } catch (error) {
      throw this.explainArchiveError(this.explain(error), location);
    }
    // The bytes decide (gzip or zip magic), then Content-Disposition, then the server path's suffix.
    const format =
      toArchiveFormat(await detectArchiveFormat(saved.path)) ??
      formatOfName(dispositionFilename(disposition) ?? '') ??
      guess;
    let file = saved.path;
    if (format !== guess) {
      file = safeJoin(destination, `${name}.${format}`);
      await rename(saved.path, file);
    }
    return { path: file, format, bytes: saved.bytes, sha256: saved.sha256 };
  }

  /** A 500 or 404 on the archive fetch names what most likely happened (spec §4.6). */
  private explainArchiveError(error: unknown, location: ArchiveLocation): unknown {
    if (!ApiError.isInstance(error)) return error;
    const init = {
      status: error.status,
      method: error.method,
      url: error.url,
      service: 'fragalysis',
      body: error.body,
      detail: error.detail,
    };
    const again = location.immediate
      ? 'ask for the archive again (a new build)'
      : 'ask for the archive again; if this persists, the stack is in trouble';
    if (error.status === 500) {
      return new ServerError(
        init,
        'Fragalysis failed to serve the archive (500): it is most likely no longer on the server ' +
          `(downloads expire and are deleted after a while); ${again}`,
      );
    }
    if (error.status === 404) {
      return new NotFoundError(
        init,
        `Fragalysis does not know this archive (${error.detail ?? 'not found'}): it has expired or was never ` +
          `finished; ${again}`,
      );
    }
    return error;
  }

  /**
   * Downloads each target only when it has a newer upload than the last download into `destination` (or was
   * never downloaded, or its archive is gone). The state is kept in `<destination>/.sciport-fragalysis.json`,
   * written atomically after each download.
   */
  async sync(
    targets: ReadonlyArray<{ title: string; tas: string }>,
    destination: string,
    options: SyncOptions = {},
  ): Promise<SyncResult[]> {
    if (targets.length === 0) throw new UsageError('No targets to sync');
    const dir = path.resolve(destination);
    const stateFile = path.join(dir, SYNC_STATE_FILE);
    const state = await readState(stateFile, this.baseUrl);
    const stats = new Map<string, UploadStats>();
    for (const s of await this.uploads({ signal: options.signal }))
      stats.set(targetKey(s.targetName, s.tas), s);
    const results: SyncResult[] = [];
    for (const { title, tas } of targets) {
      const key = targetKey(title, tas);
      const upload = stats.get(key);
      const known = state.targets[key];
      let result: SyncResult;
      try {
        // The copy is there: the archive, or what it was unpacked into (`keepArchive: false`).
        const present = known
          ? (await exists(known.archive)) ||
            (known.extractedTo !== undefined && (await isDirectory(known.extractedTo)))
          : false;
        // Newer: a higher upload index, or (a re-upload under the same index) a later upload time.
        const newer =
          upload !== undefined &&
          known !== undefined &&
          (upload.lastUploadIndex > known.lastUploadIndex ||
            upload.lastUploadTimestamp.getTime() > Date.parse(known.lastUploadTimestamp));
        const current = known !== undefined && present && !newer;
        if (current) {
          result = {
            target: title,
            tas,
            status: 'up-to-date',
            lastUploadIndex: known.lastUploadIndex,
            archive: known.archive,
          };
        } else {
          // A target without upload records still downloads (the server decides what it has).
          const got = await this.downloadTarget({ ...options, target: title, tas, destination: dir });
          state.targets[key] = {
            title,
            tas,
            lastUploadIndex: upload?.lastUploadIndex ?? 0,
            lastUploadTimestamp: (upload?.lastUploadTimestamp ?? new Date(0)).toISOString(),
            archive: got.archive,
            ...(got.extractedTo ? { extractedTo: got.extractedTo } : {}),
            downloadedAt: new Date().toISOString(),
          };
          await writeFileAtomic(stateFile, `${JSON.stringify(state, null, 2)}\n`);
          result = {
            target: title,
            tas,
            status: 'downloaded',
            lastUploadIndex: upload?.lastUploadIndex,
            archive: got.archive,
          };
        }
      } catch (error) {
        if ((error as Error).name === 'AbortError' || options.signal?.aborted) throw error;
        result = { target: title, tas, status: 'failed', error: error as Error };
      }
      options.onTarget?.(result);
      results.push(result);
    }
    return results;
  }
}

interface SavedArchive {
  path: string;
  format: 'tar.gz' | 'zip';
  bytes: number;
  sha256: string | undefined;
}

function formatOfName(name: string): 'tar.gz' | 'zip' | undefined {
  const clean = name.trim().replace(/[?#].*$/, '');
  if (/\.zip$/i.test(clean)) return 'zip';
  if (/\.(tar\.gz|tgz)$/i.test(clean)) return 'tar.gz';
  return undefined;
}

function toArchiveFormat(format: string | undefined): 'tar.gz' | 'zip' | undefined {
  return format === 'zip' || format === 'tar.gz' ? format : undefined;
}

/** `attachment; filename="Mpro.tar.gz"` (or `filename*=UTF-8''…`) → `Mpro.tar.gz`. */
function dispositionFilename(header: string | null): string | undefined {
  if (!header) return undefined;
  const star = /filename\*\s*=\s*[^']*'[^']*'([^;]+)/i.exec(header)?.[1];
  if (star) {
    try {
      return decodeURIComponent(star.trim());
    } catch {
      return star.trim();
    }
  }
  return /filename\s*=\s*"?([^";]+)"?/i.exec(header)?.[1]?.trim();
}

/** The archive is gone (deleted after expiry, or its record missing): worth one new build. */
function archiveGone(error: unknown): boolean {
  return ApiError.isInstance(error) && (error.status === 500 || error.status === 404);
}

async function readState(file: string, stack: string): Promise<SyncState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, stack, targets: {} };
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const parsed = syncStateSchema.safeParse(value);
  if (!parsed.success) {
    throw new UsageError(`${file} is not a sciport sync state file; move it away or choose another folder`);
  }
  if (parsed.data.stack !== stack) {
    throw new UsageError(
      `${path.dirname(file)} is synced from ${parsed.data.stack}, not ${stack}; use another folder`,
    );
  }
  return parsed.data;
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
