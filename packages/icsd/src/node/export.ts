import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { opendir, stat } from 'node:fs/promises';
import path from 'node:path';
import { isAbortLike, throwIfAborted, UsageError } from '@sciport/core';
import { AtomicFile } from '@sciport/core/node';
import { cifFileName } from '../schemas/cif.js';
import { type CifProblem, CifStructureError } from '../structure/errors.js';
import { toOptimade } from '../structure/optimade.js';
import { parseCif } from '../structure/parse-cif.js';

/**
 * `exportStructures`: a mirror folder's CIFs as OPTIMADE JSON Lines, in flat memory at any size. The folder is
 * listed as a stream (`opendir`), the collection codes kept as 4 bytes each and sorted (the output is in
 * collection-code order, the same bytes on every run), then the files are read one at a time, parsed,
 * written through one buffered temporary file and renamed over the target at the end. An entry that cannot
 * be parsed is refused (counted, with the reason) and the run goes on.
 */

export type ExportFormat = 'optimade';

/**
 * Why an entry was left out: a CIF problem, a file that could not be read, or an unexpected failure of the
 * parser or the writer on that entry (reported with its message, never dropped; please report it as a bug).
 */
export type ExportProblem = CifProblem | 'unreadable' | 'unexpected';

export interface ExportRefusal {
  /** The file's name inside the folder. */
  readonly file: string;
  /** The collection code (from the CIF, else from the file name), null when neither gives one. */
  readonly collectionCode: number | null;
  readonly problem: ExportProblem;
  readonly message: string;
  /** 1-based line of the problem in the CIF, null when it is not on one line. */
  readonly line: number | null;
}

export interface ExportProgress {
  /** Entries handled so far (written + refused). */
  readonly done: number;
  /** CIF files found in the folder. */
  readonly total: number;
  readonly written: number;
  readonly refused: number;
}

export interface ExportOptions {
  /** Output format (only `optimade`: one OPTIMADE v1.2 `structures` entry per line). */
  format?: ExportFormat | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: ExportProgress) => void) | undefined;
  /** Called for each refused entry as it happens (the report lists them all too). */
  onRefused?: ((refusal: ExportRefusal) => void) | undefined;
}

export interface ExportReport {
  /** The file written (absolute). */
  readonly file: string;
  readonly format: ExportFormat;
  /** Entries written. */
  readonly written: number;
  /** Entries left out, with the reason for each. */
  readonly refused: readonly ExportRefusal[];
  readonly bytes: number;
  readonly durationMs: number;
}

const CIF_NAME = /^icsd_(\d{1,9})\.cif$/;
/** The largest file read as a CIF: ICSD's largest entries are a few hundred kilobytes. */
const MAX_CIF_BYTES = 16 * 1024 * 1024;
/** The size of the output buffer: bytes gathered before a (synchronous) write to the temporary file. */
const WRITE_CHUNK = 256 * 1024;

/** The CIF files of `dir`: collection codes of `icsd_<code>.cif` (sorted, 4 bytes each) and any other `*.cif`. */
async function listCifs(
  dir: string,
  signal: AbortSignal | undefined,
): Promise<{ codes: Uint32Array; others: string[] }> {
  let codes = new Uint32Array(1024);
  let count = 0;
  const others: string[] = [];
  const handle = await opendir(dir, { bufferSize: 256 });
  for await (const entry of handle) {
    if (count % 4096 === 0) throwIfAborted(signal);
    const name = entry.name;
    // Hidden files are temporary files of a running writer (`.icsd_000001.cif.<pid>….tmp`) or the manifest.
    if (name.startsWith('.') || !name.toLowerCase().endsWith('.cif')) continue;
    if (!entry.isFile() && !entry.isSymbolicLink()) continue;
    const m = CIF_NAME.exec(name);
    const code = m ? Number(m[1]) : 0;
    if (m && code > 0 && cifFileName(code) === name) {
      if (count === codes.length) {
        const bigger = new Uint32Array(codes.length * 2);
        bigger.set(codes);
        codes = bigger;
      }
      codes[count++] = code;
    } else {
      others.push(name);
    }
  }
  return { codes: codes.subarray(0, count).sort(), others: others.sort() };
}

function codeFromName(name: string): number | null {
  const m = /(\d+)/.exec(name);
  return m ? Number(m[1]) : null;
}

/**
 * Writes every CIF of the mirror folder `dir` into `outFile` as OPTIMADE JSON Lines (one `structures` entry per
 * line, in collection-code order). `outFile` appears only when the run completes; an abort or a write error
 * leaves no partial file. Entries whose CIF cannot be read or parsed are listed in `refused` with the reason
 * and line; they never stop the run.
 */
