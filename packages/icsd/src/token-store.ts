/**
 * Keeping an ICSD session across clients and processes (spec §14.6): a token store holds the token of one
 * account on one server, with its login time. Browser-safe: the store is an interface; the Node entry point has
 * one over sciport's credentials file (`configTokenStore`), and `memoryTokenStore` keeps tokens in memory.
 */

/** Which account on which server a kept session belongs to. A token is never used for another. */
export interface IcsdSessionKey {
  /** The API base URL, normalised (`normalizeIcsdBaseUrl`). */
  readonly baseUrl: string;
  readonly username: string;
}

/** A kept session. `token` is a secret: never print or log it. */
export interface IcsdKeptSession extends IcsdSessionKey {
  readonly token: string;
  /** When the token was obtained (ms since the epoch): it is treated as expired 55 minutes later. */
  readonly loginTime: number;
}

/**
 * Where a client keeps its session between runs. Every method is async and keyed by server and account;
 * `clear` with a token forgets the kept session only while it is still that token (another process may have
 * stored a newer one).
 */
export interface IcsdTokenStore {
  load(key: IcsdSessionKey): Promise<IcsdKeptSession | undefined>;
  save(session: IcsdKeptSession): Promise<void>;
  clear(key: IcsdSessionKey, token?: string): Promise<void>;
}

/** A kept token is not reused (nor probed) this long after its login: tokens live an hour (spec §3.3). */
export const KEPT_SESSION_MAX_AGE_MS = 55 * 60_000;

/** The form of a base URL sessions are keyed by: parsed, without a trailing slash or a fragment. */
export function normalizeIcsdBaseUrl(baseUrl: string): string {
  const url = new URL(baseUrl);
  url.hash = '';
  return url.href.replace(/\/+$/, '');
}

/** The store's key for an account on a server. */
export function sessionKeyString(key: IcsdSessionKey): string {
  return `${normalizeIcsdBaseUrl(key.baseUrl)}\n${key.username}`;
}

/** A token store in memory (one process; for tests, or a browser page that keeps its client anyway). */
export function memoryTokenStore(): IcsdTokenStore {
  const kept = new Map<string, IcsdKeptSession>();
  return {
    async load(key) {
      return kept.get(sessionKeyString(key));
    },
    async save(session) {
      kept.set(sessionKeyString(session), { ...session });
    },
    async clear(key, token) {
      const id = sessionKeyString(key);
      if (token === undefined || kept.get(id)?.token === token) kept.delete(id);
    },
  };
}
