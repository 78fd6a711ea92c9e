import { apiRecord } from '@sciport/core';
import { z } from 'zod';
import { int, str } from './common.js';
import { userSchema } from './users.js';

/** An instrument (spec §5.2, §16.4). */
export const instrumentSchema = apiRecord(
  z.looseObject({
    unique_id: str,
    id: int,
    instrument_name: z.string(),
    instrument_type: str,
    manufacturer: str,
    model: str,
    owner: str,
    location: str,
    description: str,
  }),
);
export type CrucibleInstrument = z.output<typeof instrumentSchema>;

/** A project (spec §5.1, §16.3). */
export const projectSchema = apiRecord(
  z.looseObject({
    project_id: z.string(),
    id: int,
    organization: str,
    title: str,
    status: str,
    project_lead_email: str,
    project_lead_orcid: str,
    project_lead_name: str,
    lead: userSchema.nullable().optional(),
  }),
);
export type CrucibleProject = z.output<typeof projectSchema>;

/** What `GET /resources/{id}` says of an id (v2): its kind and project, and the record's fields. */
export const resourceSchema = apiRecord(
  z.looseObject({
    resource_type: z.string().nullable().optional(),
    project_id: z.string().nullable().optional(),
  }),
);
export type CrucibleResourceRecord = z.output<typeof resourceSchema>;
