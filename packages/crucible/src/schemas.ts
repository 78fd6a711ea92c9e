import { z } from 'zod';

/**
 * Crucible records (spec §4 for v1, §15.4 for v2), as one model. Schemas are loose: unknown fields pass
 * through, and fields one API version lacks are optional. v1 records are mapped onto the v2 names by the
 * `normalise*` functions (`date_created` → `timestamp`, user `orcid` → `unique_id`, the v1 metadata wrapper
 * → a flat object).
 */

const str = z.string().nullable().optional();
const int = z.number().int().nullable().optional();
const bool = z.boolean().nullable().optional();
const metadataObject = z.record(z.string(), z.unknown());

export const linkSchema = z.looseObject({
  unique_id: z.string(),
  resource_type: z.string().optional(),
  name: str,
  relationship: z.string().optional(),
});
export type CrucibleLink = z.infer<typeof linkSchema>;

export const userSchema = z.looseObject({
  unique_id: str,
  orcid: str,
  username: str,
  first_name: str,
  last_name: str,
  email: str,
  is_service_account: bool,
  id: int,
});
export type CrucibleUser = z.infer<typeof userSchema>;

export const datasetSchema = z.looseObject({
  unique_id: z.string(),
  id: int,
  resource_type: str,
  dataset_name: str,
  description: str,
  measurement: str,
  data_type: str,
  data_format: str,
  session_name: str,
  instrument_name: str,
  project_id: str,
  owner_orcid: str,
  public: bool,
  size: z.number().nullable().optional(),
  timestamp: str,
  creation_date: str,
  creation_time: str,
  modification_time: str,
  source_folder: str,
  file_to_upload: str,
  sha256_hash_file_to_upload: str,
  scientific_metadata: metadataObject.nullable().optional(),
  links: z.array(linkSchema).nullable().optional(),
  owner: userSchema.nullable().optional(),
  deletion_request: z.unknown().optional(),
});
export type CrucibleDataset = z.infer<typeof datasetSchema>;

export const sampleSchema = z.looseObject({
  unique_id: z.string(),
  id: int,
  resource_type: str,
  sample_name: str,
  sample_type: str,
  description: str,
  project_id: str,
  owner_orcid: str,
  public: bool,
  timestamp: str,
  date_created: str,
  creation_time: str,
  modification_time: str,
  scientific_metadata: metadataObject.nullable().optional(),
  links: z.array(linkSchema).nullable().optional(),
  datasets: z
    .array(z.looseObject({ unique_id: z.string() }))
    .nullable()
    .optional(),
});
export type CrucibleSample = z.infer<typeof sampleSchema>;

export const instrumentSchema = z.looseObject({
  unique_id: str,
  id: int,
  instrument_name: z.string(),
  instrument_type: str,
  manufacturer: str,
  model: str,
  owner: str,
  location: str,
  description: str,
});
export type CrucibleInstrument = z.infer<typeof instrumentSchema>;

export const projectSchema = z.looseObject({
  project_id: z.string(),
  id: int,
  organization: str,
  title: str,
  status: str,
  project_lead_email: str,
  project_lead_orcid: str,
  project_lead_name: str,
  lead: userSchema.nullable().optional(),
});
export type CrucibleProject = z.infer<typeof projectSchema>;

export const accountSchema = z.looseObject({
  user_unique_id: str,
  access_group_name: str,
  access_group_ids: z
    .array(z.union([z.number(), z.string()]))
    .nullable()
    .optional(),
  user_info: userSchema.nullable().optional(),
});
export type CrucibleAccount = z.infer<typeof accountSchema>;

export const keywordSchema = z.looseObject({ keyword: z.string(), num_datasets: int, id: int });
export type CrucibleKeyword = z.infer<typeof keywordSchema>;

export const thumbnailSchema = z.looseObject({
  id: int,
  dataset_id: int,
  thumbnail_name: z.string(),
  thumbnail_b64str: z.string(),
});
export type CrucibleThumbnail = z.infer<typeof thumbnailSchema>;

/** A file record: v2 `File` (with `mfid`) or a v1 associated file. */
export const fileSchema = z.looseObject({
  mfid: str,
  file_id: str,
  id: int,
  dataset_mfid: str,
  filename: z.string(),
  storage_path: str,
  size: z.number().nullable().optional(),
  sha256_hash: str,
  storage_backend: str,
  access_note: str,
});
export type CrucibleFile = z.infer<typeof fileSchema>;

/** An ingestion (or, on v1, SciCat) request. */
export const requestSchema = z.looseObject({
  id: z.number().int(),
  status: z.string(),
  ingestion_class: str,
  file_mfid: str,
  dataset_mfid: str,
  time_created: str,
  time_requested: str,
  time_completed: str,
  error_message: str,
});
export type CrucibleRequest = z.infer<typeof requestSchema>;

export const metadataWrapperSchema = z
  .looseObject({ scientific_metadata: metadataObject.nullable().optional() })
  .nullable();

export const initiateUploadSchema = z.looseObject({
  upload_id: str,
  resumable_uri: str,
  chunk_size_hint: z.number().int().positive().nullable().optional(),
  existing_file: fileSchema.nullable().optional(),
});

export const downloadLinkSchema = z.looseObject({
  url: z.string(),
  expires_in: z.number().nullable().optional(),
});

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

/**
 * The request statuses (spec §8, §17.4): pending are `requested` and `started` (and `in_progress`, which the
 * v1 docs mention); anything else is terminal, unknown values included.
 */
export const PENDING_STATUSES: ReadonlySet<string> = new Set(['requested', 'started', 'in_progress']);
/** `complete` is what the workers write; `completed` is in the v1 docs. */
export const SUCCESS_STATUSES: ReadonlySet<string> = new Set(['complete', 'completed']);
