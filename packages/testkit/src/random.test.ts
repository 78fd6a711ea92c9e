import { describe, expect, it } from 'vitest';
import { createRandom } from './random.js';

function sequence(seed: number, count = 10): number[] {
  const random = createRandom(seed);
  return Array.from({ length: count }, () => random.next());
}

describe('createRandom', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    expect(sequence(1)).toEqual(sequence(1));
    expect(sequence(1)).not.toEqual(sequence(2));
    expect(sequence(0)).not.toEqual(sequence(1));
  });

  it('defaults to seed 1 and normalises seeds to unsigned 32-bit integers', () => {
    expect(createRandom().seed).toBe(1);
    expect(sequence(1.9)).toEqual(sequence(1));
    expect(sequence(-1)).toEqual(sequence(4294967295));
    expect(() => createRandom(Number.NaN)).toThrow(RangeError);
  });

  it('returns numbers in [0, 1) spread over the interval', () => {
    const values = sequence(123, 10_000);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });

  it('int() stays within inclusive bounds and reaches both', () => {
    const random = createRandom(5);
    const seen = new Set(Array.from({ length: 500 }, () => random.int(3, 6)));
    expect([...seen].sort()).toEqual([3, 4, 5, 6]);
    expect(() => random.int(2, 1)).toThrow(RangeError);
  });

  it('chance() is certain at 1, impossible at 0, and consumes numbers only in between', () => {
    const a = createRandom(7);
    const b = createRandom(7);
    expect(a.chance(1)).toBe(true);
    expect(a.chance(0)).toBe(false);
    expect(a.next()).toBe(b.next());
    const hits = Array.from({ length: 2000 }, () => a.chance(0.25)).filter(Boolean).length;
    expect(hits).toBeGreaterThan(400);
    expect(hits).toBeLessThan(600);
  });

  it('pick() chooses among the items and refuses an empty list', () => {
    const random = createRandom(11);
    const seen = new Set(Array.from({ length: 100 }, () => random.pick(['a', 'b', 'c'])));
    expect(seen).toEqual(new Set(['a', 'b', 'c']));
    expect(() => random.pick([])).toThrow(RangeError);
  });
});
