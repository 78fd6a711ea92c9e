/**
 * Reusable body buffers for bulk downloads. A client that reads hundreds of large bodies of similar size
 * (batches of CIFs, say) reads each into a buffer taken from the pool and gives it back once done with the
 * bytes: the same few buffers serve the whole run. Without it every body is a fresh allocation that, held
 * for a while, survives into the old generation and stays in memory until the next full collection, which
 * on a long run shows as tens of megabytes of garbage in the peak RSS.
 */
export interface BufferPool {
  /** A buffer of exactly `size` bytes, reused when one large enough is free. */
  acquire(size: number): Uint8Array;
  /** Gives a buffer back. The caller must not use its bytes afterwards. */
  release(buffer: Uint8Array): void;
}

export interface BufferPoolOptions {
  /** Free buffers kept at most (default 16); more are left to the garbage collector. */
  maxFree?: number;
  /** Capacities are rounded up to a multiple of this (default 64 KiB), so bodies of similar size share. */
  granularity?: number;
}

export function createBufferPool(options: BufferPoolOptions = {}): BufferPool {
  const maxFree = options.maxFree ?? 16;
  const granularity = options.granularity ?? 64 * 1024;
  const free: ArrayBuffer[] = [];
  const owned = new WeakSet<ArrayBuffer>();
  return {
    acquire(size: number): Uint8Array {
      let best = -1;
      for (let i = 0; i < free.length; i++) {
        const capacity = (free[i] as ArrayBuffer).byteLength;
        if (capacity >= size && (best === -1 || capacity < (free[best] as ArrayBuffer).byteLength)) best = i;
      }
      if (best !== -1) {
        const buffer = free.splice(best, 1)[0] as ArrayBuffer;
        return new Uint8Array(buffer, 0, size);
      }
      const buffer = new ArrayBuffer(Math.max(granularity, Math.ceil(size / granularity) * granularity));
      owned.add(buffer);
      return new Uint8Array(buffer, 0, size);
    },
    release(view: Uint8Array): void {
      const buffer = view.buffer as ArrayBuffer;
      if (!owned.has(buffer) || free.includes(buffer) || free.length >= maxFree) return;
      free.push(buffer);
    },
  };
}
