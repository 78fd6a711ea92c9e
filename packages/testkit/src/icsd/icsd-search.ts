import { bravaisLatticeOf, ELEMENT_SYMBOLS, normalizeElement } from './icsd-chemistry.js';
import { ICSD_EXPERT_FIELDS, ICSD_SIMULATED_EXPERT_FIELDS, type IcsdExpertField } from './icsd-constants.js';
import { abFormulaOf, anxFormulaOf, type IcsdSimEntry, spaceGroupOf } from './icsd-dataset.js';
import { isIsoDate } from './icsd-revisions.js';
import { parseWireNumber } from './icsd-structure.js';

/** A query the simulator refuses; its message is sent with status 400. */
export class IcsdQueryError extends Error {
  override readonly name = 'IcsdQueryError';
}

export type EntryPredicate = (entry: IcsdSimEntry) => boolean;

const KNOWN_FIELDS: ReadonlySet<string> = new Set(ICSD_EXPERT_FIELDS);
const SIMULATED_FIELDS: ReadonlySet<string> = new Set(ICSD_SIMULATED_EXPERT_FIELDS);

// ---------------------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------------------

interface NumericRange {
  readonly low: number;
  readonly high: number;
}

const INTEGER = '\\d+';
const DECIMAL = '(?:\\d+(?:\\.\\d*)?|\\.\\d+)';

/**
 * Parses `5`, `1-100`, `1,5,10-20` (inclusive ranges, comma lists). A single decimal value matches within half a
 * unit of its last written digit (`163.5` matches 163.45 to 163.55).
 */
function parseNumbers(field: string, value: string, decimal: boolean): NumericRange[] {
  const number = decimal ? DECIMAL : INTEGER;
  const pattern = new RegExp(`^(${number})(?:\\s*-\\s*(${number}))?$`);
  return value.split(',').map((raw) => {
    const item = raw.trim();
    const match = pattern.exec(item);
    if (match === null) {
      throw new IcsdQueryError(
        `Invalid value for ${field}: "${item}" is not ${decimal ? 'a number' : 'an integer'} or a range like 10-20`,
      );
    }
    const low = Number(match[1]);
    if (match[2] !== undefined) return { low, high: Number(match[2]) };
    if (!decimal) return { low, high: low };
    const decimals = match[1]!.includes('.') ? match[1]!.split('.')[1]!.length : 0;
    const half = 0.5 * 10 ** -decimals;
    return { low: low - half, high: low + half };
  });
}

function numericPredicate(
  field: string,
  value: string,
  decimal: boolean,
  get: (entry: IcsdSimEntry) => number,
): EntryPredicate {
  const ranges = parseNumbers(field, value, decimal);
  return (entry) => {
    const v = get(entry);
    if (Number.isNaN(v)) return false;
    for (const range of ranges) if (v >= range.low - 1e-9 && v <= range.high + 1e-9) return true;
    return false;
  };
}

const DATE_RANGE = /^(\d{4}-\d{2}-\d{2})(?:\s*-\s*(\d{4}-\d{2}-\d{2}))?$/;
const YEAR_RANGE = /^(\d{4})(?:\s*-\s*(\d{4}))?$/;

/**
 * `YYYY-MM-DD-YYYY-MM-DD` (inclusive), `YYYY-MM-DD`, `YYYY-YYYY` or `YYYY` (whole years); spaces around the middle
 * `-` allowed. Anything else, or an impossible date, is refused.
 */
function datePredicate(field: string, value: string, get: (entry: IcsdSimEntry) => string): EntryPredicate {
  const item = value.trim();
  let low: string;
  let high: string;
  const dates = DATE_RANGE.exec(item);
  const years = dates === null ? YEAR_RANGE.exec(item) : null;
  if (dates !== null) {
    low = dates[1]!;
    high = dates[2] ?? low;
    for (const date of [low, high]) {
      if (!isIsoDate(date)) throw new IcsdQueryError(`Invalid value for ${field}: ${date} is not a date`);
    }
  } else if (years !== null) {
    low = `${years[1]}-01-01`;
    high = `${years[2] ?? years[1]}-12-31`;
  } else {
    throw new IcsdQueryError(
      `Invalid value for ${field}: "${item.slice(0, 60)}" is not YYYY-MM-DD-YYYY-MM-DD, YYYY-MM-DD, YYYY-YYYY or YYYY`,
    );
  }
  return (entry) => {
    const v = get(entry);
    return v >= low && v <= high;
  };
}

