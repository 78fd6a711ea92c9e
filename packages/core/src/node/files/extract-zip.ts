import { close as closeFd, closeSync, createReadStream, fstatSync, openSync, read as readFd } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { InflateRaw } from 'minizlib';
import type yauzl from 'yauzl';
import { abortError } from '../../async.js';
import { AbortError, UnsafeArchiveError } from '../../errors.js';
import type { ExtractOptions } from './extract.js';
import {
  account,
  type Budget,
  INFLATE_SLICE,
  READ_CHUNK,
  type Stage,
  toArchiveError,
} from './extract-stage.js';

type ZipFile = yauzl.ZipFile;
type ZipEntry = yauzl.Entry;

async function openZip(archive: string): Promise<ZipFile> {
  const { default: yauzlModule } = await import('yauzl');
  // Entries are read through our reader, in 1 MiB slices: yauzl's own file reader reads 16 KiB at a time,
  // which costs a thread-pool round trip for every 16 KiB of a multi-gigabyte archive.
  class FileReader extends yauzlModule.RandomAccessReader {
    constructor(
      private readonly fd: number,
      private readonly file: string,
    ) {
      super();
    }
    override _readStreamForRange(start: number, end: number): Readable {
      // A stream of its own descriptor: a destroyed stream closes its descriptor whatever autoClose says.
      if (end <= start) return Readable.from([]);
      return createReadStream(this.file, { start, end: end - 1, highWaterMark: READ_CHUNK });
    }
    override read(
      buffer: Buffer,
      offset: number,
      length: number,
      position: number,
      callback: (err: Error | null) => void,
    ): void {
      readFd(this.fd, buffer, offset, length, position, (error, bytesRead) => {
        if (error) callback(error);
        else if (bytesRead < length) callback(new Error('unexpected end of the zip file'));
        else callback(null);
      });
    }
    override close(callback: (err: Error | null) => void): void {
      closeFd(this.fd, (error) => callback(error ?? null));
    }
  }
  const fd = openSync(archive, 'r');
  const reader = new FileReader(fd, archive);
  const size = fstatSync(fd).size;
  return new Promise((resolve, reject) => {
    yauzlModule.fromRandomAccessReader(
      reader,
      size,
      // Closed by extractZip when done (autoClose would close the reader between two lazily read entries).
      {
        lazyEntries: true,
        autoClose: false,
        validateEntrySizes: true,
        strictFileNames: true,
        decodeStrings: true,
      },
      (error, zip) => {
        if (error || !zip) {
          try {
            closeSync(fd);
          } catch {
            // already closed
          }
          reject(error);
        } else resolve(zip);
      },
    );
  });
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

/**
 * Extracts a zip archive into the stage: yauzl reads the central directory (validating names and sizes), and
 * each entry is checked and written by the stage.
 */
export async function extractZip(
  archive: string,
  stage: Stage,
  budget: Budget,
  options: ExtractOptions,
): Promise<void> {
  let zip: ZipFile;
  try {
    zip = await openZip(archive);
  } catch (error) {
    throw zipError(error, archive);
  }
  if (zip.entryCount > budget.limits.maxEntries) {
    zip.close();
    throw new UnsafeArchiveError(
      `${path.basename(archive)} has ${zip.entryCount} entries, more than ${budget.limits.maxEntries}; refusing to extract it`,
      { archive, reason: 'entries' },
    );
  }
  try {
    await new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (error?: unknown) => {
        if (done) return;
        done = true;
        options.signal?.removeEventListener('abort', onAbort);
        zip.close();
        if (error) reject(error);
        else resolve();
      };
      const onAbort = () => finish(abortError(options.signal));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      zip.on('entry', (entry: ZipEntry) => {
        zipEntry(zip, entry, stage, budget, options).then(
          () => {
            if (!done) zip.readEntry();
          },
          (error) => finish(error),
        );
      });
      zip.on('end', () => finish());
      zip.on('error', (error: unknown) => finish(zipError(error, archive)));
      zip.readEntry();
    });
  } catch (error) {
    throw zipError(error, archive);
  }
}

