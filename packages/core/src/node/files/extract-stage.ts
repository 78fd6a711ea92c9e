import { closeSync, openSync, writeSync } from 'node:fs';
import { link, lstat, mkdir, realpath, symlink } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { AbortError, UnsafeArchiveError } from '../../errors.js';
import type { ExtractLimits } from './extract.js';
import { isInside, safeJoin, unsafeReason } from './safe-path.js';

// What the tar and zip readers share: the staging folder every entry is checked into, the budget of sizes and
// entries (zip bombs), the file sink, and how a reader's own failure is reported.

/** Read and write in slices of this size. */
export const READ_CHUNK = 1024 * 1024;

/**
 * Compressed bytes handed to an inflater at once. Inflating is synchronous and a write's whole output is
 * produced before anything can be written out, and deflate expands at most about 1,032 times: 8 KiB in
 * bounds what one write can put in memory to about 8.5 MB, whatever the archive holds (a 1 MiB read of zeros
 * inflated at once held a gigabyte). Peak RSS extracting a 1 GiB entry of zeros (bench/extract-memory.mjs):
 * about 100-125 MB with 8 KiB slices, up to 175 MB with 16 KiB, 270 MB with 64 KiB; the CPU cost of smaller
 * slices was within the noise on archives of maps.
 */
export const INFLATE_SLICE = 8 * 1024;

/**
 * A writable file that gathers chunks into 1 MiB writes, made synchronously: archive readers hand out chunks
 * of 4 to 16 KiB, and writing each through the thread pool made extraction two to three times slower than
 * `tar` and `unzip`.
 */
