import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '@sciport/core';
import {
  type DownloadProgress,
  downloadToFile,
  extractArchive,
  rangeHeader,
  safeJoin,
  writeFileAtomic,
} from '@sciport/core/node';
import { z } from 'zod';
import type { ArchiveOptions } from '../download-options.js';
import {
  type ArchiveRequest,
  FragalysisClient as BaseFragalysisClient,
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
  onProgress?: (progress: DownloadProgress) => void;
}

export interface DownloadTargetResult {
  target: string;
  tas: string;
  /** The archive on disk (removed when `keepArchive: false`). */
  archive: string;
  format: 'tar.gz' | 'zip';
  bytes: number;
  sha256: string;
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
    super(options);
  }

  /**
   * Builds (or finds) a target's archive with the given options, streams it to disk atomically (a temporary
   * file renamed into place once its size is checked; a transfer cut short is fetched again: the server has
   * no Range support), and unpacks it safely with `extract`.
   */
  async downloadTarget(request: DownloadTargetOptions): Promise<DownloadTargetResult> {
    const signal = request.signal;
    const { fileUrl, immediate } = await this.requestArchive({
      ...request,
      ...(request.options ? { options: request.options } : {}),
    });
    const format: 'tar.gz' | 'zip' = /\.zip$/i.test(fileUrl) ? 'zip' : 'tar.gz';
    const name = targetFolderName(request.target, request.tas);
    const destination = path.resolve(request.destination);
    const archive = safeJoin(destination, `${name}.${format}`);
    const saved = await downloadToFile(
      ({ offset, signal: s }) =>
        this.http.stream('/api/download_structures/', {
          query: { file_url: fileUrl },
          headers: { range: rangeHeader(offset), accept: '*/*' },
          signal: s,
        }),
      archive,
      {
        signal,
        maxResumes: 3,
        service: 'fragalysis',
        ...(request.onProgress ? { onProgress: request.onProgress } : {}),
      },
    );
    const result: DownloadTargetResult = {
      target: request.target,
      tas: request.tas,
      archive,
      format,
      bytes: saved.bytes,
      sha256: saved.sha256,
      fileUrl,
      immediate,
    };
    if (request.extract) {
      const into = safeJoin(destination, name);
      // Fragalysis archives hold only files and directories (spec §4.7): any link is refused.
      await extractArchive(archive, into, { overwrite: true, symlinks: 'refuse', signal });
      result.extractedTo = into;
      if (request.keepArchive === false) {
        const { unlink } = await import('node:fs/promises');
        await unlink(archive);
      }
    }
    return result;
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
        const present = known ? await exists(known.archive) : false;
        const current =
          known !== undefined &&
          present &&
          (upload === undefined || upload.lastUploadIndex <= known.lastUploadIndex);
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

async function exists(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
