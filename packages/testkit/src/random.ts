/**
 * A small seeded pseudo-random number generator (mulberry32), so that fault injection and simulated data are
 * reproducible: the same seed and the same sequence of calls give the same numbers on every machine.
 *
 * Not suitable for anything that needs unpredictability (tokens, secrets).
 */
export interface Random {
  /** The seed this generator was created with, after conversion to an unsigned 32-bit integer. */
  readonly seed: number;
  /** Returns the next number in `[0, 1)`. */
  next(): number;
  /**
   * Returns an integer in `[min, max]` (both inclusive).
   *
   * @throws RangeError when a bound is not a finite integer or `min > max`.
   */
  int(min: number, max: number): number;
  /**
   * Returns `true` with probability `probability`: always for `>= 1`, never for `<= 0`. Only values strictly
   * between 0 and 1 consume a number from the sequence.
   */
  chance(probability: number): boolean;
  /**
   * Returns one element of `items`, chosen uniformly. A single-element list consumes no number.
   *
   * @throws RangeError when `items` is empty.
   */
  pick<T>(items: readonly T[]): T;
}

/**
 * Creates a seeded generator.
 *
 * @param seed - Any finite number; it is truncated to an unsigned 32-bit integer (`1.9` and `1` give the same
 *   sequence, and so do `-1` and `4294967295`). Defaults to `1`.
 * @throws RangeError when `seed` is not a finite number.
 *
 * @example
 * ```ts
 * const random = createRandom(42);
 * random.next(); // always the same first number for seed 42
 * ```
 */
export function createRandom(seed = 1): Random {
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new RangeError(`createRandom: the seed must be a finite number, got ${String(seed)}`);
  }
  const normalized = Math.trunc(seed) >>> 0;
  let state = normalized;

  const next = (): number => {
    // mulberry32, by Tommy Ettinger (public domain).
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  return {
    seed: normalized,
    next,
    int(min, max) {
      if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min > max) {
        throw new RangeError(`Random.int: expected integers min <= max, got ${min} and ${max}`);
      }
      return min + Math.floor(next() * (max - min + 1));
    },
    chance(probability) {
      if (probability >= 1) return true;
      if (!(probability > 0)) return false;
      return next() < probability;
    },
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new RangeError('Random.pick: the list is empty');
      if (items.length === 1) return items[0] as T;
      return items[Math.floor(next() * items.length)] as T;
    },
  };
}
