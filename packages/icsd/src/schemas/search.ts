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

function toIds(values: readonly unknown[], endpoint: string, body: string): number[] {
  const ids: number[] = [];
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
      if (!Number.isSafeInteger(v) || v < 0) throw bad(i, v);
      ids.push(v);
    } else if (typeof v === 'string') {
      // Usually one id; several separated by spaces are read too (the XML form's text).
      for (const token of v.trim() === '' ? [] : v.trim().split(/\s+/)) {
        const n = /^\d+$/.test(token) ? Number(token) : Number.NaN;
        if (!Number.isSafeInteger(n)) throw bad(i, v);
        ids.push(n);
      }
    } else throw bad(i, v);
  }
  return ids;
}

/** The ids of an XML answer, tolerant of whitespace, `<idnums/>` and unknown elements. */
export const searchXmlSchema = z.string().transform((xml, ctx) => {
  if (/<idnums\s*\/>/.test(xml)) return [] as number[];
  const match = /<idnums(?:\s[^>]*)?>([\s\S]*?)<\/idnums>/.exec(xml);
  if (!match) {
    ctx.addIssue({ code: 'custom', message: 'no <idnums> element in the answer' });
    return z.NEVER;
  }
  const text = (match[1] ?? '').trim();
  if (text === '') return [] as number[];
  const ids: number[] = [];
  for (const token of text.split(/\s+/)) {
    if (!/^\d+$/.test(token)) {
      ctx.addIssue({ code: 'custom', message: `"${token.slice(0, 40)}" is not a decimal id` });
      return z.NEVER;
    }
    ids.push(Number(token));
  }
  return ids;
});

/** Parses a search body, JSON or XML, whichever it is (content types are not trusted). */
export function parseSearchBody(body: string, endpoint: string): number[] {
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
