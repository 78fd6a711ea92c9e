import { ResponseValidationError, type ValidationIssue } from '@sciport/core';
import { z } from 'zod';
import { CSV_PROPERTY_KEYS, type CsvProperty, type CsvPropertyKey, findCsvProperty } from './fields.js';

/**
 * The `/csv` answer (spec §4.4): tab-separated, a header of the requested names, a TAB after every cell
 * (the last one too), LF or CRLF line ends, no quoting. Each cell is typed by a zod schema per property;
 * an empty cell is `null`. A row is a record like every sciport record: typed camelCase fields, and the cells
 * as sent under `raw`.
 */

/** A number as ICSD writes it, with its standard uncertainty: `5.5385(2)` → 5.5385 ± 0.0002. */
export interface Measured {
  value: number;
  /** The standard uncertainty, when given in parentheses. */
  uncertainty: number | undefined;
  /** The text as sent. */
  text: string;
}

export interface CellParameters {
  a: Measured;
  b: Measured;
  c: Measured;
  alpha: Measured;
  beta: Measured;
  gamma: Measured;
}

const MEASURED = /^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?:\((\d+)\))?$/;

/** Parses `5.5385(2)`, `90.`, `-12`, `1.2e-3`; undefined when it is not a number. */
export function parseMeasured(text: string): Measured | undefined {
  const m = MEASURED.exec(text.trim());
  if (!m) return undefined;
  const numberText = m[1] ?? '';
  const value = Number(numberText);
  if (!Number.isFinite(value)) return undefined;
  let uncertainty: number | undefined;
  if (m[2] !== undefined) {
    const mantissa = numberText.replace(/[eE].*$/, '');
    const exponent = /[eE]([-+]?\d+)$/.exec(numberText)?.[1];
    const decimals = mantissa.includes('.') ? mantissa.length - mantissa.indexOf('.') - 1 : 0;
    uncertainty = Number(m[2]) * 10 ** (-decimals + (exponent ? Number(exponent) : 0));
    uncertainty = Number(uncertainty.toPrecision(6));
  }
  return { value, uncertainty, text: text.trim() };
}

const empty = (s: string) => s.trim() === '';

const textCell = z.string().transform((s) => (empty(s) ? null : s));

const integerCell = z.string().transform((s, ctx) => {
  if (empty(s)) return null;
  if (!/^\s*[-+]?\d+\s*$/.test(s)) {
    ctx.addIssue({ code: 'custom', message: `expected a whole number, got "${s.slice(0, 40)}"` });
    return z.NEVER;
  }
  return Number(s);
});

const measuredCell = z.string().transform((s, ctx) => {
  if (empty(s)) return null;
  const m = parseMeasured(s);
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `expected a number, got "${s.slice(0, 40)}"` });
    return z.NEVER;
  }
  return m;
});

const cellCell = z.string().transform((s, ctx): CellParameters | null => {
  if (empty(s)) return null;
  const parts = s.trim().split(/\s+/).map(parseMeasured);
  if (parts.length !== 6 || parts.some((p) => p === undefined)) {
    ctx.addIssue({
      code: 'custom',
      message: `expected six numbers (a b c alpha beta gamma), got "${s.slice(0, 60)}"`,
    });
    return z.NEVER;
  }
  const [a, b, c, alpha, beta, gamma] = parts as Measured[];
  return { a: a!, b: b!, c: c!, alpha: alpha!, beta: beta!, gamma: gamma! };
});

const authorsCell = z.string().transform((s) =>
  s
    .split(';')
    .map((a) => a.trim())
    .filter((a) => a !== ''),
);

