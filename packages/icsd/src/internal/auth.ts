import {
  type AuthContext,
  AuthenticationError,
  type HttpClient,
  MissingCredentialsError,
  redactUrl,
  registerSecret,
  type SessionAuth,
  type SessionToken,
  sessionAuth,
  throwIfAborted,
  UsageError,
} from '@sciport/core';
import { ICSD_SETTINGS } from '../credentials.js';
import { IcsdLoginRefusedError } from '../icsd-error.js';
import { expectedIcsdUrl, setIcsdUrl } from './base-url.js';
import { bodyQuote, decodeText } from './decode.js';
import type { SessionKeeper } from './kept-session.js';
import type { LoginLimiter } from './login-limiter.js';

/**
 * The ICSD login (spec §3): a form POST of `loginid` and `password` whose answer carries the token in the
 * `ICSD-Auth-Token` header, a GET logout, and the token sent as that header on every other request. Hooked into
 * core's HTTP client as a session auth strategy: it logs in lazily, shares one token, renews it, and logs in
 * again once on a 401; `http.authenticate()` logs in now (or, `fresh`, rotates the session).
 *
 * Every session it opens is closed: a login, once sent, is not abandoned by an abort (its token would stay live
 * on the server for an hour, holding one of the account's few slots, spec §3.5): it completes within the
 * request timeout and the session is logged out by `dispose`. A disposed client logs in no more (a request
 * still in flight that meets a 401 does not open a session behind the logout). Logins go through a limiter.
 *
 * With a keeper (a token store, spec §14.6) a kept token is adopted instead of a login, every new token is kept,
 * and `dispose` leaves the kept session live; the explicit `logout` ends it and forgets it.
 */

/** The largest login or logout answer read (they are a line of text; spec §3.1, §3.4). */
// (Not 64 KiB: core reads that size as its error-body limit, which truncates instead of refusing.)
const AUTH_BODY_LIMIT = 32 * 1024;

export interface IcsdAuthOptions {
  baseUrl: string;
  username: string | undefined;
  password: string | undefined;
  /** Token lifetime from login. */
  lifetimeMs: number;
  /** Reports a warning (a login over plain http). */
  warn(message: string): void;
  /** Bounds the logins per minute. */
  limiter: LoginLimiter;
  /** True once the client is disposed: no login is made any more. */
  isClosed(): boolean;
  /** Timeout of the logout request. */
  logoutTimeoutMs: number;
  /** Keeps the session across clients (spec §14.6): adopts a kept token, keeps new ones, forgets dead ones. */
  keeper?: SessionKeeper | undefined;
  /** Told when each session began, before it is used (a reused session began in an earlier run). */
  onSession?: ((info: { loginTime: number; reused: boolean }) => void) | undefined;
  /** The clock (ms since the epoch). */
  now?: (() => number) | undefined;
}

/** What `IcsdClient.logout()` did: the sessions it ended and how the service answered. */
export interface IcsdLogoutResult {
  /**
   * Sessions logged out and forgotten: the one the client held and, with a token store, the one kept there.
   * 0 when there was nothing to log out of.
   */
  sessions: number;
  /** Answered 200: ended. */
  ended: number;
  /** Answered 401: the token had died already (expired, or ended elsewhere). Forgotten all the same. */
  expired: number;
  /** Any other answer, or none: the token may live on until it expires (an hour at most). Forgotten all the same. */
  failed: number;
}

/** The ICSD session strategy, with the explicit logout that also ends a kept session. */
export interface IcsdAuth extends SessionAuth {
  /** Logs out the session held and the kept one, and forgets the kept one whatever the service answers. */
  logout(ctx: AuthContext): Promise<IcsdLogoutResult>;
}

