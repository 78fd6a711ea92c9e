import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { AbortError, requestOptions, UsageError } from '@sciport/core';
import { safeJoin, writeFileAtomic } from '@sciport/core/node';
import type { Context } from '../internal/context.js';
import { Observations } from '../resources/observations.js';
import { targetKey, Uploads } from '../resources/uploads.js';
import { archiveRequestBody, MAX_PROTEINS_LENGTH } from '../schemas/download-options.js';
import type { FragalysisObservation } from '../schemas/observations.js';
import type { UploadStats } from '../schemas/uploads.js';
import { targetFolderName } from './archive-file.js';
import type { NodeArchives, SyncOptions, SyncResult } from './archives.js';
import {
  type MarkerEntry,
  type ObservationMarkers,
  observationMarker,
  observationMarkersFile,
  optionsFingerprint,
  readMarkers,
  writeMarkers,
} from './observation-markers.js';
import { readMetadata, withDownloaded } from './observation-metadata.js';
import { isDirectory } from './sync-state.js';

/** The options of an observation-level sync (`archives.sync(targets, dir, { observations: true })`). */
export interface ObservationSyncOptions {
  /**
   * Sync observation by observation (spec §11.3): compare the server's observations with per-observation
   * markers kept beside the copy, download only the new and changed ones (subset archives), and merge them into
   * the extracted tree `<destination>/<title>_<tas>/`. The upload index is the cheap first check.
   */
  observations?: boolean | undefined;
  /** With `observations`: delete the local files of observations no longer on the server (else only reported). */
  prune?: boolean | undefined;
  /**
   * With `observations`: the longest `proteins` list per subset archive, in characters (default and maximum:
   * the server's 5000); longer lists are split into several archives.
   */
  maxProteinsLength?: number | undefined;
  /** With `observations`: called after each subset archive is merged (its markers are then on disk). */
  onMerged?: ((event: { target: string; tas: string; codes: readonly string[] }) => void) | undefined;
}

/** What an observation-level sync did for a target (`SyncResult.observations`). */
export interface ObservationSyncReport {
  /** The extracted tree. */
  folder: string;
  /** The markers file beside it. */
  markers: string;
  /** On the server, not in the local copy: downloaded. */
  new: string[];
  /** On the server with another marker (re-processed, other download options, or files missing locally): downloaded. */
  changed: string[];
  unchanged: string[];
  /** In the local copy, no longer on the server: reported, deleted only with `prune`. */
  removed: string[];
  /** The removed ones deleted by `prune`. */
  pruned: string[];
  /** Archives fetched (several when the list of codes is longer than the server takes). */
  archives: number;
  /** Their bytes. */
  bytes: number;
  /** Whether the cheap check (same upload index, markers present) settled it without listing observations. */
  cheap: boolean;
}

const CODE = /^[A-Za-z0-9_.+-]+$/;

/** Codes in groups whose comma-joined length stays within `max` characters. */
export function splitCodes(codes: readonly string[], max = MAX_PROTEINS_LENGTH): string[][] {
  const groups: string[][] = [];
  let group: string[] = [];
  let length = 0;
  for (const code of codes) {
    if (code.length > max)
      throw new UsageError(`The observation code ${code} is longer than ${max} characters`);
    const added = group.length === 0 ? code.length : length + 1 + code.length;
    if (added > max) {
      groups.push(group);
      group = [code];
      length = code.length;
    } else {
      group.push(code);
      length = added;
    }
  }
  if (group.length) groups.push(group);
  return groups;
}

