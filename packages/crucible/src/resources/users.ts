import {
  type ListOptions,
  type PageIterable,
  type RequestOptions,
  requestOptions,
  singlePage,
  UsageError,
} from '@sciport/core';
import { body, type Context, call, getRecord, id } from '../internal/context.js';
import { type SearchOptions, searchList } from '../internal/search.js';

import { itemsOf } from '../schemas/common.js';
import { accountSchema, type CrucibleAccount, type CrucibleUser, userSchema } from '../schemas/users.js';

/** A user to create (admin): `orcid` and names; on v1 also the LBL email and employee number. */
export interface UserInput {
  orcid: string;
  firstName?: string;
  lastName?: string;
  email?: string;
  lblEmail?: string;
  employeeNumber?: string;
  isServiceAccount?: boolean;
  projectIds?: readonly string[];
}

/** Users and the caller's account (spec §5.1, §16.1, §16.2). */
export class Users {
  constructor(protected readonly ctx: Context) {}

  /** The caller's account (`GET /account`): the cheapest check that the key works. */
  async me(options: RequestOptions = {}): Promise<CrucibleAccount> {
    // An empty answer (`null`) or one that names no user is a ResponseValidationError: not an account.
    return call(this.ctx, 'account', accountSchema, requestOptions(options));
  }

  // issue 13: basics
  /**
   * Users whose username or name matches `text` (fuzzy, best first; spec §19.2), public fields only. One
   * request, sent when iterated.
   */
  search(text: string, options: SearchOptions = {}): PageIterable<CrucibleUser, unknown> {
    return searchList(this.ctx, 'users/search', userSchema, text, {}, options);
  }

  /** A user by ORCID (admin). */
  async get(orcid: string, options: RequestOptions = {}): Promise<CrucibleUser> {
    return getRecord(this.ctx, `users/${id(orcid, 'ORCID')}`, userSchema, `user ${orcid}`, {
      ...requestOptions(options),
      adminOnly: 'Looking up a user by ORCID',
    });
  }

  /** Users by email (admin); on v1, where none has it as `email`, by `lbl_email`. */
  findByEmail(email: string, options: ListOptions = {}): PageIterable<CrucibleUser, unknown> {
    const find = (query: Record<string, string | boolean>, signal: AbortSignal | undefined) =>
      call(this.ctx, 'users', itemsOf(userSchema), {
        query,
        ...requestOptions(options),
        signal,
        adminOnly: 'Looking up users by email',
      });
    return singlePage(async (signal) => {
      if (this.ctx.version === 'v2') return find({ email, permissive: false }, signal);
      const byEmail = await find({ email }, signal);
      return byEmail.length > 0 ? byEmail : find({ lbl_email: email }, signal);
    }, options);
  }

  /**
   * Creates a user, or updates the one with this ORCID (admin), and makes it a member of `projectIds`. The
   * body keeps the key `orcid` on both API versions.
   */
  async create(input: UserInput, options: RequestOptions = {}): Promise<CrucibleUser> {
    if (!input.orcid?.trim()) throw new UsageError('A user needs an ORCID');
    const v1 = this.ctx.version === 'v1';
    return call(this.ctx, 'users', userSchema, {
      method: 'POST',
      json: {
        user_info: body({
          orcid: input.orcid,
          first_name: input.firstName,
          last_name: input.lastName,
          email: input.email,
          lbl_email: v1 ? input.lblEmail : undefined,
          employee_number: v1 ? input.employeeNumber : undefined,
          is_service_account: v1 ? undefined : input.isServiceAccount,
        }),
        project_ids: [...(input.projectIds ?? [])],
      },
      ...requestOptions(options),
      // An upsert by ORCID: sending it twice leaves the same user.
      idempotent: true,
      adminOnly: 'Creating a user',
    });
  }
}
