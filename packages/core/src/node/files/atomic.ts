import { randomBytes } from 'node:crypto';
import { closeSync, constants as fsConstants, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { type FileHandle, mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { throwIfAborted } from '../../async.js';
import { FileWriteError } from '../../errors.js';
import { noteTempClosed, noteTempOpen, sweepStaleTemps } from './stale-temps.js';

export interface AtomicWriteOptions {
  /** File mode of the result (default 0o644; credentials use 0o600). */
  mode?: number;
  signal?: AbortSignal | undefined;
  /** Create missing parent folders (default true). */
  mkdirs?: boolean;
  /**
   * fsync the file and its folder (default true). Bulk writers that verify their files on the next run
   * (a mirror) may turn it off: the rename stays atomic, only durability across a power cut is given up.
   */
  durable?: boolean;
}

/**
 * A temporary name next to `target`, so that the final rename stays on one file system:
 * `.<name>.<pid>-<12 hex digits>.tmp`. The process id in it lets a later run tell a temporary file whose
 * writer is gone (a killed run) from one still being written (see `AtomicFile.create`).
 */
export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  const base = path.basename(target);
  return path.join(dir, `.${base}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
}

/** Errors of the file system that mean the data cannot be saved there (a full disk, a quota, a failed device). */
const DISK_FAILURES = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'EFBIG']);

function isDiskFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && DISK_FAILURES.has(code);
}

/**
 * Writes `data` to `target` atomically: into a temporary file in the same folder, flushed with fsync, then
 * renamed over `target`. Readers see the old file or the new one, never a part. On any failure (or abort)
 * the temporary file is removed and `target` is untouched.
 */
export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array | AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const writer = await AtomicFile.create(target, options);
  try {
    if (typeof data === 'string' || data instanceof Uint8Array) {
      await writer.write(data);
    } else {
      for await (const chunk of data) {
        throwIfAborted(options.signal);
        await writer.write(chunk);
      }
    }
    await writer.commit({ durable: options.durable !== false });
  } catch (error) {
    await writer.discard();
    throw error;
  }
}

/**
 * Writes many small files, each atomically (temporary file in the same folder + rename), without fsync: for
 * bulk downloads that check their files on the next run instead. The writes are synchronous, in slices of
 * `sliceSize` files with the event loop released in between: for files of a few kilobytes this is two to
 * three times faster than going through libuv's four-thread pool, and each slice blocks for about a
 * millisecond. Parent folders must exist. Returns the number of bytes written.
 */
let bulkCounter = 0;

export async function writeSmallFilesAtomic(
  files: Iterable<{ path: string; data: Uint8Array | string }>,
  options: { mode?: number; sliceSize?: number; signal?: AbortSignal | undefined } = {},
): Promise<number> {
  const slice = options.sliceSize ?? 32;
  const writer = new SmallFileWriter(options.mode);
  let bytes = 0;
  let n = 0;
  for (const file of files) {
    if (n > 0 && n % slice === 0) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      throwIfAborted(options.signal);
    }
    n += 1;
    const slash = file.path.lastIndexOf(path.sep);
    bytes += writer.write(file.path.slice(0, slash + 1), file.path.slice(slash + 1), file.data);
  }
  return bytes;
}

/**
 * Synchronous atomic writes of small files (temporary file + rename, no fsync), the engine of
 * `writeSmallFilesAtomic` for callers that slice the work themselves. Temporary names come from the pid and a
 * counter (`O_EXCL` guards against a clash): random bytes per file would cost more than the write.
 */
export class SmallFileWriter {
  private readonly prefix = `${process.pid}.${(bulkCounter++).toString(36)}`;
  private n = 0;

  constructor(private readonly mode = 0o644) {}

  /** Writes `dir + name` (dir ends with a separator); returns the bytes written. */
  write(dir: string, name: string, content: Uint8Array | string): number {
    const temp = `${dir}.${name}.${this.prefix}.${(this.n++).toString(36)}.tmp`;
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    let fd: number | undefined;
    try {
      fd = openSync(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, this.mode);
      let offset = 0;
      while (offset < data.byteLength) offset += writeSync(fd, data, offset, data.byteLength - offset);
      closeSync(fd);
      fd = undefined;
      renameSync(temp, dir + name);
    } catch (error) {
      if (fd !== undefined) closeSync(fd);
      try {
        unlinkSync(temp);
      } catch {
        // already gone
      }
      throw isDiskFailure(error) ? FileWriteError.from(error, temp) : error;
    }
    return data.byteLength;
  }
}

/**
 * A file being written under a temporary name, committed by rename. The building block of atomic writes and
 * of streaming downloads (which also check size and hash before `commit`).
 */
export class AtomicFile {
  readonly target: string;
  readonly tempPath: string;
  private handle: FileHandle | undefined;
  private done = false;
  /** Bytes written so far. */
  bytesWritten = 0;

  private constructor(target: string, tempPath: string, handle: FileHandle) {
    this.target = target;
    this.tempPath = tempPath;
    this.handle = handle;
  }

  /**
   * Opens a new temporary file for `target`. With `tempPath`, that exact file is used (opened for append when
   * `append` is set, which is how an interrupted download resumes).
   */
  static async create(
    target: string,
    options: AtomicWriteOptions & { tempPath?: string; append?: boolean } = {},
  ): Promise<AtomicFile> {
    const resolved = path.resolve(target);
    if (options.mkdirs !== false) await mkdir(path.dirname(resolved), { recursive: true });
    // What a killed run left for the same target (a temporary file of our naming whose process is gone) goes
    // first; a temporary file of a live process is never touched.
    if (!options.tempPath) await sweepStaleTemps(resolved);
    const tempPath = options.tempPath ?? tempPathFor(resolved);
    const flags = options.append
      ? fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_APPEND
      : fsConstants.O_WRONLY |
        fsConstants.O_CREAT |
        fsConstants.O_TRUNC |
        (options.tempPath ? 0 : fsConstants.O_EXCL);
    let handle: FileHandle;
    try {
      handle = await open(tempPath, flags, options.mode ?? 0o644);
    } catch (error) {
      throw isDiskFailure(error) ? FileWriteError.from(error, tempPath) : error;
    }
    const file = new AtomicFile(resolved, tempPath, handle);
    noteTempOpen(tempPath);
    if (options.append) file.bytesWritten = (await handle.stat()).size;
    return file;
  }

  async write(chunk: Uint8Array | string): Promise<void> {
    const handle = this.open();
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    try {
      let offset = 0;
      while (offset < buf.byteLength) {
        const { bytesWritten } = await handle.write(buf, offset, buf.byteLength - offset);
        offset += bytesWritten;
      }
    } catch (error) {
      throw FileWriteError.from(error, this.tempPath);
    }
    this.bytesWritten += buf.byteLength;
  }

  /**
   * Writes `chunk` synchronously, at once: for a reused read buffer handed over without a copy
   * (`RawBody.pipe`). On a local disk this is faster than a round trip through the thread pool.
   */
  writeSync(chunk: Uint8Array): void {
    const fd = this.open().fd;
    try {
      let offset = 0;
      while (offset < chunk.byteLength) offset += writeSync(fd, chunk, offset, chunk.byteLength - offset);
    } catch (error) {
      throw FileWriteError.from(error, this.tempPath);
    }
    this.bytesWritten += chunk.byteLength;
  }

  /** Writes several chunks in one call (`writev`), without joining them first. */
  async writev(chunks: readonly Uint8Array[]): Promise<void> {
    const handle = this.open();
    const total = byteLength(chunks);
    try {
      const { bytesWritten } = await handle.writev(chunks as Uint8Array[]);
      for (const part of unwritten(chunks, bytesWritten, total)) {
        let offset = 0;
        while (offset < part.byteLength) {
          const r = await handle.write(part, offset, part.byteLength - offset);
          offset += r.bytesWritten;
        }
      }
    } catch (error) {
      throw FileWriteError.from(error, this.tempPath);
    }
    this.bytesWritten += total;
  }

  private open(): FileHandle {
    if (!this.handle) throw new Error('AtomicFile is closed');
    return this.handle;
  }

  /** Flushes (unless `durable: false`) and closes the temporary file without renaming it (it can be resumed later). */
  async close({ durable = true } = {}): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    noteTempClosed(this.tempPath);
    if (h) {
      try {
        // A full disk can surface only here (delayed allocation): a failed flush is a failed write.
        if (durable) await h.sync();
      } catch (error) {
        throw FileWriteError.from(error, this.tempPath);
      } finally {
        await h.close();
      }
    }
  }

  /** fsyncs, closes and renames the temporary file over the target, then fsyncs the folder. */
  async commit({ durable = true } = {}): Promise<void> {
    if (this.done) return;
    await this.close({ durable });
    await rename(this.tempPath, this.target);
    this.done = true;
    if (durable) await syncDir(path.dirname(this.target));
  }

  /** Closes and removes the temporary file. Never throws. */
  async discard(): Promise<void> {
    if (this.done) return;
    this.done = true;
    const h = this.handle;
    this.handle = undefined;
    noteTempClosed(this.tempPath);
    await h?.close().catch(() => undefined);
    await unlink(this.tempPath).catch(() => undefined);
  }
}

/** fsync a folder so that a rename inside it survives a crash (ignored where unsupported). */
async function syncDir(dir: string): Promise<void> {
  let h: FileHandle | undefined;
  try {
    h = await open(dir, fsConstants.O_RDONLY);
    await h.sync();
  } catch {
    // Some platforms (Windows) cannot open or fsync folders; the rename is still atomic there.
  } finally {
    await h?.close().catch(() => undefined);
  }
}

function byteLength(chunks: readonly Uint8Array[]): number {
  let total = 0;
  for (const c of chunks) total += c.byteLength;
  return total;
}

/** What a vectored write of `written` bytes (of `total`) left to write: the rest of each chunk, in order. */
function unwritten(chunks: readonly Uint8Array[], written: number, total: number): Uint8Array[] {
  if (written >= total) return [];
  const rest: Uint8Array[] = [];
  let skip = written;
  for (const c of chunks) {
    if (skip >= c.byteLength) {
      skip -= c.byteLength;
      continue;
    }
    // A short vectored write (rare): what is left is written chunk by chunk.
    rest.push(skip === 0 ? c : c.subarray(skip));
    skip = 0;
  }
  return rest;
}
