import type { RequestOptions } from '@sciport/core';
import { requestOptions } from '@sciport/core';
import { type Context, getJson } from '../internal/context.js';
import { type FragalysisUser, userRecordSchema } from '../schemas/users.js';

/** Who the stack thinks the caller is (`GET /api/user/`, spec §4.12). */
export class Users {
  readonly #ctx: Context;

  constructor(ctx: Context) {
    this.#ctx = ctx;
  }

  /**
   * The user the stack sees, with the proposals (`targetAccess`) they may read. Without a token: the anonymous
   * visitor. With one, this checks the token: a session id the stack does not take (it treats it as anonymous)
   * or a stale session raises an `AuthenticationError` that says how to get a fresh token, and a stack without
   * `/api/user/` a `NotFoundError` (with a `warning` event: the token cannot be checked there).
   */
  async me(options: RequestOptions = {}): Promise<FragalysisUser> {
    if (!this.#ctx.authenticated)
      return getJson(this.#ctx, '/api/user/', userRecordSchema, requestOptions(options));
    return this.#ctx.session.verify(requestOptions(options));
  }
}
