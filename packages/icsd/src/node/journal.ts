import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '@sciport/core';
import { z } from 'zod';
import { dayOf, isoDay, utcDay } from './cif-dates.js';
import { IdSet } from './id-set.js';

/**
 * The manifest of a download folder: an append-only journal (`.sciport-icsd.ndjson`), one JSON line per
 * completed batch, written after the batch's files are in place. Appending keeps each step cheap and
 * crash-safe (a torn last line is ignored on reading), so an interrupted mirror of hundreds of thousands of
 * entries resumes without fetching again what is complete.
 *
 * A batch line lists its ids, the collection codes written and (since 0.x) each file's size, the three in the
 * same order: id `ids[i]` was answered by the file of `codes[i]`, `sizes[i]` bytes. A damaged file is then
 * fetched again alone (`forget`), not with its whole batch. Lines written since the refresh feature also list
 * each entry's modification date (`dates`, read from its CIF), and a complete refresh appends a `synced` line;
 * older versions ignore both.
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
  /** Each file's size, in the order of `codes` (absent in lines written by earlier versions). */
  sizes: z.array(z.number().int().nonnegative()).optional(),
  /** Each entry's modification date (`YYYY-MM-DD`, null when its CIF gives none), in the order of `codes`. */
  dates: z.array(z.string().nullable()).optional(),
  bytes: z.number().int().nonnegative(),
  at: z.string(),
});
const badLine = z.object({ t: z.literal('bad'), ids: z.array(z.number().int()), at: z.string() });
/**
 * A complete refresh (`mirror(dir, { refresh: true })`): every entry of codes `from`-`to` in `contentTypes` was
 * current as of `date` (`YYYY-MM-DD`, UTC), the day the run started. Written only at the end of a run that left
 * nothing to do.
 */
const syncedLine = z.object({
  t: z.literal('synced'),
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  from: z.number().int().nonnegative(),
  to: z.number().int().nonnegative(),
  contentTypes: z.array(z.string()),
  at: z.string(),
});
const line = z.discriminatedUnion('t', [metaLine, batchLine, badLine, syncedLine]);

/** A complete refresh, as recorded (see {@link JournalState.synced}). */
export type SyncedRecord = Omit<z.infer<typeof syncedLine>, 't' | 'at'>;

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
  batches: JournalBatch[];
  /** The complete refreshes, oldest first. */
  synced: SyncedRecord[];
}

/** One completed batch: ids, codes and (when recorded) sizes, in the same order. */
export interface JournalBatch {
  ids: Int32Array | Float64Array;
  codes: Int32Array | Float64Array;
  sizes: Float64Array | undefined;
  /** Each entry's modification date as `YYYYMMDD` (0: none), in the order of `codes`; undefined in old lines. */
  dates: Int32Array | undefined;
  /** The UTC day the batch was recorded (`YYYYMMDD`; 0 when the line's time cannot be read). */
  day: number;
}

/** Packs numbers in the smallest typed array that holds them. */
function pack(values: readonly number[]): Int32Array | Float64Array {
  return values.every((v) => v <= 0x7fffffff) ? Int32Array.from(values) : Float64Array.from(values);
}

function batchOf(
  ids: readonly number[],
  codes: readonly number[],
  sizes: readonly number[] | undefined,
  dates: readonly number[] | undefined,
  day: number,
): JournalBatch {
  return {
    ids: pack(ids),
    codes: pack(codes),
    // Sizes and dates only when they pair with the codes.
    sizes: sizes && sizes.length === codes.length ? Float64Array.from(sizes) : undefined,
    dates: dates && dates.length === codes.length ? Int32Array.from(dates) : undefined,
    day,
  };
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
      synced: [],
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
        state.batches.push(
          batchOf(
            parsed.ids,
            parsed.codes,
            parsed.sizes,
            parsed.dates?.map((d) => dayOf(d)),
            dayOf(parsed.at),
          ),
        );
      } else if (parsed.t === 'synced') {
        const { t: _t, at: _at, ...record } = parsed;
        state.synced.push(record);
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

  /**
   * Records a batch whose files are in place: `ids[i]` answered by `codes[i]`, a file of `sizes[i]` bytes whose
   * entry was last modified on `dates[i]` (`YYYYMMDD`, 0 when unknown).
   */
  async recordBatch(
    ids: readonly number[],
    codes: readonly number[],
    sizes: readonly number[],
    dates: readonly number[],
  ): Promise<void> {
    const bytes = sizes.reduce((a, b) => a + b, 0);
    const now = new Date();
    await this.append({
      t: 'batch',
      ids: [...ids],
      codes: [...codes],
      sizes: [...sizes],
      dates: dates.map(isoDay),
      bytes,
      at: now.toISOString(),
    });
    for (const id of ids) {
      this.state.doneIds.add(id);
      this.state.badIds.delete(id);
    }
    for (const cc of codes) this.state.codes.add(cc);
    this.state.bytes += bytes;
    this.state.batches.push(batchOf(ids, codes, sizes, dates, utcDay(now)));
  }

  /** Records a complete refresh (see {@link JournalState.synced}). */
  async recordSynced(record: SyncedRecord): Promise<void> {
    await this.append({ t: 'synced', ...record, at: new Date().toISOString() });
    this.state.synced.push(record);
  }

  /**
   * Marks the entries of `codes` as not done (their files are missing or damaged), so that only they are fetched
   * again. The id of each is `idOf(code)` when known (a search by collection code), else the id at the code's
   * place in its batch; a batch of an older journal whose ids and codes do not pair up is forgotten whole.
   */
  forget(codes: ReadonlySet<number>, idOf: ReadonlyMap<number, number> = new Map()): void {
    const batches: JournalBatch[] = [];
    for (const b of this.state.batches) {
      if (!b.codes.some((cc) => codes.has(cc))) {
        batches.push(b);
        continue;
      }
      const paired = b.ids.length === b.codes.length;
      if (!paired && ![...b.codes].every((cc) => !codes.has(cc) || idOf.has(cc))) continue;
      const dropIds = new Set<number>();
      b.codes.forEach((cc, i) => {
        if (codes.has(cc)) dropIds.add(idOf.get(cc) ?? (b.ids[i] as number));
      });
      const keepCode = [...b.codes].map((cc) => !codes.has(cc));
      batches.push(
        batchOf(
          [...b.ids].filter((id) => !dropIds.has(id)),
          [...b.codes].filter((_, i) => keepCode[i]),
          b.sizes ? [...b.sizes].filter((_, i) => keepCode[i]) : undefined,
          b.dates ? [...b.dates].filter((_, i) => keepCode[i]) : undefined,
          b.day,
        ),
      );
    }
    this.state.batches = batches;
    this.state.doneIds = new IdSet();
    this.state.codes = new IdSet();
    for (const b of batches) {
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
