import { parseResponse, ResponseValidationError } from '@sciport/core';
import { z } from 'zod';

/**
 * Search answers (spec §4.3): `{"idnums": ["1975", …]}` as JSON, or the single-line XML
 * `<hits><idnums>1975 3153</idnums></hits>`. Ids may arrive as strings or numbers; both become numbers.
 */

/**
 * The JSON answer. Ids are checked and converted by `toIds` rather than by a per-element zod transform: a
 * whole-database search has hundreds of thousands of them.
 */
export const searchJsonSchema = z.object({ idnums: z.array(z.unknown()) });
export type SearchJson = z.infer<typeof searchJsonSchema>;

function toIds(values: readonly unknown[], endpoint: string, body: string): number[] {
  const ids = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const n =
      typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new ResponseValidationError({
        service: 'icsd',
        endpoint,
        issues: [{ path: `idnums[${i}]`, message: `expected a decimal id, got ${JSON.stringify(v)}` }],
        body,
      });
    }
    ids[i] = n;
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
      parseResponse(searchJsonSchema, value, { service: 'icsd', endpoint, body }).idnums,
      endpoint,
      body,
    );
  }
  return parseResponse(searchXmlSchema, body, { service: 'icsd', endpoint, body });
}
