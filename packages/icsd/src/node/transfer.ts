import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { AbortError, createAsyncQueue, mapConcurrent, mapConcurrentAll } from '@sciport/core';
import { type CifBatch, cifBatchSize, fetchCifBatch } from '../internal/cif-batch.js';
import { type IcsdContext, warn } from '../internal/context.js';
import { idsForCodes } from '../internal/search.js';
import { cifFileName, isEntryNumber } from '../schemas/cif.js';
import { type CellType, MAX_IDS_PER_REQUEST } from '../schemas/fields.js';
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
  /** A check of each fetched batch before it is written (`downloadByCode`: the CIFs are the codes asked). */
  checkBatch?: ((batch: CifBatch) => CifBatch) | undefined;
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
  discover: (feed: (ids: readonly number[]) => void, signal: AbortSignal) => Promise<number>,
  listFiles = false,
): Promise<MirrorReport> {
  const started = Date.now();
  const signal = options.signal;
  const cellType: CellType = options.cellType ?? 'experimental';
  // Checked now, and read again for each batch cut (a per-session quota learnt on the way makes them smaller).
  cifBatchSize(ctx, options.batchSize);
  const size = () => cifBatchSize(ctx, options.batchSize);
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
  // Every request of the transfer (searches, batches) stops with the first error or the caller's abort: none is
  // left running behind the error, and none opens a session after it.
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal?.reason);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  const inner = { ...options, signal: stop.signal };
  let discovering: Promise<number> | undefined;
  try {
    const journal = await Journal.open(dir, cellType);
    await verifyFolder(ctx, dir, journal, inner);

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
      for (let n = size(); carry.length >= n; n = size()) {
        queue.push(carry.slice(0, n));
        carry = carry.slice(n);
        fresh += n;
      }
      report({ phase: 'discover', total: state.total + fresh, skipped: state.skipped + skipped });
    };
    discovering = discover(feed, stop.signal).then(
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
    const running = new Set<Promise<void>>();
    try {
      // Fetching and writing overlap: a request slot frees as soon as its batch is handed to the writer.
      const fetched = mapConcurrent(
        queue,
        (chunk) => {
          const task = (async () => {
            const fetched = await fetchCifBatch(ctx, chunk, cellType, inner);
            const batch = options.checkBatch ? options.checkBatch(fetched) : fetched;
            try {
              await writer.enqueue(batch);
            } catch (error) {
              for (const part of batch.parts) part.release();
              throw error;
            }
          })();
          running.add(task);
          task.then(
            () => running.delete(task),
            () => running.delete(task),
          );
          return task;
        },
        { concurrency, signal, ordered: false },
      );
      for await (const _ of fetched) {
        // progress is reported by the writer
      }
    } finally {
      stop.abort(signal?.aborted ? signal.reason : new AbortError('the transfer ended'));
      await Promise.allSettled([...running]);
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
    if (!stop.signal.aborted) stop.abort(new AbortError('the transfer ended'));
    signal?.removeEventListener('abort', onAbort);
    await discovering?.catch(() => undefined);
    unsubscribe();
  }
}

/**
 * Checks, file by file, that every file the manifest lists is present and whole: its recorded size (journals of
 * earlier versions have none) and its own end line. Only the damaged entries are fetched again: their ids come
 * from a search by collection code when it pairs with certainty, else from their place in the batch recorded.
 */
async function verifyFolder(
  ctx: IcsdContext,
  dir: string,
  journal: Journal,
  options: TransferOptions,
): Promise<void> {
  // The latest record of each code wins (a file fetched again is recorded again).
  const expected: Array<{ cc: number; size: number | undefined }> = [];
  const seen = new IdSet();
  const batches = journal.state.batches;
  for (let b = batches.length - 1; b >= 0; b--) {
    const { codes, sizes } = batches[b] as (typeof batches)[number];
    for (let i = 0; i < codes.length; i++) {
      const cc = codes[i] as number;
      if (seen.has(cc)) continue;
      seen.add(cc);
      expected.push({ cc, size: sizes?.[i] });
    }
  }
  if (expected.length === 0) return;
  const broken = new Set<number>();
  await mapConcurrentAll(
    expected,
    async ({ cc, size }) => {
      if (!isEntryNumber(cc) || !(await isWholeCif(path.join(dir, cifFileName(cc)), cc, size)))
        broken.add(cc);
    },
    { concurrency: 32 },
  );
  if (broken.size === 0) return;
  warn(
    ctx,
    `${broken.size} ${broken.size === 1 ? 'file' : 'files'} listed in the manifest ${broken.size === 1 ? 'is' : 'are'} ` +
      'missing or damaged; fetching only those again',
  );
  let idOf: Map<number, number> | undefined;
  if (broken.size <= MAX_IDS_PER_REQUEST) {
    const candidates = new Set<number>();
    for (const b of batches) {
      if (b.codes.some((cc) => broken.has(cc))) for (const id of b.ids) candidates.add(id);
    }
    idOf = await idsForCodes(ctx, [...broken].filter(isEntryNumber), candidates, options);
  }
  journal.forget(broken, idOf);
}

async function isWholeCif(file: string, cc: number, size: number | undefined): Promise<boolean> {
  try {
    const s = await stat(file);
    if (!s.isFile() || s.size === 0 || (size !== undefined && s.size !== size)) return false;
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
