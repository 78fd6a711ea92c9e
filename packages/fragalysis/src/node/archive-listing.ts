import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { abortError, IntegrityError, UsageError } from '@sciport/core';
import { detectArchiveFormat } from '@sciport/core/extract';

/**
 * What a completeness check needs of an archive (spec §4.7, §11.1): the names of its files, and the bytes of a
 * few small top-level files (`metadata.csv`, `errors.csv`, `README.md`). Read as a stream: a `.tar.gz` passes
 * through node-tar once, a `.zip` is read from its central directory, a folder is walked; no file but the
 * wanted ones is opened, and nothing is written.
 */

/** The most a wanted file may hold: `metadata.csv` of a target with 10,000 observations is a few MB. */
export const MAX_WANTED_BYTES = 64 * 1024 * 1024;

export interface ArchiveListing {
  /** What was read: a folder, a `.tar.gz` or a `.zip`. */
  kind: 'folder' | 'tar.gz' | 'zip';
  /** Every regular file, relative, with `/` separators and without the tar's `./` prefix. */
  files: string[];
  /** The bytes of the wanted files that exist. */
  contents: Map<string, Buffer>;
}

export interface ListOptions {
  /** Relative names whose bytes to keep (top-level `metadata.csv` and the like). */
  wanted: ReadonlySet<string>;
  signal?: AbortSignal | undefined;
}

/** Reads the listing of a folder, a `.tar.gz` or a `.zip` (its format read from its first bytes). */
export async function listArchive(location: string, options: ListOptions): Promise<ArchiveListing> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(location);
  } catch {
    throw new UsageError(`No such archive or folder: ${location}`);
  }
  if (info.isDirectory()) return listFolder(location, options);
  if (!info.isFile()) throw new UsageError(`Not an archive or a folder: ${location}`);
  const format = await detectArchiveFormat(location);
  if (format === 'zip') return listZip(location, options);
  if (format === 'tar.gz' || format === 'tar') return listTar(location, options);
  throw new UsageError(`${location} is neither a .tar.gz nor a .zip archive (nor a folder)`);
}

/** `./a/b` → `a/b`; `a\b` stays as it is (no separator); `.`, `./` and `..`-bearing names → undefined. */
export function normalizeEntry(name: string): string | undefined {
  const clean = name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (clean === '' || clean === '.' || clean.startsWith('/')) return undefined;
  if (clean.split('/').some((part) => part === '..' || part === '')) return undefined;
  return clean;
}

function tooBig(name: string, size: number): IntegrityError {
  return new IntegrityError(
    `${name} of the archive holds ${size} bytes, more than the ${MAX_WANTED_BYTES} read`,
    {
      path: name,
      expected: MAX_WANTED_BYTES,
      actual: size,
      retryable: false,
    },
  );
}

/** Folders read at once: the reads go to libuv's thread pool, and one at a time leaves it idle. */
const WALKERS = 8;

async function listFolder(root: string, options: ListOptions): Promise<ArchiveListing> {
  const files: string[] = [];
  const contents = new Map<string, Buffer>();
  const pending: string[] = [''];
  let busy = 0;
  // A pool of walkers: each takes a folder, lists it, queues its sub-folders, until none is left or busy.
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const next = (): void => {
      if (failed) return;
      if (options.signal?.aborted) {
        failed = true;
        reject(abortError(options.signal));
        return;
      }
      while (busy < WALKERS && pending.length > 0) {
        const rel = pending.pop() as string;
        busy += 1;
        readdir(rel === '' ? root : path.join(root, rel), { withFileTypes: true }).then(
          (entries) => {
            busy -= 1;
            for (const entry of entries) {
              const name = rel === '' ? entry.name : `${rel}/${entry.name}`;
              if (entry.isDirectory()) pending.push(name);
              // A link counts as present (an extracted Fragalysis archive holds none; a copy made by hand may).
              else if (entry.isFile() || entry.isSymbolicLink()) files.push(name);
            }
            if (busy === 0 && pending.length === 0) resolve();
            else next();
          },
          (error: unknown) => {
            failed = true;
            reject(error);
          },
        );
      }
    };
    next();
  });
  for (const name of options.wanted) {
    if (!files.includes(name)) continue;
    const handle = await open(path.join(root, name), 'r');
    try {
      const { size } = await handle.stat();
      if (size > MAX_WANTED_BYTES) throw tooBig(name, size);
      contents.set(name, await handle.readFile());
    } finally {
      await handle.close();
    }
  }
  return { kind: 'folder', files, contents };
}

