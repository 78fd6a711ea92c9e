import { apiRecord } from '@sciport/core';
import { z } from 'zod';
import { nullableString } from './page.js';

/** `GET /api/site_observations/?target=<id>` (spec §4.10). */
export const observationSchema = z.looseObject({
  id: z.number().int(),
  code: z.string(),
  longcode: nullableString,
  smiles: nullableString,
  cmpd: z.number().int().nullable().optional(),
  compound_code: nullableString,
  experiment: z.number().int().nullable().optional(),
});
export type RawObservation = z.input<typeof observationSchema>;

export const observationRecordSchema = apiRecord(observationSchema);
/** A site observation: `code` (`A0001a`), `longcode`, `smiles`, `compoundCode`, …, and `raw`. */
export type FragalysisObservation = z.output<typeof observationRecordSchema>;
