import { apiRecord } from '@sciport/core';
import { z } from 'zod';
import { bool, int, metadataObject, str } from './common.js';
import { linkSchema } from './datasets.js';

/** A sample (spec §5.3, §16.5). v1's `date_created` is v2's `timestamp`. */
export const sampleSchema = apiRecord(
  z
    .looseObject({
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
    })
    .transform((s) =>
      s.timestamp == null && s.date_created != null ? { ...s, timestamp: s.date_created } : s,
    ),
);
export type CrucibleSample = z.output<typeof sampleSchema>;
