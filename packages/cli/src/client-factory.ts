import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import {
  type ClientEventLike,
  describeEvent,
  MAX_TIMEOUT_MS,
  type SettingSpec,
  UsageError,
} from '@sciport/core';
import { requireCredential, resolveCredential } from '@sciport/core/node';
import type { CliContext } from './context.js';
import { debug, warn } from './output.js';

/**
 * The one way every command builds its service's client: each setting from its flag, else its environment
 * variable, else the config file (names from the service's settings table, `ICSD_SETTINGS` and the others, which
 * the client reads too); the client's events printed on stderr; the client disposed (a logout) however the
 * command ends.
 */

/** How a command asks for one setting: the flag's value (if the command has one) and whether it must be found. */
export interface SettingRequest {
  /** The value of the command's flag for this setting, when given. */
  readonly flag?: string | undefined;
  /** The flag's name, for the "how to set it" hint (`--base-url`). */
  readonly flagName?: string | undefined;
  /** Fail with a `MissingCredentialsError` saying what to set when nothing is found. */
  readonly required?: boolean;
}

/** Resolves the settings a command needs: flag > environment > config file. Secrets are registered for redaction. */
export async function resolveSettings<K extends string>(
  ctx: CliContext,
  settings: Readonly<Record<K, SettingSpec>>,
  requests: Partial<Record<K, SettingRequest>>,
): Promise<Partial<Record<K, string>>> {
  const out: Partial<Record<K, string>> = {};
  for (const key of Object.keys(requests) as K[]) {
    const request = requests[key] as SettingRequest;
    const spec = settings[key];
    const options = {
      value: request.flag,
      env: [spec.env, ...(spec.envAliases ?? [])],
      configKey: spec.configKey,
      store: ctx.config,
      environment: ctx.env,
      secret: spec.secret,
      label: spec.label,
      ...(request.flagName ? { flag: request.flagName } : {}),
    };
    const found = request.required ? await requireCredential(options) : await resolveCredential(options);
    if (found) out[key] = found.value;
  }
  return out;
}

/**
 * The client's events on stderr: warnings as warnings, everything else (requests, retries, logins) as debug
 * lines (`--verbose`). `special` sees each event first and returns true when it printed it itself.
 */
export function printEvents<E extends ClientEventLike>(
  ctx: CliContext,
  special?: (event: E) => boolean,
): (event: E) => void {
  return (event) => {
    if (special?.(event)) return;
    const { level, message } = describeEvent(event);
    if (level === 'warn' || level === 'error') warn(ctx, message);
    else debug(ctx, message);
  };
}

/** `client`, disposed (logged out, connections closed) however the command ends: success, error or Ctrl-C. */
export function disposeOnExit<C extends { dispose(): Promise<void> }>(ctx: CliContext, client: C): C {
  ctx.onCleanup(() => client.dispose());
  return client;
}

/** What a service's commands say about building their client. */
export interface ClientRecipe<C, K extends string, E extends ClientEventLike> {
  /** The service's settings table (`ICSD_SETTINGS`, …). */
  readonly settings: Readonly<Record<K, SettingSpec>>;
  /** The settings this command needs, with their flags. */
  readonly requests: Partial<Record<K, SettingRequest>>;
  /** Builds the client from the settings found and the event printer. */
  create(settings: Partial<Record<K, string>>, onEvent: (event: E) => void): C;
  /** Prints the service's own events; returns true for those it printed (the others print as `printEvents` does). */
  printEvent?: (event: E) => boolean;
}

/**
 * The one way every command gets its client: settings resolved (flag > environment > config file), the client
 * built with its events printed on stderr, and disposed however the command ends.
 */
export async function createClient<
  C extends { dispose(): Promise<void> },
  K extends string,
  E extends ClientEventLike,
>(ctx: CliContext, recipe: ClientRecipe<C, K, E>): Promise<C> {
  const settings = await resolveSettings(ctx, recipe.settings, recipe.requests);
  return disposeOnExit(ctx, recipe.create(settings, printEvents(ctx, recipe.printEvent)));
}

/** The longest timeout a timer can keep, in whole seconds (core's `MAX_TIMEOUT_MS`; a longer one fires after 1 ms). */
export const MAX_TIMEOUT_SECONDS = Math.floor(MAX_TIMEOUT_MS / 1000);

/** A `--timeout <seconds>` value in milliseconds: positive, and no longer than a timer can wait. */
export function timeoutMs(value: string | undefined, flag = '--timeout'): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0) {
    throw new UsageError(`${flag} must be a number of seconds, got ${JSON.stringify(value)}`);
  }
  if (Number(value) > MAX_TIMEOUT_SECONDS) {
    throw new UsageError(
      `${flag} must be at most ${MAX_TIMEOUT_SECONDS} seconds (about 24 days), got ${JSON.stringify(value)}`,
    );
  }
  return Math.max(1, Math.round(Number(value) * 1000));
}

/**
 * Checks the folder an `--out` flag names before any work starts: a file there (or a file as one of its
 * parents) is a usage error (exit 2) that says so, instead of a raw EEXIST/ENOTDIR from deep inside a download.
 * A folder that does not exist yet is fine: the command makes it.
 */
export async function checkOutFolder(value: string, flag = '--out'): Promise<string> {
  const resolved = path.resolve(value);
  let info: Stats;
  try {
    info = await stat(resolved);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return resolved;
    if (code === 'ENOTDIR')
      throw new UsageError(`${flag} ${value}: a part of that path is a file, not a folder`);
    throw new UsageError(`${flag} ${value}: ${(error as Error).message}`);
  }
  if (!info.isDirectory()) {
    throw new UsageError(`${flag} ${value} is a file, not a folder`, {
      hint: 'Name a folder (it is made if missing)',
    });
  }
  return resolved;
}
