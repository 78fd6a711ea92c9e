import { apiRecord } from '@sciport/core';
import { z } from 'zod';
import { nullableString } from './page.js';

/** `GET /api/targets/` (spec §4.3). 2024 servers send no `project_title`: the TAS comes from the projects. */
export const targetSchema = z.looseObject({
  id: z.number().int(),
  title: z.string(),
  display_name: nullableString,
  project: z.number().int().nullish(),
  project_title: nullableString,
  template_protein: nullableString,
  metadata: nullableString,
  zip_archive: nullableString,
  upload_status: nullableString,
});
export type RawTarget = z.input<typeof targetSchema>;

export const targetRecordSchema = apiRecord(targetSchema).transform((t) => ({
  ...t,
  displayName: t.displayName ?? undefined,
  /** The numeric id of the target's project (`project` on the wire). */
  projectId: t.project ?? undefined,
}));

/**
 * A target, identified by its title **and** its target access string (two targets may share a title): the
 * server's fields in camelCase (`displayName`, `projectTitle`, `templateProtein`, …), `projectId`, the `tas`
 * (from `project_title`, or joined with the projects on older servers), and the server's object under `raw`.
 */
export type FragalysisTarget = z.output<typeof targetRecordSchema> & {
  /** Target access string (the proposal/visit, e.g. `lb18145-1`). */
  readonly tas: string;
};
