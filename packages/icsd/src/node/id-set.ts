/**
 * A set of non-negative integers (ids, collection codes) stored as a bitmap: a mirror of the whole ICSD
 * (hundreds of thousands of entries) keeps several such sets, and a `Set<number>` costs about 50 bytes an
 * entry where a bitmap over codes up to a few million costs a fraction of a byte. Values too large for the
 * bitmap fall back to a plain `Set`.
 */
export class IdSet {
  private bits = new Uint32Array(1024);
  private readonly large = new Set<number>();
  private count = 0;
  /** Values at or above this go to the plain set (2^27 bits = a 16 MiB bitmap at most). */
  static readonly BITMAP_LIMIT = 2 ** 27;

  constructor(values?: Iterable<number>) {
    if (values) for (const v of values) this.add(v);
  }

  get size(): number {
    return this.count;
  }

  has(value: number): boolean {
    if (value >= IdSet.BITMAP_LIMIT || value < 0 || !Number.isInteger(value)) return this.large.has(value);
    const word = value >>> 5;
    return word < this.bits.length && ((this.bits[word] as number) & (1 << (value & 31))) !== 0;
  }

  add(value: number): this {
    if (value >= IdSet.BITMAP_LIMIT || value < 0 || !Number.isInteger(value)) {
      if (!this.large.has(value)) {
        this.large.add(value);
        this.count += 1;
      }
      return this;
    }
    const word = value >>> 5;
    if (word >= this.bits.length) {
      let length = this.bits.length;
      while (length <= word) length *= 2;
      const grown = new Uint32Array(length);
      grown.set(this.bits);
      this.bits = grown;
    }
    const mask = 1 << (value & 31);
    const current = this.bits[word] as number;
    if ((current & mask) === 0) {
      this.bits[word] = current | mask;
      this.count += 1;
    }
    return this;
  }

  delete(value: number): boolean {
    if (!this.has(value)) return false;
    if (value >= IdSet.BITMAP_LIMIT || value < 0 || !Number.isInteger(value)) this.large.delete(value);
    else {
      const word = value >>> 5;
      this.bits[word] = (this.bits[word] as number) & ~(1 << (value & 31));
    }
    this.count -= 1;
    return true;
  }

  *[Symbol.iterator](): IterableIterator<number> {
    for (let word = 0; word < this.bits.length; word++) {
      let w = this.bits[word] as number;
      while (w !== 0) {
        const bit = 31 - Math.clz32(w & -w);
        yield word * 32 + bit;
        w &= w - 1;
      }
    }
    yield* this.large;
  }
}
