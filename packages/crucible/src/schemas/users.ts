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

const named = (value: unknown): boolean => typeof value === 'string' && value.trim() !== '';

/**
 * The caller's account (`GET /account`, spec §2, §15.4). It must say whose it is: v2's `user_unique_id`, v1's
 * `access_group_name` (the personal group, named by the ORCID), or a `user_info` with a `unique_id` or `orcid`
 * (keys not tied to a user have `user_info: null` and still name their group). An empty object, or the
 * answer of another service, is not an account.
 */
export const accountSchema = apiRecord(
  z
    .looseObject({
      user_unique_id: str,
      access_group_name: str,
      access_group_ids: z
        .array(z.union([z.number(), z.string()]))
        .nullable()
        .optional(),
      user_info: userSchema.nullable().optional(),
    })
    .superRefine((account, ctx) => {
      const user = account.user_info;
      if (
        named(account.user_unique_id) ||
        named(account.access_group_name) ||
        named(user?.uniqueId) ||
        named(user?.orcid)
      )
        return;
      ctx.addIssue({
        code: 'custom',
        message:
          'not an account: it names no user (none of user_unique_id, access_group_name, user_info.unique_id, user_info.orcid)',
      });
    }),
);
export type CrucibleAccount = z.output<typeof accountSchema>;

/** An access group of a resource: a name, or (some servers) `{ group_name }`. */
export const accessGroupSchema = z
  .union([z.looseObject({ group_name: z.string() }), z.string()])
  .transform((g) => (typeof g === 'string' ? g : g.group_name));
