import { UsageError } from '@sciport/core';
import {
  closest,
  EXPERT_FIELDS,
  type ExpertFieldInfo,
  type ExpertFieldKey,
  findExpertField,
} from './fields.js';

/**
 * Expert queries (spec §6): a raw string, or a typed object built into `FIELD : value` terms joined by one
 * operator. Both are checked against every field the spec knows; an unknown field is a `UsageError` naming
 * the closest ones. Values are never mutated, and `null`/`undefined` values are simply left out.
 */

/** An inclusive range. Either end may be left open. */
export interface Range {
  min?: number;
  max?: number;
}

export type ExpertValue =
  | string
  | number
  | boolean
  /** `[low, high]`: an inclusive range. */
  | readonly [number, number]
  | Range
  /** Any of these values (sent as a comma list). */
  | { anyOf: readonly (string | number)[] };

/** A typed expert query: `{ composition: 'Li O', spaceGroupNumber: 225, collectionCode: [1, 5000] }`. */
export type ExpertQuery = Partial<Record<ExpertFieldKey, ExpertValue | null | undefined>>;

export interface BuildQueryOptions {
  /** How terms are joined (default `and`). The API has no parentheses: use one operator per query. */
  operator?: 'and' | 'or';
}

const OPERATOR_WORD = /(^|\s)(and|or)(\s|$)/i;
const NUMERIC_KINDS = new Set(['integer', 'number', 'range']);

function unknownField(name: string): UsageError {
  const suggestions = closest(
    name,
    EXPERT_FIELDS.flatMap((f) => [f.key, f.field]),
  );
  const unique = [...new Set(suggestions.map((s) => findExpertField(s)?.key ?? s))];
  return new UsageError(
    `Unknown ICSD search field ${JSON.stringify(name)}` +
      (unique.length ? `; did you mean ${unique.map((s) => JSON.stringify(s)).join(', ')}?` : ''),
    { hint: 'Run `sciport icsd fields` for the list' },
  );
}

function formatNumber(field: ExpertFieldInfo, value: number): string {
  if (!Number.isFinite(value)) throw new UsageError(`${field.key} must be a finite number, got ${value}`);
  if ((field.kind === 'integer' || field.integer) && !Number.isInteger(value)) {
    throw new UsageError(`${field.key} must be a whole number, got ${value}`);
  }
  if (field.bounds && (value < field.bounds[0] || value > field.bounds[1])) {
    throw new UsageError(
      `${field.key} must be between ${field.bounds[0]} and ${field.bounds[1]}, got ${value}`,
    );
  }
  return String(value);
}

function formatValue(field: ExpertFieldInfo, value: ExpertValue): string {
  if (typeof value === 'number') return formatNumber(field, value);
  if (typeof value === 'boolean') {
    if (field.kind !== 'boolean') throw new UsageError(`${field.key} does not take true/false`);
    return value ? 'TRUE' : 'FALSE';
  }
  if (typeof value === 'string') {
    const text = value.trim();
    if (text === '') throw new UsageError(`${field.key} is empty`);
    if (OPERATOR_WORD.test(text)) {
      throw new UsageError(
        `The value of ${field.key} (${JSON.stringify(text)}) contains the word "and" or "or", which the ICSD query language reads as an operator`,
        { hint: 'Split the search into several queries' },
      );
    }
    if (field.values && !field.values.some((v) => v.toLowerCase() === text.toLowerCase())) {
      throw new UsageError(
        `${field.key} must be one of ${field.values.join(', ')}; got ${JSON.stringify(text)}`,
      );
    }
    return text;
  }
  if (Array.isArray(value)) {
    const [low, high] = value as readonly [number, number];
    if (value.length !== 2 || typeof low !== 'number' || typeof high !== 'number') {
      throw new UsageError(`${field.key}: a range is [low, high]; for a list use { anyOf: [...] }`);
    }
    return rangeText(field, low, high);
  }
  if ('anyOf' in value) {
    if (value.anyOf.length === 0) throw new UsageError(`${field.key}: anyOf is empty`);
    return value.anyOf
      .map((v) => (typeof v === 'number' ? formatNumber(field, v) : formatValue(field, v)))
      .join(',');
  }
  const range = value as Range;
  return rangeText(field, range.min, range.max);
}

function rangeText(field: ExpertFieldInfo, low: number | undefined, high: number | undefined): string {
  if (!NUMERIC_KINDS.has(field.kind) && field.kind !== 'date') {
    throw new UsageError(`${field.key} does not take a range`);
  }
  if (low === undefined && high === undefined) throw new UsageError(`${field.key}: a range needs min or max`);
  // An open end becomes the field's bound, or a generous one: the language has no one-sided range.
  const lo = low ?? field.bounds?.[0] ?? 0;
  const hi = high ?? field.bounds?.[1] ?? 999_999_999;
  if (lo > hi) throw new UsageError(`${field.key}: the range ${lo}-${hi} is empty`);
  return `${formatNumber(field, lo)}-${formatNumber(field, hi)}`;
}

/** Builds the query text from a typed object, checking every field and value. */
export function buildExpertQuery(query: ExpertQuery, options: BuildQueryOptions = {}): string {
  if (query === null || typeof query !== 'object' || Array.isArray(query)) {
    throw new UsageError('An expert query is a string or an object of fields');
  }
  const terms: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    const field = findExpertField(key);
    if (!field) throw unknownField(key);
    if (value === null || value === undefined) continue;
    terms.push(`${field.field} : ${formatValue(field, value as ExpertValue)}`);
  }
  if (terms.length === 0) throw new UsageError('The expert query has no field with a value');
  return terms.join(` ${options.operator ?? 'and'} `);
}

/**
 * Checks a raw query string: every `FIELD :` term must name a known field. Returns the query trimmed.
 * Values are not interpreted (the server decides), but an empty query is refused.
 */
export function checkExpertQuery(text: string): string {
  const query = text.trim();
  if (query === '') throw new UsageError('The expert query is empty');
  const terms = query.split(/\s+(?:and|or)\s+/i);
  for (const term of terms) {
    const colon = term.indexOf(':');
    if (colon <= 0) {
      throw new UsageError(`Expected "FIELD : value" in the expert query, got ${JSON.stringify(term)}`, {
        hint: 'Example: "COMPOSITION : Li O and SPACEGROUPNUMBER : 225"',
      });
    }
    const name = term.slice(0, colon).trim();
    if (!findExpertField(name)) throw unknownField(name);
    if (term.slice(colon + 1).trim() === '') throw new UsageError(`The field ${name} has no value`);
  }
  return query;
}

/** A raw string is checked; an object is built. */
export function toExpertQueryText(query: string | ExpertQuery, options: BuildQueryOptions = {}): string {
  return typeof query === 'string' ? checkExpertQuery(query) : buildExpertQuery(query, options);
}