function textPredicate(value: string, get: (entry: IcsdSimEntry) => string): EntryPredicate {
  const needle = value.toLowerCase();
  return (entry) => get(entry).toLowerCase().includes(needle);
}

const squash = (text: string): string => text.replace(/\s+/g, '').toLowerCase();

function equalPredicate(value: string, get: (entry: IcsdSimEntry) => string): EntryPredicate {
  const needle = squash(value);
  return (entry) => squash(get(entry)) === needle;
}

function spaceGroupSymbolPredicate(value: string): EntryPredicate {
  const needle = squash(value);
  return (entry) => {
    const group = spaceGroupOf(entry);
    const withoutSetting = group.symbol.replace(/ [HRSZ]$/, '');
    return (
      squash(group.symbol) === needle || squash(withoutSetting) === needle || squash(group.short) === needle
    );
  };
}

/** `fe2` → `Fe2`, `O` → `O`; other text unchanged. */
function normalizeFormulaPart(token: string): string {
  const m = /^([A-Za-z])([A-Za-z]?)(\d+(?:\.\d+)?)?$/.exec(token);
  if (m === null) return token;
  return `${m[1]!.toUpperCase()}${m[2]!.toLowerCase()}${m[3] ?? ''}`;
}

/** The element and element-with-count parts of a structured formula: `Cu (C2 H3 O2)2` → Cu, C2, H3, O2. */
function formulaParts(entry: IcsdSimEntry): Set<string> {
  const parts = new Set<string>(entry.elements);
  for (const m of entry.structuredFormula.matchAll(/([A-Z][a-z]?)(\d+(?:\.\d+)?)?/g)) {
    parts.add(`${m[1]}${m[2] ?? ''}`);
  }
  return parts;
}

function structuredFormulaPredicate(value: string): EntryPredicate {
  const tokens = value
    .split(/\s+/)
    .map((t) => t.replace(/[()]/g, ''))
    .filter((t) => t !== '')
    .map(normalizeFormulaPart);
  if (tokens.length === 0) throw new IcsdQueryError('Invalid value for STRUCTUREDFORMULA: no formula part');
  return (entry) => {
    const parts = formulaParts(entry);
    return tokens.every((t) => parts.has(t));
  };
}

interface CompositionItem {
  readonly element: string;
  readonly min: number;
  readonly max: number;
}

function parseBound(text: string, fallback: number, item: string): number {
  if (text.trim() === '') return fallback;
  if (!new RegExp(`^${DECIMAL}$`).test(text.trim())) {
    throw new IcsdQueryError(
      `Invalid value for COMPOSITION: "${item}" has a coefficient that is not a number`,
    );
  }
  return Number(text);
}

function compositionPredicate(value: string): EntryPredicate {
  const items: CompositionItem[] = value
    .split(/\s+/)
    .filter((t) => t !== '')
    .map((item) => {
      const parts = item.split(':');
      const element = normalizeElement(parts[0] ?? '');
      if (element === undefined) {
        throw new IcsdQueryError(`Invalid value for COMPOSITION: "${parts[0]}" is not an element symbol`);
      }
      if (parts.length === 1) return { element, min: 0, max: Number.POSITIVE_INFINITY };
      if (parts.length === 3) {
        return {
          element,
          min: parseBound(parts[1]!, 0, item),
          max: parseBound(parts[2]!, Number.POSITIVE_INFINITY, item),
        };
      }
      if (parts.length === 5) {
        throw new IcsdQueryError(
          `COMPOSITION "${item}": oxidation state ranges are known to ICSD but not supported by the simulator`,
        );
      }
      throw new IcsdQueryError(`Invalid value for COMPOSITION: "${item}" (expected El or El:min:max)`);
    });
  if (items.length === 0) throw new IcsdQueryError('Invalid value for COMPOSITION: no element');
  return (entry) =>
    items.every((item) => {
      const index = entry.elements.indexOf(item.element);
      if (index < 0) return false;
      const count = entry.elementCounts[index]!;
      return count >= item.min - 1e-9 && count <= item.max + 1e-9;
    });
}

// ---------------------------------------------------------------------------------------------------------
// Expert queries
// ---------------------------------------------------------------------------------------------------------

const pageNumber = (entry: IcsdSimEntry): number =>
  /^\d+$/.test(entry.page) ? Number(entry.page) : Number.NaN;

