import {
  BadRequestError,
  type RequestOptions,
  ResponseValidationError,
  requestOptions,
  UsageError,
} from '@sciport/core';
import { isEntryNumber } from '../schemas/cif.js';
import { parseCsv } from '../schemas/csv.js';
import { MAX_IDS_PER_REQUEST } from '../schemas/fields.js';
import type { CifBatch } from './cif-batch.js';
import { type IcsdContext, warn } from './context.js';
import { decodeText } from './decode.js';
import { searchIds } from './search.js';

/**
 * Collection codes (the ICSD numbers of papers) to internal ids (spec §5): an expert search
 * `COLLECTIONCODE : a,b,c` finds the ids, and `/csv` with `CollectionCode` says which code each id has. The ids
 * of a search are never paired with the codes asked by position: a code that does not exist shifts every id
 * after it. A code with several ids keeps one and is reported. What a CIF says (`_database_code_ICSD`) is then
 * checked against the code asked: both are plain integers, and a mix-up fetches another entry without failing.
 */

/** Codes per expert search: 200 codes of 7 digits make a URL of about 2 KB, well inside any server's limit. */
export const CODES_PER_SEARCH = 200;

/** A collection code that more than one internal id carries (spec §5: [U] whether it happens). */
export interface CodeDuplicate {
  collectionCode: number;
  /** Every id `/csv` gave this code, in the search's order. */
  ids: number[];
  /** The id whose CIF is fetched: the first of `ids`. */
  kept: number;
}

/** What one group of codes resolved to. */
export interface ResolvedCodes {
  /** The codes found, in the order asked, with the id kept for each. */
  idOf: Map<number, number>;
  /** Codes asked for that no entry has, in the order asked. */
  missing: number[];
  duplicates: CodeDuplicate[];
}

/**
 * The codes, checked before anything is sent (a `UsageError` for anything but a positive whole number), without
 * repeats, in the order given.
 */
export function checkCodes(codes: Iterable<number>): number[] {
  const out: number[] = [];
  const seen = new Set<number>();
  for (const code of codes) {
    if (typeof code !== 'number' || !isEntryNumber(code)) {
      throw new UsageError(
        `ICSD collection codes are positive whole numbers; got ${JSON.stringify(code) ?? String(code)}`,
      );
    }
    if (seen.has(code)) continue;
    seen.add(code);
    out.push(code);
  }
  return out;
}

/** `list` in slices of `size`. */
export function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/**
 * The internal ids an expert search finds for `codes` (any number: `CODES_PER_SEARCH` a search, one after the
 * other), without repeats. The comma list is what the simulator implements (spec Appendix A) and what S2 sends;
 * its meaning on the real service is [U], so a 400 for it is retried once with the same codes joined by `or`
 * (spec §6: `or` is [C]).
 */
export async function searchCodes(
  ctx: IcsdContext,
  codes: readonly number[],
  options: RequestOptions & { contentType?: string | undefined },
): Promise<number[]> {
  const out: number[] = [];
  const seen = new Set<number>();
  for (const group of chunks(codes, CODES_PER_SEARCH)) {
    let ids: number[];
    try {
      ids = await searchIds(
        ctx,
        'search/expert',
        `COLLECTIONCODE : ${group.join(',')}`,
        options.contentType,
        options,
      );
    } catch (error) {
      if (!(BadRequestError.isInstance(error) && group.length > 1)) throw error;
      warn(ctx, 'ICSD refused a comma list of collection codes; searching them joined by "or" instead');
      ids = await searchIds(
        ctx,
        'search/expert',
        group.map((c) => `COLLECTIONCODE : ${c}`).join(' or '),
        options.contentType,
        options,
      );
    }
    for (const id of ids) {
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(id);
    }
  }
  return out;
}

/** The collection codes of `ids` from one `/csv` request, in the order of its rows. */
async function csvCodes(
  ctx: IcsdContext,
  ids: readonly number[],
  options: RequestOptions,
): Promise<number[]> {
  const response = await ctx.session.run(0, options.signal, () =>
    ctx.http.withOptions({ maxBodyBytes: (1 + ids.length / 16) * 1024 * 1024 }).request('csv', {
      query: { idnum: ids, windowsclient: 'false', listSelection: ['CollectionCode'] },
      headers: { accept: 'application/csv' },
      ...requestOptions(options),
    }),
  );
  const parsed = parseCsv(decodeText(response.bytes, response.headers.get('content-type')), 'GET /csv', [
    'CollectionCode',
  ]);
  return parsed.rows.map((r) => r.collectionCode);
}

/**
 * Each id's collection code, from `/csv` (`MAX_IDS_PER_REQUEST` ids a request). The rows of `/csv` follow the
 * order of the `idnum` parameters (spec §4.4, [I]; S1 relies on it), but an id without a row would shift every
 * row after it: rows are paired with ids only when every id has its row, and a request with fewer rows is split
 * in halves until it pairs (an id alone without a row has no entry, and is left out). The CIFs fetched
 * afterwards are checked against these codes, so a wrong pairing cannot go unnoticed.
 */
