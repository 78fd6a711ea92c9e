import { ResponseValidationError } from '@sciport/core';

/**
 * CIF documents as ICSD serves them (spec §8), and the split of a `/cif/multiple` body into its documents.
 *
 * A document starts with an empty line, then `#(C) <YYYY> by FIZ Karlsruhe …`, and ends with
 * `#End of TTdata_<cc>-ICSD` and its line end. A multi-CIF body is the documents concatenated. The split is
 * lossless: the pieces, joined, are the body, and each piece is byte for byte what `/cif/{id}` sends for
 * that entry. Pieces are cut by each document's own structure (its end line), never by a fixed year or
 * wording of the copyright line, and each is checked: one `data_` block, one `_database_code_ICSD`, and an
 * end line naming the same code.
 */

export interface CifDocument {
  /** The collection code, from `_database_code_ICSD`. */
  collectionCode: number;
  /** The document exactly as sent. */
  text: string;
}

/**
 * One CIF as the client returns it: the internal id asked for, its collection code, and the document exactly as
 * sent, both as `text` and as `raw` (the same string: the document is the server's record, and it is already
 * text, so nothing is renamed or parsed).
 */
export interface IcsdCif {
  id: number;
  collectionCode: number;
  /** The document exactly as sent (decoded as UTF-8). */
  text: string;
  /** The document exactly as sent: the same string as `text`. */
  readonly raw: string;
}

/** One document's place in a body. */
export interface CifPiece {
  /** The collection code; `NaN` when it is not a positive whole number (see `invalidCode`). */
  collectionCode: number;
  start: number;
  end: number;
  /**
   * Only with `findCifPieces(…, { invalidCodes: 'mark' })`: the code as sent (at most 40 digits shown) when it is
   * not a positive safe integer (`0`, or too large to be one: `1e+30` must never become a file name).
   */
  invalidCode?: string;
}

/** Options of `findCifPieces`. */
export interface FindCifPiecesOptions {
  /**
   * A document whose collection code is not a positive safe integer: `'throw'` (default) refuses the body with
   * a `ResponseValidationError`; `'mark'` returns its piece with `invalidCode` set, so that a caller can refuse
   * that one document and keep the others.
   */
  invalidCodes?: 'throw' | 'mark';
}

/** True for a collection code or id that may become a file name: a positive safe integer. */
export function isEntryNumber(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0;
}

/** What the splitter needs of a body: a string, or a Node `Buffer` (searched without decoding). */
interface Haystack {
  readonly length: number;
  indexOf(needle: never, from?: number): number;
}

const NL = 10;
const CR = 13;

/** The markers, as strings (for string bodies) and as bytes (for `Buffer` bodies: no conversion per search). */
const MARKERS = ['#End of TTdata_', '-ICSD', 'data_', '_database_code_ICSD'] as const;
type Needles = readonly [unknown, unknown, unknown, unknown];
let byteNeedles: Needles | undefined;

/**
 * Finds the documents of a body: each ends with its end line (`#End of TTdata_<cc>-ICSD`) and that line's
 * terminator, and the next begins right after (with its own blank first line). Text after the last end line
 * that is not blank is a cut-short document, and is reported. Every document must hold exactly one
 * `data_<cc>-ICSD` block and one `_database_code_ICSD <cc>` line, with the code of its end line.
 *
 * It works on a string or on raw bytes (searched as a `Buffer` where there is one), with native `indexOf`
 * searches and no allocation per document beyond its result: a batch of 500 documents takes well under a
 * millisecond.
 */
