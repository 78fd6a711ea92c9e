import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { UsageError } from '@sciport/core';
import { writeFileAtomic } from '@sciport/core/node';
import { z } from 'zod';

/**
 * `<manifest>.state.json`: what an `apply` run did, written atomically after each write, so that the next run
 * goes on from there. Keys are the manifest's local ids; links are keyed by the server ids they join.
 */

const fileState = z.object({
  /** The file's name in the dataset. */
  name: z.string(),
  mfid: z.string().optional(),
  /** `uploading` until the upload completed; `ingesting` while the ingestion request is sent; `done`. */
  status: z.enum(['uploading', 'uploaded', 'ingesting', 'done']),
  ingestionRequest: z.number().optional(),
});

const entryState = z.object({
  uniqueId: z.string(),
  /** Written before the create request: the server may or may not have the record. */
  pending: z.boolean().optional(),
  /** The SHA-256 of the metadata merged (canonical JSON). */
  metadata: z.string().optional(),
  keywords: z.array(z.string()).optional(),
  /** By the file's SHA-256. */
  files: z.record(z.string(), fileState).optional(),
});

export const applyStateSchema = z.object({
  version: z.literal(1),
  samples: z.record(z.string(), entryState),
  datasets: z.record(z.string(), entryState),
  /** `sample-child:<parent>:<child>`, `dataset-child:<parent>:<child>`, `dataset-sample:<dataset>:<sample>`. */
  links: z.array(z.string()),
});

export type ApplyState = z.infer<typeof applyStateSchema>;
export type EntryState = z.infer<typeof entryState>;
export type FileState = z.infer<typeof fileState>;

export function emptyState(): ApplyState {
  return { version: 1, samples: {}, datasets: {}, links: [] };
}

/** The state file of a manifest: next to it, `<manifest>.state.json`. */
export function statePathFor(manifestPath: string): string {
  return `${manifestPath}.state.json`;
}

/** The state kept by earlier runs (empty when there is none); a file that is not a state is an error. */
export async function loadState(file: string): Promise<ApplyState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`${file} is not JSON: move it away to start afresh (the server is checked again)`);
  }
  const state = applyStateSchema.safeParse(parsed);
  if (!state.success)
    throw new UsageError(
      `${file} is not an apply state file: move it away to start afresh (the server is checked again)`,
    );
  return state.data;
}

/** Writes the state atomically (a crash leaves the previous or the new state, never half of one). */
export async function saveState(file: string, state: ApplyState): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`);
}

export function linkKey(kind: LinkKind, from: string, to: string): string {
  return `${kind}:${from}:${to}`;
}

export type LinkKind = 'sample-child' | 'dataset-child' | 'dataset-sample';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * A new MFID (spec §3: clients may generate them): a time-ordered draft UUIDv7 (48-bit milliseconds, version
 * 7, random rest) as 26 lowercase Crockford base32 characters. `apply` picks the id before creating a record
 * and keeps it in the state first, so a run killed after the create finds the record by that id.
 */
export function newMfid(now = Date.now()): string {
  const bytes = randomBytes(16);
  let time = BigInt(now) & 0xffffffffffffn;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = Number(time & 0xffn);
    time >>= 8n;
  }
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  let out = '';
  for (let i = 0; i < 26; i++) {
    out = CROCKFORD[Number(value & 31n)] + out;
    value >>= 5n;
  }
  return out;
}
