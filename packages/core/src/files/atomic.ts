import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { type FileHandle, mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { AbortError } from '../errors.js';

export interface AtomicWriteOptions {
  /** File mode of the result (default 0o644; credentials use 0o600). */
  mode?: number;
  signal?: AbortSignal | undefined;
  /** Create missing parent folders (default true). */
  mkdirs?: boolean;
}

/** A temporary name next to `target`, so that the final rename stays on one file system. */
export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  const base = path.basename(target);
  return path.join(dir, `.${base}.${randomBytes(6).toString('hex')}.tmp`);
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
        if (options.signal?.aborted) throw new AbortError(undefined, { cause: options.signal.reason });
        await writer.write(chunk);
      }
    }
    await writer.commit();
  } catch (error) {
    await writer.discard();
    throw error;
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
    const tempPath = options.tempPath ?? tempPathFor(resolved);
    const flags = options.append
      ? fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_APPEND
      : fsConstants.O_WRONLY |
        fsConstants.O_CREAT |
        fsConstants.O_TRUNC |
        (options.tempPath ? 0 : fsConstants.O_EXCL);
    const handle = await open(tempPath, flags, options.mode ?? 0o644);
    const file = new AtomicFile(resolved, tempPath, handle);
    if (options.append) file.bytesWritten = (await handle.stat()).size;
    return file;
  }

  async write(chunk: Uint8Array | string): Promise<void> {
    if (!this.handle) throw new Error('AtomicFile is closed');
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let offset = 0;
    while (offset < buf.byteLength) {
      const { bytesWritten } = await this.handle.write(buf, offset, buf.byteLength - offset);
      offset += bytesWritten;
    }
    this.bytesWritten += buf.byteLength;
  }

  /** Flushes and closes the temporary file without renaming it (it can be resumed later). */
  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    if (h) {
      try {
        await h.sync();
      } finally {
        await h.close();
      }
    }
  }

  /** fsyncs, closes and renames the temporary file over the target, then fsyncs the folder. */
  async commit(): Promise<void> {
    if (this.done) return;
    await this.close();
    await rename(this.tempPath, this.target);
    this.done = true;
    await syncDir(path.dirname(this.target));
  }

  /** Closes and removes the temporary file. Never throws. */
  async discard(): Promise<void> {
    if (this.done) return;
    this.done = true;
    const h = this.handle;
    this.handle = undefined;
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
