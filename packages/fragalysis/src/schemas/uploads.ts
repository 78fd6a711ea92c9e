import { apiRecord } from '@sciport/core';
import { z } from 'zod';
import { nullableString } from './page.js';

/** `GET /api/target_experiment_uploads/` (spec §4.8): one record per upload of a target. */
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
export type RawUpload = z.input<typeof uploadSchema>;

function parseTime(text: string): Date {
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? new Date(0) : d;
}

export const uploadRecordSchema = apiRecord(uploadSchema).transform((u) => ({
  ...u,
  /** The upload's version (`upload_version`): 1 for the first upload of a target, then 2, … */
  uploadIndex: u.uploadVersion,
  /** When it was committed (`commit_datetime`; the epoch when the server's text is not a date). */
  timestamp: parseTime(u.commitDatetime),
  committerId: u.committer ?? undefined,
  committerName: u.committerName ?? undefined,
  /** `"<major>.<minor>"`, the XCA data format. */
  dataFormat:
    u.dataVersionMajor === null || u.dataVersionMajor === undefined
      ? undefined
      : `${u.dataVersionMajor}.${u.dataVersionMinor ?? 0}`,
  /** Original upload tarball (no access check on the server: a capability). */
  tarballUrl: u.tarball ?? undefined,
}));
/** One upload of a target, camelCase, with the server's record under `raw`. */
export type UploadRecord = z.output<typeof uploadRecordSchema>;

/** Upload statistics of one target (spec §4.8), computed from its upload records. */
export interface UploadStats {
  targetId: number;
  targetName: string;
  tas: string;
  projectId: number | undefined;
  lastUploadIndex: number;
  lastUploadTimestamp: Date;
  /** Every upload, oldest first. */
  uploads: UploadRecord[];
}
