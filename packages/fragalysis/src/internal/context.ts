import {
  ApiError,
  AuthenticationError,
  createApiError,
  type EventEmitter,
  type HttpClient,
  type HttpRequestOptions,
} from '@sciport/core';
import type { z } from 'zod';
import type { FragalysisEvent } from '../fragalysis-client.js';
import type { Session } from './session.js';

/** What every resource shares: the API client, the emitter, the stack and the token check. */
export interface Context {
  readonly http: HttpClient;
  readonly events: EventEmitter<FragalysisEvent>;
  /** The stack's base URL, without a trailing slash. */
  readonly baseUrl: string;
  /** Whether a token was configured. */
  readonly authenticated: boolean;
  /** Items per page when listing. */
  readonly pageSize: number;
  /** The one check of the token, shared by every call. */
  readonly session: Session;
}

/** Which credential a client sends: the `sessionid` cookie or an OIDC access token (issue 14: xca). */
export type CredentialKind = 'session' | 'access';

/** A credential's name in messages, with the variable that sets it (never its value). */
export function credentialName(kind: CredentialKind): string {
  return kind === 'access'
    ? 'access token (FRAGALYSIS_ACCESS_TOKEN)'
    : 'session token (FRAGALYSIS_TOKEN, the sessionid cookie)';
}

/** What to do about a token the stack does not take, for messages. */
export function tokenHint(baseUrl: string, kind: CredentialKind = 'session'): string {
  if (kind === 'access') {
    return `Get a fresh access token from the stack's Keycloak realm (they last minutes) and set FRAGALYSIS_ACCESS_TOKEN (or run \`sciport config set fragalysis.accessToken\`), or use a session token (FRAGALYSIS_TOKEN) instead`;
  }
  return `Log in at ${baseUrl}, copy a fresh token from ${baseUrl}/api/token/ and set FRAGALYSIS_TOKEN (or run \`sciport config set fragalysis.token\`)`;
}

/** What to do when a private proposal is out of reach of an anonymous caller (issue 15). */
export const ANONYMOUS_HINT =
  'Private proposals need a token: set FRAGALYSIS_TOKEN (the sessionid cookie, from <stack>/api/token/ while ' +
  'logged in) or FRAGALYSIS_ACCESS_TOKEN (an OIDC access token)';

/** What to do when the caller's user is not a member of a private proposal. */
const MEMBER_HINT =
  "The token's user is not a member of that proposal: `sciport fragalysis whoami` lists the proposals it can read";

/** Server answers that mean "anonymous" (spec §4.4, §4.5): the download view's `|anon|`, the task view's wording. */
const ANONYMOUS_REFUSAL = /"\|anon\|"|only authenticated users/i;
/** Server answers that mean "this user is not a member" (spec §4.4, §4.5). */
const MEMBER_REFUSAL = /is not a member of|not a member of the proposal/i;

/** A 403/404 about proposal access, with the hint that says what to do (the same class, message and fields). */
function accessHint(error: ApiError): ApiError {
  if ((error.status !== 403 && error.status !== 404) || error.hint !== undefined) return error;
  const said = `${error.detail ?? ''} ${error.body ?? ''}`;
  const hint = ANONYMOUS_REFUSAL.test(said)
    ? ANONYMOUS_HINT
    : MEMBER_REFUSAL.test(said)
      ? MEMBER_HINT
      : undefined;
  if (!hint) return error;
  return createApiError(
    {
      status: error.status,
      method: error.method,
      url: error.url,
      service: error.service,
      body: error.body,
      detail: error.detail,
      requestId: error.requestId,
      hint,
      cause: error,
    },
    error.message,
  );
}

/** The 403 details of a refused bearer header: Keycloak's verdict, or a malformed header (spec §11.2). */
const BEARER_REFUSED =
  /token verification failed|invalid "?bearer"? header|token (is )?(expired|invalid|not active)/i;

/**
 * A stale OIDC session shows as a redirect to the login host or, for XHR-style requests, a 403 carrying a
 * `refresh_url` (spec §3.1): both mean the session must be renewed.
 */
export function explain(baseUrl: string, error: unknown): unknown {
  // (`code`, not `AuthenticationError.isInstance`: the classes are alike in shape, so that narrows to never.)
  if (!ApiError.isInstance(error) || error.code === 'authentication_failed') return error;
  // issue 14: xca. Only a bearer header is refused this way (a bad session id is anonymous): spec §11.2.
  if (error.status === 403 && BEARER_REFUSED.test(error.detail ?? error.body ?? '')) {
    return new AuthenticationError(
      { status: 403, method: error.method, url: error.url, service: 'fragalysis', detail: error.detail },
      `Fragalysis refused the ${credentialName('access')}${error.detail ? `: ${error.detail}` : ''}. ${tokenHint(baseUrl, 'access')}`,
    );
  }
  const redirected = error.status >= 300 && error.status < 400;
  const refresh = error.status === 403 && /refresh_url/.test(error.body ?? '');
  if (redirected || refresh) {
    return new AuthenticationError(
      { status: error.status, method: error.method, url: error.url, service: 'fragalysis' },
      `Fragalysis ${redirected ? 'redirected to a login page on another host' : 'asked for a session refresh'}: ` +
        `the session behind the token needs renewal. ${tokenHint(baseUrl)}`,
    );
  }
  return accessHint(error);
}

/** A GET (or any call) whose JSON answer is parsed with `schema`, its errors explained. */
export async function getJson<S extends z.ZodType>(
  ctx: Context,
  path: string,
  schema: S,
  options: HttpRequestOptions = {},
): Promise<z.output<S>> {
  try {
    return await ctx.http.json(path, schema, options);
  } catch (error) {
    throw explain(ctx.baseUrl, error);
  }
}

/**
 * A URL the server handed out (a `next` page, a `task_status_url`), re-based on this stack: Django behind
 * nginx may name its internal host or scheme, and nothing (least of all the token) goes to another host.
 */
export function onStack(ctx: Context, url: string): string {
  const resolved = new URL(url, `${ctx.baseUrl}/`);
  return `${new URL(ctx.baseUrl).origin}${resolved.pathname}${resolved.search}`;
}
