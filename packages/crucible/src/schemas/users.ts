import { apiRecord } from '@sciport/core';
import { z } from 'zod';
import { bool, int, str } from './common.js';

/** A user (spec §5.1, §16.1). v1 users have an `orcid` and no `unique_id`: it is filled from the ORCID. */
export const userWireSchema = z
  .looseObject({
    unique_id: str,
    orcid: str,
    username: str,
    first_name: str,
    last_name: str,
    email: str,
    is_service_account: bool,
    id: int,
  })
  .transform((user) =>
    user.unique_id == null && user.orcid != null ? { ...user, unique_id: user.orcid } : user,
  );
export const userSchema = apiRecord(userWireSchema);
export type CrucibleUser = z.output<typeof userSchema>;

/** The caller's account (`GET /account`). */
export const accountSchema = apiRecord(
  z.looseObject({
    user_unique_id: str,
    access_group_name: str,
    access_group_ids: z
      .array(z.union([z.number(), z.string()]))
      .nullable()
      .optional(),
    user_info: userSchema.nullable().optional(),
  }),
);
export type CrucibleAccount = z.output<typeof accountSchema>;

/** An access group of a resource: a name, or (some servers) `{ group_name }`. */
export const accessGroupSchema = z
  .union([z.looseObject({ group_name: z.string() }), z.string()])
  .transform((g) => (typeof g === 'string' ? g : g.group_name));