export async function exportStructures(
  dir: string,
  outFile: string,
  options: ExportOptions = {},
): Promise<ExportReport> {
  const started = performance.now();
  const format = options.format ?? 'optimade';
  if (format !== 'optimade')
    throw new UsageError(`Unknown export format ${JSON.stringify(format)}; use optimade`);
  const signal = options.signal;
  const source = path.resolve(dir);
  const target = path.resolve(outFile);
  await checkPlaces(source, target);
  throwIfAborted(signal);

  const { codes, others } = await listCifs(source, signal);
  const total = codes.length + others.length;
  const nameAt = (i: number) =>
    i < codes.length ? cifFileName(codes[i] as number) : (others[i - codes.length] as string);

  const refused: ExportRefusal[] = [];
  let written = 0;
  const refuse = (refusal: ExportRefusal) => {
    refused.push(refusal);
    options.onRefused?.(refusal);
  };
  const file = await AtomicFile.create(target, { mkdirs: false, signal });
  try {
    // Lines are encoded into one reused buffer, written synchronously when full: no string outlives its
    // entry, so the garbage stays in V8's young generation and the peak RSS stays flat (strings kept for a
    // batched write would be promoted and pile up in the old generation between full collections).
    const out = Buffer.allocUnsafe(WRITE_CHUNK);
    let used = 0;
    const flush = () => {
      if (used === 0) return;
      file.writeSync(out.subarray(0, used));
      used = 0;
    };
    const append = (line: string) => {
      const length = Buffer.byteLength(line);
      if (used + length > out.length) flush();
      if (length > out.length) file.writeSync(Buffer.from(line, 'utf8'));
      else used += out.write(line, used);
    };
    const reader = new CifReader();
    for (let i = 0; i < total; i++) {
      // The reads are synchronous (see CifReader): give the event loop (Ctrl-C, progress) a turn now and then.
      if (i % 64 === 63) await new Promise<void>((resolve) => setImmediate(resolve));
      throwIfAborted(signal);
      const name = nameAt(i);
      const text = reader.read(path.join(source, name));
      const fallbackCode = i < codes.length ? (codes[i] as number) : codeFromName(name);
      if (text instanceof Error) {
        refuse({
          file: name,
          collectionCode: fallbackCode,
          problem: 'unreadable',
          message: text.message,
          line: null,
        });
      } else {
        try {
          const line = `${JSON.stringify(toOptimade(parseCif(text, { source: name })))}\n`;
          append(line);
          written += 1;
        } catch (error) {
          if (isAbortLike(error)) throw error;
          refuse(refusalOf(error, name, fallbackCode));
        }
      }
      options.onProgress?.({ done: i + 1, total, written, refused: refused.length });
    }
    flush();
    throwIfAborted(signal);
    await file.commit();
  } catch (error) {
    await file.discard();
    throw error;
  }
  return {
    file: target,
    format,
    written,
    refused,
    bytes: file.bytesWritten,
    durationMs: performance.now() - started,
  };
}

/**
 * Reads small files synchronously into one reused buffer. For files of a few kilobytes this is about twice
 * as fast as `fs.promises.readFile` (no round trip through libuv's thread pool, no buffer per file), and each
 * read blocks for a few microseconds on a local disk.
 */
class CifReader {
  private buffer = Buffer.allocUnsafe(256 * 1024);

  /** The file's text, or the error that kept it from being read. */
  read(file: string): string | Error {
    let fd: number | undefined;
    try {
      fd = openSync(file, 'r');
      const size = fstatSync(fd).size;
      if (size > MAX_CIF_BYTES)
        return new Error(`${size} bytes, more than an ICSD CIF has (${MAX_CIF_BYTES}); left unread`);
      if (size + 1 > this.buffer.length) this.buffer = Buffer.allocUnsafe(size + 1);
      let length = 0;
      // Read to the end (a file that grew since fstat is read up to the buffer's size, then refused).
      for (;;) {
        const n = readSync(fd, this.buffer, length, this.buffer.length - length, null);
        if (n === 0) break;
        length += n;
        if (length === this.buffer.length) return new Error('the file grew while it was read');
      }
      return this.buffer.toString('utf8', 0, length);
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}

/** The refusal of an entry whose parsing or writing failed. */
function refusalOf(error: unknown, file: string, fallbackCode: number | null): ExportRefusal {
  if (CifStructureError.isInstance(error)) {
    const fromCif = error.entry !== null && /^\d+$/.test(error.entry) ? Number(error.entry) : null;
    return {
      file,
      collectionCode: fromCif ?? fallbackCode,
      problem: error.problem,
      message: error.message,
      line: error.line,
    };
  }
  return {
    file,
    collectionCode: fallbackCode,
    problem: 'unexpected',
    message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    line: null,
  };
}

/** The folder must exist; the output's folder must exist too (nothing is made, a typo is not a new folder). */
async function checkPlaces(source: string, target: string): Promise<void> {
  const info = await stat(source).catch(() => undefined);
  if (!info?.isDirectory()) throw new UsageError(`${source} is not a folder (the mirror folder to export)`);
  const parent = path.dirname(target);
  const out = await stat(parent).catch(() => undefined);
  if (!out?.isDirectory())
    throw new UsageError(`The folder of ${target} does not exist`, {
      hint: 'Create it first, or write elsewhere',
    });
  const existing = await stat(target).catch(() => undefined);
  if (existing?.isDirectory()) throw new UsageError(`${target} is a folder; name a file to write`);
}