/** Collects a stream's bytes, up to the cap. */
async function collect(stream: AsyncIterable<Buffer>, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > MAX_WANTED_BYTES) throw tooBig(name, size);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function brokenArchive(location: string, error: unknown): Error {
  if ((error as Error)?.name === 'AbortError' || IntegrityError.isInstance(error)) return error as Error;
  const message = error instanceof Error ? error.message : String(error);
  return new IntegrityError(`${path.basename(location)} cannot be read as an archive: ${message}`, {
    path: location,
    retryable: false,
    cause: error,
  });
}

async function listTar(location: string, options: ListOptions): Promise<ArchiveListing> {
  // Loaded on first use, as core's extraction does.
  const { Parser } = await import('tar');
  const files: string[] = [];
  const contents = new Map<string, Buffer>();
  const reads: Array<Promise<void>> = [];
  const parser = new Parser({ strict: true, maxDecompressionRatio: Number.MAX_SAFE_INTEGER });
  let failure: unknown;
  parser.on('entry', (entry) => {
    const name = normalizeEntry(entry.path);
    const regular = entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile';
    if (name !== undefined && regular) {
      files.push(name);
      if (options.wanted.has(name)) {
        if (entry.size > MAX_WANTED_BYTES) {
          fail(tooBig(name, entry.size));
          entry.resume();
          return;
        }
        reads.push(
          collect(entry as unknown as AsyncIterable<Buffer>, name).then(
            (bytes) => {
              contents.set(name, bytes);
            },
            (error: unknown) => fail(error),
          ),
        );
        return;
      }
    }
    entry.resume();
  });
  // A broken archive (zlib's "invalid stored block lengths", a bad header) stops everything at once: the parser
  // then neither drains nor ends, so every wait below races this.
  let fail: (error: unknown) => void = () => undefined;
  const failed = new Promise<never>((_resolve, reject) => {
    fail = (error) => {
      failure ??= error;
      reject(failure);
    };
  });
  failed.catch(() => undefined);
  parser.on('warn', (code: string, message: string | Error) => {
    if (code === 'TAR_ENTRY_INVALID' || code === 'TAR_BAD_ARCHIVE' || code === 'TAR_ABORT') fail(message);
  });
  parser.on('error', fail);
  const input = createReadStream(location, { highWaterMark: 256 * 1024 });
  const onAbort = () => input.destroy(abortError(options.signal));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const ended = new Promise<void>((resolve) => parser.on('end', () => resolve()));
    for await (const chunk of input as AsyncIterable<Buffer>) {
      if (failure) break;
      // Backpressure: a slow entry (the one being collected) pauses the reading.
      if (!parser.write(chunk))
        await Promise.race([new Promise<void>((resolve) => parser.once('drain', () => resolve())), failed]);
    }
    if (failure) throw failure;
    parser.end();
    await Promise.race([ended, failed]);
    await Promise.race([Promise.all(reads), failed]);
    if (failure) throw failure;
  } catch (error) {
    if (options.signal?.aborted) throw abortError(options.signal);
    throw brokenArchive(location, error);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    input.destroy();
  }
  return { kind: 'tar.gz', files, contents };
}

async function listZip(location: string, options: ListOptions): Promise<ArchiveListing> {
  const yauzl = await import('yauzl');
  const files: string[] = [];
  const contents = new Map<string, Buffer>();
  let zip: import('yauzl').ZipFile;
  try {
    zip = await new Promise((resolve, reject) =>
      yauzl.open(location, { lazyEntries: true, autoClose: false }, (error, file) =>
        error || !file ? reject(error) : resolve(file),
      ),
    );
  } catch (error) {
    throw brokenArchive(location, error);
  }
  try {
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(abortError(options.signal));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      zip.on('error', reject);
      zip.on('end', () => {
        options.signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      zip.on('entry', (entry: import('yauzl').Entry) => {
        const name = normalizeEntry(entry.fileName);
        if (name === undefined || entry.fileName.endsWith('/')) {
          zip.readEntry();
          return;
        }
        files.push(name);
        if (!options.wanted.has(name)) {
          zip.readEntry();
          return;
        }
        if (entry.uncompressedSize > MAX_WANTED_BYTES) {
          reject(tooBig(name, entry.uncompressedSize));
          return;
        }
        zip.openReadStream(entry, (error, stream) => {
          if (error || !stream) {
            reject(error);
            return;
          }
          collect(stream as Readable as AsyncIterable<Buffer>, name).then((bytes) => {
            contents.set(name, bytes);
            zip.readEntry();
          }, reject);
        });
      });
      zip.readEntry();
    });
  } catch (error) {
    if (options.signal?.aborted) throw abortError(options.signal);
    throw brokenArchive(location, error);
  } finally {
    zip.close();
  }
  return { kind: 'zip', files, contents };
}
