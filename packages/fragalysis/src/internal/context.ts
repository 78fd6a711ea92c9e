import {
  ApiError,
  AuthenticationError,
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

/** What to do about a token the stack does not take, for messages. */
export function tokenHint(baseUrl: string): string {
  return `Log in at ${baseUrl}, copy a fresh token from ${baseUrl}/api/token/ and set FRAGALYSIS_TOKEN (or run \`sciport config set fragalysis.token\`)`;
}

/**
 * A stale OIDC session shows as a redirect to the login host or, for XHR-style requests, a 403 carrying a
 * `refresh_url` (spec §3.1): both mean the session must be renewed.
 */
export function explain(baseUrl: string, error: unknown): unknown {
  // (`code`, not `AuthenticationError.isInstance`: the classes are alike in shape, so that narrows to never.)
  if (!ApiError.isInstance(error) || error.code === 'authentication_failed') return error;
  const redirected = error.status >= 300 && error.status < 400;
  const refresh = error.status === 403 && /refresh_url/.test(error.body ?? '');
  if (redirected || refresh) {
    return new AuthenticationError(
      { status: error.status, method: error.method, url: error.url, service: 'fragalysis' },
      `Fragalysis ${redirected ? 'redirected to a login page on another host' : 'asked for a session refresh'}: ` +
        `the session behind the token needs renewal. ${tokenHint(baseUrl)}`,
    );
  }
  return error;
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
