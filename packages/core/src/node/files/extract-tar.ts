import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadEntry } from 'tar';
import { abortError } from '../../async.js';
import type { ExtractOptions } from './extract.js';
import { account, type Budget, READ_CHUNK, type Stage, toArchiveError } from './extract-stage.js';

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
    const onAbort = () => fail(abortError(options.signal));
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
