import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SciportError, UsageError } from '../../errors.js';
import { redactText } from '../../redact.js';
import { ConfigFileError, ConfigStore, isSecretKey, validateConfigKey } from './config-store.js';

const posix = process.platform !== 'win32';

let root: string;
let dir: string;
let warnings: string[];

function store(): ConfigStore {
  return new ConfigStore({ dir, onWarning: (m) => warnings.push(m) });
}

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'sciport-config-'));
  dir = path.join(root, 'nested', 'sciport');
  warnings = [];
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('config keys', () => {
  it('accepts dotted names of letters, digits, _ and -', () => {
    for (const key of ['icsd.username', 'crucible.apiKey', 'fragalysis.stack', 'a', 'a-b.c_d.E9']) {
      expect(() => validateConfigKey(key)).not.toThrow();
    }
  });

  it('refuses empty, badly dotted or reserved keys with a UsageError', () => {
    for (const key of [
      '',
      '.a',
      'a.',
      'a..b',
      'a b',
      'a/b',
      'icsd.pass word',
      'a.__proto__',
      'constructor',
    ]) {
      let caught: unknown;
      try {
        validateConfigKey(key);
      } catch (error) {
        caught = error;
      }
      expect(UsageError.isInstance(caught), key).toBe(true);
      expect((caught as Error).message).toContain('Invalid config key');
    }
  });

  it('classifies secrets by the last segment', () => {
    for (const key of [
      'icsd.password',
      'fragalysis.token',
      'crucible.apiKey',
      'x.api_key',
      'x.api-key',
      'x.secret',
    ]) {
      expect(isSecretKey(key), key).toBe(true);
    }
    for (const key of ['icsd.username', 'fragalysis.stack', 'password.hint.url', 'crucible.baseUrl']) {
      expect(isSecretKey(key), key).toBe(false);
    }
  });
});