/** The schema of each property's cell. Their outputs are the row's value types. */
export const PROPERTY_SCHEMAS = {
  CollectionCode: integerCell,
  HMS: textCell,
  StructuredFormula: textCell,
  SumFormula: textCell,
  StructureType: textCell,
  Title: textCell,
  Authors: authorsCell,
  Reference: textCell,
  CellParameter: cellCell,
  ReducedCellParameter: cellCell,
  StandardisedCellParameter: cellCell,
  CellVolume: measuredCell,
  FormulaUnitsPerCell: integerCell,
  FormulaWeight: measuredCell,
  Temperature: measuredCell,
  Pressure: measuredCell,
  RValue: measuredCell,
  ANXFormula: textCell,
  ABFormula: textCell,
  ChemicalName: textCell,
  MineralName: textCell,
  MineralGroup: textCell,
  CalculatedDensity: measuredCell,
  MeasuredDensity: measuredCell,
  PearsonSymbol: textCell,
  WyckoffSequence: textCell,
  Journal: textCell,
  Volume: integerCell,
  PublicationYear: integerCell,
  Page: textCell,
  Quality: integerCell,
  CcdcNo: textCell,
  Ccdc: textCell,
  Pdf: textCell,
  Keywords: textCell,
  MineralNameIma: textCell,
  MineralSeries: textCell,
  MineralRootGroup: textCell,
  MineralSubGroup: textCell,
  MineralSuperGroup: textCell,
  MineralSubClass: textCell,
  MineralClass: textCell,
} as const satisfies Record<CsvProperty, z.ZodType>;

export type PropertyValue<P extends CsvProperty> = z.output<(typeof PROPERTY_SCHEMAS)[P]>;

/**
 * One entry's properties: each property asked for under its camelCase key (`StructuredFormula` →
 * `structuredFormula`, see `CSV_PROPERTY_KEYS`), typed by its schema (`null` for an empty cell), plus the
 * collection code, the internal id, and the row as the server sent it under `raw`.
 */
export type IcsdRow<P extends CsvProperty = CsvProperty> = {
  /** The collection code (the ICSD number cited in papers). Always present. */
  collectionCode: number;
  /** The internal id this row belongs to, when it could be established (see `entries.properties`). */
  id: number | undefined;
  /**
   * The row's cells exactly as sent (text, untrimmed), keyed by the CSV header's cells as sent (the requested
   * names, or whatever the server wrote there). A cell the row left out at its end is `''`.
   */
  readonly raw: Readonly<Record<string, string>>;
} & { [K in P as CsvPropertyKey<K>]: PropertyValue<K> };

/** A row as `parseCsv` returns it: an `IcsdRow` without its internal id (which the client establishes). */
export type CsvRow = Record<string, unknown> & {
  collectionCode: number;
  raw: Readonly<Record<string, string>>;
};

export interface ParsedCsv {
  /** Canonical property names, in column order. */
  columns: CsvProperty[];
  /** Properties whose header cell was not a known name, read by their position in the request instead. */
  positional: CsvProperty[];
  rows: CsvRow[];
}

/**
 * Parses a `/csv` body. Columns are mapped by header name; every cell is validated by its property's schema.
 * A row without a collection code, or with more cells than the header, is an error naming the line.
 *
 * That the header echoes the requested names is inferred (spec §4.4, [I]). Given `requested`, a header cell
 * that names no known property is read as the property requested at its position, provided the header has as
 * many cells as were requested and that property has no column of its own (`positional` lists them). An empty
 * body is an answer without rows.
 */
/** The cells of a `/csv` answer, line by line: the header, then each non-blank line with its 1-based number. */
export interface CsvTable {
  header: string[];
  lines: Array<{ line: number; values: string[] }>;
}

/**
 * Splits a `/csv` answer (spec §4.4) into cells: a BOM and trailing blank lines dropped, LF or CRLF, the TAB that
 * follows every cell (the last one too) tolerated when absent, blank lines skipped. What every reader of `/csv`
 * shares; typing the cells is theirs.
 *
 * @throws ResponseValidationError for an HTML or XML page instead of tab-separated values.
 */
export function readCsvTable(body: string, endpoint: string): CsvTable {
  const text = body.startsWith('\uFEFF') ? body.slice(1) : body;
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) return { header: [], lines: [] };
  if (text.trimStart().startsWith('<')) {
    throw new ResponseValidationError({
      service: 'icsd',
      endpoint,
      issues: [{ path: '', message: 'the answer is HTML or XML, not tab-separated values' }],
      body,
    });
  }
  const splitLine = (line: string) => {
    const cells = line.split('\t');
    // Every cell is followed by a TAB, so the last piece is empty; tolerate its absence.
    if (cells.length > 1 && cells[cells.length - 1] === '') cells.pop();
    return cells;
  };
  const out: CsvTable = { header: splitLine(lines[0] ?? ''), lines: [] };
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n] ?? '';
    if (line.trim() !== '') out.lines.push({ line: n + 1, values: splitLine(line) });
  }
  return out;
}