export function fileSink(file: string, mode: number): Writable {
  const fd = openSync(file, 'w', mode);
  let pending: Buffer[] = [];
  let size = 0;
  let closed = false;
  const flush = () => {
    if (size === 0) return;
    const data = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, size);
    pending = [];
    size = 0;
    let offset = 0;
    while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
  };
  const close = () => {
    if (!closed) {
      closed = true;
      closeSync(fd);
    }
  };
  return new Writable({
    highWaterMark: READ_CHUNK,
    write(chunk: Buffer, _encoding, callback) {
      try {
        pending.push(chunk);
        size += chunk.length;
        if (size >= READ_CHUNK) flush();
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    final(callback) {
      try {
        flush();
        close();
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    destroy(error, callback) {
      try {
        close();
      } catch {
        // the first error is the one to report
      }
      callback(error);
    },
  });
}

/** Below this many bytes the ratio is not checked: tiny archives of empty files compress very well. */
export const RATIO_FLOOR = 1024 * 1024;

export interface Budget {
  entries: number;
  bytes: number;
  files: number;
  readonly limits: Required<ExtractLimits>;
  readonly archiveSize: number;
  readonly archive: string;
}

export function account(budget: Budget, name: string, size: number): void {
  budget.entries += 1;
  if (budget.entries > budget.limits.maxEntries) {
    throw new UnsafeArchiveError(
      `${path.basename(budget.archive)} has more than ${budget.limits.maxEntries} entries; refusing to extract it`,
      { archive: budget.archive, entry: name, reason: 'entries' },
    );
  }
  budget.bytes += size;
  if (budget.bytes > budget.limits.maxTotalBytes) {
    throw new UnsafeArchiveError(
      `${path.basename(budget.archive)} unpacks to more than ${budget.limits.maxTotalBytes} bytes; refusing to extract it`,
      { archive: budget.archive, entry: name, reason: 'size' },
    );
  }
  if (budget.bytes > RATIO_FLOOR && budget.bytes / Math.max(1, budget.archiveSize) > budget.limits.maxRatio) {
    throw new UnsafeArchiveError(
      `${path.basename(budget.archive)} expands more than ${budget.limits.maxRatio} times its size; ` +
        'refusing to extract it (a possible zip bomb)',
      { archive: budget.archive, entry: name, reason: 'ratio' },
    );
  }
}

/** Per-extraction state: the staging folder and what has been created in it. */
export class Stage {
  readonly links = new Set<string>();
  readonly files = new Set<string>();
  constructor(
    readonly root: string,
    readonly archive: string,
    readonly symlinks: 'inside' | 'refuse',
  ) {}

  /** Validates an entry name and returns its path inside the stage, or undefined for the root entry. */
  resolve(rawName: string): { rel: string; abs: string } | undefined {
    const name = rawName.replace(/\/+$/, '');
    if (name === '' || name === '.' || name === './') {
      if (rawName === '') this.refuse(rawName, 'the name is empty');
      return undefined;
    }
    if (rawName.includes('\\')) this.refuse(rawName, 'it contains a backslash');
    const reason = unsafeReason(name);
    if (reason) this.refuse(rawName, reason);
    const parts = name.split('/').filter((p) => p !== '' && p !== '.');
    const rel = parts.join('/');
    // No entry may be written through (or over) a symbolic link created by an earlier entry.
    for (let i = 1; i <= parts.length; i++) {
      if (this.links.has(parts.slice(0, i).join('/'))) {
        this.refuse(
          rawName,
          `it would be written through the symbolic link ${parts.slice(0, i).join('/')}`,
          'link',
        );
      }
    }
    return { rel, abs: safeJoin(this.root, rel) };
  }

  refuse(entry: string, why: string, reason: UnsafeArchiveError['reason'] = 'path'): never {
    throw new UnsafeArchiveError(
      `Refusing to extract ${path.basename(this.archive)}: entry ${JSON.stringify(entry)} is unsafe: ${why}`,
      { archive: this.archive, entry, reason },
    );
  }

  async directory(rel: string, abs: string): Promise<void> {
    const existing = await lstat(abs).catch(() => undefined);
    if (existing && !existing.isDirectory())
      this.refuse(rel, 'it would replace a file or a link with a folder', 'type');
    await mkdir(abs, { recursive: true, mode: 0o755 });
  }

  async fileStream(rel: string, abs: string, mode: number | undefined): Promise<NodeJS.WritableStream> {
    await mkdir(path.dirname(abs), { recursive: true, mode: 0o755 });
    const existing = await lstat(abs).catch(() => undefined);
    if (existing && !existing.isFile()) this.refuse(rel, 'it would replace a folder or a link', 'type');
    this.files.add(rel);
    const executable = mode !== undefined && (mode & 0o111) !== 0;
    return fileSink(abs, executable ? 0o755 : 0o644);
  }

  async symlink(rel: string, abs: string, target: string): Promise<void> {
    if (this.symlinks === 'refuse') this.refuse(rel, 'symbolic links are not allowed', 'link');
    if (
      target === '' ||
      target.includes('\0') ||
      path.isAbsolute(target) ||
      /^[a-zA-Z]:|^[\\/]/.test(target)
    ) {
      this.refuse(rel, `it is a symbolic link to ${JSON.stringify(target)}`, 'link');
    }
    const resolved = path.resolve(path.dirname(abs), target);
    if (!isInside(this.root, resolved, { allowEqual: true })) {
      this.refuse(rel, `it is a symbolic link pointing outside the destination (${target})`, 'link');
    }
    await mkdir(path.dirname(abs), { recursive: true, mode: 0o755 });
    const existing = await lstat(abs).catch(() => undefined);
    if (existing) this.refuse(rel, 'it would replace an existing entry with a link', 'link');
    await symlink(target, abs);
    this.links.add(rel);
  }

  async hardlink(rel: string, abs: string, targetName: string): Promise<void> {
    const why = unsafeReason(targetName.replace(/^(\.\/)+/, ''));
    if (why) this.refuse(rel, `it is a hard link to ${JSON.stringify(targetName)} (${why})`, 'link');
    const target = this.resolve(targetName);
    if (!target || !this.files.has(target.rel)) {
      this.refuse(
        rel,
        `it is a hard link to ${JSON.stringify(targetName)}, which is not a file of this archive`,
        'link',
      );
    }
    await mkdir(path.dirname(abs), { recursive: true, mode: 0o755 });
    const existing = await lstat(abs).catch(() => undefined);
    if (existing) this.refuse(rel, 'it would replace an existing entry with a link', 'link');
    await link(target.abs, abs);
    this.files.add(rel);
  }

  /** After extraction: every symbolic link must really resolve inside the stage. */
  async verifyLinks(): Promise<void> {
    const root = await realpath(this.root);
    for (const rel of this.links) {
      let real: string;
      try {
        real = await realpath(path.join(this.root, rel));
      } catch {
        this.refuse(rel, 'it is a symbolic link to nothing inside the archive', 'link');
      }
      if (!isInside(root, real, { allowEqual: true })) {
        this.refuse(rel, 'it is a symbolic link that resolves outside the destination', 'link');
      }
    }
  }
}

export function toArchiveError(error: unknown, archive: string): Error {
  if (UnsafeArchiveError.isInstance(error) || AbortError.isInstance(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new UnsafeArchiveError(`${path.basename(archive)} is not a valid archive: ${message}`, {
    archive,
    reason: 'format',
    cause: error,
  });
}
