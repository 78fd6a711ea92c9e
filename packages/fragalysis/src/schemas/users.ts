import { apiRecord } from '@sciport/core';
import { z } from 'zod';

/** `GET /api/user/` (spec §4.12). Older servers put the authenticator block under `version`. */
export const userSchema = z.looseObject({
  user: z.string().nullable().optional(),
  user_id: z.number().int().nullable().optional(),
  authenticator: z.unknown().optional(),
  ping: z.string().nullish(),
  target_access: z.array(z.string()).nullish(),
});
export type RawUser = z.input<typeof userSchema>;

export const userRecordSchema = apiRecord(userSchema);
/** Who the stack thinks the caller is: `user` (the name), `userId`, `targetAccess` (proposals), `ping`, `raw`. */
export type FragalysisUser = z.output<typeof userRecordSchema>;
