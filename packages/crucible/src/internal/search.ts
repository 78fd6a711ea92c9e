import {
  type PageIterable,
  type RequestOptions,
  requestOptions,
  singlePage,
  UsageError,
} from '@sciport/core';
import type { z } from 'zod';
import { itemsOf } from '../schemas/common.js';
import { type Context, call, clean } from './context.js';

/** Options of the `search` methods (spec §19.2). */
export interface SearchOptions extends RequestOptions {
  /** Most results (default 20; the server gives at most 50: larger values ask for 50). */
  limit?: number;
}

/** The server's cap on `limit` (spec §19.2). */
export const SEARCH_LIMIT_CAP = 50;

/** The search text, trimmed; fewer than 3 characters is a `UsageError` (the server would answer 422). */
export function searchText(text: string): string {
  const q = typeof text === 'string' ? text.trim() : '';
  if (q.length < 3)
    throw new UsageError(
      `Search text must have at least 3 characters${q ? `, got ${JSON.stringify(q)}` : ' (it is empty)'}`,
    );
  return q;
}

/** `min(limit ?? 20, 50)`; a limit that is not a positive integer is a `UsageError`. */
export function searchLimit(limit: number | undefined): number {
  if (limit === undefined) return 20;
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(`A search limit must be a positive integer, got ${String(limit)}`);
  return Math.min(limit, SEARCH_LIMIT_CAP);
}

/**
 * One search request (`GET <path>?q=&limit=`, v2), its items read lazily when iterated: an `{items}` envelope
 * or a bare array, in server order. Bad input throws at once, before any request.
 */
export function searchList<S extends z.ZodType>(
  ctx: Context,
  path: string,
  item: S,
  text: string,
  query: Record<string, unknown>,
  options: SearchOptions,
): PageIterable<z.infer<S>, readonly z.infer<S>[]> {
  const q = searchText(text);
  const limit = searchLimit(options.limit);
  if (ctx.version !== 'v2') throw new UsageError('Search needs API v2 (Crucible v1 has no search)');
  return singlePage(
    async (signal) =>
      (await call(ctx, path, itemsOf(item), {
        query: clean({ q, ...query, limit }),
        ...requestOptions(options),
        signal,
      })) as z.infer<S>[],
    { signal: options.signal },
  );
}