export async function codesOfIds(
  ctx: IcsdContext,
  ids: readonly number[],
  options: RequestOptions,
): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const pair = async (group: readonly number[]): Promise<void> => {
    const codes = await csvCodes(ctx, group, options);
    if (codes.length > group.length) {
      throw new ResponseValidationError({
        service: 'icsd',
        endpoint: 'GET /csv',
        issues: [{ path: '', message: `${codes.length} rows for ${group.length} ids` }],
      });
    }
    if (codes.length === group.length) {
      for (const [i, id] of group.entries()) {
        const code = codes[i] as number;
        if (isEntryNumber(code)) out.set(id, code);
      }
      return;
    }
    if (group.length === 1) return;
    const mid = Math.ceil(group.length / 2);
    await pair(group.slice(0, mid));
    await pair(group.slice(mid));
  };
  for (const group of chunks(ids, MAX_IDS_PER_REQUEST)) await pair(group);
  return out;
}

/**
 * Resolves `codes` (checked, without repeats) to internal ids: searches, then `/csv` for the ids' codes. Ids
 * whose code was not asked for (the search answered more than it was asked) are left out with a warning; a
 * code with several ids keeps the first the search listed (reported in `duplicates` and by a warning).
 */
export async function resolveCodes(
  ctx: IcsdContext,
  codes: readonly number[],
  options: RequestOptions & { contentType?: string | undefined },
): Promise<ResolvedCodes> {
  const asked = new Set(codes);
  const ids = await searchCodes(ctx, codes, options);
  const codeOf = ids.length > 0 ? await codesOfIds(ctx, ids, options) : new Map<number, number>();
  const idsOf = new Map<number, number[]>();
  const stray: number[] = [];
  for (const id of ids) {
    const code = codeOf.get(id);
    if (code === undefined) continue;
    if (!asked.has(code)) {
      stray.push(id);
      continue;
    }
    const list = idsOf.get(code);
    if (list) list.push(id);
    else idsOf.set(code, [id]);
  }
  if (stray.length > 0) {
    warn(
      ctx,
      `the search by collection code returned ${stray.length} ${stray.length === 1 ? 'id' : 'ids'} of entries ` +
        `not asked for (${stray.slice(0, 5).join(', ')}${stray.length > 5 ? ', …' : ''}): left out`,
    );
  }
  const idOf = new Map<number, number>();
  const missing: number[] = [];
  const duplicates: CodeDuplicate[] = [];
  for (const code of codes) {
    const list = idsOf.get(code);
    if (!list) {
      missing.push(code);
      continue;
    }
    const kept = list[0] as number;
    idOf.set(code, kept);
    if (list.length > 1) duplicates.push({ collectionCode: code, ids: list, kept });
  }
  if (duplicates.length > 0) {
    warn(
      ctx,
      `${duplicates.length === 1 ? 'a collection code has' : `${duplicates.length} collection codes have`} ` +
        `several internal ids; fetching the first of each: ${duplicates
          .slice(0, 5)
          .map((d) => `${d.collectionCode} (ids ${d.ids.join(', ')})`)
          .join('; ')}${duplicates.length > 5 ? '; …' : ''}`,
    );
  }
  return { idOf, missing, duplicates };
}

/** Warns about codes that do not exist (by number). */
export function warnMissing(ctx: IcsdContext, missing: readonly number[]): void {
  if (missing.length === 0) return;
  warn(
    ctx,
    `no ICSD entry has ${missing.length === 1 ? 'collection code' : `these ${missing.length} collection codes`} ` +
      `${missing.slice(0, 50).join(', ')}${missing.length > 50 ? ', …' : ''}`,
  );
}

/** A CIF whose `_database_code_ICSD` is not the code asked for. */
export interface CodeMismatch {
  id: number;
  /** The code the id was resolved for. */
  expected: number;
  /** The code the CIF says it has. */
  received: number;
}

/**
 * A fetched batch without the CIFs whose `_database_code_ICSD` is not among the codes asked for (spec §5: an id
 * mixed up with a code fetches another entry). Documents may come in any order (spec §4.6, keyed by their code),
 * so a CIF is kept when its code is one asked of this batch; one that is not is refused with a warning, and the
 * id asked at its place is reported as not served. `served` and the documents stay in step.
 */
export function keepAskedCodes(
  ctx: IcsdContext,
  batch: CifBatch,
  codeOfId: ReadonlyMap<number, number>,
): { batch: CifBatch; mismatches: CodeMismatch[] } {
  const expected = new Set<number>();
  for (const id of batch.served) {
    const code = codeOfId.get(id);
    if (code !== undefined) expected.add(code);
  }
  const mismatches: CodeMismatch[] = [];
  const served: number[] = [];
  const bad = [...batch.bad];
  let index = 0;
  const parts: CifBatch['parts'] = [];
  for (const part of batch.parts) {
    const pieces = part.pieces.filter((piece) => {
      const id = batch.served[index++] as number;
      if (expected.has(piece.collectionCode)) {
        served.push(id);
        return true;
      }
      bad.push(id);
      mismatches.push({ id, expected: codeOfId.get(id) ?? Number.NaN, received: piece.collectionCode });
      return false;
    });
    if (pieces.length === part.pieces.length) parts.push(part);
    else if (pieces.length > 0) parts.push({ body: part.body, pieces, release: part.release });
    else part.release();
  }
  if (mismatches.length === 0) return { batch, mismatches };
  for (const m of mismatches) {
    warn(
      ctx,
      `ICSD answered id ${m.id} (collection code ${m.expected}) with the CIF of collection code ${m.received}: ` +
        'not kept, reported as not served',
    );
  }
  return { batch: { parts, served, bad }, mismatches };
}
