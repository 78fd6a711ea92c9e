import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  createAsyncQueue,
  type HttpEvent,
  mapConcurrent,
  mapConcurrentAll,
  ServerError,
  TimeoutError,
  UsageError,
} from '@sciport/core';
import type { CellType, ContentType } from '../fields.js';
import {
  IcsdClient as BaseIcsdClient,
  type CallOptions,
  type CifOptions,
  CONTENT_TYPE_NAMES,
  type IcsdClientOptions,
  MAX_IDS_PER_REQUEST,
} from '../icsd-client.js';
import { cifFileName } from '../schemas/cif.js';
import { IdSet } from './id-set.js';
import { Journal } from './journal.js';
import { BatchWriter } from './writer.js';

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

export interface DownloadOptions extends CifOptions {
  concurrency?: number;
  /** ids per request (default 500, capped by the session quota). */
  batchSize?: number;
  /** Fetch ids an earlier run found bad again (default false). */
  retryBad?: boolean;
  onProgress?: (progress: TransferProgress) => void;
}

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

export interface MirrorOptions extends DownloadOptions {
  /** Subsets to mirror (default: all three, searched one by one). */
  contentType?: ContentType | readonly ContentType[];
  /** Lowest collection code (default 1). */
  from?: number;
  /** Highest collection code (default 9,999,999). */
  to?: number;
}

export interface MirrorReport extends DownloadReport {
  /** ids found in the range. */
  discovered: number;
  /** Search requests made to find them. */
  searches: number;
}

const END_OF = /#End of TTdata_(\d+)-ICSD\s*$/;

/**
 * The ICSD client with the parts that write files: `download` and `mirror`.
 *
 * Files are `icsd_<collection code, 6 digits>.cif`, written atomically (temporary file + rename) and never
 * outside the chosen folder. The folder keeps a manifest (`.sciport-icsd.ndjson`): an interrupted run resumes
 * without fetching again what is complete, after checking that those files are really there and whole.
 */
export class IcsdClient extends BaseIcsdClient {
  constructor(options: IcsdClientOptions = {}) {
    super(options);
  }

  /** Downloads the CIFs of `ids` into `dir`, skipping what the folder already holds. */
  async download(ids: Iterable<number>, dir: string, options: DownloadOptions = {}): Promise<DownloadReport> {
    const unique = [...new Set(ids)];
    for (const id of unique) {
      if (!Number.isSafeInteger(id) || id <= 0)
        throw new UsageError(`ICSD ids are positive whole numbers; got ${id}`);
    }
    const {
      discovered: _d,
      searches: _s,
      ...report
    } = await this.transfer(
      path.resolve(dir),
      options,
      async (feed) => {
        feed(unique);
        return 0;
      },
      true,
    );
    return report;
  }

  /**
   * Mirrors the database (or a collection-code range) into `dir`: one search per content type finds the ids
   * (a range is split only to double-check an answer that looks capped, or one that fails for its size),
   * then 500 CIFs per request with `concurrency` requests in flight on one session, rotating the session
   * for the per-session quota. Downloads start as soon as the first search answers. Resumes from the
   * folder's manifest.
   */
  async mirror(dir: string, options: MirrorOptions = {}): Promise<MirrorReport> {
    const from = options.from ?? 1;
    const to = options.to ?? 9_999_999;
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < from) {
      throw new UsageError(`The collection-code range ${from}-${to} is not valid`);
    }
    const input = options.contentType ?? CONTENT_TYPE_NAMES;
    const types = (Array.isArray(input) ? input : [input]) as ContentType[];
    return this.transfer(path.resolve(dir), options, async (feed) => {
      let searches = 0;
      const search = (lo: number, hi: number, contentType: ContentType) => {
        searches += 1;
        return this.expertSearch(`COLLECTIONCODE : ${lo}-${hi}`, { contentType, signal: options.signal });
      };
      const walk = async (lo: number, hi: number, contentType: ContentType): Promise<number[]> => {
        let found: number[];
        try {
          found = await search(lo, hi, contentType);
        } catch (error) {
          // A very large answer that fails may succeed in halves.
          if ((ServerError.isInstance(error) || TimeoutError.isInstance(error)) && hi - lo > 1000) {
            const mid = Math.floor((lo + hi) / 2);
            return [...(await walk(lo, mid, contentType)), ...(await walk(mid + 1, hi, contentType))];
          }
          throw error;
        }
        // No cap on search results is known (spec §4.3, §9), but a round count could be one: check it with
        // two halves (a multiple of 100, or a power of two).
        const n = found.length;
        const round = n % 100 === 0 || (n & (n - 1)) === 0;
        if (n >= MAX_IDS_PER_REQUEST && round && hi > lo) {
          const mid = Math.floor((lo + hi) / 2);
          const [left, right] = await Promise.all([
            search(lo, mid, contentType),
            search(mid + 1, hi, contentType),
          ]);
          if (left.length + right.length !== found.length) {
            this.emit({
              type: 'warning',
              message: `the search of codes ${lo}-${hi} returned ${found.length} ids but its halves ${left.length + right.length}: searching in smaller ranges`,
            });
            return [...(await walk(lo, mid, contentType)), ...(await walk(mid + 1, hi, contentType))];
          }
        }
        return found;
      };
      // The subsets are searched at once; each feeds the downloads as soon as it answers.
      await Promise.all(types.map(async (contentType) => feed(await walk(from, to, contentType))));
      return searches;
    });
  }

  /**
   * The pipeline of `download` and `mirror`: ids fed by `discover` are filtered against the folder's manifest,
   * cut into batches (full ones first: a remainder waits for more ids), fetched `concurrency` at a time, and
   * handed to a background writer.
   */
  private async transfer(
    dir: string,
    options: DownloadOptions,
    discover: (feed: (ids: readonly number[]) => void) => Promise<number>,
    listFiles = false,
  ): Promise<MirrorReport> {
    const started = Date.now();
    const signal = options.signal;
    const cellType: CellType = options.cellType ?? 'experimental';
    const size = this.cifBatchSize(options.batchSize);
    const concurrency = options.concurrency ?? this.concurrency;
    let requests = 0;
    const unsubscribe = this.onEvent((e) => {
      if ((e as HttpEvent).type === 'request') requests += 1;
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
      await this.verifyFolder(dir, journal);

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
            await writer.enqueue(await this.fetchCifBatch(chunk, cellType, signal));
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
  private async verifyFolder(dir: string, journal: Journal): Promise<void> {
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
    this.emit({
      type: 'warning',
      message: `${broken.size} files listed in the manifest are missing or cut short; fetching them again`,
    });
    journal.forget(broken);
  }
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

export type { CallOptions };
export { MAX_IDS_PER_REQUEST };
