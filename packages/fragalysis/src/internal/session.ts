import {
  ApiError,
  AuthenticationError,
  type EventEmitter,
  type HttpClient,
  NotFoundError,
  type RequestOptions,
  ResponseValidationError,
} from '@sciport/core';
import type { FragalysisEvent } from '../fragalysis-client.js';
import { type FragalysisUser, userRecordSchema } from '../schemas/users.js';
import { type CredentialKind, credentialName, explain, tokenHint } from './context.js';

const ANONYMOUS_USER_ID = 1;

/**
 * The token check. An invalid or expired session id is not an error for Fragalysis (the request runs as
 * anonymous): the check asks `/api/user/` and turns that into an `AuthenticationError`, once per client
 * (a failed check is tried again by the next call).
 */
export class Session {
  readonly #http: HttpClient;
  readonly #events: EventEmitter<FragalysisEvent>;
  readonly #baseUrl: string;
  readonly #token: string | undefined;
  readonly #credential: CredentialKind;
  #checked: Promise<FragalysisUser | undefined> | undefined;

  constructor(init: {
    http: HttpClient;
    events: EventEmitter<FragalysisEvent>;
    baseUrl: string;
    token: string | undefined;
    /** Which credential `token` is: the `sessionid` cookie or an OIDC access token (issue 14: xca). */
    credential?: CredentialKind | undefined;
  }) {
    this.#credential = init.credential ?? 'session';
    this.#http = init.http;
    this.#events = init.events;
    this.#baseUrl = init.baseUrl;
    this.#token = init.token;
  }

  /**
   * Before a call that reads or builds something: checks the token once (nothing to check without one). A stack
   * without `/api/user/` cannot tell: that is a warning, and the calls themselves show what is visible.
   */
  ensure(options: RequestOptions): Promise<FragalysisUser | undefined> {
    if (!this.#token) return Promise.resolve(undefined);
    if (!this.#checked) {
      const checked = this.#verify(options).catch((error: unknown) => {
        if (NotFoundError.isInstance(error)) return undefined;
        throw error;
      });
      this.#checked = checked;
      checked.catch(() => {
        if (this.#checked === checked) this.#checked = undefined;
      });
    }
    return this.#checked;
  }

  /** Checks the token now (whatever an earlier check found) and returns the user the stack sees. */
  async verify(options: RequestOptions): Promise<FragalysisUser> {
    const user = await this.#verify(options);
    this.#checked = Promise.resolve(user);
    return user;
  }

  async #verify(options: RequestOptions): Promise<FragalysisUser> {
    const url = `${this.#baseUrl}/api/user/`;
    let user: FragalysisUser;
    try {
      user = await this.#http.json('/api/user/', userRecordSchema, options);
    } catch (cause) {
      const error = explain(this.#baseUrl, cause);
      if (NotFoundError.isInstance(error)) {
        this.#events.emit({
          type: 'warning',
          message: `${this.#baseUrl} has no /api/user/: the token cannot be checked`,
        });
        throw error;
      }
      if (ResponseValidationError.isInstance(error)) {
        // A page instead of JSON: a same-host redirect to a login form.
        throw new AuthenticationError(
          { status: 200, method: 'GET', url, service: 'fragalysis' },
          'Fragalysis answered /api/user/ with a page instead of JSON (a login page?): the session behind ' +
            `the token needs renewal. ${tokenHint(this.#baseUrl, this.#credential)}`,
        );
      }
      if (ApiError.isInstance(error) && (error.status === 401 || error.status === 403)) {
        throw new AuthenticationError(
          {
            status: error.status,
            method: 'GET',
            url: error.url,
            service: 'fragalysis',
            detail: error.detail,
          },
          `Fragalysis refused the ${credentialName(this.#credential)} (${error.status}${error.detail ? `: ${error.detail}` : ''}). ${tokenHint(this.#baseUrl, this.#credential)}`,
        );
      }
      throw error;
    }
    const anonymousId =
      user.userId === ANONYMOUS_USER_ID || user.userId === null || user.userId === undefined;
    const anonymous =
      (anonymousId && (user.targetAccess ?? []).length === 0) || !user.user || /^anonymous/i.test(user.user);
    if (anonymous) {
      throw new AuthenticationError(
        { status: 200, method: 'GET', url, service: 'fragalysis' },
        `The Fragalysis ${this.#credential === 'access' ? 'access token' : 'token'} was not accepted: the server ` +
          `treats it as an anonymous visitor (an expired or mistyped ${this.#credential === 'access' ? 'access token' : 'session id'}). ${tokenHint(this.#baseUrl, this.#credential)}`,
      );
    }
    if (user.ping !== undefined && user.ping !== 'OK') {
      this.#events.emit({
        type: 'warning',
        message: 'Fragalysis cannot reach ISPyB just now: proposal memberships may be out of date',
      });
    }
    return user;
  }
}
