import { describe, expect, it } from 'vitest';
import { IdSet } from '../src/node/id-set.js';

describe('IdSet', () => {
  it('behaves like a Set of non-negative integers, bitmap and large values alike', () => {
    const values = [0, 1, 31, 32, 33, 1_000_003, 2 ** 31 - 1, 2 ** 31, 2 ** 40, 12];
    const set = new IdSet(values);
    expect(set.size).toBe(values.length);
    for (const v of values) expect(set.has(v)).toBe(true);
    expect(set.has(2)).toBe(false);
    expect(set.has(2 ** 35)).toBe(false);
    set.add(31);
    expect(set.size).toBe(values.length);
    expect([...set].sort((a, b) => a - b)).toEqual([...values].sort((a, b) => a - b));
    expect(set.delete(31)).toBe(true);
    expect(set.delete(31)).toBe(false);
    expect(set.delete(2 ** 40)).toBe(true);
    expect(set.has(31)).toBe(false);
    expect(set.size).toBe(values.length - 2);
  });

  it('matches a Set on random values', () => {
    const reference = new Set<number>();
    const set = new IdSet();
    let x = 12345;
    for (let i = 0; i < 20_000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const v = x % 3_000_000;
      if (i % 5 === 0) {
        expect(set.delete(v)).toBe(reference.delete(v));
      } else {
        reference.add(v);
        set.add(v);
      }
    }
    expect(set.size).toBe(reference.size);
    expect([...set].sort((a, b) => a - b)).toEqual([...reference].sort((a, b) => a - b));
  });
});
