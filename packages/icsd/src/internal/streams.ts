import { mapConcurrent, type PageIterable, UsageError } from '@sciport/core';

/** Throws a `UsageError` for anything that is not an ICSD id (a positive whole number). */
export function checkIds(ids: Iterable<number>): void {
  for (const id of ids) {
    if (!Number.isSafeInteger(id) || id <= 0) {
      throw new UsageError(`ICSD ids are positive whole numbers; got ${JSON.stringify(id)}`);
    }
  }
}

/** The ids of `ids` (checked one by one as they come) in batches of `size`. */
export async function* idBatches(
  ids: Iterable<number> | AsyncIterable<number>,
  size: number,
): AsyncGenerator<number[]> {
  let batch: number[] = [];
  for await (const id of ids) {
    checkIds([id]);
    batch.push(id);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

// candidate for @sciport/core: `paginate` follows a cursor one page at a time (its `nextCursor` must know
// synchronously whether a page is the last), so it cannot serve a bulk call whose pages are batches fetched
// several at once (`mapConcurrent`) from an input of unknown length. This is the same `PageIterable` over the
// pages such a generator yields; Crucible's and Fragalysis' bulk calls would use it too.
/**
 * A `PageIterable` over the pages `pages()` yields (each call starts a new run), with `extra`'s properties
 * copied on (getters stay getters: `badIds` reports what the stream found so far).
 */
export function pagesOf<T, E extends object>(
  pages: () => AsyncIterable<T[]>,
  extra: E,
): PageIterable<T, T[]> & E {
  async function* items(): AsyncGenerator<T> {
    for await (const page of pages()) yield* page;
  }
  const stream: PageIterable<T, T[]> = {
    [Symbol.asyncIterator]: () => items(),
    pages,
    async toArray() {
      const out: T[] = [];
      for await (const page of pages()) out.push(...page);
      return out;
    },
  };
  return Object.defineProperties(stream, Object.getOwnPropertyDescriptors(extra)) as PageIterable<T, T[]> & E;
}

/**
 * The pages of a bulk call: `ids` in batches of `size`, each fetched by `fetchPage`, `concurrency` at once, the
 * pages in the order of the ids.
 */
export function batchPages<T, E extends object>(
  ids: Iterable<number> | AsyncIterable<number>,
  size: number,
  fetchPage: (batch: number[]) => Promise<T[]>,
  options: { concurrency: number; signal: AbortSignal | undefined },
  extra: E,
): PageIterable<T, T[]> & E {
  return pagesOf(() => mapConcurrent(idBatches(ids, size), fetchPage, options), extra);
}
