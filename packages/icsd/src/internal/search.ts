import { ApiError, type RequestOptions, requestOptions, UsageError } from '@sciport/core';
import { CONTENT_TYPES, type ContentType, type ContentTypeName } from '../schemas/fields.js';
import { parseSearchIds } from '../schemas/search.js';
import { type IcsdContext, warn } from './context.js';
import { decodeText } from './decode.js';

export type SearchPath = 'search/simple' | 'search/expert';

/** One subset to search: its short name and the API's value, or neither (the server's default set). */
export interface SearchTarget {
  name: ContentTypeName | undefined;
  value: string | undefined;
}

const NAME_OF = new Map<string, ContentTypeName>(
  Object.entries(CONTENT_TYPES).map(([name, value]) => [value, name as ContentTypeName]),
);

/**
 * The subsets a `contentType` option names, checked (a `UsageError` for an unknown one) and without repeats:
 * short names and API values alike, `THEORETICAL_STRUCTURES` for the API's misspelled value. None given: one
 * search without the parameter.
 */
export function searchTargets(input: ContentType | readonly ContentType[] | undefined): SearchTarget[] {
  if (input === undefined) return [{ name: undefined, value: undefined }];
  const list = (Array.isArray(input) ? input : [input]) as ContentType[];
  if (list.length === 0) return [{ name: undefined, value: undefined }];
  const out: SearchTarget[] = [];
  for (const c of list) {
    const value: string =
      c in CONTENT_TYPES
        ? CONTENT_TYPES[c as ContentTypeName]
        : c === 'THEORETICAL_STRUCTURES'
          ? CONTENT_TYPES.theoretical
          : c;
    const name = NAME_OF.get(value);
    if (!name) {
      throw new UsageError(
        `Unknown ICSD content type ${JSON.stringify(c)}; use inorganic, metalorganic or theoretical`,
      );
    }
    if (!out.some((t) => t.value === value)) out.push({ name, value });
  }
  return out;
}

/**
 * The largest search answer read: ids only, about 12 bytes each, so room for several times the whole database
 * (about 300,000 entries). A larger answer is refused at this size instead of filling memory.
 */
export const SEARCH_BODY_LIMIT = 64 * 1024 * 1024;

/**
 * One search request: the ids of the answer, JSON or XML, in the server's order. Values that are no ids (`0`,
 * or beyond the safe integers) are left out with a warning; the others are kept.
 */
export async function searchIds(
  ctx: IcsdContext,
  path: SearchPath,
  query: string,
  contentType: string | undefined,
  options: RequestOptions,
): Promise<number[]> {
  const response = await ctx.session.run(0, options.signal, () =>
    ctx.http.withOptions({ maxBodyBytes: SEARCH_BODY_LIMIT }).request(path, {
      query: { query, 'content type': contentType },
      headers: { accept: 'application/json' },
      ...requestOptions(options),
    }),
  );
  const { ids, rejected } = parseSearchIds(
    decodeText(response.bytes, response.headers.get('content-type')),
    `GET /${path}`,
  );
  if (rejected.length > 0) {
    warn(
      ctx,
      `the search answer held ${rejected.length} ${rejected.length === 1 ? 'value' : 'values'} that ` +
        `${rejected.length === 1 ? 'is' : 'are'} not an id (a positive whole number), left out: ` +
        `${rejected.slice(0, 5).join(', ')}${rejected.length > 5 ? ', …' : ''}`,
    );
  }
  return ids;
}

/**
 * The internal ids of the given collection codes, paired (one search by the codes). Returns undefined, with a
 * warning, when the answer cannot be paired with certainty.
 */
export async function idsForCodes(
  ctx: IcsdContext,
  codes: readonly number[],
  candidates: ReadonlySet<number>,
  options: RequestOptions,
): Promise<Map<number, number> | undefined> {
  if (codes.length === 0) return new Map();
  const sorted = [...new Set(codes)].sort((a, b) => a - b);
  let ids: number[];
  try {
    ids = await searchIds(ctx, 'search/expert', `COLLECTIONCODE : ${sorted.join(',')}`, undefined, options);
  } catch (error) {
    // The server refused the search: the rows or CIFs are still good, only their ids stay unknown. Anything
    // else (no answer, an answer that is not a search's, an abort) ends the call.
    if (!ApiError.isInstance(error)) throw error;
    warn(ctx, `could not resolve ids by collection code: ${(error as Error).message}`);
    return undefined;
  }
  // The answer lists ids in ascending collection-code order: pair only if it is exactly the ids asked for.
  if (
    ids.length !== sorted.length ||
    ids.some((id) => !candidates.has(id)) ||
    new Set(ids).size !== ids.length
  ) {
    warn(
      ctx,
      `the search by ${sorted.length} collection codes returned ${ids.length} ids that do not match the batch; ids left unresolved`,
    );
    return undefined;
  }
  return new Map(sorted.map((cc, i) => [cc, ids[i] as number]));
}
