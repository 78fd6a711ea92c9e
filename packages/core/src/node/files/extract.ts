import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { throwIfAborted } from '../../async.js';
import { UnsafeArchiveError, UsageError } from '../../errors.js';
import { type Budget, Stage } from './extract-stage.js';
import { extractTar } from './extract-tar.js';
import { extractZip } from './extract-zip.js';
import { isAlive } from './stale-temps.js';

/**
 * Safe archive extraction for zip and tar(.gz), on two well-kept libraries: `tar` (node-tar, npm's own,
 * used here only as a streaming parser) and `yauzl` (a zip reader that validates entry sizes and names).
 * Writing is ours, so that every entry is checked before a byte lands:
 *
 * - names must be relative and stay inside the destination (no `..`, absolute paths, drive letters,
 *   backslashes or NUL), and no entry may be written through a symbolic link;
 * - symbolic links must point inside the destination (checked again with `realpath` at the end); hard links
 *   must point at a file already extracted; devices and FIFOs are refused;
 * - the total size, the number of entries and the compression ratio are capped (zip bombs);
 * - everything is extracted into a fresh folder beside the destination and renamed into place only when the
 *   whole archive passed, so a refused archive leaves nothing behind; what a killed extraction left there is
 *   removed by the next extraction into the same destination;
 * - entries are streamed with backpressure and inflated in small slices: memory stays bounded (about 130 MB
 *   at most) whatever the size of an entry, and a compression bomb is refused before it fills memory.
 */

export interface ExtractLimits {
  /** Largest total uncompressed size in bytes (default 50 GiB). */
  maxTotalBytes?: number;
  /** Largest number of entries (default 100,000). */
  maxEntries?: number;
  /** Largest ratio of uncompressed total to archive size (default 200). */
  maxRatio?: number;
}

export interface ExtractOptions extends ExtractLimits {
  /** Archive format; detected from the first bytes by default (a server's content type is not trusted). */
  format?: ArchiveFormat | 'auto';
  /** Replace an existing, non-empty destination (default false: refuse). */
  overwrite?: boolean;
  /** `inside` (default) allows symbolic links that stay inside the destination; `refuse` rejects them all. */
  symlinks?: 'inside' | 'refuse';
  signal?: AbortSignal | undefined;
  /** Called for each entry written. */
  onEntry?: (entry: {
    name: string;
    type: 'file' | 'directory' | 'symlink' | 'hardlink';
    size: number;
  }) => void;
}

export type ArchiveFormat = 'zip' | 'tar' | 'tar.gz';

export interface ExtractResult {
  destination: string;
  format: ArchiveFormat;
  entries: number;
  files: number;
  bytes: number;
}

const DEFAULTS = { maxTotalBytes: 50 * 1024 ** 3, maxEntries: 100_000, maxRatio: 200 };

