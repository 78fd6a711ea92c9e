import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '@sciport/core';
import { z } from 'zod';
import { IdSet } from './id-set.js';

/**
 * The manifest of a download folder: an append-only journal (`.sciport-icsd.ndjson`), one JSON line per
 * completed batch, written after the batch's files are in place. Appending keeps each step cheap and
 * crash-safe (a torn last line is ignored on reading), so an interrupted mirror of hundreds of thousands of
 * entries resumes without fetching again what is complete.
 */

export const JOURNAL_FILE = '.sciport-icsd.ndjson';

const metaLine = z.object({
  t: z.literal('meta'),
  v: z.literal(1),
  cellType: z.enum(['experimental', 'standardized']),
  at: z.string(),
});
const batchLine = z.object({
  t: z.literal('batch'),
  ids: z.array(z.number().int()),
  codes: z.array(z.number().int()),
  bytes: z.number().int().nonnegative(),
  at: z.string(),
});
const badLine = z.object({ t: z.literal('bad'), ids: z.array(z.number().int()), at: z.string() });
const line = z.discriminatedUnion('t', [metaLine, batchLine, badLine]);

export interface JournalState {
  cellType: 'experimental' | 'standardized' | undefined;
  /** ids whose CIFs are on disk. */
  doneIds: IdSet;
  /** Collection codes on disk. */
  codes: IdSet;
  /** ids the server could not serve. */
  badIds: IdSet;
  bytes: number;
  /** The completed batches, as recorded (compact: a mirror may hold hundreds of thousands of entries). */
  batches: Array<{ ids: Int32Array | Float64Array; codes: Int32Array | Float64Array }>;
}

/** Packs numbers in the smallest typed array that holds them. */
function pack(values: readonly number[]): Int32Array | Float64Array {
  return values.every((v) => v <= 0x7fffffff) ? Int32Array.from(values) : Float64Array.from(values);
}

export class Journal {
  private constructor(
    readonly file: string,
    readonly state: JournalState,
  ) {}

  /** Opens (or starts) the journal of `dir` for downloads of `cellType`. */
  static async open(dir: string, cellType: 'experimental' | 'standardized'): Promise<Journal> {
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, JOURNAL_FILE);
    const state: JournalState = {
      cellType: undefined,
      doneIds: new IdSet(),
      codes: new IdSet(),
      badIds: new IdSet(),
      bytes: 0,
      batches: [],
    };
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    for (const raw of text.split('\n')) {
      if (raw.trim() === '') continue;
      let parsed: z.infer<typeof line>;
      try {
        parsed = line.parse(JSON.parse(raw));
      } catch {
        // A line cut by a crash, or written by a newer version: skip it (its batch is fetched again).
        continue;
      }
      if (parsed.t === 'meta') state.cellType = parsed.cellType;
      else if (parsed.t === 'batch') {
        for (const id of parsed.ids) {
          state.doneIds.add(id);
          state.badIds.delete(id);
        }
        for (const cc of parsed.codes) state.codes.add(cc);
        state.bytes += parsed.bytes;
        state.batches.push({ ids: pack(parsed.ids), codes: pack(parsed.codes) });
      } else {
        for (const id of parsed.ids) state.badIds.add(id);
      }
    }
    if (state.cellType !== undefined && state.cellType !== cellType) {
      throw new UsageError(
        `${dir} holds ${state.cellType} cells; downloading ${cellType} cells there would mix them`,
        { hint: 'Use another folder' },
      );
    }
    const journal = new Journal(file, state);
    if (state.cellType === undefined) {
      state.cellType = cellType;
      await journal.append({ t: 'meta', v: 1, cellType, at: new Date().toISOString() });
    }
    return journal;
  }

  private async append(entry: z.infer<typeof line>): Promise<void> {
    await appendFile(this.file, `${JSON.stringify(entry)}\n`, { encoding: 'utf8', mode: 0o644 });
  }

  async recordBatch(ids: readonly number[], codes: readonly number[], bytes: number): Promise<void> {
    await this.append({ t: 'batch', ids: [...ids], codes: [...codes], bytes, at: new Date().toISOString() });
    for (const id of ids) {
      this.state.doneIds.add(id);
      this.state.badIds.delete(id);
    }
    for (const cc of codes) this.state.codes.add(cc);
    this.state.bytes += bytes;
    this.state.batches.push({ ids: pack(ids), codes: pack(codes) });
  }

  /** Marks the batches holding any of `codes` as not done (their files are missing or damaged). */
  forget(codes: ReadonlySet<number>): void {
    const keep = this.state.batches.filter((b) => !b.codes.some((cc) => codes.has(cc)));
    this.state.batches = keep;
    this.state.doneIds = new IdSet();
    this.state.codes = new IdSet();
    for (const b of keep) {
      for (const id of b.ids) this.state.doneIds.add(id);
      for (const cc of b.codes) this.state.codes.add(cc);
    }
  }

  async recordBad(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.append({ t: 'bad', ids: [...ids], at: new Date().toISOString() });
    for (const id of ids) this.state.badIds.add(id);
  }
}
