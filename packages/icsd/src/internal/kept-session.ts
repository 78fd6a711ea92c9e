import { ApiError, type HttpClient, registerSecret } from '@sciport/core';
import {
  type IcsdKeptSession,
  type IcsdSessionKey,
  type IcsdTokenStore,
  KEPT_SESSION_MAX_AGE_MS,
  normalizeIcsdBaseUrl,
} from '../token-store.js';
import { bodyQuote, decodeText } from './decode.js';

/**
 * A client's side of a kept session (spec §14.6): it adopts the token a store keeps for its server and account
 * (after the `GET /cif/0` probe: 404 valid, 401 dead), keeps every token it obtains, and forgets dead ones.
 *
 * - A kept token 55 minutes old or more is not probed: the client logs in (and the new token replaces it).
 * - A token this client already held (it died, or was rotated away) is never adopted again: a relogin after a
 *   401 or a quota rotation logs in afresh. A different token (another process logged in meanwhile) is probed.
 * - A probe answered otherwise than 404 or 401 (403, 5xx after the retries, a timeout) says nothing about the
 *   token: the error goes to the caller and the token stays kept.
 */

export interface SessionKeeperOptions {
  store: IcsdTokenStore;
  baseUrl: string;
  username: string | undefined;
  now: () => number;
  /** A kept token this old is not reused (default `KEPT_SESSION_MAX_AGE_MS`, 55 minutes). */
  maxAgeMs?: number | undefined;
  /** Reports a store that cannot be read or written (the client goes on with a session of its own). */
  warn(message: string): void;
  /** Reports what happened to the kept session (never the token). */
  onKept(event: KeptSessionEvent): void;
}

export type KeptSessionEvent =
  | { action: 'reuse'; loginTime: number }
  | { action: 'keep'; loginTime: number }
  | { action: 'forget'; reason: 'unauthorized' | 'logout' };

/** The largest answer to the probe that is read (a short 404 or 401 text). */
const PROBE_BODY_LIMIT = 32 * 1024;

/** Whether a stored value has the shape of a kept session (a store on disk may hold anything). */
function isKeptSession(value: unknown): value is IcsdKeptSession {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.token === 'string' &&
    v.token.length > 0 &&
    typeof v.loginTime === 'number' &&
    Number.isFinite(v.loginTime) &&
    typeof v.baseUrl === 'string' &&
    typeof v.username === 'string'
  );
}

export class SessionKeeper {
  /** Tokens this client held: never adopted again. */
  private readonly held = new Set<string>();
  /** The token this client reused or stored, while it is the one kept. */
  private kept: string | undefined;
  readonly key: IcsdSessionKey | undefined;

  constructor(private readonly o: SessionKeeperOptions) {
    this.key = o.username ? { baseUrl: normalizeIcsdBaseUrl(o.baseUrl), username: o.username } : undefined;
  }

  /** Whether `token` is the session kept in the store (so that ending this client does not log it out). */
  isKept(token: string | undefined): boolean {
    return token !== undefined && token === this.kept;
  }

  /**
   * Whether `token` is still the kept session, in the store too (another process may have kept a newer one
   * since: then this one is nobody's and should be logged out). When the store cannot be read, assume it is.
   */
  async stillKept(token: string | undefined): Promise<boolean> {
    if (!this.isKept(token) || !this.key) return false;
    try {
      const value = await this.o.store.load(this.key);
      return value === undefined || value.token === token;
    } catch {
      return true;
    }
  }

  /** The session the store keeps for this server and account, if any (read errors are reported, not thrown). */
  async load(): Promise<IcsdKeptSession | undefined> {
    const key = this.key;
    if (!key) return undefined;
    let value: unknown;
    try {
      value = await this.o.store.load(key);
    } catch (error) {
      this.o.warn(`cannot read the kept ICSD session: ${(error as Error).message}`);
      return undefined;
    }
    if (!isKeptSession(value)) return undefined;
    registerSecret(value.token);
    // The store is keyed by both; a session for another server or account is never used, whatever it says.
    if (normalizeIcsdBaseUrl(value.baseUrl) !== key.baseUrl || value.username !== key.username)
      return undefined;
    return value;
  }

  /**
   * The kept token to use instead of a login, or `undefined` to log in. Probes it first (`http` carries no
   * credentials of its own).
   * @throws the probe's error when its answer says nothing about the token (the token stays kept).
   */
  async adopt(http: HttpClient, signal: AbortSignal | undefined): Promise<IcsdKeptSession | undefined> {
    const kept = await this.load();
    if (!kept) return undefined;
    if (this.held.has(kept.token)) {
      // The token this client just lost (a 401) or rotated away: dead or about to be.
      await this.forget(kept.token, 'unauthorized');
      return undefined;
    }
    const age = this.o.now() - kept.loginTime;
    // Too old (or from a clock far ahead): log in; the new token replaces it.
    const maxAge = this.o.maxAgeMs ?? KEPT_SESSION_MAX_AGE_MS;
    if (age >= maxAge || age < -KEPT_SESSION_MAX_AGE_MS) return undefined;
    const response = await http.withOptions({ maxBodyBytes: PROBE_BODY_LIMIT }).request('cif/0', {
      headers: { 'icsd-auth-token': kept.token, accept: 'text/plain' },
      acceptStatus: [401, 403, 404],
      signal,
    });
    response.release();
    if (response.status === 404 || response.status === 200) {
      this.held.add(kept.token);
      this.kept = kept.token;
      this.o.onKept({ action: 'reuse', loginTime: kept.loginTime });
      return kept;
    }
    if (response.status === 401) {
      await this.forget(kept.token, 'unauthorized');
      return undefined;
    }
    // 403: neither valid nor dead (spec §14.6). Not a PermissionDeniedError: that would read as a CIF quota.
    const body = bodyQuote(decodeText(response.bytes), response.headers.get('content-type'));
    throw new ApiError(
      {
        status: response.status,
        method: 'GET',
        url: response.url,
        service: 'icsd',
        detail: body || undefined,
        retryable: true,
      },
      `ICSD answered ${response.status} to the check of the kept session (GET /cif/0)${body ? `: ${body}` : ''}; ` +
        'the session is kept. Try again later, or end it with `sciport icsd logout`',
    );
  }

  /** Remembers a token this client obtained by logging in, and keeps it in the store. */
  async keep(token: string, loginTime: number): Promise<void> {
    this.held.add(token);
    const key = this.key;
    if (!key) return;
    try {
      await this.o.store.save({ ...key, token, loginTime });
      this.kept = token;
      this.o.onKept({ action: 'keep', loginTime });
    } catch (error) {
      this.kept = undefined;
      this.o.warn(`cannot keep the ICSD session: ${(error as Error).message}`);
    }
  }

  /** Forgets the kept session: `token` only while it is still the one kept, every one without it. */
  async forget(token: string | undefined, reason: 'unauthorized' | 'logout'): Promise<void> {
    if (token !== undefined) this.held.add(token);
    if (token === undefined || token === this.kept) this.kept = undefined;
    const key = this.key;
    if (!key) return;
    try {
      await this.o.store.clear(key, token);
      this.o.onKept({ action: 'forget', reason });
    } catch (error) {
      this.o.warn(`cannot forget the kept ICSD session: ${(error as Error).message}`);
    }
  }
}