/** Detects zip, gzip (assumed tar.gz) or plain tar from a file's first bytes. */
export async function detectArchiveFormat(file: string): Promise<ArchiveFormat | undefined> {
  const h = await open(file, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await h.read(buf, 0, 512, 0);
    if (
      bytesRead >= 4 &&
      buf[0] === 0x50 &&
      buf[1] === 0x4b &&
      (buf[2] === 3 || buf[2] === 5) &&
      (buf[3] === 4 || buf[3] === 6)
    ) {
      return 'zip';
    }
    if (bytesRead >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return 'tar.gz';
    if (bytesRead >= 262 && buf.toString('latin1', 257, 262) === 'ustar') return 'tar';
    return undefined;
  } finally {
    await h.close();
  }
}

/**
 * Extracts a zip, tar or tar.gz archive into `dest`, safely (see the module comment). The destination must not
 * exist or be empty, unless `overwrite` is set; it is replaced only once the whole archive has been checked
 * and written.
 *
 * @throws UnsafeArchiveError for an entry that would escape, a forbidden link or file type, or a limit exceeded.
 */
export async function extractArchive(
  file: string,
  dest: string,
  options: ExtractOptions = {},
): Promise<ExtractResult> {
  const archive = path.resolve(file);
  const destination = path.resolve(dest);
  const format =
    options.format && options.format !== 'auto' ? options.format : await detectArchiveFormat(archive);
  if (!format) {
    throw new UnsafeArchiveError(`${path.basename(archive)} is neither a zip nor a tar archive`, {
      archive,
      reason: 'format',
    });
  }
  await checkDestination(destination, options.overwrite === true);

  // What a killed extraction into the same destination left (a stage of a process that is gone) goes first.
  await sweepStaleStages(destination);
  const stageRoot = stagePath(destination, 'partial');
  await mkdir(stageRoot, { recursive: false, mode: 0o755 });
  activeStages.add(stageRoot);
  const stage = new Stage(stageRoot, archive, options.symlinks ?? 'inside');
  const budget: Budget = {
    entries: 0,
    bytes: 0,
    files: 0,
    limits: {
      maxTotalBytes: options.maxTotalBytes ?? DEFAULTS.maxTotalBytes,
      maxEntries: options.maxEntries ?? DEFAULTS.maxEntries,
      maxRatio: options.maxRatio ?? DEFAULTS.maxRatio,
    },
    archiveSize: (await stat(archive)).size,
    archive,
  };

  try {
    if (format === 'zip') await extractZip(archive, stage, budget, options);
    else await extractTar(archive, stage, budget, options);
    await stage.verifyLinks();
    throwIfAborted(options.signal);
    await moveIntoPlace(stageRoot, destination);
  } catch (error) {
    await rm(stageRoot, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  } finally {
    activeStages.delete(stageRoot);
  }
  return { destination, format, entries: budget.entries, files: budget.files, bytes: budget.bytes };
}

/** Stages (and replaced destinations) this process is working in: never stale, whatever their name says. */
const activeStages = new Set<string>();

/**
 * A folder beside `destination` for a stage (`.<name>.<pid>-<12 hex>.partial`) or a replaced destination on
 * its way out (`….old`). The process id tells a later run whether its writer is gone (see `sweepStaleStages`).
 */
function stagePath(destination: string, kind: 'partial' | 'old'): string {
  const name = `.${path.basename(destination)}.${process.pid}-${randomBytes(6).toString('hex')}.${kind}`;
  return path.join(path.dirname(destination), name);
}

/** Age after which a stage of the older naming (no process id: `.<name>.<12 hex>.partial`) is abandoned. */
const LEGACY_STALE_MS = 60 * 60 * 1000;

const STAGE_NAME = /^\.(.+)\.(?:(\d+)-)?[0-9a-f]{12}\.(partial|old)$/;

/**
 * Removes what killed extractions into `destination` left beside it: stages whose process is gone (never one
 * of a live process, nor one this process is using), and stages of the older naming untouched for an hour. A
 * replaced destination (`.old`) is removed only while the destination itself is there: if a run was killed
 * between the two renames, the `.old` folder is the only copy. Best effort: never throws.
 */
async function sweepStaleStages(destination: string): Promise<void> {
  const dir = path.dirname(destination);
  const base = path.basename(destination);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = STAGE_NAME.exec(name);
    if (!m || m[1] !== base) continue;
    const full = path.join(dir, name);
    if (activeStages.has(full)) continue;
    try {
      let stale: boolean;
      if (m[2] === undefined) {
        stale = m[3] === 'partial' && Date.now() - (await lstat(full)).mtimeMs > LEGACY_STALE_MS;
      } else {
        const pid = Number(m[2]);
        stale = pid === process.pid || !isAlive(pid);
      }
      if (stale && m[3] === 'old' && !(await lstat(destination).catch(() => undefined))) stale = false;
      if (stale) await rm(full, { recursive: true, force: true });
    } catch {
      // Cleaning up is best effort: it never stops an extraction.
    }
  }
}

async function checkDestination(destination: string, overwrite: boolean): Promise<void> {
  const existing = await lstat(destination).catch(() => undefined);
  if (!existing) return;
  if (!existing.isDirectory()) {
    throw new UsageError(`Cannot extract into ${destination}: it exists and is not a folder`);
  }
  if (!overwrite && (await readdir(destination)).length > 0) {
    throw new UsageError(
      `Cannot extract into ${destination}: the folder is not empty (pass overwrite to replace it)`,
    );
  }
}

async function moveIntoPlace(stageRoot: string, destination: string): Promise<void> {
  const existing = await lstat(destination).catch(() => undefined);
  if (!existing) {
    await rename(stageRoot, destination);
    return;
  }
  const old = stagePath(destination, 'old');
  activeStages.add(old);
  try {
    await rename(destination, old);
  } catch (error) {
    activeStages.delete(old);
    throw error;
  }
  try {
    await rename(stageRoot, destination);
  } catch (error) {
    await rename(old, destination).catch(() => undefined);
    activeStages.delete(old);
    throw error;
  }
  await rm(old, { recursive: true, force: true });
  activeStages.delete(old);
}
