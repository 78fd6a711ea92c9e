import { apiRecord } from '@sciport/core';
import { z } from 'zod';
import { bool, int, metadataObject, str } from './common.js';
import { userSchema } from './users.js';

/** A link of a resource (v2 `GET /resources/{id}/links`, `include_links`): a parent, child or associated record. */
export const linkSchema = apiRecord(
  z.looseObject({
    unique_id: z.string(),
    resource_type: z.string().optional(),
    name: str,
    relationship: z.string().optional(),
  }),
);
export type CrucibleLink = z.output<typeof linkSchema>;

const datasetFields = z.looseObject({
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
type DatasetFields = z.output<typeof datasetFields>;

/** v1's `creation_date` is v2's `timestamp`. */
function withTimestamp(d: DatasetFields): DatasetFields {
  return d.timestamp == null && d.creation_date != null ? { ...d, timestamp: d.creation_date } : d;
}

/**
 * v1 nests the metadata record that `include_metadata` adds (`scientific_metadata.scientific_metadata`): the
 * flat object, as v2 has it. v2 metadata is already flat and is left alone, whatever keys it has.
 */
function flatMetadata(d: DatasetFields): DatasetFields {
  const md = d.scientific_metadata;
  if (!md || !('scientific_metadata' in md)) return d;
  const inner = md.scientific_metadata;
  return {
    ...d,
    scientific_metadata:
      inner && typeof inner === 'object' && !Array.isArray(inner) ? (inner as Record<string, unknown>) : {},
  };
}

/** A dataset (spec §4, §15.4), as API v2 names its fields. */
export const datasetSchema = apiRecord(datasetFields.transform(withTimestamp));
/** A v1 dataset, mapped onto the v2 names (`creation_date` → `timestamp`, flat metadata); `raw` is as sent. */
export const datasetSchemaV1 = apiRecord(datasetFields.transform((d) => flatMetadata(withTimestamp(d))));
export type CrucibleDataset = z.output<typeof datasetSchema>;

/** A keyword; `GET /keywords` adds how many datasets carry it. */
export const keywordSchema = apiRecord(z.looseObject({ keyword: z.string(), num_datasets: int, id: int }));
export type CrucibleKeyword = z.output<typeof keywordSchema>;

export const thumbnailSchema = apiRecord(
  z.looseObject({
    id: int,
    dataset_id: int,
    thumbnail_name: z.string(),
    thumbnail_b64str: z.string(),
  }),
);
export type CrucibleThumbnail = z.output<typeof thumbnailSchema>;

/** The metadata endpoints' answer: the metadata record, its map under `scientific_metadata`. */
export const metadataWrapperSchema = z
  .looseObject({ scientific_metadata: metadataObject.nullable().optional() })
  .nullable();
