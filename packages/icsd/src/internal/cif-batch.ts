import {
  ApiError,
  type HttpResponse,
  NotFoundError,
  type RequestOptions,
  ResponseValidationError,
  requestOptions,
  ServerError,
  UsageError,
} from '@sciport/core';
import { QuotaSplit } from '../icsd-error.js';
import { type CifPiece, findCifPieces } from '../schemas/cif.js';
import { type CellType, MAX_IDS_PER_REQUEST } from '../schemas/fields.js';
import { type IcsdContext, warn } from './context.js';

/** One `/cif/multiple` answer (or several, after a bisection): the bytes received and where each document is. */
export interface CifBatch {
  /** Each part's `release()` gives its body buffer back for reuse once it has been used. */
  parts: Array<{ body: Uint8Array; pieces: CifPiece[]; release(): void }>;
  /** ids served, in the order asked. */
  served: number[];
  /** ids the server could not serve. */
  bad: number[];
}

/**
 * The most bytes read for a request of `n` CIFs: 1 MiB a CIF on average (ICSD's are a few kilobytes, the largest
 * a few hundred) plus 8 MiB, at most core's 256 MiB. A body past it is refused as it arrives.
 */
export function cifBodyLimit(n: number): number {
  return Math.min(256 * 1024 * 1024, (8 + n) * 1024 * 1024);
}

/** Statuses retried for CIF batches: not 500, which means "an id of this batch cannot be served" (spec §4.6). */
const NO_500 = [408, 429, 502, 503, 504] as const;

/** The batch size for CIF requests: 500, or less when the session quota is smaller. */
export function cifBatchSize(ctx: IcsdContext, requested?: number): number {
  const size = Math.min(requested ?? MAX_IDS_PER_REQUEST, MAX_IDS_PER_REQUEST, ctx.session.maxUnits);
  if (!Number.isInteger(size) || size < 1)
    throw new UsageError(`batchSize must be 1 to 500, got ${requested}`);
  return size;
}

/**
 * Fetches one batch of CIFs (≤ 500 ids) with `/cif/multiple`. A batch refused with 500 (an id the server
 * cannot serve, spec §4.6) is bisected until the bad ids are isolated; the others still arrive. A single id
 * left over is asked of `/cif/{id}`, whose 404 says for certain that the entry does not exist (and whose
 * 200 shows that the 500 was passing). A batch larger than a session is now known to serve is split.
 */
export async function fetchCifBatch(
  ctx: IcsdContext,
  ids: readonly number[],
  cellType: CellType,
  options: RequestOptions,
): Promise<CifBatch> {
  const limit = ctx.session.maxUnits;
  if (ids.length > limit) return fetchInParts(ctx, ids, Math.ceil(ids.length / limit), cellType, options);
  try {
    const response = await ctx.session.run(ids.length, options.signal, () =>
      ctx.http.withOptions({ maxBodyBytes: cifBodyLimit(ids.length) }).request('cif/multiple', {
        query: { idnum: ids, celltype: cellType, windowsclient: 'false', filetype: 'cif' },
        headers: { accept: 'application/cif' },
        ...requestOptions(options),
        retryStatuses: NO_500,
        bufferPool: ctx.bodies,
      }),
    );
    // Split without decoding: the documents stay views of the bytes received.
    let pieces: CifPiece[];
    try {
      pieces = findCifPieces(response.bytes, 'GET /cif/multiple', { invalidCodes: 'mark' });
    } catch (error) {
      response.release();
      throw error;
    }
    if (pieces.length !== ids.length) {
      response.release();
      throw new ResponseValidationError({
        service: 'icsd',
        endpoint: 'GET /cif/multiple',
        issues: [{ path: '', message: `asked for ${ids.length} CIFs, received ${pieces.length}` }],
      });
    }
    const batch = withoutInvalidCodes(ctx, ids, pieces, response.bytes, () => response.release());
    if (
      new Set(batch.parts[0]?.pieces.map((p) => p.collectionCode)).size !==
      pieces.length - batch.bad.length
    ) {
      warn(ctx, `a batch of ${ids.length} CIFs holds duplicate collection codes`);
    }
    return batch;
  } catch (error) {
    // The session serves fewer CIFs than this batch: smaller requests.
    if (error instanceof QuotaSplit) return fetchCifBatch(ctx, ids, cellType, options);
    const status = ApiError.isInstance(error) ? error.status : 0;
    // 413 (spec §10: too many ids): the same ids in two requests.
    if (status === 413 && ids.length > 1) return fetchInParts(ctx, ids, 2, cellType, options);
    if (!(ServerError.isInstance(error) && status === 500)) throw error;
    if (ids.length === 1) return fetchOneAsBatch(ctx, ids[0] as number, cellType, options);
    return fetchInParts(ctx, ids, 2, cellType, options);
  }
}

