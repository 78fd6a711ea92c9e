import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '@sciport/core';
import { writeFileAtomic } from '@sciport/core/node';
import { z } from 'zod';
import { type FragalysisObservation, observationFileFields } from '../schemas/observations.js';
import { targetFolderName } from './archive-file.js';

/**
 * The per-observation markers of an observation-level sync (spec §11.3), kept beside the local copy:
 * `<destination>/<title>_<tas>/` holds the tree, `<destination>/<title>_<tas>.sciport-observations.json` its
 * markers. A code gets its marker only once its files are merged, so an interrupted sync resumes where it
 * stopped; the upload index (the cheap first check) is written only when a sync of the target completes.
 */

/** The suffix of the markers file beside a target's folder: `<title>_<tas>.sciport-observations.json`. */
export const OBSERVATION_MARKERS_SUFFIX = '.sciport-observations.json';

/** The markers file of a target's copy in `destination`. */
export function observationMarkersFile(destination: string, title: string, tas: string): string {
  return path.join(path.resolve(destination), `${targetFolderName(title, tas)}${OBSERVATION_MARKERS_SUFFIX}`);
}

const entrySchema = z.object({
  id: z.number().int(),
  version: z.number().int().nullable(),
  /** SHA-256 (hex) of the id, version and file URL paths. */
  marker: z.string(),
  /** The download options the files were fetched with (a fingerprint). */
  options: z.string(),
  /** Its crystal's folder under `crystallographic_files/`, when known. */
  crystal: z.string().optional(),
  /** Whether the archive had `aligned_files/<code>/` for it. */
  files: z.boolean(),
  /** No longer on the server (kept until `prune`). */
  removed: z.boolean().optional(),
});
export type MarkerEntry = z.infer<typeof entrySchema>;

const markersSchema = z.object({
  version: z.literal(1),
  stack: z.string(),
  target: z.string(),
  tas: z.string(),
  /** Set when a sync of the target completed: the cheap first check. */
  uploadIndex: z.number().int().optional(),
  uploadTimestamp: z.string().optional(),
  options: z.string().optional(),
  syncedAt: z.string().optional(),
  observations: z.record(z.string(), entrySchema),
});
export type ObservationMarkers = z.infer<typeof markersSchema>;

/**
 * The marker of an observation: SHA-256 of its `id`, `version` and the URL paths (no host, no query) of its file
 * fields, in field-name order. A re-processed observation is a new row with a new id and files under the new
 * upload's folder, so its marker changes; a move of the stack to another host does not.
 */
export function observationMarker(o: FragalysisObservation): string {
  const raw = o.raw as Record<string, unknown>;
  const files = observationFileFields(raw).map(([key, value]) => [
    key,
    value === null ? null : urlPath(value),
  ]);
  return createHash('sha256')
    .update(JSON.stringify([o.id, o.version ?? null, files]))
    .digest('hex');
}

function urlPath(value: string): string {
  try {
    return new URL(value).pathname;
  } catch {
    return value.replace(/[?#].*$/, '');
  }
}

/** A fingerprint of the archive request's flags (what the files of a code depend on). */
export function optionsFingerprint(body: Readonly<Record<string, unknown>>): string {
  const skip = new Set([
    'target_name',
    'target_access_string',
    'proteins',
    'file_url',
    'static_link',
    'use_zip',
  ]);
  const kept = Object.keys(body)
    .filter((k) => !skip.has(k))
    .sort()
    .map((k) => [k, body[k]]);
  return createHash('sha256').update(JSON.stringify(kept)).digest('hex').slice(0, 16);
}

/** The markers of a target's copy, or undefined; refuses a file of another shape, stack or target. */
export async function readMarkers(
  file: string,
  stack: string,
  title: string,
  tas: string,
): Promise<ObservationMarkers | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const parsed = markersSchema.safeParse(value);
  if (!parsed.success)
    throw new UsageError(
      `${file} is not a sciport observation markers file; move it away or choose another folder`,
    );
  const m = parsed.data;
  if (m.stack !== stack)
    throw new UsageError(`${path.dirname(file)} is synced from ${m.stack}, not ${stack}; use another folder`);
  if (m.target !== title || m.tas !== tas)
    throw new UsageError(`${file} holds the markers of ${m.target} (${m.tas}), not ${title} (${tas})`);
  return m;
}

export async function writeMarkers(file: string, markers: ObservationMarkers): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(markers)}\n`);
}
