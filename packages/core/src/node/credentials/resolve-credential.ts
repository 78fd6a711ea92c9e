import { MissingCredentialsError } from '../../errors.js';
import { isSecretName, registerSecret } from '../../redact.js';
import type { Environment } from './config-dir.js';
import { ConfigStore, isSecretKey, validateConfigKey } from './config-store.js';

export type CredentialSource = 'option' | 'env' | 'config';

export interface ResolveCredentialOptions {
  /** An explicit value (a flag, a client option). Wins when set. */
  value?: string | undefined;
  /** Environment variable(s) to try, in order, e.g. `['ICSD_PASSWORD']`. */
  env?: string | readonly string[] | undefined;
  /** Dotted key in the config store, e.g. `icsd.password`. */
  configKey?: string | undefined;
  /** Store to read `configKey` from (default: a `ConfigStore` located from `environment`). */
  store?: ConfigStore | undefined;
  /** Environment to read (default `process.env`). */
  environment?: Environment | undefined;
  /**
   * Whether the value is a secret to register for redaction. Default: when `configKey`'s last segment, or
   * any of the `env` names, looks secret.
   */
  secret?: boolean | undefined;
}

export interface ResolvedCredential {
  value: string;
  source: CredentialSource;
}

/**
 * Finds a credential: the explicit `value`, then the first non-empty environment variable of `env`, then
 * `configKey` in the config store. Empty strings count as unset. Secret-looking values are registered with
 * `registerSecret` so that no later error shows them. Returns `undefined` when nothing is set.
 */
export async function resolveCredential(
  options: ResolveCredentialOptions,
): Promise<ResolvedCredential | undefined> {
  const found = await find(options);
  if (found && isSecret(options)) registerSecret(found.value);
  return found;
}

export interface RequireCredentialOptions extends ResolveCredentialOptions {
  /** What is missing, for the message (default: from `configKey` or the first `env` name), e.g. "ICSD password". */
  label?: string | undefined;
  /** The command-line flag that sets it, mentioned in the hint, e.g. `--password`. */
  flag?: string | undefined;
}

/**
 * Like `resolveCredential`, but throws a `MissingCredentialsError` saying what to set when nothing is found,
 * e.g. "set ICSD_PASSWORD or run `sciport config set icsd.password`".
 */
export async function requireCredential(options: RequireCredentialOptions): Promise<ResolvedCredential> {
  const found = await resolveCredential(options);
  if (found) return found;
  const envNames = envList(options.env);
  const label = options.label ?? options.configKey ?? envNames[0] ?? 'credential';
  const ways: string[] = [];
  if (options.flag) ways.push(`pass ${options.flag}`);
  if (envNames.length > 0) ways.push(`set ${envNames.join(' or ')}`);
  if (options.configKey) ways.push(`run \`sciport config set ${options.configKey}\``);
  const hint = ways.length > 0 ? capitalize(joinOr(ways)) : undefined;
  throw new MissingCredentialsError(`No ${label} found`, hint === undefined ? {} : { hint });
}

async function find(options: ResolveCredentialOptions): Promise<ResolvedCredential | undefined> {
  if (options.value) return { value: options.value, source: 'option' };
  const environment = options.environment ?? process.env;
  for (const name of envList(options.env)) {
    const value = environment[name];
    if (value) return { value, source: 'env' };
  }
  if (options.configKey !== undefined) {
    validateConfigKey(options.configKey);
    const store = options.store ?? new ConfigStore({ env: environment });
    const value = await store.get(options.configKey);
    if (value) return { value, source: 'config' };
  }
  return undefined;
}

function isSecret(options: ResolveCredentialOptions): boolean {
  if (options.secret !== undefined) return options.secret;
  if (options.configKey !== undefined && isSecretKey(options.configKey)) return true;
  return envList(options.env).some((name) => isSecretName(name));
}

function envList(env: string | readonly string[] | undefined): readonly string[] {
  if (env === undefined) return [];
  return typeof env === 'string' ? [env] : env;
}

function joinOr(parts: string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} or ${parts.at(-1)}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