/** `archives.sync` with `observations: true` (see `ObservationSyncOptions`). */
export async function syncObservations(
  archives: NodeArchives,
  ctx: Context,
  targets: ReadonlyArray<{ title: string; tas: string }>,
  destination: string,
  options: SyncOptions,
): Promise<SyncResult[]> {
  if (targets.length === 0) throw new UsageError('No targets to sync');
  if (!options.observations)
    throw new UsageError('prune needs the observation-level sync (observations: true)');
  const given = options.options ?? {};
  if (given.proteins !== undefined && String(given.proteins) !== '')
    throw new UsageError('An observation-level sync chooses the observations itself: leave out proteins');
  if (given.fileUrl)
    throw new UsageError('An observation-level sync cannot re-fetch a static download (fileUrl)');
  const max = options.maxProteinsLength ?? MAX_PROTEINS_LENGTH;
  if (!Number.isInteger(max) || max < 1 || max > MAX_PROTEINS_LENGTH)
    throw new UsageError(`maxProteinsLength must be 1 to ${MAX_PROTEINS_LENGTH}, got ${max}`);
  const dir = path.resolve(destination);
  await mkdir(dir, { recursive: true });
  const stats = new Map<string, UploadStats>();
  for await (const s of new Uploads(ctx).list(requestOptions(options)))
    stats.set(targetKey(s.targetName, s.tas), s);
  const results: SyncResult[] = [];
  for (const { title, tas } of targets) {
    let result: SyncResult;
    try {
      result = await syncTarget(
        archives,
        ctx,
        dir,
        title,
        tas,
        stats.get(targetKey(title, tas)),
        options,
        max,
      );
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

async function syncTarget(
  archives: NodeArchives,
  ctx: Context,
  dir: string,
  title: string,
  tas: string,
  upload: UploadStats | undefined,
  options: SyncOptions,
  max: number,
): Promise<SyncResult> {
  const name = targetFolderName(title, tas);
  const folder = path.join(dir, name);
  const markersFile = observationMarkersFile(dir, title, tas);
  // metadata.csv is what tells each code's crystal, and what the merged tree's index is.
  const archiveOptions = { ...options.options, metadataInfo: true };
  const fingerprint = optionsFingerprint(archiveRequestBody(title, tas, archiveOptions));
  const found = await readMarkers(markersFile, ctx.baseUrl, title, tas);
  const markers: ObservationMarkers = found ?? {
    version: 1,
    stack: ctx.baseUrl,
    target: title,
    tas,
    observations: {},
  };
  await removeLeftovers(dir, name);
  const tree = await isDirectory(folder);
  const report: ObservationSyncReport = {
    folder,
    markers: markersFile,
    new: [],
    changed: [],
    unchanged: [],
    removed: [],
    pruned: [],
    archives: 0,
    bytes: 0,
    cheap: false,
  };
  const entries = markers.observations;

  // The cheap first check: the same upload as at the last completed sync, with the same options.
  const same =
    found !== undefined &&
    tree &&
    upload !== undefined &&
    markers.options === fingerprint &&
    markers.uploadIndex === upload.lastUploadIndex &&
    markers.uploadTimestamp === upload.lastUploadTimestamp.toISOString();
  if (same) {
    report.cheap = true;
    for (const [code, e] of Object.entries(entries))
      (e.removed ? report.removed : report.unchanged).push(code);
  } else {
    const listed: FragalysisObservation[] = [];
    for await (const o of new Observations(ctx).list(title, tas, requestOptions(options))) listed.push(o);
    const server = new Map<string, FragalysisObservation>();
    for (const o of listed) {
      if (!CODE.test(o.code) || o.code === '.' || o.code === '..')
        throw new UsageError(
          `Fragalysis lists an observation code sciport cannot use as a folder: ${JSON.stringify(o.code)}`,
        );
      server.set(o.code, o);
    }
    const present = tree ? await listDir(path.join(folder, 'aligned_files')) : new Set<string>();
    for (const [code, o] of server) {
      const e = entries[code];
      if (!e) report.new.push(code);
      else if (e.removed || e.options !== fingerprint || e.marker !== observationMarker(o))
        report.changed.push(code);
      else if (e.files && !present.has(code)) report.changed.push(code);
      else report.unchanged.push(code);
    }
    for (const code of Object.keys(entries)) if (!server.has(code)) report.removed.push(code);
    const wanted = [...report.new, ...report.changed].sort();
    if (wanted.length > 0) {
      const temp = await mkdtemp(path.join(dir, `.${name}.obsync-`));
      try {
        // Nothing local yet: the whole archive, once (one request, shared with others through the server's cache).
        const whole = found === undefined || !tree;
        const groups = whole ? [[] as string[]] : splitCodes(wanted, max);
        for (const [i, group] of groups.entries()) {
          const got = await archives.download({
            ...options,
            target: title,
            tas,
            destination: path.join(temp, `archive-${i}`),
            options: { ...archiveOptions, proteins: group },
            extract: true,
            keepArchive: false,
          });
          report.archives += 1;
          report.bytes += got.bytes;
          const from = got.extractedTo as string;
          const codes = whole ? wanted : group;
          const merged = await merge(from, folder, codes, entries, path.join(temp, `trash-${i}`), whole);
          for (const code of merged.codes) {
            const o = server.get(code) as FragalysisObservation;
            const crystal = merged.crystals.get(code) ?? entries[code]?.crystal;
            entries[code] = {
              id: o.id,
              version: o.version ?? null,
              marker: observationMarker(o),
              options: fingerprint,
              ...(crystal !== undefined ? { crystal } : {}),
              files: merged.files.has(code),
            };
          }
          // Markers only for what is merged: an interrupted sync picks up the rest next time.
          await writeMarkers(markersFile, markers);
          options.onMerged?.({ target: title, tas, codes: merged.codes });
        }
      } finally {
        await rm(temp, { recursive: true, force: true });
      }
    }
  }

  for (const code of report.removed) {
    const e = entries[code] as MarkerEntry;
    if (!options.prune) {
      e.removed = true;
      continue;
    }
    await rm(safeJoin(folder, `aligned_files/${code}`), { recursive: true, force: true });
    delete entries[code];
    const crystal = e.crystal;
    if (crystal && !Object.values(entries).some((x) => x.crystal === crystal))
      await rm(safeJoin(folder, `crystallographic_files/${crystal}`), { recursive: true, force: true });
    report.pruned.push(code);
  }
  if (report.pruned.length > 0) await refreshDownloaded(folder);
  if (upload !== undefined) {
    markers.uploadIndex = upload.lastUploadIndex;
    markers.uploadTimestamp = upload.lastUploadTimestamp.toISOString();
  }
  markers.options = fingerprint;
  markers.syncedAt = new Date().toISOString();
  await writeMarkers(markersFile, markers);
  for (const list of [report.new, report.changed, report.unchanged, report.removed, report.pruned])
    list.sort();
  const changed = report.new.length + report.changed.length + report.pruned.length > 0;
  return {
    target: title,
    tas,
    status: changed ? 'downloaded' : 'up-to-date',
    lastUploadIndex: upload?.lastUploadIndex,
    folder,
    observations: report,
  };
}

/**
 * Merges an extracted archive into the local tree. A whole archive into a missing tree is renamed into place;
 * otherwise, per code, `aligned_files/<code>/` and its crystal's `crystallographic_files/<crystal>/` replace the
 * local ones by rename (a whole archive also brings its other top-level entries), and `metadata.csv` is the
 * new one with `Downloaded` recomputed from the local tree.
 */
async function merge(
  from: string,
  folder: string,
  codes: readonly string[],
  entries: Record<string, MarkerEntry>,
  trash: string,
  whole: boolean,
): Promise<{ codes: string[]; crystals: Map<string, string>; files: Set<string> }> {
  const metadata = await readMetadata(path.join(from, 'metadata.csv'));
  const crystals = metadata?.crystals ?? new Map<string, string>();
  const arrived = await listDir(path.join(from, 'aligned_files'));
  // A whole archive names what it holds; codes listed but not in it (a race with an upload) wait for next time.
  const done = whole
    ? codes.filter((c) => arrived.has(c) || (arrived.size === 0 && crystals.has(c)))
    : [...codes];
  if (!(await isDirectory(folder)) && whole) {
    await mkdir(path.dirname(folder), { recursive: true });
    await rename(from, folder);
    return { codes: done, crystals, files: arrived };
  }
  await mkdir(trash, { recursive: true });
  let n = 0;
  const replace = async (relative: string, remove: boolean) => {
    const target = safeJoin(folder, relative);
    const aside = path.join(trash, String(n++));
    let moved = false;
    try {
      await rename(target, aside);
      moved = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (!remove) {
      await mkdir(path.dirname(target), { recursive: true });
      await rename(safeJoin(from, relative), target);
    }
    if (moved) await rm(aside, { recursive: true, force: true });
  };
  const newCrystals = await listDir(path.join(from, 'crystallographic_files'));
  const replaced = new Set<string>();
  for (const code of done) {
    // An archive without this code's folder (no aligned files asked for): the old files are stale either way.
    await replace(`aligned_files/${code}`, !arrived.has(code));
    const crystal = crystals.get(code) ?? entries[code]?.crystal;
    if (crystal && newCrystals.has(crystal) && !replaced.has(crystal)) {
      replaced.add(crystal);
      await replace(`crystallographic_files/${crystal}`, false);
    }
  }
  if (whole) {
    for (const entry of await readdir(from)) {
      if (entry === 'aligned_files' || entry === 'crystallographic_files' || entry === 'metadata.csv')
        continue;
      await replace(entry, false);
    }
  }
  if (metadata) {
    const present = await listDir(path.join(folder, 'aligned_files'));
    await writeFileAtomic(path.join(folder, 'metadata.csv'), withDownloaded(metadata.text, present), {
      durable: false,
    });
  }
  return { codes: done, crystals, files: arrived };
}

/** Rewrites the local `metadata.csv`'s `Downloaded` column from the local tree. */
async function refreshDownloaded(folder: string): Promise<void> {
  const metadata = await readMetadata(path.join(folder, 'metadata.csv'));
  if (!metadata) return;
  const present = await listDir(path.join(folder, 'aligned_files'));
  await writeFileAtomic(path.join(folder, 'metadata.csv'), withDownloaded(metadata.text, present), {
    durable: false,
  });
}

/** The names in a folder (none when it is missing). */
async function listDir(dir: string): Promise<Set<string>> {
  try {
    return new Set(await readdir(dir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw error;
  }
}

/** Temporary folders of an earlier sync of this target that was killed. */
async function removeLeftovers(dir: string, name: string): Promise<void> {
  const prefix = `.${name}.obsync-`;
  for (const entry of await listDir(dir))
    if (entry.startsWith(prefix)) await rm(path.join(dir, entry), { recursive: true, force: true });
}
