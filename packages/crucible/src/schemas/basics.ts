import { apiRecord } from '@sciport/core';
import { z } from 'zod';
import { metadataObject, str } from './common.js';

/**
 * A hit of the metadata search (`GET /resources/metadata/search`, spec §19.2): a dataset, sample or instrument
 * whose scientific metadata matched, `rank` higher for better matches.
 */
export const metadataHitSchema = apiRecord(
  z.looseObject({
    unique_id: z.string(),
    resource_type: str,
    name: str,
    owner_orcid: str,
    creation_time: str,
    modification_time: str,
    rank: z.number().nullable().optional(),
    scientific_metadata: metadataObject.nullable().optional(),
  }),
);
export type CrucibleMetadataHit = z.output<typeof metadataHitSchema>;

/**
 * `GET /health/live` and `GET /health/ready` (spec §15.1, §19.7): `status` (`ok`, or `degraded` when not
 * ready); ready adds `db` (`ok` or `error`), the database round trip in ms and the server's version. A ready
 * body without `db` is not a health answer. Read loosely: the checks judge the values.
 */
export const healthSchema = z.looseObject({
  status: z.unknown().optional(),
  db: z.unknown().optional(),
  db_ms: z.unknown().optional(),
  version: z.unknown().optional(),
});
