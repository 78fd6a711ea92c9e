import { type HttpResponse, NotFoundError, type PageIterable, type RequestOptions } from '@sciport/core';
import { cifBatchSize, fetchCifBatch, requestOneCif } from '../internal/cif-batch.js';
import { type IcsdContext, warn } from '../internal/context.js';
import { decodeText } from '../internal/decode.js';
import { idsForCodes } from '../internal/search.js';
import { batchPages, checkIds } from '../internal/streams.js';
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
}
