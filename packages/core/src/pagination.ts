import { throwIfAborted } from './async.js';
import { ResponseValidationError } from './errors.js';
import type { ListOptions } from './options.js';

/** An `AsyncIterable` of items that can also be walked page by page. */
export interface PageIterable<T, P> extends AsyncIterable<T> {
  /** The pages as the server sent them. */
  pages(): AsyncIterable<P>;
  /** Collects every item (mind the memory on large listings). */
  toArray(): Promise<T[]>;
}

export interface PaginateOptions<T, P, C> {
  /** Fetches one page; `cursor` is undefined for the first page. */
  fetchPage(cursor: C | undefined, ctx: { signal: AbortSignal | undefined; pageIndex: number }): Promise<P>;
  /** The items of a page. */
  items(page: P): readonly T[];
  /** The cursor of the next page, or null/undefined when this was the last one. */
  nextCursor(page: P, ctx: { pageIndex: number; itemsSoFar: number }): C | null | undefined;
  signal?: AbortSignal | undefined;
  /** Stop after this many items in total. */
  maxItems?: number;
  /** For errors: the service and the endpoint being paged. */
  service?: string;
  endpoint?: string;
}

/**
 * Turns a page-fetching function into an `AsyncIterable` of items (with `.pages()`), fetching pages lazily
 * as the consumer reads: memory stays at one page whatever the listing's size. A server that hands back the
 * same cursor twice is reported instead of looped on forever.
 */
export function paginate<T, P, C = string>(options: PaginateOptions<T, P, C>): PageIterable<T, P> {
  async function* pages(): AsyncGenerator<P> {
    let cursor: C | undefined;
    const seen = new Set<string>();
    let itemsSoFar = 0;
    for (let pageIndex = 0; ; pageIndex++) {
      throwIfAborted(options.signal);
      const page = await options.fetchPage(cursor, { signal: options.signal, pageIndex });
      itemsSoFar += options.items(page).length;
      yield page;
      if (options.maxItems !== undefined && itemsSoFar >= options.maxItems) return;
      const next = options.nextCursor(page, { pageIndex, itemsSoFar });
      if (next === null || next === undefined) return;
      const key = typeof next === 'string' ? next : JSON.stringify(next);
      if (seen.has(key)) {
        throw new ResponseValidationError({
          service: options.service ?? 'sciport',
          endpoint: options.endpoint ?? 'a paginated list',
          issues: [{ path: 'next', message: `the server returned the same page cursor twice (${key})` }],
        });
      }
      seen.add(key);
      cursor = next;
    }
  }

  return fromPages(pages, { items: options.items, maxItems: options.maxItems });
}

/**
 * A `PageIterable` over the pages `pages()` yields (each call starts a new run): for calls whose pages are not
 * found by following a cursor, e.g. batches fetched several at once from an input of unknown length. `items`
 * picks a page's items (default: the page is the array of items); `maxItems` stops after that many in all.
 */
export function fromPages<T, P = readonly T[]>(
  pages: () => AsyncIterable<P>,
  options: { items?: (page: P) => readonly T[]; maxItems?: number | undefined } = {},
): PageIterable<T, P> {
  const itemsOf = options.items ?? ((page: P) => page as unknown as readonly T[]);
  const max = options.maxItems;
  async function* items(): AsyncGenerator<T> {
    let count = 0;
    for await (const page of pages()) {
      for (const item of itemsOf(page)) {
        if (max !== undefined && count >= max) return;
        count += 1;
        yield item;
      }
    }
  }
  return {
    [Symbol.asyncIterator]: () => items(),
    pages,
    async toArray() {
      const out: T[] = [];
      for await (const item of items()) out.push(item);
      return out;
    },
  };
}

/**
 * A list the API answers in one response (lists without pages): one page, fetched when the iteration starts.
 * `limit` caps the items returned.
 */
export function singlePage<T>(
  fetch: (signal: AbortSignal | undefined) => Promise<readonly T[]>,
  options: ListOptions = {},
): PageIterable<T, readonly T[]> {
  return paginate<T, readonly T[], never>({
    fetchPage: (_cursor, { signal }) => fetch(signal),
    items: (page) => page,
    nextCursor: () => null,
    signal: options.signal,
    ...(options.limit !== undefined ? { maxItems: options.limit } : {}),
  });
}
