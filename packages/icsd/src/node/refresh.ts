import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  mapConcurrentAll,
  type RequestOptions,
  ResponseValidationError,
  requestOptions,
} from '@sciport/core';
import { z } from 'zod';
import { type IcsdContext, warn } from '../internal/context.js';
import { decodeText } from '../internal/decode.js';
import { idsForCodes, type SearchTarget } from '../internal/search.js';
import { cifFileName, isEntryNumber } from '../schemas/cif.js';
import { csvRecords } from '../schemas/csv.js';
import { MAX_IDS_PER_REQUEST } from '../schemas/fields.js';
import { addDays, cifModificationDay, dayOf, isoDay, utcDay } from './cif-dates.js';
import type { MirrorOptions } from './cifs.js';
import { IdSet } from './id-set.js';
import type { Journal, JournalState } from './journal.js';
import { type MirrorReport, transfer } from './transfer.js';
import { walkCodes } from './walk.js';

/**
 * `mirror(dir, { refresh: true })` (spec §14.4): what a mirror fetches (the entries missing from the folder), and
 * the entries of the folder modified upstream since its last complete refresh, written over their files.
 *
 * 1. `since` = the day the last complete refresh of a range and subsets that cover this one started; for entries
 *    no such refresh covers, the day before their batch was written (so a folder made by a plain mirror, or by a
 *    version that kept no dates, needs no full comparison either).
 * 2. Expert searches `MODIFICATIONDATE : <since>-<tomorrow> and COLLECTIONCODE : <range>`, split like the
 *    mirror's own search (the upper bound is tomorrow, UTC, so that a service clock ahead of ours misses nothing).
 * 3. `/csv` with `CollectionCode` and `ModificationDate` for the hits the folder holds, 500 ids a request.
 * 4. Fetched again: the entries whose date differs from the one kept in the manifest (or, in a manifest of an
 *    older version, read from the file on disk); and, once, on a later day, an entry whose file was fetched on
 *    the day of its last change (a second change that day would not move the date).
 *
 * The `synced` record (the next run's `since`) is written only at the end of a run that replaced every entry it
 * found modified: an interrupted refresh leaves `since` where it was, so the next one finds the same entries,
 * and skips those already replaced (their recorded date now matches).
 */
export async function refreshMirror(
  ctx: IcsdContext,
  dir: string,
  options: MirrorOptions,
  from: number,
  to: number,
  targets: readonly SearchTarget[],
): Promise<MirrorReport> {
  const startDay = utcDay(Date.now());
  const contentTypes = targets.map((t) => t.value ?? '').sort();
  let since: number | undefined;
  let preRun = 0;
  let complete = true;
  /** Entries to replace: collection code → id. */
  const stale = new Map<number, number>();
  return transfer(
    ctx,
    dir,
    options,
    async (feed, signal, journal) => {
      const opts: RequestOptions = { ...options, signal };
      let searches = 0;
      const counted = () => {
        searches += 1;
      };
      // Everything recorded so far (after the folder's check, which forgets broken files) is "before this run".
      preRun = journal.state.batches.length;
      since = sinceDay(journal.state, preRun, from, to, contentTypes);
      const byCode = (lo: number, hi: number) => `COLLECTIONCODE : ${lo}-${hi}`;
      const missing = targets.map(async (t) =>
        feed(await walkCodes(ctx, byCode, t.value, opts, counted)(from, to)),
      );
      const s = since;
      const until = isoDay(addDays(startDay, 1));
      const modified =
        s === undefined
          ? []
          : targets.map((t) =>
              walkCodes(
                ctx,
                (lo, hi) => `MODIFICATIONDATE : ${isoDay(s)}-${until} and COLLECTIONCODE : ${lo}-${hi}`,
                t.value,
                opts,
                counted,
              )(from, to),
            );
      const [, hitLists] = await Promise.all([Promise.all(missing), Promise.all(modified)]);
      if (s === undefined) return searches;
      const found = await staleEntries(ctx, dir, journal.state, preRun, hitLists.flat(), opts, options);
      if (!found.complete) complete = false;
      for (const [cc, id] of found.stale) stale.set(cc, id);
      feed([...stale.values()], true);
      return searches;
    },
    false,
    {
      since: () => (since === undefined ? undefined : (isoDay(since) ?? undefined)),
      finish: async (journal, report) => {
        if (!complete || !replacedAll(journal, preRun, stale, report.badIds)) return;
        await journal.recordSynced({ date: isoDay(startDay) as string, from, to, contentTypes });
      },
    },
  );
}