function fieldPredicate(field: IcsdExpertField, value: string): EntryPredicate {
  switch (field) {
    case 'COLLECTIONCODE':
      return numericPredicate(field, value, false, (e) => e.collectionCode);
    case 'SPACEGROUPNUMBER':
      return numericPredicate(field, value, false, (e) => e.spaceGroupNumber);
    case 'PUBLICATIONYEAR':
      return numericPredicate(field, value, false, (e) => e.publicationYear);
    case 'NUMBEROFELEMENTS':
      return numericPredicate(field, value, false, (e) => e.elements.length);
    case 'VOLUME':
      return numericPredicate(field, value, false, (e) => e.volume);
    case 'PAGEFIRST':
      return numericPredicate(field, value, false, pageNumber);
    case 'ZVALUECHEMISTRY':
      return numericPredicate(field, value, false, (e) => e.formulaUnitsPerCell);
    case 'CELLVOLUME':
      return numericPredicate(field, value, true, (e) => parseWireNumber(e.cellVolume));
    case 'CALCDENSITY':
      return numericPredicate(field, value, true, (e) => parseWireNumber(e.calculatedDensity));
    case 'FORMULAWEIGHT':
      return numericPredicate(field, value, true, (e) => parseWireNumber(e.formulaWeight));
    case 'RVALUE':
      return numericPredicate(field, value, true, (e) => (e.rValue === '' ? Number.NaN : Number(e.rValue)));
    case 'TEMPERATURE':
      return numericPredicate(field, value, true, (e) =>
        e.temperature === '' ? Number.NaN : Number(e.temperature),
      );
    case 'PRESSURE':
      return numericPredicate(field, value, true, (e) =>
        e.pressure === '' ? Number.NaN : Number(e.pressure),
      );
    case 'RECORDINGDATE':
      return datePredicate(field, value, (e) => e.recordingDate);
    case 'MODIFICATIONDATE':
      return datePredicate(field, value, (e) => e.modificationDate);
    case 'COMPOSITION':
      return compositionPredicate(value);
    case 'STRUCTUREDFORMULA':
      return structuredFormulaPredicate(value);
    case 'SPACEGROUPSYMBOL':
      return spaceGroupSymbolPredicate(value);
    case 'CHEMICALNAME':
      return textPredicate(value, (e) => e.chemicalName);
    case 'MINERALNAME':
      return textPredicate(value, (e) => e.mineralName);
    case 'MINERALGROUP':
      return textPredicate(value, (e) => e.mineralGroup);
    case 'AUTHORS':
      return textPredicate(value, (e) => e.authors.join(';'));
    case 'ARTICLE':
      return textPredicate(value, (e) => e.title);
    case 'DOI':
      return textPredicate(value.trim(), (e) => e.doi);
    case 'JOURNAL':
      return textPredicate(value, (e) => e.journal);
    case 'CRYSTALSYSTEM':
      return textPredicate(value, (e) => e.crystalSystem);
    case 'STRUCTURETYPE':
      return textPredicate(value, (e) => e.structureType);
    case 'WYCKOFFSEQUENCE':
      return textPredicate(value, (e) => e.wyckoffSequence);
    case 'PEARSONSYMBOL':
      return equalPredicate(value, (e) => e.pearsonSymbol);
    case 'ANXFORMULA':
      return equalPredicate(value, anxFormulaOf);
    case 'ABFORMULA':
      return equalPredicate(value, abFormulaOf);
    case 'BRAVAISLATTICE':
      return equalPredicate(value, (e) => bravaisLatticeOf(spaceGroupOf(e)));
    default:
      throw new IcsdQueryError(`The field ${field} is known to ICSD but not supported by the simulator`);
  }
}

function compileTerm(term: string): EntryPredicate {
  const match = /^\s*([A-Za-z_]+)\s*:\s*([\s\S]*?)\s*$/.exec(term);
  if (match === null) {
    throw new IcsdQueryError(`Invalid expert query term "${term.trim()}": expected FIELD : value`);
  }
  const field = match[1]!.toUpperCase();
  const value = match[2]!;
  if (!KNOWN_FIELDS.has(field)) throw new IcsdQueryError(`Unknown field in expert query: ${match[1]}`);
  if (!SIMULATED_FIELDS.has(field)) {
    throw new IcsdQueryError(`The field ${field} is known to ICSD but not supported by the simulator`);
  }
  if (value === '') throw new IcsdQueryError(`Missing value for ${field} in expert query`);
  return fieldPredicate(field as IcsdExpertField, value);
}

/**
 * Compiles an expert query (`FIELD : value` terms joined by `and`/`or`, any case; `and` binds tighter; no
 * parentheses) into a predicate.
 *
 * @throws IcsdQueryError for an empty query, a malformed term, an unknown or unsupported field, or a bad value.
 */
