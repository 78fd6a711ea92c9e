import type { IcsdDataset, IcsdSimEntry } from './icsd-dataset.js';
import { cellNumbers, cellVolumeOf, mixSeed, parseWireNumber } from './icsd-structure.js';

/**
 * Upstream changes (spec Appendix A): entries modified between two runs of the service, by revision number at
 * start-up or live. A changed entry gets a different CIF (the last digit of its cell lengths moves) and the day
 * of the change as its modification date; every other entry stays byte-identical.
 */

/** Share of the entries each revision changes. */
export const REVISION_SHARE = 0.03;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Whether `text` is a real calendar date written `YYYY-MM-DD`. */
export function isIsoDate(text: string): boolean {
  const m = ISO_DATE.exec(text);
  if (m === null) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** The UTC day of a clock reading, `YYYY-MM-DD`. */
export function dayOf(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/**
 * How many of the revisions 1..`revision` change each entry: a deterministic subset of about
 * {@link REVISION_SHARE} of the entries per revision, chosen by seed, revision number and collection code.
 */
export function revisionCounts(
  seed: number,
  entries: readonly IcsdSimEntry[],
  revision: number,
): Map<number, number> {
  const counts = new Map<number, number>();
  const threshold = REVISION_SHARE * 2 ** 32;
  for (let r = 1; r <= revision; r++) {
    const revisionSeed = mixSeed(seed, 0x5e71_0000 + r);
    for (const entry of entries) {
      if (mixSeed(revisionSeed, entry.collectionCode) < threshold) {
        counts.set(entry.collectionCode, (counts.get(entry.collectionCode) ?? 0) + 1);
      }
    }
  }
  return counts;
}

/** `5.5385(2)` moved by `steps` units of its last digit: `5.5386(2)`. */
function bumpLength(token: string, steps: number): string {
  const m = /^(\d+)\.(\d+)(\(\d+\))?$/.exec(token);
  if (m === null) throw new Error(`icsd simulator: unexpected cell length ${token}`);
  const decimals = m[2]!.length;
  const value = Number(`${m[1]}.${m[2]}`) + steps * 10 ** -decimals;
  return `${value.toFixed(decimals)}${m[3] ?? ''}`;
}

/** How many of a, b, c are tied to a by symmetry (and must move with it). */
function tiedLengths(entry: IcsdSimEntry): number {
  switch (entry.crystalSystem) {
    case 'cubic':
      return 3;
    case 'tetragonal':
    case 'trigonal':
    case 'hexagonal':
      return 2;
    default:
      return 1;
  }
}

/**
 * The entry after `steps` upstream changes on `date`: cell lengths (with the lengths tied to `a` by symmetry)
 * moved by `steps` units of their last digit, volume and density recomputed, modification date `date`.
 */
export function reviseEntry(entry: IcsdSimEntry, steps: number, date: string): IcsdSimEntry {
  const tokens = entry.cellParameters.split(' ');
  const tied = tiedLengths(entry);
  for (let i = 0; i < tied; i++) tokens[i] = bumpLength(tokens[i]!, steps);
  const cellParameters = tokens.join(' ');
  const [a, b, c, alpha, beta, gamma] = cellNumbers(cellParameters);
  const volume = cellVolumeOf(a, b, c, alpha, beta, gamma);
  const esd = /\(\d+\)$/.exec(entry.cellVolume)?.[0] ?? '';
  const density =
    (entry.formulaUnitsPerCell * parseWireNumber(entry.formulaWeight) * 1.66054) / Math.max(volume, 1e-9);
  return {
    ...entry,
    cellParameters,
    cellVolume: `${volume.toFixed(2)}${esd}`,
    calculatedDensity: density.toFixed(2),
    modificationDate: date,
  };
}

/**
 * Applies upstream changes on `date` to the entries with the given collection codes (each code once per call;
 * unknown codes are skipped). Returns the changed codes in ascending order.
 *
 * @throws RangeError when `date` is not a real `YYYY-MM-DD` date or is before a changed entry's recording date.
 */
export function modifyEntries(
  dataset: IcsdDataset,
  changes: ReadonlyMap<number, number>,
  date: string,
  who = 'IcsdSimulator.modify',
): number[] {
  if (!isIsoDate(date)) {
    throw new RangeError(`${who}: date must be a real YYYY-MM-DD date, got ${String(date)}`);
  }
  const changed: number[] = [];
  for (const [code, steps] of changes) {
    const entry = dataset.entryByCode(code);
    if (entry === undefined || steps <= 0) continue;
    if (date < entry.recordingDate) {
      throw new RangeError(
        `${who}: date ${date} is before the recording date ${entry.recordingDate} of entry ${code}`,
      );
    }
    changed.push(code);
  }
  for (const code of changed) {
    dataset.replaceEntry(reviseEntry(dataset.entryByCode(code)!, changes.get(code)!, date));
  }
  return changed.sort((x, y) => x - y);
}
