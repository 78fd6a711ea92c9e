import { z } from 'zod';

/**
 * Response schemas (spec §4). Non-strict: fields the server adds later pass through untouched, and fields that
 * older servers lack are optional. Records come out camelCase with the server's object under `raw`
 * (`apiRecord`); the types are inferred from these schemas only.
 */

/** DRF limit/offset envelope (a bare array, from a list without pagination, is one last page). */
export function page<T extends z.ZodType>(item: T) {
  return z.preprocess(
    (value) => (Array.isArray(value) ? { results: value, next: null } : value),
    z.object({
      count: z.number().int().nonnegative().nullish(),
      next: z.string().nullish(),
      previous: z.string().nullish(),
      results: z.array(item),
    }),
  );
}

/** One page of a list, as `.pages()` yields it: the DRF envelope with its items parsed. */
export interface FragalysisPage<T> {
  /** Items in the whole listing, when the server says. */
  count: number | undefined;
  /** The next page's URL as the server sent it (the client re-bases it on the stack). */
  next: string | undefined;
  results: T[];
}

/** `null` and missing both mean "not given". */
export const nullableString = z.string().nullish();
