import { parseResponse, ResponseValidationError } from '@sciport/core';
import { z } from 'zod';

/**
 * Search answers (spec §4.3): `{"idnums": ["1975", …]}` as JSON, or the single-line XML
 * `<hits><idnums>1975 3153</idnums></hits>`. Ids may arrive as strings or numbers; both become numbers.
 */

/**
 * The JSON answer (spec §4.3: `{"idnums": [...]}`, strings or numbers). Tolerated too, as the format is only
 * inferred: `null` or a missing list for no hits, one string of space-separated ids, and the XML's root kept
 * as a wrapper (`{"hits": {"idnums": ...}}`). Ids are checked and converted by `toIds` rather than by a
 * per-element zod transform: a whole-database search has hundreds of thousands of them.
 */
const idList = z.union([z.array(z.unknown()), z.string(), z.number(), z.null()]);
export const searchJsonSchema = z.union([
  z.object({ idnums: idList }),
  z.object({ hits: z.object({ idnums: idList.optional() }) }),
  z.object({ hits: z.null() }),
]);
export type SearchJson = z.infer<typeof searchJsonSchema>;

function idValues(json: SearchJson): readonly unknown[] {
  const list = 'idnums' in json ? json.idnums : (json.hits?.idnums ?? null);
  if (list === null) return [];
  return Array.isArray(list) ? list : [list];
}

/** What a search answer holds: the ids, and the values that are decimal but not ids (0, or too large). */
export interface SearchIds {
  ids: number[];
  /** Decimal values that are not positive safe integers, as sent (at most 40 characters each). */
  rejected: string[];
}

/** A decimal token's id, or undefined when it is not a positive safe integer (`0`, `99999999999999999999`). */
function entryNumber(token: string): number | undefined {
  const n = token.length <= 16 ? Number(token) : Number.NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

function toIds(values: readonly unknown[], endpoint: string, body: string): SearchIds {
  const ids: number[] = [];
  const rejected: string[] = [];
  const bad = (i: number, v: unknown) =>
    new ResponseValidationError({
      service: 'icsd',
      endpoint,
      issues: [{ path: `idnums[${i}]`, message: `expected a decimal id, got ${JSON.stringify(v)}` }],
      body,
    });
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'number') {
      if (!Number.isFinite(v) || !Number.isInteger(v) || v < 0) throw bad(i, v);
      if (Number.isSafeInteger(v) && v > 0) ids.push(v);
      else rejected.push(String(v).slice(0, 40));
    } else if (typeof v === 'string') {
      // Usually one id; several separated by spaces are read too (the XML form's text).
      for (const token of v.trim() === '' ? [] : v.trim().split(/\s+/)) {
        if (!/^\d+$/.test(token)) throw bad(i, v);
        const n = entryNumber(token);
        if (n === undefined) rejected.push(token.slice(0, 40));
        else ids.push(n);
      }
    } else throw bad(i, v);
  }
  return { ids, rejected };
}

/** The ids of an XML answer, tolerant of whitespace, `<idnums/>` and unknown elements. */
export const searchXmlSchema = z.string().transform((xml, ctx): SearchIds => {
  if (/<idnums\s*\/>/.test(xml)) return { ids: [], rejected: [] };
  const match = /<idnums(?:\s[^>]*)?>([\s\S]*?)<\/idnums>/.exec(xml);
  if (!match) {
    ctx.addIssue({ code: 'custom', message: 'no <idnums> element in the answer' });
    return z.NEVER;
  }
  const text = (match[1] ?? '').trim();
  if (text === '') return { ids: [], rejected: [] };
  const ids: number[] = [];
  const rejected: string[] = [];
  for (const token of text.split(/\s+/)) {
    if (!/^\d+$/.test(token)) {
      ctx.addIssue({ code: 'custom', message: `"${token.slice(0, 40)}" is not a decimal id` });
      return z.NEVER;
    }
    const n = entryNumber(token);
    if (n === undefined) rejected.push(token.slice(0, 40));
    else ids.push(n);
  }
  return { ids, rejected };
});

/**
 * Parses a search body, JSON or XML, whichever it is (content types are not trusted). Values that are decimal
 * but no id (`0`, or beyond the safe integers) are refused one by one (`rejected`); the others are kept.
 */
export function parseSearchIds(body: string, endpoint: string): SearchIds {
  const trimmed = body.trimStart();
  if (trimmed.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch {
      throw new ResponseValidationError({
        service: 'icsd',
        endpoint,
        issues: [{ path: '', message: 'the answer is not valid JSON' }],
        body,
      });
    }
    return toIds(
      idValues(parseResponse(searchJsonSchema, value, { service: 'icsd', endpoint, body })),
      endpoint,
      body,
    );
  }
  return parseResponse(searchXmlSchema, body, { service: 'icsd', endpoint, body });
}

/**
 * The ids of a search body, JSON or XML. Strict: a value that is not a positive whole number (`0`, or beyond the
 * safe integers) is a `ResponseValidationError` (`parseSearchIds` refuses them one by one instead).
 */
export function parseSearchBody(body: string, endpoint: string): number[] {
  const { ids, rejected } = parseSearchIds(body, endpoint);
  if (rejected.length > 0) {
    throw new ResponseValidationError({
      service: 'icsd',
      endpoint,
      issues: [{ path: 'idnums', message: `"${rejected[0]}" is not an id (a positive whole number)` }],
      body,
    });
  }
  return ids;
}
