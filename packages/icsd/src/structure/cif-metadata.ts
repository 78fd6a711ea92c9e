import { type CifBlock, type CifValue, isNull } from './cif-syntax.js';
import type { CifCitation } from './types.js';

/** The value of a tag given once: a single item, or the first row of a loop. */
export function tagValue(block: CifBlock, tag: string, row = 0): CifValue | undefined {
  const item = block.items.get(tag);
  if (item !== undefined) return item;
  const looped = block.looped.get(tag);
  if (looped === undefined || row >= looped.loop.rows) return undefined;
  return looped.loop.values[row * looped.loop.tags.length + looped.column];
}

/** Every value of a tag: the rows of its loop, or the single item. */
export function tagValues(block: CifBlock, tag: string): CifValue[] {
  const item = block.items.get(tag);
  if (item !== undefined) return [item];
  const looped = block.looped.get(tag);
  if (looped === undefined) return [];
  const { loop, column } = looped;
  const out: CifValue[] = new Array(loop.rows);
  for (let row = 0; row < loop.rows; row++) out[row] = loop.values[row * loop.tags.length + column]!;
  return out;
}

/** Text of a value with its whitespace (line breaks of text fields included) collapsed; null for `?`, `.`. */
export function textOf(value: CifValue | undefined): string | null {
  if (value === undefined || isNull(value)) return null;
  const text = value.kind === 'bare' ? value.text : value.text.replace(/\s+/g, ' ').trim();
  return text === '' ? null : text;
}

/** The first tag of a list that the block has (2025 names first, then the 2018 ones). */
export function firstTag(block: CifBlock, tags: readonly string[]): string | undefined {
  return tags.find((tag) => block.items.has(tag) || block.looped.has(tag));
}

const ISO_DATE = /(\d{4})-(\d{2})-(\d{2})/g;

function validDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= days;
}

/** The ISO dates (`YYYY-MM-DD`) that a text holds, in order; impossible dates are skipped. */
export function isoDates(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(ISO_DATE)) {
    if (validDate(Number(m[1]), Number(m[2]), Number(m[3]))) out.push(m[0]);
  }
  return out;
}

/** `_audit_creation_date` as an ISO date. */
export function recordingDate(block: CifBlock): string | null {
  const text = textOf(tagValue(block, '_audit_creation_date'));
  return text === null ? null : (isoDates(text)[0] ?? null);
}

/** The latest ISO date in `_audit_update_record` (an item or a loop, each a date plus perhaps some text). */
export function modificationDate(block: CifBlock): string | null {
  let latest: string | null = null;
  for (const value of tagValues(block, '_audit_update_record')) {
    for (const date of isoDates(value.text)) if (latest === null || date > latest) latest = date;
  }
  return latest;
}

/**
 * The primary citation: the `_citation_*` loop row whose id is `primary` (else its first row) with the
 * authors of that citation, or the 2018 `_publ_*` and `_journal_*` items. Null when the CIF has none.
 */
export function citationOf(block: CifBlock): CifCitation | null {
  let row = 0;
  let citationId: string | null = null;
  const ids = tagValues(block, '_citation_id');
  const primary = ids.findIndex((v) => v.text.toLowerCase() === 'primary');
  if (primary >= 0) row = primary;
  if (ids.length > 0) citationId = ids[row]!.text;
  const inCitation = (tag: string): string | null => textOf(tagValue(block, tag, row));
  const pick = (...tags: string[]): string | null => {
    for (const tag of tags) {
      const text = tag.startsWith('_citation_') ? inCitation(tag) : textOf(tagValue(block, tag));
      if (text !== null) return text;
    }
    return null;
  };

  let authors: string[] = [];
  const names = tagValues(block, '_citation_author_name');
  if (names.length > 0) {
    const owners = tagValues(block, '_citation_author_citation_id');
    authors = names
      .filter(
        (_, i) => citationId === null || owners.length !== names.length || owners[i]!.text === citationId,
      )
      .map(textOf)
      .filter((name) => name !== null);
  } else {
    authors = tagValues(block, '_publ_author_name')
      .map(textOf)
      .filter((name) => name !== null);
  }
  const yearText = pick('_citation_year', '_journal_year');
  const year = yearText !== null && /^\d{1,4}$/.test(yearText) ? Number(yearText) : null;
  const citation: CifCitation = {
    authors,
    title: pick('_citation_title', '_publ_section_title'),
    journal: pick(
      '_citation_journal_full',
      '_journal_name_full',
      '_citation_journal_abbrev',
      '_journal_name_abbrev',
    ),
    year,
    volume: pick('_citation_journal_volume', '_journal_volume'),
    pageFirst: pick('_citation_page_first', '_journal_page_first'),
    pageLast: pick('_citation_page_last', '_journal_page_last'),
    doi: pick('_citation_doi', '_journal_paper_doi'),
  };
  const empty =
    authors.length === 0 &&
    citation.title === null &&
    citation.journal === null &&
    year === null &&
    citation.volume === null &&
    citation.pageFirst === null &&
    citation.doi === null;
  return empty ? null : citation;
}
