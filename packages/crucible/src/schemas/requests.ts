import { apiRecord } from '@sciport/core';
import { z } from 'zod';
import { str } from './common.js';

/** An ingestion (or, on v1, SciCat) request (spec §8, §17.4). */
export const requestSchema = apiRecord(
  z.looseObject({
    id: z.number().int(),
    status: z.string(),
    ingestion_class: str,
    file_mfid: str,
    dataset_mfid: str,
    time_created: str,
    time_requested: str,
    time_completed: str,
    error_message: str,
  }),
);
export type CrucibleRequest = z.output<typeof requestSchema>;

/**
 * The request statuses (spec §8, §17.4): pending are `requested` and `started` (and `in_progress`, which the
 * v1 docs mention); anything else is terminal, unknown values included.
 */
export const PENDING_STATUSES: ReadonlySet<string> = new Set(['requested', 'started', 'in_progress']);
/** `complete` is what the workers write; `completed` is in the v1 docs. */
export const SUCCESS_STATUSES: ReadonlySet<string> = new Set(['complete', 'completed']);
