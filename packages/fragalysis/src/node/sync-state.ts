import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '@sciport/core';
import { z } from 'zod';

/** The state file `sync` keeps in its destination: what was downloaded, from which upload. */

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
export type SyncState = z.infer<typeof syncStateSchema>;

/** The state of `file`, or an empty one; refuses a file of another shape or another stack. */
export async function readState(file: string, stack: string): Promise<SyncState> {
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

export async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

export async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
