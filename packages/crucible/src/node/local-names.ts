import { createHash, randomBytes } from 'node:crypto';
import { mkdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CrucibleFile } from '../schemas/files.js';

/**
 * Local names of a dataset's files: the server's names made safe below the output folder, shortened when a
 * segment is too long for a file system, and checked for clashes (two files that would land on one path).
 */

/**
 * The longest name segment written, in bytes of UTF-8. File systems take 255; the temporary names next to a
 * file (`.<name>.<hex>.tmp`, `.<name>.part`) add up to 18 bytes.
 */
export const MAX_SEGMENT_BYTES = 200;
/** The longest relative path written, in bytes (Linux takes 4096 for the whole path, the folder included). */
export const MAX_PATH_BYTES = 1024;

/** Where a file lands locally: its path inside the dataset folder of the production bucket, else its basename. */
export function localName(file: CrucibleFile, datasetId: string): string {
  const prefix = `mf-storage-prod/${datasetId}/`;
  const fallback = path.posix.basename(file.filename.replace(/\\/g, '/'));
  if (file.storagePath?.startsWith(prefix))
    return sanitiseName(file.storagePath.slice(prefix.length), fallback);
  return sanitiseName(fallback, file.mfid ?? 'file');
}

/**
 * A server-given relative name made safe to join below the output folder: `..`, `.`, empty and drive
 * components dropped, separators unified, control characters removed, segments longer than
 * `MAX_SEGMENT_BYTES` shortened (see `fitSegment`). Empty after that: `fallback`.
 */
export function sanitiseName(name: string, fallback: string): string {
  const parts = name
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .split(/[\\/]+/)
    .filter((p) => p !== '' && p !== '.' && p !== '..' && !/^[a-zA-Z]:$/.test(p))
    .map(fitSegment);
  return parts.length > 0 ? parts.join('/') : fallback === name ? 'file' : sanitiseName(fallback, 'file');
}

/**
 * A name segment that fits a file system: as it is when it has at most `MAX_SEGMENT_BYTES` bytes, else its
 * beginning, `~`, 8 hex digits of the SHA-256 of the whole segment (so that two long names that differ only
 * at their end stay apart) and its extension (up to 32 bytes).
 */
export function fitSegment(segment: string): string {
  if (Buffer.byteLength(segment) <= MAX_SEGMENT_BYTES) return segment;
  const hash = createHash('sha256').update(segment).digest('hex').slice(0, 8);
  const dot = segment.lastIndexOf('.');
  const ext = dot > 0 && Buffer.byteLength(segment.slice(dot)) <= 32 ? segment.slice(dot) : '';
  const stem = ext ? segment.slice(0, dot) : segment;
  const room = MAX_SEGMENT_BYTES - Buffer.byteLength(ext) - hash.length - 1;
  return `${truncateUtf8(stem, room)}~${hash}${ext}`;
}

/** The longest prefix of `text` of at most `bytes` bytes of UTF-8, never splitting a character. */
function truncateUtf8(text: string, bytes: number): string {
  let used = 0;
  let end = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (used + size > bytes) break;
    used += size;
    end += char.length;
  }
  return text.slice(0, end);
}

/** Why a local name cannot be written, or undefined. */
export function unwritableReason(name: string): string | undefined {
  const bytes = Buffer.byteLength(name);
  if (bytes > MAX_PATH_BYTES)
    return `its path is ${bytes} bytes long (at most ${MAX_PATH_BYTES} are written)`;
  return undefined;
}

/**
 * Whether the file system of `dir` (created if needed) treats names that differ only in case as one
 * (macOS and Windows by default): a probe file is written and looked up under its upper-case name.
 */
export async function foldsCase(dir: string): Promise<boolean> {
  await mkdir(dir, { recursive: true });
  const name = `.sciport-case-${randomBytes(6).toString('hex')}`;
  const probe = path.join(dir, name);
  try {
    await writeFile(probe, '', { flag: 'wx' });
  } catch {
    return false;
  }
  try {
    return await stat(path.join(dir, name.toUpperCase())).then(
      () => true,
      () => false,
    );
  } finally {
    await unlink(probe).catch(() => undefined);
  }
}

/** The key under which two local names are the same file: as is, or folded (Unicode NFC, lower case). */
export function clashKey(name: string, folded: boolean): string {
  const normal = name.normalize('NFC');
  return folded ? normal.toLowerCase() : normal;
}
