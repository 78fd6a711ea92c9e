import { apiRecord } from '@sciport/core';
import { z } from 'zod';
import { nullableString } from './page.js';

/** `GET /api/compound-sets/` (spec §4.13): read-only RHS sets ("virtual hits"). */
export const compoundSetSchema = z.looseObject({
  id: z.union([z.number(), z.string()]),
  name: z.string(),
  target: z.number().int().nullable().optional(),
  submitted_sdf: nullableString,
  spec_version: z.union([z.number(), z.string()]).nullable().optional(),
  method: nullableString,
  upload_date: nullableString,
});
export type RawCompoundSet = z.input<typeof compoundSetSchema>;

export const compoundSetRecordSchema = apiRecord(compoundSetSchema);
/** A compound set: `name`, `target` (the target's id), `submittedSdf`, `specVersion`, `method`, …, `raw`. */
export type FragalysisCompoundSet = z.output<typeof compoundSetRecordSchema>;
