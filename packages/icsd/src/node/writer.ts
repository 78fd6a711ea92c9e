import path from 'node:path';
import { SmallFileWriter } from '@sciport/core/node';
import type { CifBatch } from '../internal/cif-batch.js';
import { cifFileName } from '../schemas/cif.js';
import { cifModificationDay } from './cif-dates.js';
import type { Journal } from './journal.js';

export interface WrittenBatch {
  /** Files written (names). */
  files: number;
  names: string[] | undefined;
  bytes: number;
  bad: number[];
  /** ids served, in the order of `codes`. */
  served: number[];
  /** The collection codes written. */
  codes: number[];
  /** The `replacing` flag the batch was queued with (a refresh's replacements of files already there). */
  replacing: boolean;
}

/**
 * Writes fetched batches to disk in the background, one batch after another, so that downloading never
 * waits for the disk: a request slot is free again as soon as its body is read. At most `maxPending`
 * batches wait in memory (backpressure on the fetchers beyond that). Each batch is journalled only once all
 * its files are in place. An abort stops the fetching, not the writer: batches already fetched are written
 * (a few milliseconds each), so their work is kept.
 */
export class BatchWriter {
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private waiters: Array<() => void> = [];
  private error: unknown;

  constructor(
    private readonly dir: string,
    private readonly journal: Journal,
    private readonly onWritten: (batch: WrittenBatch) => void,
    private readonly maxPending: number,
    private readonly listNames: boolean,
  ) {}

  /** Queues a batch; waits only while `maxPending` batches are already queued. */
  async enqueue(batch: CifBatch, replacing = false): Promise<void> {
    while (this.pending >= this.maxPending && this.error === undefined) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.error !== undefined) throw this.error;
    this.pending += 1;
    this.chain = this.chain
      .then(async () => {
        if (this.error !== undefined) return;
        this.onWritten(await this.write(batch, replacing));
      })
      .catch((error: unknown) => {
        this.error ??= error;
      })
      .finally(() => {
        this.pending -= 1;
        const waiters = this.waiters;
        this.waiters = [];
        for (const w of waiters) w();
      });
  }

  /** Waits for every queued batch; throws the first write error. */
  async flush(): Promise<void> {
    await this.chain;
    if (this.error !== undefined) throw this.error;
  }

  private async write(batch: CifBatch, replacing: boolean): Promise<WrittenBatch> {
    const names: string[] | undefined = this.listNames ? [] : undefined;
    const codes: number[] = [];
    const sizes: number[] = [];
    const dates: number[] = [];
    const files = new SmallFileWriter();
    const dir = this.dir + path.sep;
    let bytes = 0;
    try {
      // Straight from the bytes received, in slices that let the event loop (the downloads) breathe.
      for (const part of batch.parts) {
        for (const piece of part.pieces) {
          if (codes.length > 0 && codes.length % 32 === 0) await new Promise<void>((r) => setImmediate(r));
          const name = cifFileName(piece.collectionCode);
          const doc = part.body.subarray(piece.start, piece.end);
          // A file already there (a refresh's replacement) stays whole until the new one is complete: the
          // document was checked whole (its end line, its code) and goes to a temporary file, renamed over it.
          const size = files.write(dir, name, doc);
          dates.push(cifModificationDay(doc));
          bytes += size;
          sizes.push(size);
          names?.push(name);
          codes.push(piece.collectionCode);
        }
      }
    } finally {
      for (const part of batch.parts) part.release();
    }
    // `served[i]` was answered by the i-th document (the order asked; `fetchCifBatch` keeps them in step).
    await this.journal.recordBatch(batch.served, codes, sizes, dates);
    await this.journal.recordBad(batch.bad);
    return { files: codes.length, names, bytes, bad: batch.bad, served: batch.served, codes, replacing };
  }
}
