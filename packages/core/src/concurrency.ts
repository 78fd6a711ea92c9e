import pMap, { pMapIterable } from 'p-map';
import { throwIfAborted } from './async.js';
import { UsageError } from './errors.js';

/**
 * Bounded concurrency, on p-map (sindresorhus/p-map: small, dependency-free, maintained, and it already
 * solves backpressure and ordering for async iterables, which are easy to get subtly wrong by hand).
 */

export interface MapConcurrentOptions {
  /** How many `fn` calls run at once (default 4). */
  concurrency?: number;
  signal?: AbortSignal | undefined;
  /** Yield results in input order (default) or as soon as each is ready. */
  ordered?: boolean;
}

export interface MapContext {
  index: number;
  signal: AbortSignal | undefined;
}

function checkConcurrency(concurrency: number): number {
  if (!(Number.isInteger(concurrency) && concurrency >= 1) && concurrency !== Number.POSITIVE_INFINITY) {
    throw new UsageError(`concurrency must be a whole number of at least 1, got ${concurrency}`);
  }
  return concurrency;
}

/**
 * Maps `input` through `fn` with at most `concurrency` calls in flight and streams the results. The input is
 * read lazily (at most about `2 × concurrency` items ahead of the consumer), so it may be a huge or endless
 * async iterable. Aborting `signal` stops starting new calls, is passed to the running ones, and ends the
 * iteration with `AbortError`. The first error from `fn` ends the iteration with that error.
 */
export function mapConcurrent<T, R>(
  input: Iterable<T> | AsyncIterable<T>,
  fn: (item: T, ctx: MapContext) => Promise<R> | R,
  options: MapConcurrentOptions = {},
): AsyncIterable<R> {
  const concurrency = checkConcurrency(options.concurrency ?? 4);
  const signal = options.signal;
  const inner = pMapIterable(
    input,
    async (item: T, index: number) => {
      throwIfAborted(signal);
      return fn(item, { index, signal });
    },
    {
      concurrency,
      backpressure: concurrency === Number.POSITIVE_INFINITY ? concurrency : concurrency * 2,
      preserveOrder: options.ordered ?? true,
    },
  );
  return {
    async *[Symbol.asyncIterator]() {
      for await (const value of inner) {
        throwIfAborted(signal);
        yield value;
      }
    },
  };
}

/** Like `mapConcurrent`, collecting every result into an array in input order. */
export async function mapConcurrentAll<T, R>(
  input: Iterable<T> | AsyncIterable<T>,
  fn: (item: T, ctx: MapContext) => Promise<R> | R,
  options: Omit<MapConcurrentOptions, 'ordered'> = {},
): Promise<R[]> {
  const signal = options.signal;
  try {
    return await pMap(input, (item: T, index: number) => fn(item, { index, signal }), {
      concurrency: checkConcurrency(options.concurrency ?? 4),
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    throwIfAborted(signal);
    throw error;
  }
}

/**
 * A push-based `AsyncIterable`: producers `push` items and finally `end()` (or `fail(error)`); one consumer
 * iterates. For feeding `mapConcurrent` from work that discovers its items over time.
 */
export interface AsyncQueue<T> extends AsyncIterable<T> {
  push(item: T): void;
  end(): void;
  fail(error: unknown): void;
  /** Items pushed and not yet taken. */
  readonly size: number;
}

export function createAsyncQueue<T>(): AsyncQueue<T> {
  const items: T[] = [];
  let ended = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  return {
    push(item: T) {
      if (ended) throw new Error('push after end');
      items.push(item);
      notify();
    },
    end() {
      ended = true;
      notify();
    },
    fail(error: unknown) {
      failure ??= { error };
      ended = true;
      notify();
    },
    get size() {
      return items.length;
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (failure) throw failure.error;
        if (items.length > 0) {
          yield items.shift() as T;
          continue;
        }
        if (ended) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };
}
