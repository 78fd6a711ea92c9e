import { createHash, type Hash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  createReadStream,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { type FileHandle, open, readFile, rm, stat, unlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createRandom } from '../random.js';
import { crc32cBase64, crc32c as crc32cJs } from './util.js';

/**
 * CRC32C with the CPU's CRC32 instruction (@node-rs/crc32, about 4 GB/s, five times the JavaScript table one),
 * which the simulator computes over every stored upload; the JavaScript one where the native build is missing.
 */
const crc32c: (crc: number, data: Uint8Array) => number = (() => {
  try {
    const native = createRequire(import.meta.url)('@node-rs/crc32') as {
      crc32c(input: Uint8Array, initialState?: number): number;
    };
    return (crc: number, data: Uint8Array) => native.crc32c(data, crc);
  } catch {
    return crc32cJs;
  }
})();

/**
 * Immutable stored bytes: a temp file written by an upload, a file on disk the caller named, or content
 * generated on the fly from a seed (so that seeded datasets and big benchmark files cost no memory or disk).
 */
export interface SimBlob {
  readonly id: number;
  readonly size: number;
  /** Lowercase hex SHA-256 of the content. */
  readonly sha256: string;
  /**
   * Base64 of the big-endian CRC32C (the GCS `crc32c`), computed on first read (one pass over the bytes) and
   * kept: uploads hash only the SHA-256 as bytes arrive, so the simulator's cost per uploaded byte stays low.
   */
  readonly crc32c: string;
  readonly source:
    | { kind: 'temp'; path: string }
    | { kind: 'external'; path: string }
    | { kind: 'generated'; seed: number }
    /** Temp files read one after the other (a completed multipart upload: its parts, never copied). */
    | { kind: 'segments'; paths: readonly string[]; sizes: readonly number[] };
}

const BLOCK = 64 * 1024;

/** A blob whose `crc32c` is computed by `compute` on first read, then kept. */
function lazyBlob(fields: Omit<SimBlob, 'crc32c'>, compute: () => number): SimBlob {
  let crc: string | undefined;
  return Object.defineProperty({ ...fields }, 'crc32c', {
    enumerable: true,
    get: () => {
      crc ??= crc32cBase64(compute());
      return crc;
    },
  }) as SimBlob;
}

/** The CRC32C of a file, read synchronously in 1 MiB blocks. */
function fileCrc(path: string): number {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    let crc = 0;
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) return crc;
      crc = crc32c(crc, buffer.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
}

/** The CRC32C of files read one after the other. */
function filesCrc(paths: readonly string[]): number {
  const buffer = Buffer.allocUnsafe(1 << 20);
  let crc = 0;
  for (const path of paths) {
    const fd = openSync(path, 'r');
    try {
      for (;;) {
        const n = readSync(fd, buffer, 0, buffer.length, null);
        if (n === 0) break;
        crc = crc32c(crc, buffer.subarray(0, n));
      }
    } finally {
      closeSync(fd);
    }
  }
  return crc;
}

/** `start..end` inclusive of files read one after the other, `sizes` their sizes. */
async function* segmentsRange(
  paths: readonly string[],
  sizes: readonly number[],
  start: number,
  end: number,
): AsyncGenerator<Uint8Array> {
  let base = 0;
  for (let i = 0; i < paths.length && base <= end; i++) {
    const size = sizes[i] as number;
    const from = Math.max(start, base);
    const to = Math.min(end, base + size - 1);
    if (to >= from) {
      for await (const chunk of createReadStream(paths[i] as string, {
        start: from - base,
        end: to - base,
        highWaterMark: 1 << 20,
      }))
        yield chunk as Buffer;
    }
    base += size;
  }
}

/** The CRC32C of `size` bytes of generated content. */
function generatedCrc(seed: number, size: number): number {
  const base = generatedBase(seed);
  let crc = 0;
  for (let at = 0, index = 0; at < size; at += BLOCK, index++)
    crc = crc32c(crc, generatedBlock(base, index).subarray(0, Math.min(BLOCK, size - at)));
  return crc;
}

/** The generated content: 64 KiB seeded blocks, each stamped with its block number so no two are equal. */
function generatedBase(seed: number): Buffer {
  const random = createRandom(seed);
  const base = Buffer.alloc(BLOCK);
  for (let i = 0; i < BLOCK; i += 4) base.writeUInt32LE(random.int(0, 0xffffffff) >>> 0, i);
  return base;
}

function generatedBlock(base: Buffer, index: number): Buffer {
  const block = Buffer.from(base);
  block.writeUInt32BE(Math.floor(index / 0x100000000), 0);
  block.writeUInt32BE(index >>> 0, 4);
  return block;
}

/** Pulls `start..end` (inclusive) of generated content, one block per pull (lazy, backpressured). */
function generatedStream(seed: number, start: number, end: number): ReadableStream<Uint8Array> {
  const base = generatedBase(seed);
  let at = start;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (at > end) {
          controller.close();
          return;
        }
        const index = Math.floor(at / BLOCK);
        const block = generatedBlock(base, index);
        const from = at - index * BLOCK;
        const to = Math.min(BLOCK, end - index * BLOCK + 1);
        controller.enqueue(new Uint8Array(block.buffer, block.byteOffset + from, to - from));
        at = index * BLOCK + to;
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * Writes the chunks of a request body (tens of KiB each) from `position` on, gathered into writes of about 1 MiB
 * (`writev`, so without copying them): a few hundred times fewer file writes per gigabyte.
 */
export function gatheredWrites(handle: FileHandle, position: number) {
  let pending: Uint8Array[] = [];
  let bytes = 0;
  let at = position;
  const flush = async () => {
    let list = pending;
    let left = bytes;
    pending = [];
    bytes = 0;
    while (left > 0) {
      const { bytesWritten } = await handle.writev(list, at);
      at += bytesWritten;
      left -= bytesWritten;
      let skip = bytesWritten;
      while (skip > 0 && list.length > 0) {
        const first = list[0] as Uint8Array;
        if (first.byteLength <= skip) {
          skip -= first.byteLength;
          list = list.slice(1);
        } else {
          list = [first.subarray(skip), ...list.slice(1)];
          skip = 0;
        }
      }
    }
  };
  return {
    async write(chunk: Uint8Array): Promise<void> {
      if (chunk.byteLength === 0) return;
      pending.push(chunk);
      bytes += chunk.byteLength;
      if (bytes >= 1 << 20) await flush();
    },
    flush,
  };
}

/** A running SHA-256 (node:crypto, fed the bytes as they arrive) + size over bytes written in order to a temp file. */
export interface BlobWriter {
  readonly path: string;
  /** Bytes persisted so far (what a resumable session reports in `Range`). */
  readonly persisted: number;
  /**
   * Writes `body` starting at the persisted offset, but keeps only bytes `[skip, skip + keep)` of it (the rest is
   * read and discarded); nothing is committed unless the body delivers exactly `expected` bytes.
   *
   * @returns the number of bytes the body delivered.
   */
  writeChunk(
    body: ReadableStream<Uint8Array> | null,
    skip: number,
    keep: number,
    expected: number,
  ): Promise<number>;
  /** Appends bytes at the persisted offset and commits them at once (multipart uploads). */
  append(chunk: Uint8Array): Promise<void>;
  /** Finishes the hashes; the writer is then unusable. */
  finish(): Promise<SimBlob>;
  /** Closes and removes the temp file. */
  discard(): Promise<void>;
}

export class ChunkLengthError extends Error {
  constructor(readonly received: number) {
    super(`the body had ${received} bytes`);
  }
}

/** A blob store rooted in a temp directory (created lazily under `os.tmpdir()`, removed by `dispose`). */
export class BlobStore {
  #dir: string | undefined;
  #nextId = 1;
  #nextFile = 1;
  readonly #root: string;

  constructor(root: string = tmpdir()) {
    this.#root = root;
  }

  get dir(): string {
    this.#dir ??= mkdtempSync(join(this.#root, 'crucible-sim-'));
    return this.#dir;
  }

  #id(): number {
    return this.#nextId++;
  }

  /** Content generated from `seed`, of any size (the hashes are computed here, streaming). */
  async generated(seed: number, size: number): Promise<SimBlob> {
    const hash = createHash('sha256');
    const reader = generatedStream(seed, 0, size - 1).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      hash.update(value);
    }
    return lazyBlob(
      { id: this.#id(), size, sha256: hash.digest('hex'), source: { kind: 'generated', seed } },
      () => generatedCrc(seed, size),
    );
  }

  /** Small generated content, synchronously (seed data). */
  generatedSync(seed: number, size: number): SimBlob {
    const hash = createHash('sha256');
    const base = generatedBase(seed);
    for (let at = 0, index = 0; at < size; at += BLOCK, index++)
      hash.update(generatedBlock(base, index).subarray(0, Math.min(BLOCK, size - at)));
    return lazyBlob(
      { id: this.#id(), size, sha256: hash.digest('hex'), source: { kind: 'generated', seed } },
      () => generatedCrc(seed, size),
    );
  }

  /** A file on disk served as is (never deleted by the store). */
  async external(path: string): Promise<SimBlob> {
    const info = await stat(path);
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }))
      hash.update(chunk as Buffer);
    return lazyBlob(
      { id: this.#id(), size: info.size, sha256: hash.digest('hex'), source: { kind: 'external', path } },
      () => fileCrc(path),
    );
  }

  /** Small in-memory bytes, written to a temp file. */
  async fromBytes(bytes: Uint8Array): Promise<SimBlob> {
    const writer = this.writer();
    await writer.append(bytes);
    return writer.finish();
  }

  /**
   * Temp files (a completed multipart upload's parts, in order) as one blob, without copying them: the blob owns
   * the files from now on. `sha256` is the caller's, computed over the files in order.
   */
  segments(paths: readonly string[], sizes: readonly number[], sha256: string): SimBlob {
    const size = sizes.reduce((a, b) => a + b, 0);
    return lazyBlob(
      { id: this.#id(), size, sha256, source: { kind: 'segments', paths: [...paths], sizes: [...sizes] } },
      () => filesCrc(paths),
    );
  }

  /** A new temp file to append to. */
  writer(): BlobWriter {
    const path = join(this.dir, `${this.#nextFile++}.bin`);
    let handle: FileHandle | undefined;
    let hash: Hash = createHash('sha256');
    let persisted = 0;
    let finished = false;
    const nextId = () => this.#id();
    const writeAll = async (h: FileHandle, bytes: Uint8Array, position: number) => {
      let written = 0;
      while (written < bytes.byteLength) {
        const r = await h.write(bytes, written, bytes.byteLength - written, position + written);
        written += r.bytesWritten;
      }
    };
    return {
      path,
      get persisted() {
        return persisted;
      },
      async writeChunk(body, skip, keep, expected) {
        if (finished) throw new Error('writer finished');
        handle ??= await open(path, 'w');
        const h = hash.copy();
        let position = persisted;
        let seen = 0;
        const out = gatheredWrites(handle, position);
        if (body !== null) {
          const reader = body.getReader();
          try {
            for (;;) {
              const { done, value } = await reader.read();
              if (done) break;
              const from = Math.max(0, skip - seen);
              const to = Math.min(value.byteLength, skip + keep - seen);
              seen += value.byteLength;
              if (seen > expected) throw new ChunkLengthError(seen);
              if (to > from) {
                const piece = value.subarray(from, to);
                await out.write(piece);
                position += piece.byteLength;
                h.update(piece);
              }
            }
          } finally {
            reader.releaseLock();
          }
        }
        if (seen !== expected) throw new ChunkLengthError(seen);
        await out.flush();
        hash = h;
        persisted = position;
        return seen;
      },
      async append(chunk) {
        if (finished) throw new Error('writer finished');
        handle ??= await open(path, 'w');
        await writeAll(handle, chunk, persisted);
        hash.update(chunk);
        persisted += chunk.byteLength;
      },
      async finish() {
        finished = true;
        handle ??= await open(path, 'w');
        await handle.close();
        return lazyBlob(
          { id: nextId(), size: persisted, sha256: hash.digest('hex'), source: { kind: 'temp', path } },
          () => fileCrc(path),
        );
      },
      async discard() {
        finished = true;
        await handle?.close().catch(() => undefined);
        await unlink(path).catch(() => undefined);
      },
    };
  }

  /** The file holding a blob's bytes, when they are in one (not generated, not segments). */
  filePath(blob: SimBlob): string | undefined {
    return blob.source.kind === 'generated' || blob.source.kind === 'segments' ? undefined : blob.source.path;
  }

  readonly #joined = new WeakMap<SimBlob, string>();

  /**
   * One file holding a blob's bytes (tests' big comparisons): segments are joined into a temp file on first
   * call (kept until the blob is released); undefined for generated content.
   */
  pathOf(blob: SimBlob): string | undefined {
    if (blob.source.kind !== 'segments') return this.filePath(blob);
    const known = this.#joined.get(blob);
    if (known !== undefined) return known;
    const path = join(this.dir, `${this.#nextFile++}.bin`);
    const { paths } = blob.source;
    if (paths.length === 0) closeSync(openSync(path, 'w'));
    else copyFileSync(paths[0] as string, path);
    if (paths.length > 1) {
      const out = openSync(path, 'a');
      const buffer = Buffer.allocUnsafe(1 << 20);
      try {
        for (const part of paths.slice(1)) {
          const fd = openSync(part, 'r');
          try {
            for (;;) {
              const n = readSync(fd, buffer, 0, buffer.length, null);
              if (n === 0) break;
              for (let w = 0; w < n; ) w += writeSync(out, buffer, w, n - w);
            }
          } finally {
            closeSync(fd);
          }
        }
      } finally {
        closeSync(out);
      }
    }
    this.#joined.set(blob, path);
    return path;
  }

  /** `start..end` inclusive of a blob, streamed with backpressure. */
  stream(blob: SimBlob, start: number, end: number): ReadableStream<Uint8Array> {
    if (end < start) return new ReadableStream({ start: (c) => c.close() });
    if (blob.source.kind === 'generated') return generatedStream(blob.source.seed, start, end);
    if (blob.source.kind === 'segments') {
      const { paths, sizes } = blob.source;
      return Readable.toWeb(
        Readable.from(segmentsRange(paths, sizes, start, end), { objectMode: false }),
      ) as ReadableStream<Uint8Array>;
    }
    return Readable.toWeb(
      createReadStream(blob.source.path, { start, end, highWaterMark: 1 << 20 }),
    ) as ReadableStream<Uint8Array>;
  }

  /** The whole content in memory (tests' byte comparisons; do not use on huge blobs). */
  async read(blob: SimBlob): Promise<Uint8Array> {
    if (blob.source.kind === 'segments') {
      const out = new Uint8Array(blob.size);
      let at = 0;
      for (const path of blob.source.paths) {
        const bytes = await readFile(path);
        out.set(bytes, at);
        at += bytes.byteLength;
      }
      return out;
    }
    if (blob.source.kind !== 'generated') return new Uint8Array(await readFile(blob.source.path));
    const out = new Uint8Array(blob.size);
    const reader = generatedStream(blob.source.seed, 0, blob.size - 1).getReader();
    let at = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      out.set(value, at);
      at += value.byteLength;
    }
    return out;
  }

  /** Removes a temp blob's file. */
  release(blob: SimBlob): void {
    if (blob.source.kind === 'temp') void unlink(blob.source.path).catch(() => undefined);
    if (blob.source.kind === 'segments')
      for (const path of blob.source.paths) void unlink(path).catch(() => undefined);
    const joined = this.#joined.get(blob);
    if (joined !== undefined) void unlink(joined).catch(() => undefined);
  }

  /** Removes the temp directory and everything in it. */
  async dispose(): Promise<void> {
    const dir = this.#dir;
    this.#dir = undefined;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }

  disposeSync(): void {
    const dir = this.#dir;
    this.#dir = undefined;
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}
