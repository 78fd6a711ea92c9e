import { AuthenticationError, SciportError } from '../errors.js';
import { registerSecret } from '../redact.js';
import type { AuthContext, AuthRequest, AuthResponseInfo, AuthStrategy } from './types.js';

/**
 * Auth strategies. Each is hooked into the request path of `createHttpClient`, which only ever calls
 * `apply` for requests bound to the client's own origin: credentials never reach a signed storage URL or a
 * host a redirect points to.
 */

/** Sends a fixed header with every request (a token header, an API key). */
export function headerAuth(name: string, value: string): AuthStrategy {
  registerSecret(value);
  return {
    kind: 'header',
    apply(request: AuthRequest) {
      request.headers.set(name, value);
    },
  };
}

/** `Authorization: Bearer <token>`. */
export function bearerAuth(token: string): AuthStrategy {
  registerSecret(token);
  const strategy = headerAuth('authorization', `Bearer ${token}`);
  return { ...strategy, kind: 'bearer' };
}

export interface CookieCsrfAuthOptions {
  /** Cookies to send (e.g. `{ sessionid: token }`); empty for anonymous use. */
  cookies?: Readonly<Record<string, string>>;
  csrf?: {
    /** Cookie holding the CSRF token (default `csrftoken`). */
    cookieName?: string;
    /** Header echoing it on unsafe methods (default `X-CSRFToken`). */
    headerName?: string;
    /** A page that sets the CSRF cookie, fetched once before the first unsafe request. */
    bootstrapPath: string;
    /** Send `Referer: <origin><bootstrapPath>` on unsafe methods (Django over HTTPS checks it). Default true. */
    referer?: boolean;
    /**
     * The session cookie that makes CSRF necessary (Django checks CSRF only on requests its session cookie
     * authenticates). While it is not held, writes go without fetching the bootstrap page first; a 403 naming
     * CSRF still bootstraps and retries once. Default: CSRF before every first write.
     */
    sessionCookie?: string;
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * A session cookie plus CSRF protection for writes, as Django serves it: cookies go with every request to
 * the own origin; before the first POST/PUT/PATCH/DELETE the CSRF cookie is fetched once from a bootstrap
 * page, then echoed in a header. Cookies the origin sets later (a rotated CSRF token) are kept. A 403 that
 * names CSRF triggers one fresh bootstrap and one retry.
 */
export function cookieCsrfAuth(options: CookieCsrfAuthOptions = {}): AuthStrategy & {
  /** The cookies currently held (values are secrets: do not print them). */
  cookies(): ReadonlyMap<string, string>;
} {
  const jar = new Map<string, string>(Object.entries(options.cookies ?? {}));
  // The user's own cookies (a session copied from the browser) are credentials: never forgotten.
  for (const v of jar.values()) registerSecret(v);
  const own = new Set(jar.keys());
  const csrf = options.csrf;
  const csrfCookie = csrf?.cookieName ?? 'csrftoken';
  const sessionCookie = csrf?.sessionCookie;
  const csrfHeader = csrf?.headerName ?? 'X-CSRFToken';
  let bootstrapping: Promise<void> | undefined;

  const capture = (headers: Headers) => {
    const lines = headers.getSetCookie();
    for (const line of lines.length > MAX_SET_COOKIE_LINES ? lines.slice(0, MAX_SET_COOKIE_LINES) : lines) {
      if (line.length > MAX_COOKIE_BYTES) continue;
      const parsed = parseSetCookie(line);
      if (!parsed) continue;
      if (parsed.expired) {
        jar.delete(parsed.name);
        continue;
      }
      // A bounded jar: new names beyond the limit are dropped, never the cookies already held (a flood of
      // cookies must not push out the session).
      if (!jar.has(parsed.name) && jar.size >= MAX_COOKIES) continue;
      // The session and CSRF cookies carry the user's rights; anything else the server sets is transient.
      const kept = own.has(parsed.name) || parsed.name === csrfCookie || parsed.name === sessionCookie;
      registerSecret(parsed.value, { transient: !kept });
      jar.set(parsed.name, parsed.value);
    }
  };

  const bootstrap = async (ctx: AuthContext): Promise<void> => {
    if (!csrf) return;
    if (!bootstrapping) {
      bootstrapping = (async () => {
        const response = await ctx.http.request(csrf.bootstrapPath, {
          headers: { cookie: cookieHeader(jar), accept: 'text/html' },
          signal: ctx.signal,
        });
        capture(response.headers);
        const ok = jar.has(csrfCookie);
        ctx.emit({ type: 'auth', action: 'csrf', ok });
        if (!ok) {
          throw new SciportError(
            `${ctx.http.service}: ${csrf.bootstrapPath} did not set the ${csrfCookie} cookie needed for writes`,
          );
        }
      })().finally(() => {
        bootstrapping = undefined;
      });
    }
    await bootstrapping;
  };

  return {
    kind: 'cookie-csrf',
    cookies: () => jar,
    async apply(request: AuthRequest, ctx: AuthContext) {
      const needed = csrf && (csrf.sessionCookie === undefined || jar.has(csrf.sessionCookie));
      if (needed && !SAFE_METHODS.has(request.method) && !jar.has(csrfCookie)) await bootstrap(ctx);
      if (jar.size > 0) request.headers.set('cookie', cookieHeader(jar));
      if (csrf && !SAFE_METHODS.has(request.method)) {
        const token = jar.get(csrfCookie);
        if (token) request.headers.set(csrfHeader, token);
        if (csrf.referer !== false) request.headers.set('referer', ctx.http.url(csrf.bootstrapPath).href);
      }
      return jar.get(csrfCookie);
    },
    observe(response: AuthResponseInfo) {
      capture(response.headers);
    },
    async refresh(response: AuthResponseInfo, generation: unknown, ctx: AuthContext) {
      if (!csrf || response.status !== 403 || !/csrf/i.test(response.text ?? '')) return false;
      if (jar.get(csrfCookie) === generation) jar.delete(csrfCookie);
      await bootstrap(ctx);
      return true;
    },
  };
}

/** At most this many cookies are held per client (RFC 6265 asks for at least 50 per domain). */
export const MAX_COOKIES = 50;
/** A Set-Cookie line longer than this is ignored (RFC 6265 asks for at least 4096 bytes per cookie). */
export const MAX_COOKIE_BYTES = 4096;
/** Set-Cookie lines past this many in one response are ignored. */
const MAX_SET_COOKIE_LINES = 200;

function cookieHeader(jar: ReadonlyMap<string, string>): string {
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}

/** Parses the `name=value` of a Set-Cookie line and whether it deletes the cookie. */
export function parseSetCookie(line: string): { name: string; value: string; expired: boolean } | undefined {
  const [pair, ...attrs] = line.split(';');
  if (!pair) return undefined;
  const eq = pair.indexOf('=');
  if (eq <= 0) return undefined;
  const name = pair.slice(0, eq).trim();
  let value = pair.slice(eq + 1).trim();
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
  let expired = value === '';
  for (const attr of attrs) {
    const [k, v] = attr.split('=').map((s) => s.trim());
    if (k?.toLowerCase() === 'max-age' && v !== undefined && Number(v) <= 0) expired = true;
    if (k?.toLowerCase() === 'expires' && v !== undefined) {
      const t = Date.parse(v);
      if (!Number.isNaN(t) && t <= Date.now()) expired = true;
    }
  }
  return { name, value, expired };
}

export interface SessionToken {
  token: string;
  /** When the token stops working (ms since epoch), if known. */
  expiresAt?: number | undefined;
}

export interface SessionAuthOptions {
  /** Logs in and returns a token. Called lazily, once at a time. Use `ctx.http` (it carries no credentials). */
  login(ctx: AuthContext): Promise<SessionToken>;
  /** Ends a session. Errors are reported as events and otherwise ignored. */
  logout?(ctx: AuthContext, token: string): Promise<void>;
  /** Puts the token on a request (e.g. `headers.set('ICSD-Auth-Token', token)`). */
  apply(headers: Headers, token: string): void;
  /** Renew this long before `expiresAt` (default 5 minutes). */
  renewBeforeMs?: number;
  /** Log out the old token before logging in again when renewing (default true: for accounts limited to one session). */
  logoutBeforeRenew?: boolean;
  /** Clock, for tests. */
  now?: () => number;
}

export interface SessionAuth extends AuthStrategy {
  /** Whether a token is held now. */
  readonly loggedIn: boolean;
  /**
   * Logs in now if no token is held (normally lazy); with `fresh`, logs out and in again (a per-session quota
   * spent). Called through `HttpClient.authenticate`.
   */
  authenticate(ctx: AuthContext, fresh: boolean): Promise<void>;
  /** Forgets the token without a logout call (it is known dead). */
  invalidate(): void;
  dispose(ctx: AuthContext): Promise<void>;
}

/**
 * A login session: logs in lazily on the first request, shares one token among all concurrent requests,
 * renews it before it expires, logs in again once when the server answers 401 (one re-login for any number
 * of requests that failed together), and logs out on dispose.
 */
export function sessionAuth(options: SessionAuthOptions): SessionAuth {
  const now = options.now ?? Date.now;
  const renewBefore = options.renewBeforeMs ?? 5 * 60_000;
  let current: (SessionToken & { generation: number }) | undefined;
  let generation = 0;
  let pending: Promise<SessionToken & { generation: number }> | undefined;

  const doLogout = async (ctx: AuthContext, token: string) => {
    if (!options.logout) return;
    try {
      await options.logout(ctx, token);
      ctx.emit({ type: 'auth', action: 'logout', ok: true });
    } catch (error) {
      ctx.emit({ type: 'auth', action: 'logout', ok: false, detail: (error as Error).message });
    }
  };

  const login = (ctx: AuthContext, action: 'login' | 'relogin' | 'renew', previous?: string) => {
    if (!pending) {
      pending = (async () => {
        if (previous && action === 'renew' && options.logoutBeforeRenew !== false)
          await doLogout(ctx, previous);
        try {
          const session = await options.login(ctx);
          if (!session.token) {
            throw new AuthenticationError({
              status: 200,
              method: 'POST',
              url: ctx.http.baseUrl,
              service: ctx.http.service,
              detail: 'the login answer carried no token',
            });
          }
          registerSecret(session.token);
          generation += 1;
          current = { ...session, generation };
          ctx.emit({ type: 'auth', action, ok: true });
          return current;
        } catch (error) {
          current = undefined;
          ctx.emit({ type: 'auth', action, ok: false, detail: (error as Error).message });
          throw error;
        }
      })().finally(() => {
        pending = undefined;
      });
    }
    return pending;
  };

  const rotate = async (ctx: AuthContext) => {
    if (pending) await pending.catch(() => undefined);
    const old = current;
    current = undefined;
    if (old) await doLogout(ctx, old.token);
    await login(ctx, 'login');
  };

  const valid = () =>
    current !== undefined && (current.expiresAt === undefined || now() < current.expiresAt - renewBefore);

  const obtain = async (ctx: AuthContext) => {
    if (pending) return pending;
    if (valid() && current) return current;
    if (current) return login(ctx, 'renew', current.token);
    return login(ctx, 'login');
  };

  return {
    kind: 'session',
    get loggedIn() {
      return current !== undefined;
    },
    async authenticate(ctx, fresh) {
      if (fresh) await rotate(ctx);
      else await obtain(ctx);
    },
    async apply(request: AuthRequest, ctx: AuthContext) {
      const session = await obtain(ctx);
      options.apply(request.headers, session.token);
      return session.generation;
    },
    async refresh(response: AuthResponseInfo, failedGeneration: unknown, ctx: AuthContext) {
      if (response.status !== 401) return false;
      // Another request already logged in again after this one was sent: just retry with the new token.
      if (pending) {
        await pending;
        return true;
      }
      if (current && current.generation !== failedGeneration) return true;
      current = undefined;
      await login(ctx, 'relogin');
      return true;
    },

    invalidate() {
      current = undefined;
    },
    async dispose(ctx: AuthContext) {
      if (pending) await pending.catch(() => undefined);
      const old = current;
      current = undefined;
      if (old) await doLogout(ctx, old.token);
    },
  };
}
