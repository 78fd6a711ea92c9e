import { fromPages, mapConcurrent, type PageIterable, UsageError } from '@sciport/core';

/** Throws a `UsageError` for anything that is not an ICSD id (a positive whole number). */
export function checkIds(ids: Iterable<number>): void {
  for (const id of ids) {
    if (!Number.isSafeInteger(id) || id <= 0) {
      throw new UsageError(`ICSD ids are positive whole numbers; got ${JSON.stringify(id)}`);
    }
  }
}

/**
 * The ids of `ids` (checked one by one as they come) in batches of `size` (a function: read for each batch, so
 * that a batch size lowered on the way, by a per-session quota, applies to the batches cut after).
 */
export async function* idBatches(
  ids: Iterable<number> | AsyncIterable<number>,
  size: number | (() => number),
): AsyncGenerator<number[]> {
  const sizeNow = typeof size === 'number' ? () => size : size;
  let batch: number[] = [];
  for await (const id of ids) {
    checkIds([id]);
    batch.push(id);
    if (batch.length >= sizeNow()) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * Core's `fromPages` over the pages `pages()` yields (each call starts a new run), with `extra`'s properties
 * copied on (getters stay getters: `badIds` reports what the stream found so far).
 */
export function pagesOf<T, E extends object>(
  pages: () => AsyncIterable<T[]>,
  extra: E,
): PageIterable<T, T[]> & E {
  return Object.defineProperties(
    fromPages<T, T[]>(pages),
    Object.getOwnPropertyDescriptors(extra),
  ) as PageIterable<T, T[]> & E;
}

/**
 * The pages of a bulk call: `ids` in batches of `size`, each fetched by `fetchPage`, `concurrency` at once, the
 * pages in the order of the ids.
 */
export function batchPages<T, E extends object>(
  ids: Iterable<number> | AsyncIterable<number>,
  size: number | (() => number),
  fetchPage: (batch: number[]) => Promise<T[]>,
  options: { concurrency: number; signal: AbortSignal | undefined },
  extra: E,
): PageIterable<T, T[]> & E {
  return pagesOf(() => mapConcurrent(idBatches(ids, size), fetchPage, options), extra);
}
