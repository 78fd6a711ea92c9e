import { apiRecord } from '@sciport/core';
import { z } from 'zod';

/** `POST /api/download_structures/` (spec §4.4): an immediate archive, or a build to wait for. */
export const downloadResponseSchema = z.union([
  z.looseObject({ file_url: z.string().min(1) }),
  z.looseObject({ task_status_url: z.string().min(1) }),
]);

/** The server's booleans come as `true`, `"true"` or `"True"`. */
const flag = z.unknown().transform((v) => v === true || v === 'true' || v === 'True');

/** `GET /viewer/task_status/<uuid>/` (spec §4.5): `messages` is a string (progress, or the archive path) or an array. */
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
export type RawTaskStatus = z.input<typeof taskStatusSchema>;

export const taskStatusRecordSchema = apiRecord(taskStatusSchema);
/** A build's status as one poll saw it: `started`, `finished`, `status` (`RUNNING`, `SUCCESS`, …), `messages`, `raw`. */
export type TaskStatus = z.output<typeof taskStatusRecordSchema>;
