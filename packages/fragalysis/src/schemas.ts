import { z } from 'zod';

/**
 * Response schemas (spec §4). Non-strict: fields the server adds later pass through untouched, and fields that
 * older servers lack are optional. Types are inferred from these schemas only.
 */

/** DRF limit/offset envelope (a bare array, from a list without pagination, is one last page). */
export function page<T extends z.ZodType>(item: T) {
  return z.preprocess(
    (value) => (Array.isArray(value) ? { results: value, next: null } : value),
    z.object({
      count: z.number().int().nonnegative().nullish(),
      next: z.string().nullish(),
      previous: z.string().nullish(),
      results: z.array(item),
    }),
  );
}
export type Page<T> = {
  count?: number | null | undefined;
  next?: string | null | undefined;
  results: T[];
};

const nullableString = z.string().nullish();

export const projectSchema = z.looseObject({
  id: z.number().int(),
  target_access_string: z.string(),
  alias: nullableString,
  init_date: nullableString,
  authority: nullableString,
  open_to_public: z.boolean().nullish(),
  user_can_use_squonk: z.boolean().nullish(),
});
export type FragalysisProject = z.infer<typeof projectSchema>;

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
export type RawTarget = z.infer<typeof targetSchema>;

/** A target, identified by its title **and** its target access string (two targets may share a title). */
export interface FragalysisTarget {
  id: number;
  title: string;
  /** Target access string (the proposal/visit, e.g. `lb18145-1`). */
  tas: string;
  displayName: string | undefined;
  projectId: number | undefined;
  raw: RawTarget;
}

export const userSchema = z.looseObject({
  user: z.string().nullable().optional(),
  user_id: z.number().int().nullable().optional(),
  authenticator: z.unknown().optional(),
  ping: z.string().nullish(),
  target_access: z.array(z.string()).nullish(),
});
export type FragalysisUser = z.infer<typeof userSchema>;

/** `POST /api/download_structures/`: an immediate archive, or a build to wait for. */
export const downloadResponseSchema = z.union([
  z.looseObject({ file_url: z.string().min(1) }),
  z.looseObject({ task_status_url: z.string().min(1) }),
]);

/** `GET /viewer/task_status/<uuid>/`: `messages` is a string (progress, or the archive path) or an array. */
const flag = z.unknown().transform((v) => v === true || v === 'true' || v === 'True');

export const taskStatusSchema = z.looseObject({
  started: flag,
  finished: flag,
  status: z
    .string()
    .nullish()
    .transform((v) => v ?? 'UNKNOWN'),
  messages: z
    .union([z.string(), z.array(z.unknown())])
    .nullish()
    .catch(null),
});
export type TaskStatus = z.infer<typeof taskStatusSchema>;

export const uploadSchema = z.looseObject({
  target: z.number().int(),
  target_name: z.string(),
  project: z.number().int().nullable().optional(),
  proposal_number: z.string(),
  tarball: nullableString,
  commit_datetime: z.string(),
  committer: z.number().int().nullable().optional(),
  committer_name: nullableString,
  task_id: nullableString,
  upload_data_dir: nullableString,
  upload_version: z.number().int(),
  data_version_major: z.number().int().nullable().optional(),
  data_version_minor: z.number().int().nullable().optional(),
});
export type RawUpload = z.infer<typeof uploadSchema>;

export const observationSchema = z.looseObject({
  id: z.number().int(),
  code: z.string(),
  longcode: nullableString,
  smiles: nullableString,
  cmpd: z.number().int().nullable().optional(),
  compound_code: nullableString,
  experiment: z.number().int().nullable().optional(),
});
export type FragalysisObservation = z.infer<typeof observationSchema>;

export const compoundSetSchema = z.looseObject({
  id: z.union([z.number(), z.string()]),
  name: z.string(),
  target: z.number().int().nullable().optional(),
  submitted_sdf: nullableString,
  spec_version: z.union([z.number(), z.string()]).nullable().optional(),
  method: nullableString,
  upload_date: nullableString,
});
export type FragalysisCompoundSet = z.infer<typeof compoundSetSchema>;