/**
 * The rows of a `/csv` answer as records keyed by lower-case header cell, for readers of properties this
 * package does not type (citations, modification dates). The header must name `CollectionCode`; a row may
 * lack trailing cells but never have more than the header.
 */
export function csvRecords(
  body: string,
  endpoint: string,
): {
  header: string[];
  rows: Array<{ line: number; cells: Record<string, string>; raw: Record<string, string> }>;
} {
  const fail = (path: string, message: string, withBody = true): never => {
    throw new ResponseValidationError({
      service: 'icsd',
      endpoint,
      issues: [{ path, message }],
      ...(withBody ? { body } : {}),
    });
  };
  const table = readCsvTable(body, endpoint);
  if (table.header.length === 0) return { header: [], rows: [] };
  const { header } = table;
  const keys = header.map((h) => h.trim().toLowerCase());
  if (!keys.includes('collectioncode')) fail('header', 'no CollectionCode column');
  const rows = table.lines.map(({ line, values }) => {
    if (values.length > header.length)
      fail(`line ${line}`, `${values.length} cells for ${header.length} columns`, false);
    const cells: Record<string, string> = {};
    const raw: Record<string, string> = {};
    for (const [i, key] of keys.entries()) {
      cells[key] = values[i] ?? '';
      raw[header[i] as string] = values[i] ?? '';
    }
    return { line, cells, raw };
  });
  return { header, rows };
}

export function parseCsv(body: string, endpoint: string, requested?: readonly CsvProperty[]): ParsedCsv {
  const fail = (issues: ValidationIssue[]): never => {
    throw new ResponseValidationError({ service: 'icsd', endpoint, issues, body });
  };
  const table = readCsvTable(body, endpoint);
  if (table.header.length === 0) return { columns: [...(requested ?? [])], positional: [], rows: [] };
  const { header } = table;
  const named = header.map((name) => findCsvProperty(name));
  const columns: CsvProperty[] = [];
  const positional: CsvProperty[] = [];
  for (const [i, name] of header.entries()) {
    let property = named[i];
    if (!property && requested && header.length === requested.length) {
      const byPosition = requested[i] as CsvProperty;
      if (!named.includes(byPosition)) {
        property = byPosition;
        positional.push(byPosition);
      }
    }
    if (!property) {
      fail([
        {
          path: `header[${i}]`,
          message: `unknown column "${name.slice(0, 60)}" (the header should name the requested properties)`,
        },
      ]);
    }
    if (columns.includes(property as CsvProperty)) {
      fail([{ path: `header[${i}]`, message: `the column ${property} appears twice` }]);
    }
    columns.push(property as CsvProperty);
  }
  const ccColumn = columns.indexOf('CollectionCode');
  if (ccColumn === -1) fail([{ path: 'header', message: 'no CollectionCode column' }]);
  const rows: ParsedCsv['rows'] = [];
  for (const { line, values: cells } of table.lines) {
    const n = line - 1;
    // A row may lack trailing empty cells; it may never have more cells than the header.
    if (cells.length > columns.length) {
      fail([{ path: `line ${n + 1}`, message: `${cells.length} cells for ${columns.length} columns` }]);
    }
    const row: Record<string, unknown> = {};
    const raw: Record<string, string> = {};
    const issues: ValidationIssue[] = [];
    for (const [i, property] of columns.entries()) {
      const cell = cells[i] ?? '';
      raw[header[i] as string] = cell;
      const result = PROPERTY_SCHEMAS[property].safeParse(cell);
      if (result.success) row[CSV_PROPERTY_KEYS[property]] = result.data;
      else
        issues.push(
          ...result.error.issues.map((e) => ({ path: `line ${n + 1}.${property}`, message: e.message })),
        );
    }
    if (issues.length > 0) fail(issues);
    if (typeof row.collectionCode !== 'number')
      fail([{ path: `line ${n + 1}.CollectionCode`, message: 'empty collection code' }]);
    rows.push({ ...row, collectionCode: row.collectionCode as number, raw });
  }
  return { columns, positional, rows };
}