/**
 * The first day to search for modifications: for each entry of the range in the folder, the day it is known
 * current as of (the start of the latest complete refresh that covered it, or the day before its batch was
 * written), and the earliest of those. Undefined when the folder holds no entry of the range.
 */
export function sinceDay(
  state: JournalState,
  batchCount: number,
  from: number,
  to: number,
  contentTypes: readonly string[],
): number | undefined {
  const covering = state.synced
    .filter((r) => contentTypes.every((t) => r.contentTypes.includes(t)))
    .map((r) => ({ from: r.from, to: r.to, day: dayOf(r.date) }));
  let min = Number.POSITIVE_INFINITY;
  for (let b = 0; b < batchCount; b++) {
    const batch = state.batches[b] as JournalState['batches'][number];
    // A time that cannot be read bounds nothing: search from long ago.
    const base = batch.day === 0 ? 19000101 : addDays(batch.day, -1);
    if (base >= min && covering.length === 0) continue;
    for (const cc of batch.codes) {
      if (cc < from || cc > to) continue;
      let asOf = base;
      for (const r of covering) if (cc >= r.from && cc <= r.to && r.day > asOf) asOf = r.day;
      if (asOf < min) min = asOf;
    }
  }
  return min === Number.POSITIVE_INFINITY ? undefined : min;
}

/**
 * Of the ids a modification search found, the entries of the folder whose upstream date differs from the one kept
 * for their file: collection code → id to fetch. `complete` is false when some could not be decided (a hit
 * without a `/csv` row, an id that could not be paired with its code).
 */
async function staleEntries(
  ctx: IcsdContext,
  dir: string,
  state: JournalState,
  batchCount: number,
  hits: readonly number[],
  opts: RequestOptions,
  options: MirrorOptions,
): Promise<{ stale: Map<number, number>; complete: boolean }> {
  const stale = new Map<number, number>();
  let complete = true;
  const hitSet = new IdSet(hits);
  const held = new IdSet();
  for (let b = 0; b < batchCount; b++) {
    for (const id of (state.batches[b] as JournalState['batches'][number]).ids) {
      if (hitSet.has(id)) held.add(id);
    }
  }
  if (held.size === 0) return { stale, complete };
  const asked = [...held];
  const { days, rows } = await readModificationDays(ctx, asked, opts, options.concurrency ?? ctx.concurrency);
  if (rows < asked.length) {
    complete = false;
    warn(
      ctx,
      `${asked.length - rows} of the ${asked.length} entries found modified gave no /csv row: they stay as they are`,
    );
  }
  // What the manifest says of those codes (the latest record wins): the date kept, and the id that was answered.
  const kept = new Map<number, { day: number | undefined; id: number | undefined; fetched: number }>();
  for (let b = 0; b < batchCount; b++) {
    const batch = state.batches[b] as JournalState['batches'][number];
    const paired = batch.ids.length === batch.codes.length;
    batch.codes.forEach((cc, i) => {
      if (!days.has(cc)) return;
      const id = paired ? (batch.ids[i] as number) : undefined;
      kept.set(cc, {
        day: batch.dates ? (batch.dates[i] as number) : undefined,
        id: id !== undefined && held.has(id) ? id : undefined,
        fetched: batch.day,
      });
    });
  }
  // A manifest of an older version keeps no dates: read them from the files.
  const unknown = [...kept].filter(([, k]) => k.day === undefined).map(([cc]) => cc);
  await mapConcurrentAll(
    unknown,
    async (cc) => {
      const entry = kept.get(cc) as { day: number | undefined };
      entry.day = await fileDay(dir, cc);
    },
    { concurrency: 16, ...(opts.signal ? { signal: opts.signal } : {}) },
  );
  const unpaired: number[] = [];
  const today = utcDay(Date.now());
  for (const [cc, k] of [...kept].sort((a, b) => a[0] - b[0])) {
    const upstream = days.get(cc) as number;
    // An unknown date on either side counts as a change. A file fetched on (or before) the day of its entry's
    // last change may miss a second change that day, which does not move the date: it is fetched once more by
    // a refresh of a later day.
    const sameDay = k.day !== undefined && k.day >= k.fetched && today > k.day;
    if (upstream !== 0 && k.day === upstream && !sameDay) continue;
    if (k.id !== undefined) stale.set(cc, k.id);
    else unpaired.push(cc);
  }
  for (let i = 0; i < unpaired.length; i += MAX_IDS_PER_REQUEST) {
    const codes = unpaired.slice(i, i + MAX_IDS_PER_REQUEST);
    const idOf = await idsForCodes(ctx, codes, new Set(held), opts);
    if (!idOf) {
      complete = false;
      continue;
    }
    for (const cc of codes) {
      const id = idOf.get(cc);
      if (id === undefined) complete = false;
      else stale.set(cc, id);
    }
  }
  return { stale, complete };
}

