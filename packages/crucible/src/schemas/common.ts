import { z } from 'zod';

/** Field shapes the Crucible records share: loose, since fields one API version lacks are optional. */
export const str = z.string().nullable().optional();
export const int = z.number().int().nullable().optional();
export const bool = z.boolean().nullable().optional();
/** Scientific metadata: a free-form map whose keys are kept as the server sent them (never camelCased). */
export const metadataObject = z.record(z.string(), z.unknown());

/** Keyset envelope (v2 `/datasets`, `/samples`). A bare array is accepted too (tolerant, §15.3): one page. */
export function keysetPage<T extends z.ZodType>(item: T) {
  return z.union([
    z.looseObject({
      items: z.array(item),
      limit: int,
      next_cursor: str,
      total: int,
    }),
    z
      .array(item)
      .transform((items) => ({ items, limit: undefined, next_cursor: null, total: undefined, bare: true })),
  ]);
}

/** Offset envelope (other v2 lists). A bare array is accepted too (tolerant): the whole list, one page. */
export function offsetPage<T extends z.ZodType>(item: T) {
  return z.union([
    z.looseObject({ items: z.array(item), total: int, limit: int, offset: int }),
    z
      .array(item)
      .transform((items) => ({ items, total: undefined, limit: undefined, offset: undefined, bare: true })),
  ]);
}

/** A list some servers send bare and others in an `items` envelope: its items either way (`null`: none). */
export function itemsOf<T extends z.ZodType>(item: T) {
  return z
    .union([z.array(item), z.looseObject({ items: z.array(item) })])
    .nullable()
    .transform((found): z.output<T>[] => (found === null ? [] : Array.isArray(found) ? found : found.items));
}
