import { z } from 'zod';
import { isEntryNumber } from '../schemas/cif.js';

/**
 * Citations of ICSD entries (spec §14.5), from the `/csv` properties `Authors`, `Title`, `Journal`,
 * `PublicationYear`, `Volume`, `Page`, `Reference` and `Doi`. Like every sciport record, a `Citation` is typed
 * and carries the cells as sent under `raw`; the cells are checked by a zod schema, leniently: the formats of
 * these properties are [I] (spec §7), so a cell in an unexpected shape leaves its field `null` instead of failing
 * the whole answer.
 */

/** One author: `Müller, K.` → `{ family: 'Müller', given: 'K.' }` (non-ASCII kept as sent). */
export interface CitationAuthor {
  family: string;
  /** Initials or given names; `''` when the name had no comma. */
  given: string;
}

/** The reference of one ICSD entry. Fields the service left empty are `null`. */
export interface Citation {
  /** The collection code (the ICSD number). */
  collectionCode: number;
  /** A stable key: `icsd<code>` (`icsd1975`). */
  key: string;
  /** Authors of the main reference, in order (`Authors`, split on `;`). */
  authors: CitationAuthor[];
  title: string | null;
  journal: string | null;
  year: number | null;
  /** Text: volumes such as `12A` exist. */
  volume: string | null;
  /** First page, or an article number (`e10234`). */
  pageFirst: string | null;
  /** Last page, from `Reference` (`… , 123-130`). */
  pageLast: string | null;
  /** A bare DOI (`10.1021/ic00123`), also when the service wrote it as a URL; `null` when none is known. */
  doi: string | null;
  /** The cells as sent, keyed by the CSV header's cells. */
  readonly raw: Readonly<Record<string, string>>;
}

/** The `/csv` properties a citation is built from (`Doi` last: the real service may refuse it, spec §14.5 [U]). */
export const CITATION_PROPERTIES = [
  'CollectionCode',
  'Authors',
  'Title',
  'Journal',
  'PublicationYear',
  'Volume',
  'Page',
  'Reference',
  'Doi',
] as const;

const clean = (s: string | undefined): string | null => {
  const t = (s ?? '').trim();
  return t === '' ? null : t;
};

/** `Müller, K.;Smith, J. R.` → authors; a name without a comma is all family name. */
export function parseAuthors(text: string): CitationAuthor[] {
  return text
    .split(';')
    .map((a) => a.trim())
    .filter((a) => a !== '')
    .map((a) => {
      const comma = a.indexOf(',');
      if (comma === -1) return { family: a, given: '' };
      return { family: a.slice(0, comma).trim(), given: a.slice(comma + 1).trim() };
    });
}

/** What a `Reference` cell says: `<journal> (<year>), <volume>, <first>-<last>` (spec Appendix A). */
export interface ParsedReference {
  journal: string | null;
  year: number | null;
  volume: string | null;
  pageFirst: string | null;
  pageLast: string | null;
}

const PAGES = /^(\S+?)\s*[-–—]+\s*(\S+)$/;

/**
 * Reads a `Reference` cell. The documented shape is `Journal of Solid State Chemistry (1998), 140, 123-130`;
 * other shapes are tolerated (no page range, no volume, an en dash, a year without parentheses): what cannot be
 * recognised is `null`, never a wrong value.
 */
export function parseReference(text: string): ParsedReference {
  const out: ParsedReference = { journal: null, year: null, volume: null, pageFirst: null, pageLast: null };
  const t = text.trim();
  const m = /^(.*?)\s*\((\d{4})\)\s*,?\s*(.*)$/.exec(t);
  let rest: string;
  if (m) {
    out.journal = clean(m[1]);
    out.year = Number(m[2]);
    rest = m[3] ?? '';
  } else {
    const y = /\b(1[5-9]\d\d|20\d\d)\b/.exec(t);
    if (y) out.year = Number(y[1]);
    return out;
  }
  const parts = rest
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const pagePart = parts.length >= 2 ? parts[1] : parts[0] && PAGES.test(parts[0]) ? parts[0] : undefined;
  if (parts.length >= 2 || (parts[0] && !PAGES.test(parts[0]))) out.volume = clean(parts[0]);
  // `Z. Kristallogr. 212 (1997) 45-51`: the volume before the year.
  const trailing = out.journal === null ? null : /^(.*\S)\s+(\d+[A-Za-z]?)$/.exec(out.journal);
  if (out.volume === null && trailing) {
    out.journal = trailing[1] as string;
    out.volume = trailing[2] as string;
  }
  if (pagePart !== undefined) {
    const p = PAGES.exec(pagePart);
    if (p) {
      out.pageFirst = clean(p[1]);
      out.pageLast = clean(p[2]);
    } else out.pageFirst = clean(pagePart);
  }
  return out;
}

/**
 * A DOI as a bare `10.…/…`: `https://doi.org/…`, `http://dx.doi.org/…` and `doi:…` prefixes are removed and a
 * percent-encoded URL path is decoded. Anything that is then not a DOI is `null`.
 */
export function normalizeDoi(text: string): string | null {
  let s = text.trim();
  s = s.replace(/^doi:\s*/i, '').replace(/^https?:\/\/(?:dx\.)?doi\.org\//i, '');
  if (/%[0-9a-f]{2}/i.test(s)) {
    try {
      s = decodeURIComponent(s);
    } catch {
      return null;
    }
  }
  return /^10\.\d{4,9}\/\S+$/.test(s) ? s : null;
}

const cell = z.string().optional();

/** The cells of one row, by lower-case property name, turned into a citation. */
export const citationRowSchema = z
  .object({
    collectioncode: z
      .string()
      .transform((s) => Number(s.trim()))
      .refine(isEntryNumber, 'the collection code is not a positive whole number'),
    authors: cell,
    title: cell,
    journal: cell,
    publicationyear: cell,
    volume: cell,
    page: cell,
    reference: cell,
    doi: cell,
  })
  .transform((row) => {
    const ref = parseReference(row.reference ?? '');
    const yearCell = clean(row.publicationyear);
    const year = yearCell !== null && /^\d{1,4}$/.test(yearCell) ? Number(yearCell) : ref.year;
    const pageFirst = clean(row.page) ?? ref.pageFirst;
    // The last page comes from the reference; only when its first page is the one `Page` gives.
    const pageLast = ref.pageFirst !== null && ref.pageFirst === pageFirst ? ref.pageLast : null;
    return {
      collectionCode: row.collectioncode,
      key: `icsd${row.collectioncode}`,
      authors: parseAuthors(row.authors ?? ''),
      title: clean(row.title),
      journal: clean(row.journal) ?? ref.journal,
      year,
      volume: clean(row.volume) ?? ref.volume,
      pageFirst,
      pageLast,
      doiText: clean(row.doi),
    };
  });
