import { readEnv } from './env.js';

/**
 * A service's settings, named once: the environment variable and config key of each credential and URL. Each
 * client reads its environment variables from its service's table (`ICSD_SETTINGS`, …), and the CLI reads the
 * same table for its flags > environment > config file order, its `sciport config` keys and its messages, so a
 * name is never spelled twice.
 */
export interface SettingSpec {
  /** The environment variable, e.g. `ICSD_PASSWORD`. */
  readonly env: string;
  /** Older or alternative names of the variable, read after `env`. */
  readonly envAliases?: readonly string[];
  /** The key in the config file (`sciport config set <key>`), e.g. `icsd.password`. */
  readonly configKey: string;
  /** Whether the value is a secret: never printed, stored in the 0600 credentials file, redacted everywhere. */
  readonly secret: boolean;
  /** What it is, for messages ("ICSD password"). */
  readonly label: string;
}

export type ServiceSettings = Readonly<Record<string, SettingSpec>>;

/** Declares a service's settings table (typed as written, so that `S['password']` is known). */
export function defineSettings<const S extends ServiceSettings>(settings: S): S {
  return settings;
}

/** The names of a setting's environment variables, in the order they are read. */
export function envNames(spec: SettingSpec): readonly string[] {
  return [spec.env, ...(spec.envAliases ?? [])];
}

/** A setting's value from the environment (its variable, then its aliases), where there is one. */
export function readSetting(spec: SettingSpec): string | undefined {
  for (const name of envNames(spec)) {
    const value = readEnv(name);
    if (value !== undefined) return value;
  }
  return undefined;
}
