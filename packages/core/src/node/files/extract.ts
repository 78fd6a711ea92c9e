import { randomBytes } from 'node:crypto';
import {
  close as closeFd,
  closeSync,
  createReadStream,
  fstatSync,
  openSync,
  read as readFd,
  writeSync,
} from 'node:fs';
import { link, lstat, mkdir, open, readdir, realpath, rename, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadEntry } from 'tar';
import type yauzl from 'yauzl';
import { AbortError, UnsafeArchiveError, UsageError } from '../../errors.js';
import { isInside, safeJoin, unsafeReason } from './safe-path.js';

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
 *   whole archive passed, so a refused archive leaves nothing behind.
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
/** Read and write in slices of this size. */
const READ_CHUNK = 1024 * 1024;

/**
 * A writable file that gathers chunks into 1 MiB writes, made synchronously: archive readers hand out chunks
 * of 4 to 16 KiB, and writing each through the thread pool made extraction two to three times slower than
 * `tar` and `unzip`.
 */
function fileSink(file: string, mode: number): Writable {
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
const RATIO_FLOOR = 1024 * 1024;

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

interface Budget {
  entries: number;
  bytes: number;
  files: number;
  readonly limits: Required<ExtractLimits>;
  readonly archiveSize: number;
  readonly archive: string;
}

function account(budget: Budget, name: string, size: number): void {
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
class Stage {
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

  const stageRoot = path.join(
    path.dirname(destination),
    `.${path.basename(destination)}.${randomBytes(6).toString('hex')}.partial`,
  );
  await mkdir(stageRoot, { recursive: false, mode: 0o755 });
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
    if (options.signal?.aborted) throw new AbortError(undefined, { cause: options.signal.reason });
    await moveIntoPlace(stageRoot, destination);
  } catch (error) {
    await rm(stageRoot, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
  return { destination, format, entries: budget.entries, files: budget.files, bytes: budget.bytes };
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
  const old = `${destination}.${randomBytes(6).toString('hex')}.old`;
  await rename(destination, old);
  try {
    await rename(stageRoot, destination);
  } catch (error) {
    await rename(old, destination).catch(() => undefined);
    throw error;
  }
  await rm(old, { recursive: true, force: true });
}

async function extractTar(
  archive: string,
  stage: Stage,
  budget: Budget,
  options: ExtractOptions,
): Promise<void> {
  // Loaded on first use: clients that never extract do not pay for it.
  const { Parser } = await import('tar');
  await new Promise<void>((resolve, reject) => {
    const input = createReadStream(archive, { highWaterMark: READ_CHUNK });
    const parser = new Parser({ strict: true, maxDecompressionRatio: Number.MAX_SAFE_INTEGER });
    let chain: Promise<void> = Promise.resolve();
    let failed = false;
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      input.destroy();
      parser.abort(error instanceof Error ? error : new Error(String(error)));
      reject(error);
    };
    const onAbort = () => fail(new AbortError(undefined, { cause: options.signal?.reason }));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    parser.on('entry', (entry: ReadEntry) => {
      if (failed) {
        entry.resume();
        return;
      }
      chain = chain
        .then(async () => {
          if (failed) entry.resume();
          else await tarEntry(entry, stage, budget, options);
        })
        .catch(fail);
    });
    parser.on('error', (error: unknown) => fail(toArchiveError(error, archive)));
    parser.on('warn', (code: string, message: string | Error) => {
      if (code === 'TAR_ENTRY_INVALID' || code === 'TAR_BAD_ARCHIVE' || code === 'TAR_ABORT') {
        fail(toArchiveError(message, archive));
      }
    });
    parser.on('end', () => {
      chain.then(() => {
        options.signal?.removeEventListener('abort', onAbort);
        if (!failed) resolve();
      }, fail);
    });
    input.on('error', fail);
    input.pipe(parser as unknown as NodeJS.WritableStream);
  });
}

async function tarEntry(
  entry: ReadEntry,
  stage: Stage,
  budget: Budget,
  options: ExtractOptions,
): Promise<void> {
  const name = entry.path;
  const target = stage.resolve(name);
  if (!target) {
    entry.resume();
    return;
  }
  switch (entry.type) {
    case 'Directory':
    case 'GNUDumpDir':
      account(budget, name, 0);
      await stage.directory(target.rel, target.abs);
      entry.resume();
      options.onEntry?.({ name: target.rel, type: 'directory', size: 0 });
      return;
    case 'File':
    case 'OldFile':
    case 'ContiguousFile': {
      account(budget, name, entry.size);
      const out = await stage.fileStream(target.rel, target.abs, entry.mode);
      await pipeline(entry as unknown as Readable, out);
      budget.files += 1;
      options.onEntry?.({ name: target.rel, type: 'file', size: entry.size });
      return;
    }
    case 'SymbolicLink':
      account(budget, name, 0);
      entry.resume();
      await stage.symlink(target.rel, target.abs, entry.linkpath ?? '');
      options.onEntry?.({ name: target.rel, type: 'symlink', size: 0 });
      return;
    case 'Link':
      account(budget, name, 0);
      entry.resume();
      await stage.hardlink(target.rel, target.abs, entry.linkpath ?? '');
      budget.files += 1;
      options.onEntry?.({ name: target.rel, type: 'hardlink', size: 0 });
      return;
    default:
      entry.resume();
      stage.refuse(name, `its type (${entry.type}) is not a file, folder or link`, 'type');
  }
}

function toArchiveError(error: unknown, archive: string): Error {
  if (UnsafeArchiveError.isInstance(error) || AbortError.isInstance(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new UnsafeArchiveError(`${path.basename(archive)} is not a valid archive: ${message}`, {
    archive,
    reason: 'format',
    cause: error,
  });
}

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

async function extractZip(
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
      const onAbort = () => finish(new AbortError(undefined, { cause: options.signal?.reason }));
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
async function openEntryStream(zip: ZipFile, entry: ZipEntry): Promise<Readable> {
  const deflated = entry.compressionMethod === 8;
  const raw = await new Promise<Readable>((resolve, reject) => {
    zip.openReadStream(entry, { decompress: deflated ? false : null } as never, (error, stream) =>
      error || !stream ? reject(error) : resolve(stream),
    );
  });
  if (!deflated) return raw;
  const { InflateRaw } = await import('minizlib');
  const inflate = new InflateRaw({});
  let produced = 0;
  const expected = entry.uncompressedSize;
  // Backpressure: the source pauses while the consumer has a full buffer, and resumes when it reads again.
  const checked = new Readable({
    highWaterMark: READ_CHUNK,
    read() {
      raw.resume();
    },
  });
  inflate.on('data', (chunk: Buffer) => {
    produced += chunk.length;
    if (produced > expected) {
      checked.destroy(
        new Error(`entry ${entry.fileName} inflates to more than its declared ${expected} bytes`),
      );
      raw.destroy();
      return;
    }
    if (!checked.push(chunk)) raw.pause();
  });
  inflate.on('end', () => {
    if (produced !== expected) {
      checked.destroy(
        new Error(`entry ${entry.fileName} inflated to ${produced} bytes, not its declared ${expected}`),
      );
    } else checked.push(null);
  });
  inflate.on('error', (error: unknown) => checked.destroy(error as Error));
  raw.on('error', (error: Error) => checked.destroy(error));
  raw.on('data', (chunk: Buffer) => inflate.write(chunk));
  raw.on('end', () => inflate.end());
  return checked;
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
