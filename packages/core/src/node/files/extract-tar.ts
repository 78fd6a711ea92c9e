import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadEntry, Parser as TarParser } from 'tar';
import { abortError } from '../../async.js';
import type { ExtractOptions } from './extract.js';
import {
  account,
  type Budget,
  INFLATE_SLICE,
  READ_CHUNK,
  type Stage,
  toArchiveError,
} from './extract-stage.js';

/**
 * Extracts a tar or tar.gz archive into the stage: node-tar parses the stream (gunzipping it when needed), and
 * each entry is checked and written by the stage, in order.
 */
export async function extractTar(
  archive: string,
  stage: Stage,
  budget: Budget,
  options: ExtractOptions,
): Promise<void> {
  // Loaded on first use: clients that never extract do not pay for it.
  const { Parser } = await import('tar');
  const input = createReadStream(archive, { highWaterMark: READ_CHUNK });
  const parser = new Parser({ strict: true, maxDecompressionRatio: Number.MAX_SAFE_INTEGER });
  let chain: Promise<void> = Promise.resolve();
  let failure: { error: unknown } | undefined;
  // Settles when the extraction fails (a refused entry, a broken archive, an abort): wakes a wait for 'drain'.
  let stop: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const fail = (error: unknown) => {
    if (failure) return;
    failure = { error };
    input.destroy();
    parser.abort(error instanceof Error ? error : new Error(String(error)));
    stop?.();
  };
  const onAbort = () => fail(abortError(options.signal));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const ended = new Promise<void>((resolve) => parser.on('end', () => resolve()));
  parser.on('entry', (entry: ReadEntry) => {
    if (failure) {
      entry.resume();
      return;
    }
    chain = chain
      .then(async () => {
        if (failure) entry.resume();
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
  try {
    // Fed by hand, in slices, with backpressure: the parser inflates each write at once (synchronously), and a
    // slice of deflate inflates at most about 1,032 times its size, so a 1 MiB read of a bomb is never turned
    // into a gigabyte in memory. A slice waits for the entry being written to drain the previous one.
    for await (const chunk of input as AsyncIterable<Buffer>) {
      for (let at = 0; at < chunk.length && !failure; at += INFLATE_SLICE) {
        if (!parser.write(chunk.subarray(at, at + INFLATE_SLICE))) await drained(parser, stopped);
      }
      if (failure) break;
    }
    if (!failure) {
      parser.end();
      await Promise.race([ended, stopped]);
      await chain;
    }
  } catch (error) {
    // A read error of the archive itself (the input stream's own `error`).
    fail(error);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    input.destroy();
  }
  if (failure) throw failure.error;
}

/** Waits for the parser to take more (`drain`), or for the extraction to fail. */
async function drained(parser: TarParser, stopped: Promise<void>): Promise<void> {
  let onDrain: (() => void) | undefined;
  try {
    await Promise.race([
      new Promise<void>((resolve) => {
        onDrain = resolve;
        parser.once('drain', resolve);
      }),
      stopped,
    ]);
  } finally {
    if (onDrain) parser.off('drain', onDrain);
  }
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