/** The modification day of the file of `cc` in `dir` (0 when it cannot be read or gives none). */
async function fileDay(dir: string, cc: number): Promise<number> {
  try {
    return cifModificationDay(await readFile(path.join(dir, cifFileName(cc))));
  } catch {
    return 0;
  }
}

/** True when every stale entry was written again in this run, none of them among the ids the service refused. */
function replacedAll(
  journal: Journal,
  preRun: number,
  stale: ReadonlyMap<number, number>,
  badIds: readonly number[],
): boolean {
  if (stale.size === 0) return true;
  const bad = new Set(badIds);
  for (const id of stale.values()) if (bad.has(id)) return false;
  const written = new IdSet();
  const batches = journal.state.batches;
  for (let b = preRun; b < batches.length; b++) {
    for (const cc of (batches[b] as (typeof batches)[number]).codes) written.add(cc);
  }
  for (const cc of stale.keys()) if (!written.has(cc)) return false;
  return true;
}

const csvCode = z
  .string()
  .trim()
  .regex(/^\d{1,16}$/)
  .transform(Number)
  .refine(isEntryNumber, 'not a positive whole number');
/** An ISO date, or an empty cell (no date: counted as a change). */
const csvDate = z
  .string()
  .trim()
  .transform((s, c) => {
    if (s === '') return 0;
    const day = dayOf(s);
    if (day === 0) c.addIssue({ code: 'custom', message: `expected a date, got "${s.slice(0, 40)}"` });
    return day;
  });

/**
 * `CollectionCode` and `ModificationDate` of `ids` from `/csv` (500 ids a request, `concurrency` at once), keyed
 * by collection code, never by position: code → `YYYYMMDD` (0 when the cell is empty).
 */
export async function readModificationDays(
  ctx: IcsdContext,
  ids: readonly number[],
  options: RequestOptions,
  concurrency: number,
): Promise<{ days: Map<number, number>; rows: number }> {
  const chunks: number[][] = [];
  for (let i = 0; i < ids.length; i += MAX_IDS_PER_REQUEST)
    chunks.push(ids.slice(i, i + MAX_IDS_PER_REQUEST));
  const days = new Map<number, number>();
  let rows = 0;
  await mapConcurrentAll(
    chunks,
    async (batch) => {
      const response = await ctx.session.run(0, options.signal, () =>
        ctx.http.withOptions({ maxBodyBytes: (1 + batch.length / 16) * 1024 * 1024 }).request('csv', {
          query: {
            idnum: batch,
            windowsclient: 'false',
            listSelection: ['CollectionCode', 'ModificationDate'],
          },
          headers: { accept: 'application/csv' },
          ...requestOptions(options),
        }),
      );
      const parsed = parseDatesCsv(decodeText(response.bytes, response.headers.get('content-type')));
      if (parsed.length > batch.length) {
        throw invalidCsv(`${parsed.length} rows for ${batch.length} ids`);
      }
      rows += parsed.length;
      for (const [cc, day] of parsed) days.set(cc, day);
    },
    { concurrency, ...(options.signal ? { signal: options.signal } : {}) },
  );
  return { days, rows };
}

function invalidCsv(message: string, path = ''): ResponseValidationError {
  return new ResponseValidationError({ service: 'icsd', endpoint: 'GET /csv', issues: [{ path, message }] });
}

/** The rows of a `/csv` answer for `CollectionCode` and `ModificationDate` (spec §4.4), columns by header name. */
export function parseDatesCsv(text: string): Array<[number, number]> {
  const { header, rows } = csvRecords(text, 'GET /csv');
  if (!header.some((h) => h.trim().toLowerCase() === 'modificationdate')) {
    throw invalidCsv(
      `the header does not name CollectionCode and ModificationDate: ${header.join(' ').slice(0, 80)}`,
    );
  }
  return rows.map(({ line, cells }) => {
    const cc = csvCode.safeParse(cells.collectioncode ?? '');
    const day = csvDate.safeParse(cells.modificationdate ?? '');
    if (!cc.success)
      throw invalidCsv(`CollectionCode "${(cells.collectioncode ?? '').slice(0, 40)}"`, `${line}`);
    if (!day.success) throw invalidCsv(day.error.issues[0]?.message ?? 'bad date', `${line}`);
    return [cc.data, day.data];
  });
}
