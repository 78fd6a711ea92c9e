import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { AbortError, requestOptions, UsageError } from '@sciport/core';
import { extractArchive } from '@sciport/core/extract';
import { type DownloadProgress, safeJoin, writeFileAtomic } from '@sciport/core/node';
import { type ArchiveLocation, type ArchiveRequestOptions, Archives } from '../resources/archives.js';
import { targetKey, Uploads } from '../resources/uploads.js';
import type { ArchiveOptions } from '../schemas/download-options.js';
import type { UploadStats } from '../schemas/uploads.js';
import {
  type ArchiveFormat,
  archiveGone,
  type SavedArchive,
  saveArchive,
  targetFolderName,
} from './archive-file.js';
import { type ArchiveReport, checkDownloaded } from './completeness.js';
import {
  type ObservationSyncOptions,
  type ObservationSyncReport,
  syncObservations,
} from './observation-sync.js';
import { isDirectory, isFile, readState, SYNC_STATE_FILE } from './sync-state.js';

export interface ArchiveDownloadOptions extends ArchiveRequestOptions {
  /** Folder to save into (created if needed). */
  destination: string;
  /** Every field of the web front end's download dialog (see `ArchiveOptions`). */
  options?: ArchiveOptions | undefined;
  /** Unpack the archive (zip or tar.gz, checked entry by entry) into `<destination>/<title>_<tas>/`. */
  extract?: boolean | undefined;
  /** Keep the archive file after extracting (default true). */
  keepArchive?: boolean | undefined;
  /**
   * Compute the archive's SHA-256 as it arrives (`sha256` in the result). Default false: Fragalysis publishes
   * no checksum to compare with (the size is checked either way), and hashing costs about a third of the
   * transfer's CPU time.
   */
  checksum?: boolean | undefined;
  /**
   * Check the archive against the request (spec §11.1; `report` in the result) and write the report beside it:
   * `<folder>.report.json` when extracted, else `<archive>.report.json`. Default true.
   */
  check?: boolean | undefined;
  onProgress?: ((progress: DownloadProgress) => void) | undefined;
}

/** What `download` did (computed by sciport: no `raw`). */
export interface ArchiveDownloadResult {
  target: string;
  tas: string;
  /** The archive on disk (removed when `keepArchive: false`). */
  archive: string;
  format: ArchiveFormat;
  bytes: number;
  /** SHA-256 of the archive, hex, with `checksum: true`. */
  sha256?: string;
  /** The server path of the archive (a capability: it can be fetched without credentials). */
  fileUrl: string;
  /** Whether the server had the archive ready at once. */
  immediate: boolean;
  /** Where it was unpacked, with `extract`. */
  extractedTo?: string;
  /** The completeness check of what was saved (unless `check: false`), and the file it was written to. */
  report?: ArchiveReport;
  reportFile?: string;
}

export interface SyncOptions
  extends Omit<ArchiveDownloadOptions, 'destination' | 'target' | 'tas'>,
    ObservationSyncOptions {
  /** Called after each target. */
  onTarget?: ((result: SyncResult) => void) | undefined;
}

/** What `sync` did for one target (computed by sciport: no `raw`). */
export interface SyncResult {
  target: string;
  tas: string;
  status: 'downloaded' | 'up-to-date' | 'failed';
  lastUploadIndex?: number | undefined;
  archive?: string | undefined;
  error?: Error | undefined;
  // issue 14: obsync
  /** With `observations`: the extracted tree, and what the observation-level sync did. */
  folder?: string | undefined;
  observations?: ObservationSyncReport | undefined;
}

/** The archives resource of the Node client: `download` and `sync` save archives to disk. */
export class NodeArchives extends Archives {
  /**
   * Builds (or finds) a target's archive with the given options (see `request`), streams it to disk atomically
   * (a temporary file renamed into place once its size is checked; a transfer cut short is fetched again from
   * the start), and unpacks it safely with `extract`. The format is read from the file itself (the server
   * calls every archive `application/zip`), else from its name; what is neither a gzip nor a zip (a login page
   * served with a 200) is refused with an `IntegrityError`, nothing saved.
   *
   * A cached archive the server handed out at once may have been deleted meanwhile (the server then answers
   * 500): a new build is asked for, once.
   */
  async download(request: ArchiveDownloadOptions): Promise<ArchiveDownloadResult> {
    const name = targetFolderName(request.target, request.tas);
    const destination = path.resolve(request.destination);
    let location: ArchiveLocation = await this.request(request);
    let saved: SavedArchive;
    try {
      saved = await saveArchive(this.ctx, location, destination, name, request);
    } catch (error) {
      if (!location.immediate || request.options?.fileUrl || !archiveGone(error)) throw error;
      this.ctx.events.emit({
        type: 'warning',
        message: 'the cached archive Fragalysis offered is gone from the server; asking for a new build',
      });
      location = await this.request(request);
      saved = await saveArchive(this.ctx, location, destination, name, request);
    }
    const result: ArchiveDownloadResult = {
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
      await extractArchive(saved.path, into, { overwrite: true, symlinks: 'refuse', signal: request.signal });
      result.extractedTo = into;
      if (request.keepArchive === false) await unlink(saved.path);
    }
    if (request.check !== false) Object.assign(result, await checkDownloaded(result, request));
    return result;
  }

  /**
   * Downloads each target only when it has a newer upload than the last download into `destination` (or was
   * never downloaded, or its copy is gone). The state is kept in `<destination>/.sciport-fragalysis.json`,
   * written atomically after each download. A target that fails is reported (`status: 'failed'`) and the
   * others still sync; an abort ends the whole sync.
   */
  async sync(
    targets: ReadonlyArray<{ title: string; tas: string }>,
    destination: string,
    options: SyncOptions = {},
  ): Promise<SyncResult[]> {
    if (options.observations || options.prune)
      return syncObservations(this, this.ctx, targets, destination, options);
    if (targets.length === 0) throw new UsageError('No targets to sync');
    const dir = path.resolve(destination);
    const stateFile = path.join(dir, SYNC_STATE_FILE);
    const state = await readState(stateFile, this.ctx.baseUrl);
    const stats = new Map<string, UploadStats>();
    for await (const s of new Uploads(this.ctx).list(requestOptions(options)))
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
          ? (await isFile(known.archive)) ||
            (known.extractedTo !== undefined && (await isDirectory(known.extractedTo)))
          : false;
        // Newer: a higher upload index, or (a re-upload under the same index) a later upload time.
        const newer =
          upload !== undefined &&
          known !== undefined &&
          (upload.lastUploadIndex > known.lastUploadIndex ||
            upload.lastUploadTimestamp.getTime() > Date.parse(known.lastUploadTimestamp));
        if (known !== undefined && present && !newer) {
          result = {
            target: title,
            tas,
            status: 'up-to-date',
            lastUploadIndex: known.lastUploadIndex,
            archive: known.archive,
          };
        } else {
          // A target without upload records still downloads (the server decides what it has).
          const got = await this.download({ ...options, target: title, tas, destination: dir });
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
        if (AbortError.isInstance(error) || (error as Error).name === 'AbortError' || options.signal?.aborted)
          throw error;
        result = { target: title, tas, status: 'failed', error: error as Error };
      }
      options.onTarget?.(result);
      results.push(result);
    }
    return results;
  }
}
