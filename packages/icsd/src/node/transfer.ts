import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { createAsyncQueue, mapConcurrent, mapConcurrentAll } from '@sciport/core';
import { cifBatchSize, fetchCifBatch } from '../internal/cif-batch.js';
import { type IcsdContext, warn } from '../internal/context.js';
import { cifFileName } from '../schemas/cif.js';
import type { CellType } from '../schemas/fields.js';
import { IdSet } from './id-set.js';
import { Journal } from './journal.js';
import { BatchWriter } from './writer.js';

/** Where a download or mirror stands, reported to `onProgress` as it goes. */
export interface TransferProgress {
  phase: 'discover' | 'download';
  /** Entries to fetch in this run (known once discovery is done). */
  total: number;
  /** Entries written so far in this run. */
  done: number;
  /** Entries already complete in the folder, not fetched again. */
  skipped: number;
  /** ids the server could not serve. */
  failed: number;
  /** Bytes of CIF text written in this run. */
  bytes: number;
  /** HTTP requests made in this run. */
  requests: number;
}

/** What a download did (computed by sciport: a plain object, no `raw`). */
export interface DownloadReport {
  dir: string;
  /** Entries written in this run. */
  downloaded: number;
  /** Entries already complete, not fetched again. */
  skipped: number;
  /** ids the server could not serve (also kept in the folder's manifest). */
  badIds: number[];
  /** Files written in this run (for `download`; a mirror reports only counts). */
  files: string[];
  bytes: number;
  requests: number;
  durationMs: number;
}

/** What a mirror did: a download's report, and how the ids were found. */
export interface MirrorReport extends DownloadReport {
  /** ids found in the range. */
  discovered: number;
  /** Search requests made to find them. */
  searches: number;
}

/** What `transfer` needs of a download's options. */
export interface TransferOptions {
  signal?: AbortSignal | undefined;
  timeout?: number | false | undefined;
  maxRetries?: number | undefined;
  cellType?: CellType | undefined;
  concurrency?: number | undefined;
  batchSize?: number | undefined;
  retryBad?: boolean | undefined;
  onProgress?: ((progress: TransferProgress) => void) | undefined;
}

const END_OF = /#End of TTdata_(\d+)-ICSD\s*$/;

/**
 * The pipeline of `download` and `mirror`: ids fed by `discover` are filtered against the folder's manifest,
 * cut into batches (full ones first: a remainder waits for more ids), fetched `concurrency` at a time, and
 * handed to a background writer. `discover` feeds ids and returns the number of searches it made.
 */
export async function transfer(
  ctx: IcsdContext,
  dir: string,
  options: TransferOptions,
  discover: (feed: (ids: readonly number[]) => void) => Promise<number>,
  listFiles = false,
): Promise<MirrorReport> {
  const started = Date.now();
  const signal = options.signal;
  const cellType: CellType = options.cellType ?? 'experimental';
  const size = cifBatchSize(ctx, options.batchSize);
  const concurrency = options.concurrency ?? ctx.concurrency;
  let requests = 0;
  const unsubscribe = ctx.events.on((e) => {
    if (e.type === 'request') requests += 1;
  });
  const state: TransferProgress = {
    phase: 'discover',
    total: 0,
    done: 0,
    skipped: 0,
    failed: 0,
    bytes: 0,
    requests: 0,
  };
  const report = (p: Partial<TransferProgress> = {}) => {
    Object.assign(state, p, { requests });
    options.onProgress?.({ ...state });
  };
  const files: string[] = [];
  const badIds: number[] = [];
  try {
    const journal = await Journal.open(dir, cellType);
    await verifyFolder(ctx, dir, journal);

    const queue = createAsyncQueue<number[]>();
    const seen = new IdSet();
    let carry: number[] = [];
    let discovered = 0;
    const feed = (ids: readonly number[]) => {
      let skipped = 0;
      for (const id of ids) {
        if (seen.has(id)) continue;
        seen.add(id);
        discovered += 1;
        if (journal.state.doneIds.has(id)) skipped += 1;
        else if (!options.retryBad && journal.state.badIds.has(id)) badIds.push(id);
        else carry.push(id);
      }
      let fresh = 0;
      while (carry.length >= size) {
        queue.push(carry.slice(0, size));
        carry = carry.slice(size);
        fresh += size;
      }
      report({ phase: 'discover', total: state.total + fresh, skipped: state.skipped + skipped });
    };
    const discovering = discover(feed).then(
      (searches) => {
        if (carry.length > 0) queue.push(carry);
        report({ phase: 'download', total: state.total + carry.length });
        carry = [];
        queue.end();
        return searches;
      },
      (error: unknown) => {
        queue.fail(error);
        throw error;
      },
    );
    // Never an unhandled rejection: the error also ends the queue, and is awaited below.
    discovering.catch(() => undefined);

    const writer = new BatchWriter(
      dir,
      journal,
      (written) => {
        if (written.names) files.push(...written.names);
        badIds.push(...written.bad);
        report({
          done: state.done + written.files,
          failed: state.failed + written.bad.length,
          bytes: state.bytes + written.bytes,
        });
      },
      2,
      listFiles,
    );
    try {
      // Fetching and writing overlap: a request slot frees as soon as its batch is handed to the writer.
      const fetched = mapConcurrent(
        queue,
        async (chunk) => {
          await writer.enqueue(await fetchCifBatch(ctx, chunk, cellType, options));
        },
        { concurrency, signal, ordered: false },
      );
      for await (const _ of fetched) {
        // progress is reported by the writer
      }
    } finally {
      // Whatever happened, batches already fetched are written and journalled (an abort keeps its work).
      await writer.flush().catch(() => undefined);
    }
    await writer.flush();
    const searches = await discovering;
    return {
      dir,
      downloaded: state.done,
      skipped: state.skipped,
      badIds,
      files,
      bytes: state.bytes,
      requests,
      durationMs: Date.now() - started,
      discovered,
      searches,
    };
  } finally {
    unsubscribe();
  }
}

/**
 * Checks that every file the manifest lists is present and whole (ends with its own end line); a batch
 * with a missing or cut file is fetched again.
 */
async function verifyFolder(ctx: IcsdContext, dir: string, journal: Journal): Promise<void> {
  const codes = [...journal.state.codes];
  if (codes.length === 0) return;
  const broken = new Set<number>();
  await mapConcurrentAll(
    codes,
    async (cc) => {
      if (!(await isWholeCif(path.join(dir, cifFileName(cc)), cc))) broken.add(cc);
    },
    { concurrency: 32 },
  );
  if (broken.size === 0) return;
  warn(ctx, `${broken.size} files listed in the manifest are missing or cut short; fetching them again`);
  journal.forget(broken);
}

async function isWholeCif(file: string, cc: number): Promise<boolean> {
  try {
    const s = await stat(file);
    if (!s.isFile() || s.size === 0) return false;
    const h = await open(file, 'r');
    try {
      const length = Math.min(s.size, 256);
      const buf = Buffer.alloc(length);
      await h.read(buf, 0, length, s.size - length);
      const m = END_OF.exec(buf.toString('utf8'));
      return m !== null && Number(m[1]) === cc;
    } finally {
      await h.close();
    }
  } catch {
    return false;
  }
}