export function findCifPieces(
  body: string | Uint8Array,
  endpoint: string,
  options: FindCifPiecesOptions = {},
): CifPiece[] {
  let h: Haystack;
  let at: (i: number) => number;
  let needles: Needles;
  if (typeof body === 'string') {
    h = body as unknown as Haystack;
    at = (i) => body.charCodeAt(i);
    needles = MARKERS;
  } else {
    const view = asBuffer(body);
    h = view.haystack;
    at = view.at;
    needles = view.needles;
  }
  const [END, ICSD, DATA, CODE] = needles as [never, never, never, never];
  const len = h.length;
  const isDigit = (c: number) => c >= 48 && c <= 57;
  const isBlank = (c: number) => c === 32 || c === 9;
  // The number read by the last `readNumber`, which returns its digit count (no tuple per call).
  let value = 0;
  const readNumber = (from: number): number => {
    let j = from;
    value = 0;
    while (j < len && isDigit(at(j))) value = value * 10 + (at(j++) - 48);
    return j - from;
  };
  /** After optional blanks, the line ends (or the body does) at `j`. */
  const lineEndsAt = (j: number, end: number) => {
    while (j < end && isBlank(at(j))) j++;
    return j >= end || at(j) === NL || at(j) === CR;
  };

  const pieces: CifPiece[] = [];
  const endCodes: number[] = [];
  let start = 0;
  let pos = 0;
  for (;;) {
    const i = h.indexOf(END, pos);
    if (i === -1) break;
    pos = i + 1;
    if (i > 0 && at(i - 1) !== NL) continue;
    const digits = readNumber(i + MARKERS[0].length);
    const cc = value;
    let j = i + MARKERS[0].length + digits;
    if (digits === 0 || h.indexOf(ICSD, j) !== j) continue;
    const codeAt = i + MARKERS[0].length;
    j += MARKERS[1].length;
    while (j < len && isBlank(at(j))) j++;
    if (j < len && at(j) === CR) j++;
    if (j < len && at(j) !== NL) continue;
    if (j < len) j++;
    if (digits > 16 || !isEntryNumber(cc)) {
      const shown = textOf(body, codeAt, codeAt + Math.min(digits, 40)) + (digits > 40 ? '…' : '');
      if (options.invalidCodes !== 'mark') {
        throw invalid(
          endpoint,
          textOf(body, start, j),
          `a CIF document's collection code "${shown}" is not a positive whole number`,
        );
      }
      pieces.push({ collectionCode: Number.NaN, start, end: j, invalidCode: shown });
    } else pieces.push({ collectionCode: cc, start, end: j });
    endCodes.push(cc);
    start = j;
    pos = j;
  }
  if (start < len) {
    let blank = true;
    for (let k = start; k < len && blank; k++) blank = at(k) === NL || at(k) === CR || isBlank(at(k));
    const last = pieces[pieces.length - 1];
    if (blank && last) last.end = len;
    else if (!blank) {
      throw invalid(
        endpoint,
        textOf(body, start, len),
        pieces.length === 0
          ? 'the answer holds no CIF document (no "#End of TTdata_" line)'
          : 'a CIF document is cut short (no "#End of TTdata_" line)',
      );
    }
  }

  for (const [n, piece] of pieces.entries()) {
    const { start: from, end } = piece;
    // The end line's number as read (also for an invalid code: the document must still be consistent).
    const cc = endCodes[n] as number;
    let blocks = 0;
    let blockOk = false;
    for (let p = h.indexOf(DATA, from); p !== -1 && p < end; p = h.indexOf(DATA, p + 1)) {
      if (p !== 0 && at(p - 1) !== NL) continue;
      blocks += 1;
      const d = readNumber(p + MARKERS[2].length);
      const after = p + MARKERS[2].length + d;
      blockOk =
        d > 0 &&
        value === cc &&
        h.indexOf(ICSD, after) === after &&
        lineEndsAt(after + MARKERS[1].length, end);
    }
    let codes = 0;
    let codeOk = false;
    for (let p = h.indexOf(CODE, from); p !== -1 && p < end; p = h.indexOf(CODE, p + 1)) {
      if (p !== 0 && at(p - 1) !== NL) continue;
      codes += 1;
      let q = p + MARKERS[3].length;
      if (!isBlank(at(q))) continue;
      while (q < end && isBlank(at(q))) q++;
      const d = readNumber(q);
      codeOk = d > 0 && value === cc && lineEndsAt(q + d, end);
    }
    const problems: string[] = [];
    if (blocks !== 1) problems.push(`${blocks} data_ blocks`);
    else if (!blockOk) problems.push(`the data block is not data_${cc}-ICSD`);
    if (codes !== 1) problems.push(`${codes} _database_code_ICSD lines`);
    else if (!codeOk)
      problems.push(`the _database_code_ICSD line does not name ${cc}, the code of the end line`);
    if (problems.length > 0) {
      throw invalid(endpoint, textOf(body, from, end), `a CIF document is malformed: ${problems.join(', ')}`);
    }
  }
  return pieces;
}