function zipError(error: unknown, archive: string): Error {
  if (UnsafeArchiveError.isInstance(error) || AbortError.isInstance(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/invalid relative path|absolute path|invalid characters in fileName/i.test(message)) {
    return new UnsafeArchiveError(`Refusing to extract ${path.basename(archive)}: ${message}`, {
      archive,
      reason: 'path',
      cause: error,
    });
  }
  return toArchiveError(error, archive);
}

/**
 * An entry's bytes. Deflated entries are inflated with minizlib (node-tar's own zlib layer), which works
 * synchronously on each chunk: node's zlib streams hand every chunk to the thread pool and back, which left
 * extraction idle half the time. yauzl still checks sizes; the inflated size is checked here.
 */
async function openEntryStream(zip: ZipFile, entry: ZipEntry): Promise<AsyncIterable<Buffer>> {
  const deflated = entry.compressionMethod === 8;
  const raw = await new Promise<Readable>((resolve, reject) => {
    zip.openReadStream(entry, { decompress: deflated ? false : null } as never, (error, stream) =>
      error || !stream ? reject(error) : resolve(stream),
    );
  });
  if (!deflated) return raw;
  const { InflateRaw } = await import('minizlib');
  return inflated(raw, new InflateRaw({}), entry);
}

/**
 * Inflates `raw` slice by slice, yielding what each slice gave before reading on: the consumer's backpressure
 * reaches the file reader, and one write of the inflater (synchronous, its whole output at once) holds at most
 * what an `INFLATE_SLICE` of deflate can expand to, not what a 1 MiB read of a bomb would.
 */
async function* inflated(raw: Readable, inflate: InflateRaw, entry: ZipEntry): AsyncGenerator<Buffer> {
  const expected = entry.uncompressedSize;
  let produced = 0;
  let out: Buffer[] = [];
  let failure: { error: unknown } | undefined;
  inflate.on('data', (chunk: Buffer) => {
    out.push(chunk);
  });
  inflate.on('error', (error: unknown) => {
    failure ??= { error };
  });
  function* take(): Generator<Buffer> {
    if (failure) throw failure.error;
    const chunks = out;
    out = [];
    for (const chunk of chunks) {
      produced += chunk.length;
      if (produced > expected) {
        throw new Error(`entry ${entry.fileName} inflates to more than its declared ${expected} bytes`);
      }
      yield chunk;
    }
  }
  try {
    for await (const chunk of raw as AsyncIterable<Buffer>) {
      for (let at = 0; at < chunk.length; at += INFLATE_SLICE) {
        inflate.write(chunk.subarray(at, at + INFLATE_SLICE));
        yield* take();
      }
    }
    inflate.end();
    yield* take();
    if (produced !== expected) {
      throw new Error(`entry ${entry.fileName} inflated to ${produced} bytes, not its declared ${expected}`);
    }
  } finally {
    raw.destroy();
    inflate.close();
  }
}

async function zipEntry(
  zip: ZipFile,
  entry: ZipEntry,
  stage: Stage,
  budget: Budget,
  options: ExtractOptions,
) {
  const name = entry.fileName;
  const unixMode = (entry.externalFileAttributes >>> 16) & 0xffff;
  const kind = unixMode & S_IFMT;
  const isDir = name.endsWith('/') || kind === S_IFDIR;
  const target = stage.resolve(name);
  if (!target) return;
  if (isDir) {
    account(budget, name, 0);
    await stage.directory(target.rel, target.abs);
    options.onEntry?.({ name: target.rel, type: 'directory', size: 0 });
    return;
  }
  if (kind === S_IFLNK) {
    account(budget, name, entry.uncompressedSize);
    if (entry.uncompressedSize > 4096) stage.refuse(name, 'its link target is implausibly long', 'link');
    const chunks: Buffer[] = [];
    for await (const chunk of await openEntryStream(zip, entry)) chunks.push(chunk as Buffer);
    await stage.symlink(target.rel, target.abs, Buffer.concat(chunks).toString('utf8'));
    options.onEntry?.({ name: target.rel, type: 'symlink', size: 0 });
    return;
  }
  if (kind !== 0 && kind !== S_IFREG) stage.refuse(name, 'it is not a file, folder or link', 'type');
  account(budget, name, entry.uncompressedSize);
  const out = await stage.fileStream(target.rel, target.abs, unixMode & 0o777);
  await pipeline(await openEntryStream(zip, entry), out);
  budget.files += 1;
  options.onEntry?.({ name: target.rel, type: 'file', size: entry.uncompressedSize });
}
