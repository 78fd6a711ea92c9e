import {
  AuthenticationError,
  type HttpClient,
  MissingCredentialsError,
  redactUrl,
  type SessionAuth,
  sessionAuth,
  throwIfAborted,
  UsageError,
} from '@sciport/core';
import { ICSD_SETTINGS } from '../credentials.js';
import { IcsdLoginRefusedError } from '../icsd-error.js';
import { bodyQuote, decodeText } from './decode.js';
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
}

export function icsdAuth(options: IcsdAuthOptions): SessionAuth {
  const checkOpen = () => {
    if (options.isClosed()) {
      throw new UsageError('This ICSD client was disposed (logged out); create a new one to go on');
    }
  };
  return sessionAuth({
    login: async (ctx) => {
      checkOpen();
      await options.limiter.take(ctx.signal);
      checkOpen();
      throwIfAborted(ctx.signal);
      const started = Date.now();
      // Not tied to the caller's signal: once sent, the login is seen through (bounded by the request timeout),
      // so that its token is known and `dispose` can log it out.
      const token = await login(ctx.http, options);
      return { token, expiresAt: started + options.lifetimeMs };
    },
    logout: async (ctx, token) => {
      const response = await ctx.http.withOptions({ maxBodyBytes: AUTH_BODY_LIMIT }).request('auth/logout', {
        headers: { 'icsd-auth-token': token, accept: 'text/plain' },
        maxRetries: 1,
        timeout: options.logoutTimeoutMs,
      });
      response.release();
    },
    apply: (headers, token) => headers.set('ICSD-Auth-Token', token),
    // The session manager renews first (5 minutes before); this is the safety net.
    renewBeforeMs: 60_000,
  });
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
      `ICSD refused the login (403${body ? `: ${body}` : ''}). The account may have too many open sessions: ` +
        'close them, or wait for their tokens to expire (up to an hour)',
    );
  }
  const where =
    response.status === 404 || response.status === 405
      ? `; is ${redactUrl(baseUrl)} the API base (…/ws or …/api/ws)?`
      : '';
  throw new AuthenticationError(
    init,
    `ICSD login failed (${response.status}${body ? `: ${body}` : ''}${response.status === 200 ? '; no token in the answer' : ''})${where}`,
  );
}