export function compileExpertQuery(query: string): EntryPredicate {
  const trimmed = query.trim();
  if (trimmed === '') throw new IcsdQueryError('The expert query is empty');
  if (/^(and|or)(\s|$)|\s(and|or)$/i.test(trimmed)) {
    throw new IcsdQueryError('Invalid expert query: an operator without a term (expected FIELD : value)');
  }
  const pieces = trimmed.split(/\s+(and|or)\s+/i);
  const alternatives: EntryPredicate[][] = [[]];
  for (let i = 0; i < pieces.length; i += 2) {
    const term = pieces[i]!;
    if (term.trim() === '') {
      throw new IcsdQueryError('Invalid expert query: an operator without a term (expected FIELD : value)');
    }
    alternatives[alternatives.length - 1]!.push(compileTerm(term));
    const operator = pieces[i + 1];
    if (operator !== undefined && operator.toLowerCase() === 'or') alternatives.push([]);
  }
  return (entry) => alternatives.some((all) => all.every((predicate) => predicate(entry)));
}

// ---------------------------------------------------------------------------------------------------------
// Simple search
// ---------------------------------------------------------------------------------------------------------

/** Parses a formula written without spaces (`LiCl`, `Fe2O3`, `Cu(C2H3O2)2`) into element counts. */
export function parseCompactFormula(text: string): Map<string, number> | undefined {
  let position = 0;
  const parseGroup = (): Map<string, number> | undefined => {
    const counts = new Map<string, number>();
    while (position < text.length && text[position] !== ')') {
      let part: Map<string, number>;
      if (text[position] === '(') {
        position++;
        const inner = parseGroup();
        if (inner === undefined || text[position] !== ')') return undefined;
        position++;
        part = inner;
      } else {
        const m = /^[A-Z][a-z]?/.exec(text.slice(position));
        if (m === null || !ELEMENT_SYMBOLS.has(m[0])) return undefined;
        position += m[0].length;
        part = new Map([[m[0], 1]]);
      }
      const n = /^\d+(?:\.\d+)?/.exec(text.slice(position));
      const factor = n === null ? 1 : Number(n[0]);
      if (n !== null) position += n[0].length;
      for (const [e, c] of part) counts.set(e, (counts.get(e) ?? 0) + c * factor);
    }
    return counts;
  };
  const result = parseGroup();
  if (result === undefined || position !== text.length || result.size === 0) return undefined;
  return result;
}

function sameComposition(entry: IcsdSimEntry, formula: Map<string, number>): boolean {
  if (formula.size !== entry.elements.length) return false;
  return entry.elements.every((e, i) => {
    const c = formula.get(e);
    return c !== undefined && Math.abs(c - entry.elementCounts[i]!) < 1e-6;
  });
}

function simpleTokenPredicate(token: string): EntryPredicate {
  const element =
    /^[A-Z][a-z]?$/.test(token) || /^[a-z]{1,2}$/.test(token) ? normalizeElement(token) : undefined;
  const code = /^\d+$/.test(token) ? Number(token) : undefined;
  const formula = parseCompactFormula(token);
  const text = token.length >= 3 ? token.toLowerCase() : undefined;
  return (entry) => {
    if (element !== undefined && entry.elements.includes(element)) return true;
    if (code !== undefined && entry.collectionCode === code) return true;
    if (formula !== undefined && sameComposition(entry, formula)) return true;
    if (text !== undefined) {
      if (entry.chemicalName.toLowerCase().includes(text)) return true;
      if (entry.mineralName.toLowerCase().includes(text)) return true;
      if (entry.title.toLowerCase().includes(text)) return true;
      if (entry.authors.some((a) => a.toLowerCase().includes(text))) return true;
    }
    return false;
  };
}

/**
 * Compiles a simple (free-text) search: every whitespace-separated token must match the entry as an element
 * symbol, its collection code, a formula written without spaces (same composition), or a substring (3+
 * characters, any case) of the chemical name, mineral name, title or an author.
 *
 * @throws IcsdQueryError for an empty query.
 */
export function compileSimpleQuery(query: string): EntryPredicate {
  const tokens = query
    .trim()
    .split(/\s+/)
    .filter((t) => t !== '');
  if (tokens.length === 0) throw new IcsdQueryError('The search query is empty');
  const predicates = tokens.map(simpleTokenPredicate);
  return (entry) => predicates.every((p) => p(entry));
}