/** `ids` in `parts` requests one after the other (bisection stays within the caller's concurrency). */
async function fetchInParts(
  ctx: IcsdContext,
  ids: readonly number[],
  parts: number,
  cellType: CellType,
  options: RequestOptions,
): Promise<CifBatch> {
  const size = Math.ceil(ids.length / parts);
  const out: CifBatch = { parts: [], served: [], bad: [] };
  try {
    for (let i = 0; i < ids.length; i += size) {
      const got = await fetchCifBatch(ctx, ids.slice(i, i + size), cellType, options);
      out.parts.push(...got.parts);
      out.served.push(...got.served);
      out.bad.push(...got.bad);
    }
  } catch (error) {
    for (const part of out.parts) part.release();
    throw error;
  }
  return out;
}

/** `GET /cif/{id}` under a lease of one CIF; a 404 is a `NotFoundError`. */
export function requestOneCif(
  ctx: IcsdContext,
  id: number,
  cellType: CellType,
  options: RequestOptions,
): Promise<HttpResponse> {
  return ctx.session.run(1, options.signal, () =>
    ctx.http.withOptions({ maxBodyBytes: cifBodyLimit(1) }).request(`cif/${id}`, {
      query: { celltype: cellType, windowsclient: 'false' },
      headers: { accept: 'application/cif' },
      ...requestOptions(options),
    }),
  );
}

/** One id that failed in a batch, asked of `/cif/{id}`: a 404 (or a lasting 500) makes it a bad id. */
async function fetchOneAsBatch(
  ctx: IcsdContext,
  id: number,
  cellType: CellType,
  options: RequestOptions,
): Promise<CifBatch> {
  let response: HttpResponse;
  try {
    response = await requestOneCif(ctx, id, cellType, options);
  } catch (error) {
    if (NotFoundError.isInstance(error) || (ServerError.isInstance(error) && error.status === 500)) {
      return { parts: [], served: [], bad: [id] };
    }
    throw error;
  }
  const pieces = findCifPieces(response.bytes, `GET /cif/${id}`, { invalidCodes: 'mark' });
  if (pieces.length !== 1) {
    throw new ResponseValidationError({
      service: 'icsd',
      endpoint: `GET /cif/${id}`,
      issues: [{ path: '', message: `${pieces.length} CIF documents where one was expected` }],
    });
  }
  return withoutInvalidCodes(ctx, [id], pieces, response.bytes, () => response.release());
}

/**
 * A batch without its documents whose collection code is not a positive whole number (they would become file
 * names such as `icsd_01e+30.cif`): each is refused with a warning, and the id asked for at its place (the
 * order asked is the best evidence of which id it answers) is reported as one the server could not serve. The
 * other documents are kept.
 */
function withoutInvalidCodes(
  ctx: IcsdContext,
  ids: readonly number[],
  pieces: CifPiece[],
  body: Uint8Array,
  release: () => void,
): CifBatch {
  if (!pieces.some((p) => p.invalidCode !== undefined)) {
    return { parts: [{ body, pieces, release }], served: [...ids], bad: [] };
  }
  const kept: CifPiece[] = [];
  const served: number[] = [];
  const bad: number[] = [];
  for (const [i, piece] of pieces.entries()) {
    const id = ids[i] as number;
    if (piece.invalidCode === undefined) {
      kept.push(piece);
      served.push(id);
      continue;
    }
    bad.push(id);
    warn(
      ctx,
      `ICSD sent a CIF whose collection code "${piece.invalidCode}" is not a positive whole number ` +
        `(the answer for id ${id}, by the order asked): not written, id ${id} reported as not served`,
    );
  }
  if (kept.length === 0) {
    release();
    return { parts: [], served, bad };
  }
  return { parts: [{ body, pieces: kept, release }], served, bad };
}
