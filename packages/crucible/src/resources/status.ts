import { isAbortLike, type RequestOptions, requestOptions } from '@sciport/core';
import type { Context } from '../internal/context.js';
import { healthSchema } from '../schemas/basics.js';
import { Users } from './users.js';

/** One check of `client.status()`. */
export interface CrucibleStatusCheck {
  ok: boolean;
  /** The HTTP status of the answer; `null` when there was none (no connection, no key). */
  httpStatus: number | null;
  /** Why the check failed, when it did. */
  error?: string;
}

/** What `client.status()` found (spec §19.7): the service's liveness and readiness, and whether the key works. */
export interface CrucibleStatus {
  /** True only when all three checks are. */
  ok: boolean;
  apiUrl: string;
  /** `GET /health/live` (no key): ok when the body is `{"status": "ok"}`. */
  live: CrucibleStatusCheck & { status: string | null };
  /**
   * `GET /health/ready` (no key), read whatever the HTTP status: ok when `status` and `db` are `ok`.
   * `available` is false when the body has no `db` (the server has no health endpoint).
   */
  ready: CrucibleStatusCheck & {
    available: boolean;
    status: string | null;
    db: string | null;
    dbMs: number | null;
    version: string | null;
  };
  /** `GET /account` (with the key): ok on a 2xx; `user` names the account. */
  key: CrucibleStatusCheck & { user: string | null; userId: string | null };
}

const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** A health answer, whatever its status: the parsed body, or why there is none. */
async function health(
  ctx: Context,
  path: string,
  options: RequestOptions,
): Promise<{ httpStatus: number | null; body: Record<string, unknown> | null; error?: string }> {
  try {
    const response = await ctx.http.request(path, {
      ...requestOptions(options),
      auth: false,
      acceptStatus: () => true,
      // A degraded answer (often a 503) is the answer: read it, do not retry it.
      retryStatuses: [],
    });
    let parsed: unknown;
    try {
      parsed = response.json();
    } catch {
      return { httpStatus: response.status, body: null, error: `not JSON (HTTP ${response.status})` };
    }
    const body = healthSchema.safeParse(parsed);
    return body.success
      ? { httpStatus: response.status, body: body.data }
      : { httpStatus: response.status, body: null, error: `not a health answer (HTTP ${response.status})` };
  } catch (error) {
    if (isAbortLike(error)) throw error;
    return { httpStatus: null, body: null, error: describe(error) };
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The three checks of spec §19.7, in order: live and ready without the key, then `/account` with it. */
export async function serviceStatus(ctx: Context, options: RequestOptions = {}): Promise<CrucibleStatus> {
  const liveAnswer = await health(ctx, 'health/live', options);
  const liveStatus = text(liveAnswer.body?.status);
  const live = {
    ok: liveStatus === 'ok',
    httpStatus: liveAnswer.httpStatus,
    status: liveStatus,
    ...(liveStatus === 'ok'
      ? {}
      : { error: liveAnswer.error ?? `live answered status ${JSON.stringify(liveStatus)}` }),
  };

  const readyAnswer = await health(ctx, 'health/ready', options);
  const b = readyAnswer.body;
  const available = b !== null && b.db !== undefined;
  const ready = {
    available,
    httpStatus: readyAnswer.httpStatus,
    status: text(b?.status),
    db: text(b?.db),
    dbMs: typeof b?.db_ms === 'number' ? b.db_ms : null,
    version: text(b?.version),
  };
  const readyOk = available && ready.status === 'ok' && ready.db === 'ok';
  const readyCheck = {
    ok: readyOk,
    ...ready,
    ...(readyOk
      ? {}
      : {
          error: !available
            ? `health not available${readyAnswer.error ? ` (${readyAnswer.error})` : ` (HTTP ${readyAnswer.httpStatus})`}`
            : `status ${ready.status ?? 'unknown'}, database ${ready.db ?? 'unknown'}`,
        }),
  };

  let key: CrucibleStatus['key'];
  try {
    const account = await new Users(ctx).me(options);
    const user = account.userInfo;
    const name = user ? [user.firstName, user.lastName].filter(Boolean).join(' ') : '';
    const userId = account.userUniqueId ?? user?.uniqueId ?? user?.orcid ?? account.accessGroupName ?? null;
    key = { ok: true, httpStatus: 200, user: name || user?.username || null, userId };
  } catch (error) {
    if (isAbortLike(error)) throw error;
    const status = (error as { status?: unknown }).status;
    key = {
      ok: false,
      httpStatus: typeof status === 'number' && status > 0 ? status : null,
      user: null,
      userId: null,
      error: describe(error),
    };
  }
  return { ok: live.ok && readyCheck.ok && key.ok, apiUrl: ctx.baseUrl, live, ready: readyCheck, key };
}