describe('ConfigStore', () => {
  it('reports both paths', () => {
    const s = store();
    expect(s.path).toEqual({
      dir,
      config: path.join(dir, 'config.json'),
      credentials: path.join(dir, 'credentials.json'),
    });
  });

  it('returns nothing from a missing folder', async () => {
    const s = store();
    expect(await s.get('icsd.username')).toBeUndefined();
    expect(await s.list()).toEqual([]);
    expect(await s.getAll()).toEqual({});
  });

  it('keeps settings in config.json and secrets in credentials.json, nested by segment', async () => {
    const s = store();
    await s.set('icsd.username', 'alice');
    await s.set('icsd.password', 'hunter2-long');
    await s.set('crucible.apiKey', 'ck-123456');
    const config = JSON.parse(await readFile(s.path.config, 'utf8'));
    const credentials = JSON.parse(await readFile(s.path.credentials, 'utf8'));
    expect(config).toEqual({ icsd: { username: 'alice' } });
    expect(credentials).toEqual({ icsd: { password: 'hunter2-long' }, crucible: { apiKey: 'ck-123456' } });
    expect(await s.get('icsd.password')).toBe('hunter2-long');
    expect(await s.getAll()).toEqual({
      'crucible.apiKey': 'ck-123456',
      'icsd.password': 'hunter2-long',
      'icsd.username': 'alice',
    });
  });

  it.runIf(posix)('writes credentials.json 0600 in a 0700 folder, config.json 0644', async () => {
    const s = store();
    await s.set('fragalysis.token', 'tok-abcdef');
    await s.set('fragalysis.stack', 'production');
    expect((await stat(s.path.credentials)).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(s.path.config)).mode & 0o777).toBe(0o644 & ~process.umask());
    // no temporary files left behind
    expect((await readdir(dir)).sort()).toEqual(['config.json', 'credentials.json']);
  });

  it.runIf(posix)('tightens an existing world-readable credentials file when it rewrites it', async () => {
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, 'credentials.json');
    await writeFile(file, '{"icsd":{"password":"old-password"}}');
    await chmod(file, 0o644);
    await store().set('icsd.password', 'new-password');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('lists entries sorted, secrets masked', async () => {
    const s = store();
    await s.set('icsd.username', 'alice');
    await s.set('icsd.password', 'hunter2-long');
    const entries = await s.list();
    expect(entries).toEqual([
      { key: 'icsd.password', value: '********', secret: true },
      { key: 'icsd.username', value: 'alice', secret: false },
    ]);
    expect(JSON.stringify(entries)).not.toContain('hunter2');
  });

  it('unsets keys, reports whether they existed, and prunes empty groups', async () => {
    const s = store();
    await s.set('icsd.username', 'alice');
    await s.set('icsd.password', 'pw-123456');
    expect(await s.unset('icsd.password')).toBe(true);
    expect(await s.unset('icsd.password')).toBe(false);
    expect(await s.get('icsd.password')).toBeUndefined();
    expect(JSON.parse(await readFile(s.path.credentials, 'utf8'))).toEqual({});
    expect(await s.get('icsd.username')).toBe('alice');
  });

  it('refuses a key that would clash with a group or a value', async () => {
    const s = store();
    await s.set('icsd.username', 'alice');
    await expect(s.set('icsd', 'x')).rejects.toSatisfy((e) => UsageError.isInstance(e));
    await expect(s.set('icsd.username.first', 'x')).rejects.toSatisfy((e) => UsageError.isInstance(e));
    await expect(s.set('bad key', 'x')).rejects.toSatisfy((e) => UsageError.isInstance(e));
  });

  it('moves a secret found in config.json into credentials.json when it is set', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(
      path.join(dir, 'config.json'),
      '{"icsd":{"username":"alice","password":"typed-by-hand"}}',
    );
    const s = store();
    expect(await s.get('icsd.password')).toBe('typed-by-hand');
    await s.set('icsd.password', 'now-secret');
    expect(JSON.parse(await readFile(s.path.config, 'utf8'))).toEqual({ icsd: { username: 'alice' } });
    expect(JSON.parse(await readFile(s.path.credentials, 'utf8'))).toEqual({
      icsd: { password: 'now-secret' },
    });
  });

  it('registers secrets it reads so that errors redact them', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'credentials.json'), '{"crucible":{"apiKey":"ck-registered-on-read"}}', {
      mode: 0o600,
    });
    await store().list();
    expect(redactText('key was ck-registered-on-read')).toBe('key was [REDACTED]');
    const error = new SciportError('failed with ck-registered-on-read');
    expect(error.message).not.toContain('ck-registered-on-read');
  });

  it.runIf(posix)('warns once when the credentials file can be read by others', async () => {
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, 'credentials.json');
    await writeFile(file, '{"icsd":{"password":"pw-readable"}}');
    await chmod(file, 0o644);
    const s = store();
    await s.get('icsd.password');
    await s.list();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(file);
    expect(warnings[0]).toContain(`chmod 600 ${file}`);
    expect(warnings[0]).toContain('0644');
  });

  it.runIf(posix)(
    'warns when config.json or its folder can be changed by others (it decides where keys go)',
    async () => {
      await mkdir(dir, { recursive: true });
      await chmod(dir, 0o700);
      const file = path.join(dir, 'config.json');
      await writeFile(file, '{"crucible":{"baseUrl":"https://elsewhere.example"}}');
      await chmod(file, 0o666);
      const s = store();
      await s.get('crucible.baseUrl');
      await s.list();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`chmod 644 ${file}`);
      expect(warnings[0]).toContain('0666');

      await chmod(file, 0o644);
      await chmod(dir, 0o777);
      warnings = [];
      await store().get('crucible.baseUrl');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`chmod 700 ${dir}`);

      await chmod(dir, 0o755);
      warnings = [];
      expect(await store().get('crucible.baseUrl')).toBe('https://elsewhere.example');
      expect(warnings).toEqual([]);
    },
  );

  it.runIf(posix)('does not warn about a 0600 credentials file', async () => {
    const s = store();
    await s.set('icsd.password', 'pw-private');
    await s.list();
    expect(warnings).toEqual([]);
  });

  it('fails clearly on a corrupt file, without quoting it, and never overwrites it', async () => {
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, 'credentials.json');
    const corrupt = '{"icsd": {"password": "leaky-secret-value" oops';
    await writeFile(file, corrupt, { mode: 0o600 });
    const s = store();
    let caught: unknown;
    try {
      await s.list();
    } catch (error) {
      caught = error;
    }
    expect(ConfigFileError.isInstance(caught)).toBe(true);
    const message = (caught as Error).message;
    expect(message).toContain(file);
    expect(message).toContain('not valid JSON');
    expect(message).not.toContain('leaky-secret-value');
    await expect(s.set('icsd.password', 'replacement')).rejects.toSatisfy((e) =>
      ConfigFileError.isInstance(e),
    );
    await expect(s.unset('icsd.password')).rejects.toSatisfy((e) => ConfigFileError.isInstance(e));
    expect(await readFile(file, 'utf8')).toBe(corrupt);
  });

  it('refuses a file that is JSON but not an object', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'config.json'), '["a"]');
    await expect(store().get('icsd.username')).rejects.toThrow(/must hold a JSON object/);
  });

  it('reads numbers and booleans as strings, and treats an empty file as empty', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'config.json'), '{"http":{"timeout":30,"insecure":false}}');
    await writeFile(path.join(dir, 'credentials.json'), '', { mode: 0o600 });
    expect(await store().getAll()).toEqual({ 'http.insecure': 'false', 'http.timeout': '30' });
  });

  it('keeps the other keys intact across writes', async () => {
    const s = store();
    await s.set('a.one', '1');
    await s.set('b.two', '2');
    await s.set('a.three', '3');
    expect(JSON.parse(await readFile(s.path.config, 'utf8'))).toEqual({
      a: { one: '1', three: '3' },
      b: { two: '2' },
    });
  });
});
