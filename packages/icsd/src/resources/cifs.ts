import {
  type HttpResponse,
  mapConcurrent,
  NotFoundError,
  type PageIterable,
  type RequestOptions,
} from '@sciport/core';
import { type CifBatch, cifBatchSize, fetchCifBatch, requestOneCif } from '../internal/cif-batch.js';
import {
  type CodeDuplicate,
  type CodeMismatch,
  checkCodes,
  keepAskedCodes,
  resolveCodes,
  warnMissing,
} from '../internal/codes.js';
import { type IcsdContext, warn } from '../internal/context.js';
import { decodeText } from '../internal/decode.js';
import { idsForCodes } from '../internal/search.js';
import { batchPages, checkIds, pagesOf } from '../internal/streams.js';
import { checkDocument, type IcsdCif } from '../schemas/cif.js';
import type { CellType } from '../schemas/fields.js';

export interface CifOptions extends RequestOptions {
  /** `experimental` (default) or `standardized`. */
  cellType?: CellType | undefined;
}

export interface CifListOptions extends CifOptions {
  /** `/cif/multiple` requests in flight at once (default: the client's `concurrency`). They share one session. */
  concurrency?: number | undefined;
  /** ids per `/cif/multiple` request (default 500, capped by the session quota). */
  batchSize?: number | undefined;
  /** Called with ids the server cannot serve (each isolated by bisection). */
  onBadIds?: ((ids: number[]) => void) | undefined;
}

/** The CIFs of `cifs.list`: one page per batch (500 ids), and the ids the server could not serve. */
export interface CifStream extends PageIterable<IcsdCif, IcsdCif[]> {
  /** ids the server could not serve, isolated by bisection (filled as the stream is read). */
  readonly badIds: readonly number[];
}

/** Options of `cifs.listByCode`. */
export interface CifByCodeOptions extends CifOptions {
  /** Groups of codes in flight at once (default: the client's `concurrency`). They share one session. */
  concurrency?: number | undefined;
  /** Codes per group, each one `/cif/multiple` request (default 500, capped by the session quota). */
  batchSize?: number | undefined;
  /** Called with the codes of each group that no entry has. */
  onMissingCodes?: ((codes: number[]) => void) | undefined;
}

/**
 * The CIFs of `cifs.listByCode`: a `CifStream` (one page per group of codes), with the codes that do not exist
 * and the codes that several ids carry. All are filled as the stream is read.
 */
export interface CifCodeStream extends CifStream {
  /** Codes asked for that no entry has, by number. */
  readonly missingCodes: readonly number[];
  /** Codes that several internal ids carry: the first id's CIF is the one delivered. */
  readonly duplicates: readonly CodeDuplicate[];
  /** CIFs whose `_database_code_ICSD` was not the code asked for (refused; their ids are in `badIds`). */
  readonly mismatches: readonly CodeMismatch[];
}

/** Decodes a batch's documents, each with the id asked at its place. */
function decodeBatch(batch: CifBatch): Array<{ id: number; collectionCode: number; text: string }> {
  let index = 0;
  return batch.parts.flatMap((part) => {
    const decoded = part.pieces.map((p) => ({
      id: batch.served[index++] as number,
      collectionCode: p.collectionCode,
      text: decodeText(part.body.subarray(p.start, p.end)),
    }));
    part.release();
    return decoded;
  });
}

/**
 * CIF documents, exactly as ICSD sends them: one by internal id, or many, 500 per `/cif/multiple` request. The
 * Node entry point's client adds `download` and `mirror`, which write them to a folder.
 */
export class Cifs {
  constructor(protected readonly ctx: IcsdContext) {}

  /** One CIF by internal id, exactly as sent. Unknown ids raise `NotFoundError`. */
  async get(id: number, options: CifOptions = {}): Promise<IcsdCif> {
    checkIds([id]);
    let response: HttpResponse;
    try {
      response = await requestOneCif(this.ctx, id, options.cellType ?? 'experimental', options);
    } catch (error) {
      if (NotFoundError.isInstance(error)) {
        throw new NotFoundError(
          { status: error.status, method: error.method, url: error.url, service: 'icsd', body: error.body },
          `No ICSD entry with internal id ${id} (ids come from searches; they are not collection codes)`,
        );
      }
      throw error;
    }
    const doc = checkDocument(
      decodeText(response.bytes, response.headers.get('content-type')),
      `GET /cif/${id}`,
    );
    return { id, collectionCode: doc.collectionCode, text: doc.text, raw: doc.text };
  }

