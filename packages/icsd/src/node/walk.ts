import { type RequestOptions, ServerError, TimeoutError } from '@sciport/core';
import { type IcsdContext, warn } from '../internal/context.js';
import { searchIds } from '../internal/search.js';
import { MAX_IDS_PER_REQUEST } from '../schemas/fields.js';

/**
 * The ids of an expert search over a collection-code range, split when it must be (spec §4.3): one search of
 * the whole range, halves for an answer that fails for its size, and a check with two halves of an answer whose
 * count looks capped. `query(lo, hi)` writes the query of codes `lo`-`hi`; `onSearch` counts the requests.
 */
export function walkCodes(
  ctx: IcsdContext,
  query: (lo: number, hi: number) => string,
  contentType: string | undefined,
  options: RequestOptions,
  onSearch: () => void,
): (lo: number, hi: number) => Promise<number[]> {
  const search = (lo: number, hi: number) => {
    onSearch();
    return searchIds(ctx, 'search/expert', query(lo, hi), contentType, options);
  };
  const walk = async (lo: number, hi: number): Promise<number[]> => {
    let found: number[];
    try {
      found = await search(lo, hi);
    } catch (error) {
      // A very large answer that fails may succeed in halves.
      if ((ServerError.isInstance(error) || TimeoutError.isInstance(error)) && hi - lo > 1000) {
        const mid = Math.floor((lo + hi) / 2);
        return [...(await walk(lo, mid)), ...(await walk(mid + 1, hi))];
      }
      throw error;
    }
    // No cap on search results is known (spec §4.3, §9), but a round count could be one: check it with
    // two halves (a multiple of 100, or a power of two).
    const n = found.length;
    const round = n % 100 === 0 || (n & (n - 1)) === 0;
    if (n >= MAX_IDS_PER_REQUEST && round && hi > lo) {
      const mid = Math.floor((lo + hi) / 2);
      const [left, right] = await Promise.all([search(lo, mid), search(mid + 1, hi)]);
      if (left.length + right.length !== found.length) {
        warn(
          ctx,
          `the search of codes ${lo}-${hi} returned ${found.length} ids but its halves ${left.length + right.length}: searching in smaller ranges`,
        );
        return [...(await walk(lo, mid)), ...(await walk(mid + 1, hi))];
      }
    }
    return found;
  };
  return walk;
}
