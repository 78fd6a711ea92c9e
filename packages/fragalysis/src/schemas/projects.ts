import { apiRecord } from '@sciport/core';
import { z } from 'zod';
import { nullableString } from './page.js';

/** `GET /api/projects/` (spec §4.2): a proposal or visit, named by its target access string. */
export const projectSchema = z.looseObject({
  id: z.number().int(),
  target_access_string: z.string(),
  alias: nullableString,
  init_date: nullableString,
  authority: nullableString,
  open_to_public: z.boolean().nullish(),
  user_can_use_squonk: z.boolean().nullish(),
});
export type RawProject = z.input<typeof projectSchema>;

export const projectRecordSchema = apiRecord(projectSchema);
/** A project: `id`, `targetAccessString`, `openToPublic`, …, and the server's object under `raw`. */
export type FragalysisProject = z.output<typeof projectRecordSchema>;
