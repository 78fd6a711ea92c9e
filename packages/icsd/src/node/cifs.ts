import path from 'node:path';
import { UsageError } from '@sciport/core';
import {
  type CodeDuplicate,
  type CodeMismatch,
  checkCodes,
  chunks,
  keepAskedCodes,
  resolveCodes,
  warnMissing,
} from '../internal/codes.js';
import { type SearchTarget, searchTargets } from '../internal/search.js';
import { checkIds } from '../internal/streams.js';
import { type CifOptions, Cifs } from '../resources/cifs.js';
import { CONTENT_TYPE_NAMES, type ContentType, MAX_IDS_PER_REQUEST } from '../schemas/fields.js';
import { refreshMirror } from './refresh.js';
import { type DownloadReport, type MirrorReport, type TransferProgress, transfer } from './transfer.js';
import { walkCodes } from './walk.js';

export interface DownloadOptions extends CifOptions {
  /** `/cif/multiple` requests in flight at once (default: the client's `concurrency`). */
  concurrency?: number | undefined;
  /** ids per request (default 500, capped by the session quota). */
  batchSize?: number | undefined;
  /** Fetch ids an earlier run found bad again (default false). */
  retryBad?: boolean | undefined;
  onProgress?: ((progress: TransferProgress) => void) | undefined;
}

/** What `downloadByCode` did: a download's report, with what became of the codes. */
export interface CodeDownloadReport extends DownloadReport {
  /** Codes asked for that no entry has, by number, in the order asked. */
  missingCodes: number[];
  /** Codes that several internal ids carry: the first id's CIF is the one written. */
  duplicates: CodeDuplicate[];
  /** CIFs whose `_database_code_ICSD` was not the code asked for: not written, their ids in `badIds`. */
  mismatches: CodeMismatch[];
}

export interface MirrorOptions extends DownloadOptions {
  /** Subsets to mirror (default: all three, searched one by one). */
  contentType?: ContentType | readonly ContentType[] | undefined;
  /** Lowest collection code (default 1). */
  from?: number | undefined;
  /** Highest collection code (default 9,999,999). */
  to?: number | undefined;
  /**
   * Also bring the folder up to date (spec §14.4): find the entries modified upstream since the folder's last
   * complete refresh, read their `ModificationDate` from `/csv`, and fetch again only those whose date differs
   * from the one kept for their file, each written over its file atomically. Default false.
   */
  refresh?: boolean | undefined;
}

/**
 * CIF documents, with the methods that write them to a folder (the Node entry point's `icsd.cifs`).
 *
 * Files are `icsd_<collection code, 6 digits>.cif`, written atomically (temporary file + rename) and never
 * outside the chosen folder. The folder keeps a manifest (`.sciport-icsd.ndjson`): an interrupted run resumes
 * without fetching again what is complete, after checking that those files are really there and whole.
 */
export class NodeCifs extends Cifs {
  /**
   * Downloads the CIFs of internal `ids` into `dir`, skipping what the folder already holds. For collection
   * codes (the ICSD numbers of papers), use `downloadByCode`.
   */
  async download(ids: Iterable<number>, dir: string, options: DownloadOptions = {}): Promise<DownloadReport> {
    const unique = [...new Set(ids)];
    checkIds(unique);
    const report = downloadReport(
      await transfer(
        this.ctx,
        path.resolve(dir),
        options,
        async (feed) => {
          feed(unique);
          return 0;
        },
        true,
      ),
    );
    return report;
  }

  /**
   * Downloads the CIFs of **collection codes** (the ICSD numbers of papers) into `dir`, skipping what the folder
   * already holds; `download` is the same by internal id. These are the pair issue 12 calls `cifsByCode` and the
   * id-based call (`cifs.listByCode` and `cifs.list` without a folder).
   *
   * The codes are checked first (positive whole numbers, a `UsageError` before anything is sent). Each group of
   * 500 codes is resolved by expert searches `COLLECTIONCODE : a,b,c` and `/csv` `CollectionCode` (never by
   * position), then fetched and written as `download` does. Every CIF's `_database_code_ICSD` must be a code
   * asked for (spec §5), else it is not written (`mismatches`, its id in `badIds`). Codes that do not exist are
   * reported by number (`missingCodes` and a warning event); the others are still written.
   */
  async downloadByCode(
    codes: Iterable<number>,
    dir: string,
    options: DownloadOptions = {},
  ): Promise<CodeDownloadReport> {
    const list = checkCodes(codes);
    const missing: number[] = [];
    const duplicates: CodeDuplicate[] = [];
    const mismatches: CodeMismatch[] = [];
    const codeOfId = new Map<number, number>();
    const report = downloadReport(
      await transfer(
        this.ctx,
        path.resolve(dir),
        {
          ...options,
          checkBatch: (batch) => {
            const checked = keepAskedCodes(this.ctx, batch, codeOfId);
            mismatches.push(...checked.mismatches);
            return checked.batch;
          },
        },
        async (feed, signal) => {
          for (const group of chunks(list, MAX_IDS_PER_REQUEST)) {
            const resolved = await resolveCodes(this.ctx, group, { ...options, signal });
            missing.push(...resolved.missing);
            warnMissing(this.ctx, resolved.missing);
            duplicates.push(...resolved.duplicates);
            for (const [code, id] of resolved.idOf) codeOfId.set(id, code);
            feed([...resolved.idOf.values()]);
          }
          return 0;
        },
        true,
      ),
    );
    return { ...report, missingCodes: missing, duplicates, mismatches };
  }

  /**
   * Mirrors the database (or a collection-code range) into `dir`: one search per content type finds the ids
   * (a range is split only to double-check an answer that looks capped, or one that fails for its size),
   * then 500 CIFs per request with `concurrency` requests in flight on one session, rotating the session
   * for the per-session quota. Downloads start as soon as the first search answers. Resumes from the
   * folder's manifest, which also keeps each entry's modification date (read from its CIF).
   *
   * With `refresh`, also replaces the entries modified upstream since the folder's last complete refresh (see
   * {@link MirrorOptions.refresh}); an up-to-date folder then costs searches and `/csv` reads, no CIF. An
   * interrupted refresh is finished by the next one, without fetching again what it replaced.
   */
  async mirror(dir: string, options: MirrorOptions = {}): Promise<MirrorReport> {
    const from = options.from ?? 1;
    const to = options.to ?? 9_999_999;
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < from) {
      throw new UsageError(`The collection-code range ${from}-${to} is not valid`);
    }
    const targets = searchTargets(options.contentType ?? CONTENT_TYPE_NAMES);
    if (options.refresh) return refreshMirror(this.ctx, path.resolve(dir), options, from, to, targets);
    return transfer(this.ctx, path.resolve(dir), options, async (feed, signal) => {
      let searches = 0;
      const byCode = (lo: number, hi: number) => `COLLECTIONCODE : ${lo}-${hi}`;
      const walk = (t: SearchTarget) =>
        walkCodes(this.ctx, byCode, t.value, { ...options, signal }, () => {
          searches += 1;
        })(from, to);
      // The subsets are searched at once; each feeds the downloads as soon as it answers.
      await Promise.all(targets.map(async (t) => feed(await walk(t))));
      return searches;
    });
  }
}

/** A download's report: the transfer's, without what only a mirror reports (searches, refresh counts). */
function downloadReport(report: MirrorReport): DownloadReport {
  const {
    discovered: _d,
    searches: _s,
    new: _n,
    updated: _u,
    unchanged: _c,
    unavailable: _a,
    since: _since,
    ...rest
  } = report;
  return rest;
}