export function icsdAuth(options: IcsdAuthOptions): IcsdAuth {
  const { keeper } = options;
  const now = options.now ?? Date.now;
  const checkOpen = () => {
    if (options.isClosed()) {
      throw new UsageError('This ICSD client was disposed (logged out); create a new one to go on');
    }
  };
  /** Logins (and probes) under way: a logout waits for them, so that no token is left behind. */
  const logins = new Set<Promise<unknown>>();
  /** The token of the last session obtained (held while `inner.loggedIn`). */
  let lastToken: string | undefined;
  const settled = () => Promise.allSettled([...logins]);

  const obtain = async (ctx: AuthContext): Promise<SessionToken> => {
    checkOpen();
    if (keeper) {
      const kept = await keeper.adopt(ctx.http, ctx.signal);
      if (kept) {
        lastToken = kept.token;
        options.onSession?.({ loginTime: kept.loginTime, reused: true });
        return { token: kept.token, expiresAt: kept.loginTime + options.lifetimeMs };
      }
    }
    await options.limiter.take(ctx.signal);
    checkOpen();
    throwIfAborted(ctx.signal);
    const started = now();
    // Not tied to the caller's signal: once sent, the login is seen through (bounded by the request timeout),
    // so that its token is known and `dispose` can log it out (or the store keeps it).
    const token = await login(ctx.http, options);
    registerSecret(token);
    lastToken = token;
    if (keeper) await keeper.keep(token, started);
    options.onSession?.({ loginTime: started, reused: false });
    return { token, expiresAt: started + options.lifetimeMs };
  };

  const inner = sessionAuth({
    login: (ctx) => {
      const run = obtain(ctx);
      logins.add(run);
      void run
        .finally(() => {
          logins.delete(run);
        })
        .catch(() => undefined);
      return run;
    },
    logout: async (ctx, token) => {
      // A rotation (quota, expiry) or the end of a client that keeps no session.
      const answer = await endSession(ctx.http, token, options.logoutTimeoutMs);
      if (keeper) await keeper.forget(token, 'logout');
      if (answer === 'expired') throw new Error('the session had already ended (401)');
    },
    apply: (headers, token) => headers.set('ICSD-Auth-Token', token),
    // The session manager renews first (5 minutes before); this is the safety net.
    renewBeforeMs: 60_000,
    now,
  });

  return {
    kind: inner.kind,
    get loggedIn() {
      return inner.loggedIn;
    },
    authenticate: (ctx, fresh) => inner.authenticate(ctx, fresh),
    apply: (request, ctx) => inner.apply(request, ctx),
    refresh: async (response, generation, ctx) => (await inner.refresh?.(response, generation, ctx)) ?? false,
    invalidate: () => inner.invalidate(),
    async dispose(ctx) {
      await settled();
      // A kept session outlives the client: only an explicit logout ends it (spec §14.6).
      if (keeper && inner.loggedIn && (await keeper.stillKept(lastToken))) {
        inner.invalidate();
        return;
      }
      await inner.dispose(ctx);
    },
    async logout(ctx) {
      await settled();
      const tokens: string[] = [];
      if (inner.loggedIn && lastToken) tokens.push(lastToken);
      inner.invalidate();
      const kept = keeper ? await keeper.load() : undefined;
      if (kept && !tokens.includes(kept.token)) tokens.push(kept.token);
      const result: IcsdLogoutResult = { sessions: tokens.length, ended: 0, expired: 0, failed: 0 };
      for (const token of tokens) {
        try {
          const answer = await endSession(ctx.http, token, options.logoutTimeoutMs);
          result[answer] += 1;
          ctx.emit({
            type: 'auth',
            action: 'logout',
            ok: answer === 'ended',
            ...(answer === 'expired' ? { detail: 'the session had already ended (401)' } : {}),
          });
        } catch (error) {
          result.failed += 1;
          ctx.emit({ type: 'auth', action: 'logout', ok: false, detail: (error as Error).message });
        }
      }
      // Forgotten whatever the service answered: a token it refuses is of no use, one it did not confirm
      // dies within the hour.
      if (keeper && tokens.length > 0) await keeper.forget(undefined, 'logout');
      return result;
    },
  };
}

/** `GET /auth/logout` (spec §3.4): 'ended' on 200, 'expired' on 401; anything else throws. */
async function endSession(http: HttpClient, token: string, timeoutMs: number): Promise<'ended' | 'expired'> {
  const response = await http.withOptions({ maxBodyBytes: AUTH_BODY_LIMIT }).request('auth/logout', {
    headers: { 'icsd-auth-token': token, accept: 'text/plain' },
    maxRetries: 1,
    timeout: timeoutMs,
    acceptStatus: [401],
  });
  response.release();
  return response.status === 401 ? 'expired' : 'ended';
}

async function login(http: HttpClient, options: IcsdAuthOptions): Promise<string> {
  const { username, password, baseUrl } = options;
  if (!username || !password) {
    const { username: user, password: pass } = ICSD_SETTINGS;
    throw new MissingCredentialsError('No ICSD username and password', {
      hint: `Set ${user.env} and ${pass.env}, or run \`sciport config set ${user.configKey}\` and \`sciport config set ${pass.configKey}\``,
    });
  }
  const base = new URL(baseUrl);
  if (base.protocol === 'http:' && !/^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(base.hostname)) {
    options.warn(`logging in to ${base.host} over plain http: the password travels unencrypted`);
  }
  // The form carries the password: it follows a redirect on the same host only (spec §1).
  const response = await http
    .withOptions({ crossOriginRedirects: 'error', maxBodyBytes: AUTH_BODY_LIMIT })
    .request('auth/login', {
      method: 'POST',
      form: { loginid: username, password },
      headers: { accept: 'text/plain' },
      // Sending the form again after a 503 or a reset is harmless.
      idempotent: true,
      // How a refusal looks is unknown (spec §3.1): every 4xx is the login's answer (408 and 429 are retried).
      acceptStatus: (status) => status >= 400 && status < 500 && status !== 408 && status !== 429,
    });
  // Success iff 200 and a non-empty token header (spec §3.1), whatever the body says.
  const token = response.headers.get('icsd-auth-token')?.trim();
  if (response.status === 200 && token) return token;
  const body = bodyQuote(decodeText(response.bytes), response.headers.get('content-type'));
  const init = {
    status: response.status,
    method: 'POST',
    url: response.url,
    service: 'icsd',
    detail: body || undefined,
    retryable: false,
  };
  if (response.status === 403) {
    throw new IcsdLoginRefusedError(
      init,
      `ICSD refused the login (403${body ? `: ${body}` : ''}): all of the account's sessions seem to be in use. ` +
        'Log out elsewhere (`sciport icsd logout` ends the session sciport keeps), or wait for them to expire ' +
        '(up to an hour)',
    );
  }
  const expected = expectedIcsdUrl(baseUrl);
  const where =
    response.status === 404 || response.status === 405
      ? expected
        ? `; ${redactUrl(baseUrl)} lacks the API path /ws. ${setIcsdUrl(expected)}`
        : `; is ${redactUrl(baseUrl)} the API base (…/ws or …/api/ws)?`
      : '';
  throw new AuthenticationError(
    init,
    `ICSD login failed (${response.status}${body ? `: ${body}` : ''}${response.status === 200 ? '; no token in the answer' : ''})${where}`,
  );
}
