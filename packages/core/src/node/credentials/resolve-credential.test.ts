import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MissingCredentialsError } from '../../errors.js';
import { redactText } from '../../redact.js';
import { ConfigStore } from './config-store.js';
import { requireCredential, resolveCredential } from './resolve-credential.js';

let dir: string;
let store: ConfigStore;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sciport-cred-'));
  store = new ConfigStore({ dir, onWarning: () => undefined });
  await store.set('icsd.password', 'from-config-file');
  await store.set('icsd.username', 'config-user');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('resolveCredential', () => {
  const base = { env: ['ICSD_PASSWORD', 'ICSD_PASS'], configKey: 'icsd.password' } as const;

  it('prefers the explicit value', async () => {
    const found = await resolveCredential({
      ...base,
      value: 'from-option',
      store,
      environment: { ICSD_PASSWORD: 'from-env' },
    });
    expect(found).toEqual({ value: 'from-option', source: 'option' });
  });

  it('then the first set environment variable, in order', async () => {
    expect(
      await resolveCredential({
        ...base,
        store,
        environment: { ICSD_PASSWORD: 'first', ICSD_PASS: 'second' },
      }),
    ).toEqual({ value: 'first', source: 'env' });
    expect(
      await resolveCredential({
        ...base,
        value: '',
        store,
        environment: { ICSD_PASSWORD: '', ICSD_PASS: 'second' },
      }),
    ).toEqual({ value: 'second', source: 'env' });
  });

  it('then the config file', async () => {
    expect(await resolveCredential({ ...base, value: undefined, store, environment: {} })).toEqual({
      value: 'from-config-file',
      source: 'config',
    });
  });

  it('finds the store from the environment when none is given', async () => {
    expect(
      await resolveCredential({ configKey: 'icsd.username', environment: { SCIPORT_CONFIG_DIR: dir } }),
    ).toEqual({ value: 'config-user', source: 'config' });
  });

  it('returns undefined when nothing is set', async () => {
    expect(
      await resolveCredential({ env: 'NOPE_TOKEN', configKey: 'nope.token', store, environment: {} }),
    ).toBe(undefined);
  });

  it('registers secret-looking values for redaction, not others', async () => {
    await resolveCredential({ env: 'SOME_TOKEN', environment: { SOME_TOKEN: 'env-token-value-1' } });
    expect(redactText('x env-token-value-1 y')).toBe('x [REDACTED] y');
    await resolveCredential({ env: 'SOME_USER', environment: { SOME_USER: 'plain-user-name' } });
    expect(redactText('x plain-user-name y')).toBe('x plain-user-name y');
    await resolveCredential({ value: 'option-api-key-1', configKey: 'crucible.apiKey', store });
    expect(redactText('option-api-key-1')).toBe('[REDACTED]');
  });
});

describe('requireCredential', () => {
  it('returns the value when found', async () => {
    expect(
      await requireCredential({ env: 'ICSD_PASSWORD', configKey: 'icsd.password', store, environment: {} }),
    ).toEqual({ value: 'from-config-file', source: 'config' });
  });

  it('throws MissingCredentialsError saying what to set', async () => {
    await store.unset('icsd.password');
    let caught: unknown;
    try {
      await requireCredential({ env: 'ICSD_PASSWORD', configKey: 'icsd.password', store, environment: {} });
    } catch (error) {
      caught = error;
    }
    expect(MissingCredentialsError.isInstance(caught)).toBe(true);
    const message = (caught as Error).message;
    expect(message).toContain('Set ICSD_PASSWORD or run `sciport config set icsd.password`');
    expect((caught as MissingCredentialsError).code).toBe('missing_credentials');
  });

  it('mentions the flag and every variable', async () => {
    await expect(
      requireCredential({
        label: 'Crucible API key',
        flag: '--api-key',
        env: ['CRUCIBLE_API_KEY', 'CRUCIBLE_TOKEN'],
        configKey: 'crucible.apiKey',
        store,
        environment: {},
      }),
    ).rejects.toThrow(
      'No Crucible API key found. Pass --api-key, set CRUCIBLE_API_KEY or CRUCIBLE_TOKEN or run `sciport config set crucible.apiKey`',
    );
  });
});
