import type { Citation, CitationAuthor } from './citation.js';

/**
 * Citations as BibTeX, RIS and CSL-JSON: pure functions, browser-safe.
 *
 * Written by hand on purpose. The one well-kept library for this, Citation.js (`@citation-js/core` with its
 * BibTeX, RIS and CSL plugins), converts between dozens of formats through a global plugin registry and brings
 * network code (DOI and URL input) into a browser-safe package; its BibTeX output turns non-ASCII into LaTeX
 * commands by default. Our input is one fixed shape (a journal article), and each output is a few lines of a
 * documented format, so a small writer here is simpler to check than that dependency.
 *
 * Text from the service is put on one line (runs of whitespace and control characters become one space) in
 * every format: a line break inside a RIS value would start a new tag, one in BibTeX would only be noise.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
const CONTROL_OR_SPACE = /[\s\u0000-\u001f\u007f-\u009f]+/g;

/** One line, controls and runs of whitespace as one space, trimmed. */
function oneLine(text: string): string {
  return text.replace(CONTROL_OR_SPACE, ' ').trim();
}

/** `Müller, K.` (or the family name alone when there are no initials). */
function authorText(a: CitationAuthor): string {
  const family = oneLine(a.family);
  const given = oneLine(a.given);
  return given === '' ? family : `${family}, ${given}`;
}

/** `123-130`, `123`, or `null`. */
function pageRange(c: Citation, dash: string): string | null {
  if (c.pageFirst === null) return null;
  return c.pageLast === null ? oneLine(c.pageFirst) : `${oneLine(c.pageFirst)}${dash}${oneLine(c.pageLast)}`;
}

const BIBTEX_SPECIAL: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '{': '\\{',
  '}': '\\}',
  $: '\\$',
  '&': '\\&',
  '%': '\\%',
  '#': '\\#',
  _: '\\_',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}',
};

/** A BibTeX field value: LaTeX's special characters escaped; non-ASCII kept as UTF-8. */
export function escapeBibtex(text: string): string {
  return oneLine(text).replace(/[\\{}$&%#_~^]/g, (ch) => BIBTEX_SPECIAL[ch] as string);
}

/**
 * BibTeX: one `@article{icsd<code>, …}` per citation, fields in braces, separated by a blank line.
 *
 * The characters LaTeX treats specially (`\ { } $ & % # _ ~ ^`) are escaped; letters outside ASCII are kept as
 * UTF-8 (`Müller`), which biber/biblatex and `bibtex8`/`bibtexu` read (classic 7-bit BibTeX sorts them oddly but
 * prints them). The title is wrapped in a second pair of braces so that styles keep its capitals (chemical
 * formulas: `LiFePO4`). The DOI is written as sent (only braces and backslashes are escaped): biblatex reads the
 * field verbatim. Authors are joined with ` and `; the collection code is in `note`.
 */
export function formatBibtex(citations: readonly Citation[]): string {
  return citations
    .map((c) => {
      const fields: Array<[string, string]> = [];
      if (c.authors.length > 0) {
        fields.push(['author', c.authors.map((a) => escapeBibtex(authorText(a))).join(' and ')]);
      }
      if (c.title !== null) fields.push(['title', `{${escapeBibtex(c.title)}}`]);
      if (c.journal !== null) fields.push(['journal', escapeBibtex(c.journal)]);
      if (c.year !== null) fields.push(['year', String(c.year)]);
      if (c.volume !== null) fields.push(['volume', escapeBibtex(c.volume)]);
      const pages = pageRange(c, '--');
      if (pages !== null) fields.push(['pages', escapeBibtex(pages)]);
      if (c.doi !== null) fields.push(['doi', oneLine(c.doi).replace(/[\\{}]/g, (ch) => `\\${ch}`)]);
      fields.push(['note', `ICSD collection code ${c.collectionCode}`]);
      const body = fields.map(([name, value]) => `  ${name} = {${value}}`).join(',\n');
      return `@article{${c.key},\n${body}\n}\n`;
    })
    .join('\n');
}

/**
 * RIS: `TY  - JOUR` … `ER  - ` per citation, one `AU` per author, `SP`/`EP` for the pages, `DO` for the DOI,
 * `T2` and `JF` for the journal (the current tag and the one older readers expect), `ID` the key, `N1` the
 * collection code. Lines end with LF (readers accept it; a CR would be escaped on a terminal).
 */
export function formatRis(citations: readonly Citation[]): string {
  return citations
    .map((c) => {
      const lines: string[] = ['TY  - JOUR', `ID  - ${c.key}`];
      for (const a of c.authors) lines.push(`AU  - ${authorText(a)}`);
      if (c.title !== null) lines.push(`TI  - ${oneLine(c.title)}`);
      if (c.journal !== null) {
        lines.push(`T2  - ${oneLine(c.journal)}`);
        lines.push(`JF  - ${oneLine(c.journal)}`);
      }
      if (c.year !== null) lines.push(`PY  - ${c.year}`);
      if (c.volume !== null) lines.push(`VL  - ${oneLine(c.volume)}`);
      if (c.pageFirst !== null) lines.push(`SP  - ${oneLine(c.pageFirst)}`);
      if (c.pageLast !== null) lines.push(`EP  - ${oneLine(c.pageLast)}`);
      if (c.doi !== null) lines.push(`DO  - ${oneLine(c.doi)}`);
      lines.push(`N1  - ICSD collection code ${c.collectionCode}`);
      lines.push('ER  - ');
      return `${lines.join('\n')}\n`;
    })
    .join('\n');
}

/** One CSL-JSON item (the fields sciport writes). */
export interface CslItem {
  id: string;
  type: 'article-journal';
  author?: Array<{ family: string; given?: string }>;
  title?: string;
  'container-title'?: string;
  issued?: { 'date-parts': [[number]] };
  volume?: string;
  page?: string;
  DOI?: string;
  note: string;
}

/**
 * CSL-JSON (the input of citeproc, Zotero, pandoc): an array of `article-journal` items with `id` the key,
 * `author` as `{family, given}`, `title`, `container-title`, `issued` (`date-parts` of the year), `volume`,
 * `page` (`first-last`), `DOI`. Absent values are left out. Serialize with `JSON.stringify`.
 */
export function toCslJson(citations: readonly Citation[]): CslItem[] {
  return citations.map((c) => {
    const item: CslItem = {
      id: c.key,
      type: 'article-journal',
      note: `ICSD collection code ${c.collectionCode}`,
    };
    if (c.authors.length > 0) {
      item.author = c.authors.map((a) =>
        a.given === ''
          ? { family: oneLine(a.family) }
          : { family: oneLine(a.family), given: oneLine(a.given) },
      );
    }
    if (c.title !== null) item.title = oneLine(c.title);
    if (c.journal !== null) item['container-title'] = oneLine(c.journal);
    if (c.year !== null) item.issued = { 'date-parts': [[c.year]] };
    if (c.volume !== null) item.volume = oneLine(c.volume);
    const pages = pageRange(c, '-');
    if (pages !== null) item.page = pages;
    if (c.doi !== null) item.DOI = oneLine(c.doi);
    return item;
  });
}