interface NodeBufferLike extends Haystack {
  readonly [index: number]: number;
}
type BufferStatic = { from(b: ArrayBufferLike | string, o?: number, l?: number): NodeBufferLike };

function asBuffer(bytes: Uint8Array): { haystack: Haystack; at: (i: number) => number; needles: Needles } {
  const NodeBuffer = (globalThis as { Buffer?: BufferStatic }).Buffer;
  if (NodeBuffer) {
    byteNeedles ??= MARKERS.map((m) => NodeBuffer.from(m)) as unknown as Needles;
    return {
      haystack: NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      at: (i) => bytes[i] ?? -1,
      needles: byteNeedles,
    };
  }
  // Elsewhere: one code unit per byte, so string offsets are byte offsets (the structure lines are ASCII).
  const text = byteView.decode(bytes);
  return { haystack: text as unknown as Haystack, at: (i) => text.charCodeAt(i), needles: MARKERS };
}

const byteView = new TextDecoder('windows-1252');
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true, fatal: false });

function textOf(body: string | Uint8Array, start: number, end: number): string {
  return typeof body === 'string' ? body.slice(start, end) : utf8.decode(body.subarray(start, end));
}

/** Splits a body holding one or more CIF documents into their texts (see `findCifPieces`). */
export function splitCifs(body: string, endpoint: string): CifDocument[] {
  return findCifPieces(body, endpoint).map((p) => ({
    collectionCode: p.collectionCode,
    text: body.slice(p.start, p.end),
  }));
}

/** A document as the bytes the server sent. */
export interface CifBytes {
  collectionCode: number;
  bytes: Uint8Array;
}

/**
 * Splits a body without decoding it: each document is a view of the bytes received (no copy), so it can
 * be written as is, or decoded as UTF-8 for its text.
 */
export function splitCifBytes(bytes: Uint8Array, endpoint: string): CifBytes[] {
  return findCifPieces(bytes, endpoint).map((p) => ({
    collectionCode: p.collectionCode,
    bytes: bytes.subarray(p.start, p.end),
  }));
}

/** Checks one document's structure and returns its collection code with the text. */
export function checkDocument(text: string, endpoint: string): CifDocument {
  const pieces = findCifPieces(text, endpoint);
  if (pieces.length !== 1) {
    throw invalid(
      endpoint,
      text,
      pieces.length === 0 ? 'no CIF document found' : `${pieces.length} CIF documents where one was expected`,
    );
  }
  return { collectionCode: (pieces[0] as CifPiece).collectionCode, text };
}

function invalid(endpoint: string, body: string, message: string): ResponseValidationError {
  return new ResponseValidationError({ service: 'icsd', endpoint, issues: [{ path: '', message }], body });
}

/**
 * The file name sciport gives an entry: `icsd_<collection code, at least 6 digits>.cif`.
 *
 * @throws RangeError when the code is not a positive safe integer (it would make names like `icsd_01e+30.cif`).
 */
export function cifFileName(collectionCode: number): string {
  if (!isEntryNumber(collectionCode)) {
    throw new RangeError(`an ICSD collection code is a positive whole number, got ${String(collectionCode)}`);
  }
  return `icsd_${String(collectionCode).padStart(6, '0')}.cif`;
}
