import { mkdir, open, stat } from 'node:fs/promises';
import path from 'node:path';
import { SciportError, type SciportErrorOptions, UsageError } from '../../errors.js';
import { isSecretName, maskSecret, registerSecret } from '../../redact.js';
import { writeFileAtomic } from '../files/atomic.js';
import { configDir, type Environment } from './config-dir.js';

export const CONFIG_FILE = 'config.json';
export const CREDENTIALS_FILE = 'credentials.json';

/** Mode of `credentials.json`: owner read and write only. */
export const CREDENTIALS_MODE = 0o600;
/** Mode of `config.json`. */
export const CONFIG_MODE = 0o644;
/** Mode of the folder, created when missing. */
export const CONFIG_DIR_MODE = 0o700;

export interface ConfigStoreOptions {
  /** The folder of both files (default: `configDir(env)`). */
  dir?: string | undefined;
  /** Environment used to find the folder (default `process.env`). */
  env?: Environment | undefined;
  /** Receives warnings, such as a credentials file readable by others (default `process.emitWarning`). */
  onWarning?: ((message: string) => void) | undefined;
}

export interface ConfigPaths {
  dir: string;
  /** Settings: `config.json`, mode 0644. */
  config: string;
  /** Secrets: `credentials.json`, mode 0600. */
  credentials: string;
}

export interface ConfigEntry {
  key: string;
  /** The value, or `maskSecret(value)` when `secret`. */
  value: string;
  secret: boolean;
}

/** A config or credentials file that cannot be read: not JSON, not an object, or unreadable. */
export class ConfigFileError extends SciportError {
  static override readonly kind: string = 'ConfigFileError';
  override readonly code: string = 'config_file_error';
  readonly path: string;

  constructor(message: string, init: SciportErrorOptions & { path: string }) {
    super(message, init);
    this.path = init.path;
  }
}

type Leaf = string | number | boolean;
type FileKind = 'config' | 'credentials';

const KEY_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);

/**
 * Checks a dotted config key such as `icsd.username`: non-empty segments of letters, digits, `_` and `-`.
 * @throws UsageError saying what is wrong.
 */
export function validateConfigKey(key: string): void {
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    throw new UsageError(`Invalid config key ${JSON.stringify(key)}`, {
      hint: 'Keys are dot-separated names of letters, digits, "_" and "-", such as icsd.username',
    });
  }
  const bad = key.split('.').find((s) => FORBIDDEN_SEGMENTS.has(s));
  if (bad) throw new UsageError(`Invalid config key ${JSON.stringify(key)}: "${bad}" is reserved`);
}

/**
 * True when a key holds a secret and so belongs in `credentials.json`: its last segment looks secret
 * (`password`, `token`, `apiKey`, `api_key`, `api-key`, `secret`, … as judged by `isSecretName`).
 */
export function isSecretKey(key: string): boolean {
  const last = key.slice(key.lastIndexOf('.') + 1);
  return isSecretName(last);
}

/**
 * sciport's settings and secrets on disk. Settings live in `config.json`; values of secret-looking keys live in
 * a separate `credentials.json` written with mode 0600 (its folder is created 0700). Keys are dotted
 * (`icsd.username`, `crucible.apiKey`) and stored as nested JSON objects.
 *
 * Files are read afresh on every call and written atomically (temporary file, fsync, rename). A file that is
 * not valid JSON raises a `ConfigFileError` naming it and is never overwritten. Every secret value read is
 * registered with `registerSecret`, so it is redacted from later errors.
 */
export class ConfigStore {
  /** The folder and both file paths. */
  readonly path: Readonly<ConfigPaths>;
  private readonly onWarning: (message: string) => void;
  private readonly warned = new Set<string>();

  constructor(options: ConfigStoreOptions = {}) {
    const dir = path.resolve(options.dir ?? configDir(options.env ?? process.env));
    this.path = Object.freeze({
      dir,
      config: path.join(dir, CONFIG_FILE),
      credentials: path.join(dir, CREDENTIALS_FILE),
    });
    this.onWarning =
      options.onWarning ??
      ((message) => process.emitWarning(message, { code: 'SCIPORT_INSECURE_CREDENTIALS' }));
  }

