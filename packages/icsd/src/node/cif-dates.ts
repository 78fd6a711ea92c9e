/**
 * Modification dates of ICSD entries (spec §14.4): read from the CIF bytes already at hand (no request), kept in
 * the mirror's manifest as whole numbers `YYYYMMDD` (0: unknown), compared with `/csv`'s `ModificationDate`.
 */

const UPDATE = Buffer.from('\n_audit_update_record', 'latin1');
const CREATION = Buffer.from('\n_audit_creation_date', 'latin1');
/** A date as ICSD writes one: `2019-04-01` (also `2019/04/01`, `2019.04.01`, one-digit month or day). */
const DATE = /(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)/g;

/** `YYYYMMDD` of a real calendar date, or 0. */
function dayNumber(y: number, m: number, d: number): number {
  if (m < 1 || m > 12 || d < 1 || y < 1000) return 0;
  const t = new Date(Date.UTC(y, m - 1, d));
  if (t.getUTCMonth() !== m - 1 || t.getUTCDate() !== d) return 0;
  return y * 10000 + m * 100 + d;
}

/** The latest date written in `text` (`YYYYMMDD`), or 0 when it holds none. */
export function latestDateIn(text: string): number {
  let best = 0;
  for (const m of text.matchAll(DATE)) {
    const day = dayNumber(Number(m[1]), Number(m[2]), Number(m[3]));
    if (day > best) best = day;
  }
  return best;
}

/** The value of the tag that ends at `from`: the rest of its line, or the next line, or a `;` text field. */
function valueAfter(doc: Buffer, from: number): string {
  const window = doc.toString('latin1', from, Math.min(doc.length, from + 4096));
  const firstLineEnd = window.indexOf('\n');
  const rest = firstLineEnd === -1 ? window : window.slice(0, firstLineEnd);
  if (rest.trim() !== '' || firstLineEnd === -1) return rest;
  // The value is on the following line(s): a `;` text field runs to the line that starts with `;`.
  const next = window.slice(firstLineEnd + 1);
  if (next.startsWith(';')) {
    const close = next.indexOf('\n;', 1);
    return close === -1 ? next : next.slice(1, close);
  }
  const end = next.indexOf('\n');
  return end === -1 ? next : next.slice(0, end);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * An entry's modification date (`YYYYMMDD`) from its CIF bytes: `_audit_update_record` (the latest date it
 * holds), else `_audit_creation_date` (ICSD writes the update record only when the dates differ); 0 when the
 * document has neither date.
 */
export function cifModificationDay(cif: Uint8Array): number {
  const doc = asBuffer(cif);
  for (const tag of [UPDATE, CREATION]) {
    const at = doc.indexOf(tag);
    if (at === -1) continue;
    const day = latestDateIn(valueAfter(doc, at + tag.length));
    if (day !== 0) return day;
  }
  return 0;
}

/** `YYYYMMDD` → `YYYY-MM-DD` (null for 0). */
export function isoDay(day: number): string | null {
  if (day === 0) return null;
  const y = Math.floor(day / 10000);
  const m = Math.floor(day / 100) % 100;
  const d = day % 100;
  return `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** `YYYY-MM-DD` (or any text holding a date) → `YYYYMMDD`; 0 when there is none. */
export function dayOf(text: string | null | undefined): number {
  return text ? latestDateIn(text) : 0;
}

/** The UTC day of a moment (`YYYYMMDD`). */
export function utcDay(at: Date | number): number {
  const t = new Date(at);
  return t.getUTCFullYear() * 10000 + (t.getUTCMonth() + 1) * 100 + t.getUTCDate();
}

/** `day` moved by `delta` days. */
export function addDays(day: number, delta: number): number {
  const t = Date.UTC(Math.floor(day / 10000), (Math.floor(day / 100) % 100) - 1, day % 100);
  return utcDay(t + delta * 86_400_000);
}