  /**
   * CIFs for many ids: 500 per `/cif/multiple` request, `concurrency` requests at once on one session, each
   * document split by its own structure and exactly as sent, in the order of the ids. Ids the server cannot
   * serve are isolated and reported (`badIds`, `onBadIds`, a warning); the rest still arrive. `ids` may be any
   * iterable, a search's result included.
   */
  list(ids: Iterable<number> | AsyncIterable<number>, options: CifListOptions = {}): CifStream {
    const bad: number[] = [];
    const cellType = options.cellType ?? 'experimental';
    const ctx = this.ctx;
    // Checked now; read again for each batch (a per-session quota learnt on the way makes them smaller).
    cifBatchSize(ctx, options.batchSize);
    const size = () => cifBatchSize(ctx, options.batchSize);
    const fetchCifs = async (batch: number[]): Promise<IcsdCif[]> => {
      const got = await fetchCifBatch(ctx, batch, cellType, options);
      if (got.bad.length > 0) {
        bad.push(...got.bad);
        options.onBadIds?.(got.bad);
        warn(ctx, `ICSD could not serve ids ${got.bad.join(', ')}`);
      }
      const docs = got.parts.flatMap((part) => {
        const decoded = part.pieces.map((p) => ({
          collectionCode: p.collectionCode,
          text: decodeText(part.body.subarray(p.start, p.end)),
        }));
        part.release();
        return decoded;
      });
      const pairs = await idsForCodes(
        ctx,
        docs.map((d) => d.collectionCode),
        new Set(got.served),
        options,
      );
      return docs.map((doc, i) => ({
        // Without a certain pairing, the server's order (the order asked) is the best evidence left.
        id: pairs?.get(doc.collectionCode) ?? (got.served[i] as number),
        collectionCode: doc.collectionCode,
        text: doc.text,
        raw: doc.text,
      }));
    };
    const concurrency = options.concurrency ?? ctx.concurrency;
    return batchPages(
      ids,
      size,
      fetchCifs,
      { concurrency, signal: options.signal },
      {
        get badIds() {
          return bad.slice();
        },
      },
    );
  }

  /**
   * CIFs by **collection code** (the ICSD number of papers: "ICSD 1975"), the user's identifier; `list` is the
   * same by internal id. These are the pair issue 12 calls `cifsByCode` and the id-based call (on Node,
   * `downloadByCode` and `download`).
   *
   * The codes are checked first (positive whole numbers; a `UsageError` before anything is sent) and taken
   * without repeats. For each group of up to 500 codes: an expert search `COLLECTIONCODE : a,b,c` (200 codes a
   * search), `/csv` with `CollectionCode` for the code of each id found (never by position: a code that does
   * not exist shifts the search's answer), then one `/cif/multiple` request. Each CIF's `_database_code_ICSD`
   * is checked against the codes asked (spec §5: a mix-up fetches another entry without failing); one that
   * differs is refused (`mismatches`, `badIds`, a warning). Codes that do not exist are reported by number
   * (`missingCodes`, `onMissingCodes`, a warning event) and the others still arrive; a code with several ids
   * is delivered once, from the first id (`duplicates`). CIFs come in the order of the codes.
   */
  listByCode(codes: Iterable<number>, options: CifByCodeOptions = {}): CifCodeStream {
    const list = checkCodes(codes);
    const ctx = this.ctx;
    const cellType = options.cellType ?? 'experimental';
    cifBatchSize(ctx, options.batchSize);
    const size = () => cifBatchSize(ctx, options.batchSize);
    const bad: number[] = [];
    const missing: number[] = [];
    const duplicates: CodeDuplicate[] = [];
    const mismatches: CodeMismatch[] = [];
    function* groups(): Generator<number[]> {
      for (let i = 0; i < list.length; ) {
        const n = size();
        yield list.slice(i, i + n);
        i += n;
      }
    }
    const fetchGroup = async (group: number[]): Promise<IcsdCif[]> => {
      const resolved = await resolveCodes(ctx, group, options);
      if (resolved.missing.length > 0) {
        missing.push(...resolved.missing);
        warnMissing(ctx, resolved.missing);
        options.onMissingCodes?.(resolved.missing);
      }
      duplicates.push(...resolved.duplicates);
      const ids = [...resolved.idOf.values()];
      if (ids.length === 0) return [];
      const codeOfId = new Map([...resolved.idOf].map(([code, id]) => [id, code]));
      const got = await fetchCifBatch(ctx, ids, cellType, options);
      if (got.bad.length > 0) {
        bad.push(...got.bad);
        warn(ctx, `ICSD could not serve ids ${got.bad.join(', ')}`);
      }
      const checked = keepAskedCodes(ctx, got, codeOfId);
      bad.push(...checked.batch.bad.filter((id) => !got.bad.includes(id)));
      mismatches.push(...checked.mismatches);
      const order = new Map(group.map((code, i) => [code, i]));
      return decodeBatch(checked.batch)
        .sort((a, b) => (order.get(a.collectionCode) ?? 0) - (order.get(b.collectionCode) ?? 0))
        .map((doc) => ({
          id: resolved.idOf.get(doc.collectionCode) ?? doc.id,
          collectionCode: doc.collectionCode,
          text: doc.text,
          raw: doc.text,
        }));
    };
    const concurrency = options.concurrency ?? ctx.concurrency;
    return pagesOf(() => mapConcurrent(groups(), fetchGroup, { concurrency, signal: options.signal }), {
      get badIds() {
        return bad.slice();
      },
      get missingCodes() {
        return missing.slice();
      },
      get duplicates() {
        return duplicates.slice();
      },
      get mismatches() {
        return mismatches.slice();
      },
    });
  }
}