  /** The value of `key`, or `undefined` when it is not set. */
  async get(key: string): Promise<string | undefined> {
    validateConfigKey(key);
    const files = await this.readBoth();
    const own = isSecretKey(key) ? files.credentials : files.config;
    const other = isSecretKey(key) ? files.config : files.credentials;
    const value = own.get(key) ?? other.get(key);
    return value === undefined ? undefined : String(value);
  }

  /** Sets `key` in the file it belongs to (`credentials.json` for secrets) and removes it from the other. */
  async set(key: string, value: string): Promise<void> {
    validateConfigKey(key);
    if (typeof value !== 'string') throw new UsageError(`The value of ${key} must be a string`);
    const secret = isSecretKey(key);
    if (secret) registerSecret(value);
    const files = await this.readBoth();
    assertNoConflict(key, [...files.config.keys(), ...files.credentials.keys()]);
    const target: FileKind = secret ? 'credentials' : 'config';
    const other: FileKind = secret ? 'config' : 'credentials';
    files[target].set(key, value);
    await this.write(target, files[target]);
    if (files[other].delete(key)) await this.write(other, files[other]);
  }

  /** Removes `key` from both files. Returns whether it was set. */
  async unset(key: string): Promise<boolean> {
    validateConfigKey(key);
    const files = await this.readBoth();
    let existed = false;
    for (const kind of ['config', 'credentials'] as const) {
      if (files[kind].delete(key)) {
        existed = true;
        await this.write(kind, files[kind]);
      }
    }
    return existed;
  }

  /** Every key, sorted, with secret values masked by `maskSecret`. */
  async list(): Promise<ConfigEntry[]> {
    const all = await this.getAll();
    return Object.entries(all).map(([key, value]) => {
      const secret = isSecretKey(key);
      return { key, value: secret ? maskSecret(value) : value, secret };
    });
  }

  /** Every key and its real value (secrets included), sorted by key. For code, never for display. */
  async getAll(): Promise<Record<string, string>> {
    const files = await this.readBoth();
    const merged = new Map<string, string>();
    for (const [key, value] of files.config) merged.set(key, String(value));
    // A secret found in both files: the credentials file wins.
    for (const [key, value] of files.credentials) {
      if (isSecretKey(key) || !merged.has(key)) merged.set(key, String(value));
    }
    const out: Record<string, string> = {};
    for (const key of [...merged.keys()].sort()) out[key] = merged.get(key)!;
    return out;
  }

  private async readBoth(): Promise<Record<FileKind, Map<string, Leaf>>> {
    const [config, credentials] = await Promise.all([this.read('config'), this.read('credentials')]);
    return { config, credentials };
  }

