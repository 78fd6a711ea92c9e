import { opendir, readFile, stat } from 'node:fs/promises';
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
 * collection-code order, the same bytes on every run), then the files are read a few at a time, parsed,
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
  /** Files read ahead at once (default 8). */
  readAhead?: number | undefined;
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
/** Bytes gathered before a write to the temporary file. */
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
  const readAhead = options.readAhead ?? 8;
  if (!Number.isInteger(readAhead) || readAhead < 1)
    throw new UsageError('readAhead must be a positive integer');
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
    let pending: string[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pending.length === 0) return;
      const text = pending.join('');
      pending = [];
      pendingBytes = 0;
      await file.write(text);
    };
    // Reads run `readAhead` files ahead of the parser, in order; their texts wait in this window.
    const window: Promise<string | Error>[] = [];
    const read = async (i: number): Promise<string | Error> => {
      const filePath = path.join(source, nameAt(i));
      try {
        const size = (await stat(filePath)).size;
        if (size > MAX_CIF_BYTES)
          return new Error(`${size} bytes, more than an ICSD CIF has (${MAX_CIF_BYTES}); left unread`);
        return await readFile(filePath, 'utf8');
      } catch (error) {
        return error instanceof Error ? error : new Error(String(error));
      }
    };
    for (let i = 0; i < Math.min(readAhead, total); i++) window.push(read(i));
    for (let i = 0; i < total; i++) {
      throwIfAborted(signal);
      const text = await (window.shift() as Promise<string | Error>);
      if (i + readAhead < total) window.push(read(i + readAhead));
      const name = nameAt(i);
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
          pending.push(line);
          pendingBytes += line.length;
          written += 1;
        } catch (error) {
          if (isAbortLike(error)) throw error;
          refuse(refusalOf(error, name, fallbackCode));
        }
      }
      if (pendingBytes >= WRITE_CHUNK) await flush();
      options.onProgress?.({ done: i + 1, total, written, refused: refused.length });
    }
    await flush();
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
