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
  // issue 14: obsync (spec §4.10, §11.3): a re-processed observation is a new row with a higher version.
  version: z.number().int().nullable().optional(),
  superseded: z.boolean().nullable().optional(),
});

/**
 * The file fields of an observation record (spec §4.10): absolute media URLs or null, named `*_file` or
 * `ligand_*` (the exact set depends on the server's version, so any such string-or-null field counts).
 */
const LIGAND_FIELDS = new Set(['ligand_mol', 'ligand_pdb', 'ligand_smiles']);

export function observationFileFields(
  raw: Readonly<Record<string, unknown>>,
): Array<[string, string | null]> {
  const out: Array<[string, string | null]> = [];
  for (const [key, value] of Object.entries(raw)) {
    if (!key.endsWith('_file') && !LIGAND_FIELDS.has(key)) continue;
    if (typeof value === 'string' || value === null) out.push([key, value]);
  }
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
export type RawObservation = z.input<typeof observationSchema>;

export const observationRecordSchema = apiRecord(observationSchema);
/** A site observation: `code` (`A0001a`), `longcode`, `smiles`, `compoundCode`, …, and `raw`. */
export type FragalysisObservation = z.output<typeof observationRecordSchema>;