  private async read(kind: FileKind): Promise<Map<string, Leaf>> {
    const file = this.path[kind];
    let text: string;
    try {
      const handle = await open(file, 'r');
      try {
        await this.checkFolder();
        if (kind === 'credentials') this.checkMode(file, (await handle.stat()).mode);
        else this.checkWritable(file, (await handle.stat()).mode, 'file', CONFIG_MODE);
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw new ConfigFileError(`Cannot read ${file}: ${(error as Error).message}`, {
        path: file,
        cause: error,
      });
    }
    const entries = parseConfigText(text, file);
    for (const [key, value] of entries) {
      if (kind === 'credentials' || isSecretKey(key)) registerSecret(String(value));
    }
    return entries;
  }

  private checkMode(file: string, mode: number): void {
    if (process.platform === 'win32' || (mode & 0o077) === 0 || this.warned.has(file)) return;
    this.warned.add(file);
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    this.onWarning(
      `${file} can be read by other users (mode ${octal}); restrict it with \`chmod 600 ${quoteShell(file)}\``,
    );
  }

  /**
   * Settings decide where credentials are sent (a base URL): a config file, or the folder holding it, that
   * other users can change is as dangerous as a credentials file they can read.
   */
  private checkWritable(target: string, mode: number, what: 'file' | 'folder', fix: number): void {
    if (process.platform === 'win32' || (mode & 0o022) === 0 || this.warned.has(target)) return;
    this.warned.add(target);
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    const wanted = (fix & 0o777).toString(8);
    this.onWarning(
      `${target} can be changed by other users (${what} mode ${octal}), who could send your credentials elsewhere; ` +
        `restrict it with \`chmod ${wanted} ${quoteShell(target)}\``,
    );
  }

  private async checkFolder(): Promise<void> {
    if (process.platform === 'win32' || this.warned.has(this.path.dir)) return;
    try {
      this.checkWritable(this.path.dir, (await stat(this.path.dir)).mode, 'folder', CONFIG_DIR_MODE);
    } catch {
      // The folder's own errors surface where it is read or written.
    }
  }

  private async write(kind: FileKind, entries: Map<string, Leaf>): Promise<void> {
    await mkdir(this.path.dir, { recursive: true, mode: CONFIG_DIR_MODE });
    const text = `${JSON.stringify(nest(entries), null, 2)}\n`;
    await writeFileAtomic(this.path[kind], text, {
      mode: kind === 'credentials' ? CREDENTIALS_MODE : CONFIG_MODE,
    });
  }
}

/** Parses a config file's text into dotted keys. An empty file is an empty config. */
function parseConfigText(text: string, file: string): Map<string, Leaf> {
  const body = text.replace(/^\uFEFF/, '');
  if (body.trim() === '') return new Map();
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (error) {
    // Never quote the parser's message: V8 includes a slice of the text, which may hold a secret.
    throw new ConfigFileError(`${file} is not valid JSON (${describeJsonError(error, body)})`, {
      path: file,
      hint: 'Fix it by hand or move it away; sciport leaves it untouched until then',
    });
  }
  if (!isPlainObject(data)) {
    throw new ConfigFileError(`${file} must hold a JSON object`, {
      path: file,
      hint: 'Fix it by hand or move it away; sciport leaves it untouched until then',
    });
  }
  const out = new Map<string, Leaf>();
  flatten(data, '', out, file);
  return out;
}

function flatten(node: Record<string, unknown>, prefix: string, out: Map<string, Leaf>, file: string): void {
  for (const [name, value] of Object.entries(node)) {
    const key = prefix ? `${prefix}.${name}` : name;
    if (isPlainObject(value)) {
      flatten(value, key, out, file);
    } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      out.set(key, value);
    } else if (value !== null) {
      throw new ConfigFileError(`${file}: the value of ${key} must be a string, number or boolean`, {
        path: file,
        hint: 'Fix it by hand or move it away; sciport leaves it untouched until then',
      });
    }
  }
}

function nest(entries: Map<string, Leaf>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    const segments = key.split('.');
    let node = root;
    for (const segment of segments.slice(0, -1)) {
      const next = Object.hasOwn(node, segment) ? node[segment] : undefined;
      if (isPlainObject(next)) {
        node = next;
      } else {
        const created: Record<string, unknown> = {};
        Object.defineProperty(node, segment, {
          value: created,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        node = created;
      }
    }
    const last = segments.at(-1)!;
    Object.defineProperty(node, last, { value, enumerable: true, writable: true, configurable: true });
  }
  return root;
}

/** Refuses `a.b` when `a` holds a value, and `a` when `a.b` exists: the nested JSON could not hold both. */
function assertNoConflict(key: string, existing: Iterable<string>): void {
  for (const other of existing) {
    if (other === key) continue;
    if (other.startsWith(`${key}.`)) {
      throw new UsageError(`Cannot set ${key}: it is a group holding ${other}`, {
        hint: `Unset ${other} first, or choose another key`,
      });
    }
    if (key.startsWith(`${other}.`)) {
      throw new UsageError(`Cannot set ${key}: ${other} already holds a value`, {
        hint: `Unset ${other} first, or choose another key`,
      });
    }
  }
}

/** Where a JSON parse failed, as `line L, column C`, without any of the file's text. */
function describeJsonError(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : '';
  const match = /position (\d+)/.exec(message);
  if (match) {
    const position = Number(match[1]);
    const before = text.slice(0, position);
    const line = before.split('\n').length;
    const column = position - before.lastIndexOf('\n');
    return `syntax error at line ${line}, column ${column}`;
  }
  if (/end of (JSON )?input/i.test(message)) return 'the text ends too early';
  return 'syntax error';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function quoteShell(file: string): string {
  return /^[A-Za-z0-9_./:\\-]+$/.test(file) ? file : `'${file.replace(/'/g, `'\\''`)}'`;
}
