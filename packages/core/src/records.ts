import { z } from 'zod';

/**
 * Records as every client returns them: the server's fields under camelCase names, typed by the zod schema
 * that validates them, and the server's object exactly as it came under `raw` (for fields a newer server adds,
 * and for printing what the service sent).
 */

/** `dataset_name` → `datasetName` (type level). */
export type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? Tail extends ''
    ? S
    : `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

/** An object type with its keys in camelCase (one level: nested records are mapped by their own schemas). */
export type CamelKeys<T> = { [K in keyof T as K extends string ? CamelCase<K> : K]: T[K] };

/** A record: camelCase fields plus the server's object under `raw`. */
export type ApiRecord<T, Raw = unknown> = CamelKeys<T> & { readonly raw: Raw };

/** Names already converted: a service has a few dozen field names, seen on every record of a listing. */
const converted = new Map<string, string>();
const MAX_CONVERTED = 4096;

/** `dataset_name` → `datasetName`; names without underscores (and leading ones, `_id`) are kept. */
export function camelCase(key: string): string {
  let name = converted.get(key);
  if (name !== undefined) return name;
  name = key.includes('_')
    ? key.replace(/(?<=[A-Za-z0-9])_+([A-Za-z0-9])/g, (_, c: string) => c.toUpperCase())
    : key;
  // Bounded: a server that sends ever-new field names cannot grow it without end.
  if (converted.size < MAX_CONVERTED) converted.set(key, name);
  return name;
}

/** The fields of `value` under camelCase names (one level), keeping values as they are. */
export function camelKeys<T extends Record<string, unknown>>(value: T): CamelKeys<T> {
  const out: Record<string, unknown> = {};
  for (const key in value) {
    if (Object.hasOwn(value, key)) out[camelCase(key)] = value[key];
  }
  return out as CamelKeys<T>;
}

/**
 * A schema for a server record: validates with `schema` (loose, so new server fields pass), and outputs its
 * fields in camelCase (values as `schema` outputs them: nested records built with `apiRecord` are records too)
 * with the input object, untouched, under `raw`. Free-form maps inside a record (scientific metadata) keep
 * their keys: only the top level is renamed.
 */
export function apiRecord<S extends z.ZodType<Record<string, unknown>>>(
  schema: S,
): z.ZodType<ApiRecord<z.output<S>, z.input<S>>, unknown> {
  return z.unknown().transform((input, ctx) => {
    const parsed = schema.safeParse(input);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        ctx.addIssue({ ...issue } as Parameters<typeof ctx.addIssue>[0]);
      return z.NEVER;
    }
    const record = camelKeys(parsed.data) as Record<string, unknown>;
    record.raw = input;
    return record;
  }) as unknown as z.ZodType<ApiRecord<z.output<S>, z.input<S>>, unknown>;
}
