import { createHash } from 'node:crypto';
import { registerSecret } from '@sciport/core';
import { ConfigStore, type Environment } from '@sciport/core/node';
import {
  type IcsdKeptSession,
  type IcsdSessionKey,
  type IcsdTokenStore,
  normalizeIcsdBaseUrl,
  sessionKeyString,
} from '../token-store.js';

/**
 * Kept ICSD sessions in sciport's credentials file (`credentials.json`, mode 0600, in a folder made 0700: the
 * store `sciport config` uses). One entry per server and account, under a key derived from both
 * (`icsd.sessions.<hash>.token`), holding the token, its login time, the server and the account; an entry is
 * only ever handed back for the server and account it was stored for.
 */

export interface ConfigTokenStoreOptions {
  /** The store to use (default: one in `configDir(env)`). */
  store?: ConfigStore | undefined;
  /** Environment that locates the folder when no store is given (default `process.env`). */
  env?: Environment | undefined;
}

/** The config key of a server and account's kept session. Its last segment makes it a secret (credentials file). */
export function keptSessionKey(key: IcsdSessionKey): string {
  const digest = createHash('sha256').update(sessionKeyString(key)).digest('hex').slice(0, 32);
  return `icsd.sessions.${digest}.token`;
}

function parse(text: string | undefined, key: IcsdSessionKey): IcsdKeptSession | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.token !== 'string' || v.token === '' || typeof v.loginTime !== 'number') return undefined;
  registerSecret(v.token);
  if (typeof v.baseUrl !== 'string' || typeof v.username !== 'string') return undefined;
  if (normalizeIcsdBaseUrl(v.baseUrl) !== normalizeIcsdBaseUrl(key.baseUrl) || v.username !== key.username) {
    return undefined;
  }
  return { token: v.token, loginTime: v.loginTime, baseUrl: v.baseUrl, username: v.username };
}

/** A token store over sciport's credentials file (see the module comment). */
export function configTokenStore(options: ConfigTokenStoreOptions = {}): IcsdTokenStore {
  const store = options.store ?? new ConfigStore({ env: options.env ?? process.env });
  return {
    async load(key) {
      return parse(await store.get(keptSessionKey(key)), key);
    },
    async save(session) {
      registerSecret(session.token);
      const record = {
        token: session.token,
        loginTime: session.loginTime,
        baseUrl: normalizeIcsdBaseUrl(session.baseUrl),
        username: session.username,
      };
      await store.set(keptSessionKey(session), JSON.stringify(record));
    },
    async clear(key, token) {
      const name = keptSessionKey(key);
      if (token !== undefined) {
        const kept = parse(await store.get(name), key);
        if (kept && kept.token !== token) return;
      }
      await store.unset(name);
    },
  };
}
