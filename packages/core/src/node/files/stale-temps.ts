import { readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * Temporary files a killed run left behind (`AtomicFile`'s `.<name>.<pid>-<hex>.tmp`): removed when a later
 * `AtomicFile` is made for the same target, if their writer is gone. Never one of a live process: a name with
 * the id of a running process other than this one is kept, whatever its age; one with this process's id is
 * stale unless this process holds it open (a run before this one had the same id, as in a container where
 * every run is process 1). Names of the older form, without a process id (`.<name>.<12 hex>.tmp`), are
 * removed once untouched for `LEGACY_STALE_MS`.
 *
 * A folder is listed once per process (its first `AtomicFile`), and what it held is remembered by target: a
 * bulk download into a folder of thousands of files costs one listing, not one per file.
 */

/** Age after which a temporary file of the older naming (no process id in it) counts as abandoned. */
export const LEGACY_STALE_MS = 60 * 60 * 1000;

const WITH_PID = /^\.(.+)\.(\d+)-[0-9a-f]{12}\.tmp$/;
const LEGACY = /^\.(.+)\.[0-9a-f]{12}\.tmp$/;

interface Leftover {
  name: string;
  pid: number | undefined;
}

/** Per folder: the leftovers seen when it was listed, by target name. */
const listed = new Map<string, Promise<Map<string, Leftover[]>>>();
/** Folders remembered at most (a long-lived process writing into many folders lists them again later). */
const MAX_FOLDERS = 256;
/** Temporary files this process has open. */
const open = new Set<string>();

export function noteTempOpen(file: string): void {
  open.add(file);
}

export function noteTempClosed(file: string): void {
  open.delete(file);
}

/** The target name and writer's process id a temporary file name of ours says, or undefined. */
export function parseTempName(name: string): { target: string; pid: number | undefined } | undefined {
  const m = WITH_PID.exec(name);
  if (m) return { target: m[1] as string, pid: Number(m[2]) };
  const legacy = LEGACY.exec(name);
  if (legacy) return { target: legacy[1] as string, pid: undefined };
  return undefined;
}

/** Whether `file` (a temporary file of ours) was left by a writer that is gone. */
export async function isOurStaleTemp(
  file: string,
  pid: number | undefined,
  now = Date.now(),
): Promise<boolean> {
  if (pid === undefined) {
    try {
      return now - (await stat(file)).mtimeMs > LEGACY_STALE_MS;
    } catch {
      return false;
    }
  }
  if (pid === process.pid) return !open.has(file);
  return !isAlive(pid);
}

/** Whether a process with this id runs (under any user). */
export function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as { code?: unknown }).code !== 'ESRCH';
  }
}

function listFolder(dir: string): Promise<Map<string, Leftover[]>> {
  let known = listed.get(dir);
  if (known) return known;
  if (listed.size >= MAX_FOLDERS) listed.clear();
  known = (async () => {
    const byTarget = new Map<string, Leftover[]>();
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return byTarget;
    }
    for (const name of names) {
      const parsed = name.endsWith('.tmp') ? parseTempName(name) : undefined;
      if (!parsed) continue;
      const list = byTarget.get(parsed.target) ?? [];
      list.push({ name, pid: parsed.pid });
      byTarget.set(parsed.target, list);
    }
    return byTarget;
  })();
  listed.set(dir, known);
  return known;
}

/** Removes the stale temporary files of ours for `target` (an absolute path). Never throws. */
export async function sweepStaleTemps(target: string): Promise<void> {
  const dir = path.dirname(target);
  const base = path.basename(target);
  try {
    const byTarget = await listFolder(dir);
    const leftovers = byTarget.get(base);
    if (!leftovers) return;
    byTarget.delete(base);
    for (const { name, pid } of leftovers) {
      const file = path.join(dir, name);
      if (await isOurStaleTemp(file, pid)) await unlink(file).catch(() => undefined);
    }
  } catch {
    // Cleaning up is best effort: it never stops a write.
  }
}

/**
 * Forgets which folders were listed, so that the next `AtomicFile` lists its folder again.
 * @internal For tests.
 */
export function forgetListedFolders(): void {
  listed.clear();
}
