import { z } from 'zod';

/** `POST /api/upload_target_experiments/` accepted (spec §11.5): the loader task to poll (issue 14: xca). */
export const uploadAcceptedSchema = z.looseObject({ task_status_url: z.string().min(1) });
export type UploadAccepted = z.output<typeof uploadAcceptedSchema>;
