import { apiRecord } from '@sciport/core';
import { z } from 'zod';
import { nullableString } from './page.js';

/**
 * Compound-set molecules with their scores, and the validate and upload tasks of a compound-set upload (spec
 * §4.13, §11.4).
 */

/** A score map: names (the SDF's property names) to values; anything odd is dropped, not fatal. */
const scoreMap = <T extends z.ZodType>(value: T) =>
  z
    .record(z.string(), value.nullable())
    .nullish()
    .catch(null)
    .transform((m) => m ?? {});

/** `GET /api/compound-mols-scores/?computed_set=<name>`: a computed molecule with its score maps. */
export const compoundMoleculeScoresSchema = z.looseObject({
  id: z.union([z.number(), z.string()]).nullish(),
  name: nullableString,
  smiles: nullableString,
  computed_set: z.union([z.number(), z.string()]).nullish(),
  numerical_scores: scoreMap(z.union([z.number(), z.string()])),
  text_scores: scoreMap(z.union([z.string(), z.number(), z.boolean()])),
});
export type RawCompoundMoleculeScores = z.input<typeof compoundMoleculeScoresSchema>;

export const compoundMoleculeScoresRecordSchema = apiRecord(compoundMoleculeScoresSchema);
/** A molecule of a compound set: `name`, `smiles`, `numericalScores`, `textScores` (by score name), `raw`. */
export type FragalysisCompoundMolecule = z.output<typeof compoundMoleculeScoresRecordSchema>;

const celeryState = z
  .string()
  .nullish()
  .transform((v) => (v ?? 'PENDING').toUpperCase());

/** `GET /viewer/validate_task/<uuid>/`: Celery's state, and on success `validated` and `html`. */
export const validateTaskSchema = z.looseObject({
  validate_task_status: celeryState,
  validate_task_id: nullableString,
  validated: nullableString,
  html: nullableString,
  validate_traceback: z.unknown().optional(),
});
export type RawValidateTask = z.input<typeof validateTaskSchema>;

/** `GET /viewer/upload_task/<uuid>/`: Celery's state, and on success either `validated`/`html` or `results`. */
export const uploadTaskSchema = z.looseObject({
  upload_task_status: celeryState,
  upload_task_id: nullableString,
  validated: nullableString,
  html: nullableString,
  results: z
    .looseObject({ cset_download_url: nullableString, pset_download_url: nullableString })
    .nullish()
    .catch(null),
  upload_traceback: z.unknown().optional(),
});
export type RawUploadTask = z.input<typeof uploadTaskSchema>;
