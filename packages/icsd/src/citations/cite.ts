import { BadRequestError, type RequestOptions, requestOptions } from '@sciport/core';
import { checkCodes, chunks, searchCodes, warnMissing } from '../internal/codes.js';
import { type IcsdContext, warn } from '../internal/context.js';
import { decodeText } from '../internal/decode.js';
import { csvRecords } from '../schemas/csv.js';
import { MAX_IDS_PER_REQUEST } from '../schemas/fields.js';
import { CITATION_PROPERTIES, type Citation, citationRowSchema, normalizeDoi } from './citation.js';

/** Options of `entries.cite`. */
export interface CiteOptions extends RequestOptions {
  /**
   * Ask `/csv` for the `Doi` property (default true). The property is [U] on the real service (spec §14.5):
   * when ICSD refuses it (400), the call asks again without it, warns once, and every `doi` is `null`.
   */
  doi?: boolean | undefined;
}

/** What `entries.cite` found. */
export interface CiteResult {
  /** One citation per code found, in the order of the codes asked. */
  citations: Citation[];
  /** Codes asked for that no entry has, by number, in the order asked. */
  missingCodes: number[];
  /** False when the service refused the `Doi` property (every `doi` is then `null`). */
  doiAvailable: boolean;
}

/**
 * Citations of collection codes: expert searches by code (200 codes a search), then `/csv` with the citation
 * properties (500 ids a request). Rows are keyed by the collection code each one carries, never by position.
 * Codes that do not exist are reported (`missingCodes`, a warning event), not fatal.
 */
export async function citeCodes(
  ctx: IcsdContext,
  codes: Iterable<number>,
  options: CiteOptions = {},
): Promise<CiteResult> {
  const list = checkCodes(codes);
  let withDoi = options.doi !== false;
  const byCode = new Map<number, Citation>();
  const duplicated = new Set<number>();

  const readRows = async (ids: number[]): Promise<string> => {
    const selection = CITATION_PROPERTIES.filter((p) => withDoi || p !== 'Doi');
    const response = await ctx.session.run(0, options.signal, () =>
      ctx.http.withOptions({ maxBodyBytes: (1 + ids.length / 16) * 1024 * 1024 }).request('csv', {
        query: { idnum: ids, windowsclient: 'false', listSelection: selection },
        headers: { accept: 'application/csv' },
        ...requestOptions(options),
      }),
    );
    return decodeText(response.bytes, response.headers.get('content-type'));
  };

  for (const group of chunks(list, MAX_IDS_PER_REQUEST)) {
    const ids = await searchCodes(ctx, group, options);
    const asked = new Set(group);
    for (const batch of chunks(ids, MAX_IDS_PER_REQUEST)) {
      let body: string;
      try {
        body = await readRows(batch);
      } catch (error) {
        if (!(withDoi && BadRequestError.isInstance(error))) throw error;
        withDoi = false;
        warn(ctx, 'ICSD refused the Doi property (400); citations are written without DOIs');
        body = await readRows(batch);
      }
      for (const row of csvRecords(body, 'GET /csv').rows) {
        const parsed = citationRowSchema.safeParse(row.cells);
        if (!parsed.success) {
          warn(
            ctx,
            `the /csv answer's line ${row.line} has no valid collection code ` +
              `(${JSON.stringify((row.cells.collectioncode ?? '').slice(0, 40))}): left out`,
          );
          continue;
        }
        const { doiText, ...fields } = parsed.data;
        if (!asked.has(fields.collectionCode)) continue;
        if (byCode.has(fields.collectionCode)) {
          duplicated.add(fields.collectionCode);
          continue;
        }
        const doi = doiText === null ? null : normalizeDoi(doiText);
        if (doiText !== null && doi === null) {
          warn(
            ctx,
            `the DOI of collection code ${fields.collectionCode} is not a DOI ` +
              `(${JSON.stringify(doiText.slice(0, 80))}): left out`,
          );
        }
        byCode.set(fields.collectionCode, { ...fields, doi, raw: row.raw });
      }
    }
  }
  if (duplicated.size > 0) {
    warn(
      ctx,
      `several entries carry collection code ${[...duplicated].slice(0, 10).join(', ')}: the first is cited`,
    );
  }
  const missing = list.filter((code) => !byCode.has(code));
  warnMissing(ctx, missing);
  return {
    citations: list.flatMap((code) => byCode.get(code) ?? []),
    missingCodes: missing,
    doiAvailable: withDoi,
  };
}
