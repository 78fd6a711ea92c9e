import { UsageError } from '@sciport/core';
import {
  ARCHIVE_FLAGS,
  type ArchiveEvent,
  type ArchiveOptions,
  FRAGALYSIS_SETTINGS,
  FragalysisClient,
  type FragalysisEvent,
} from '@sciport/fragalysis';
import type { Command } from 'commander';
import { createClient, timeoutMs } from '../../client-factory.js';
import type { CliContext } from '../../context.js';
import { debug, warn } from '../../output.js';
import { createTaskStatus, type TaskDescription, type TaskStatus } from '../../task-status.js';

/** What the `sciport fragalysis` commands share: the client, `--stack`, the archive flags, `title@tas`. */

export interface StackOptions {
  stack?: string;
  timeout?: string;
}

/** The server task being waited for and shown (spinner, status lines or JSON events), per client. */
const shown = new WeakMap<FragalysisClient, { current: TaskStatus | undefined }>();

/**
 * Shows a wait for a server task of `client` (a compound-set or XCA load; archive builds are shown from the
 * client's events): the client's warnings are then printed without breaking the spinner's line.
 */
export function showTaskStatus(ctx: CliContext, client: FragalysisClient, task: TaskDescription): TaskStatus {
  const holder = shown.get(client) ?? { current: undefined };
  shown.set(client, holder);
  holder.current?.stop();
  holder.current = createTaskStatus(ctx, task);
  return holder.current;
}

/**
 * Ends the display of the client's task, if one is shown: with a final `state` a summary line, without one (an
 * error follows) the spinner's line cleared. Commands call it when a wait ends, failed or not.
 */
export function endTaskStatus(client: FragalysisClient, state?: string): void {
  const holder = shown.get(client);
  holder?.current?.stop(state);
  if (holder) holder.current = undefined;
}

/** The client, from `--stack` > `FRAGALYSIS_STACK` > config, and the token from the environment or config. */
export async function makeClient(ctx: CliContext, options: StackOptions): Promise<FragalysisClient> {
  const holder: { current: TaskStatus | undefined } = { current: undefined };
  // issue 15: a build shows what it is doing (a spinner on a terminal, status lines, or JSON events).
  const show = (event: ArchiveEvent): TaskStatus => {
    holder.current ??= createTaskStatus(ctx, {
      task: 'archive',
      label: `archive build${event.target ? ` ${event.target}${event.tas ? ` (${event.tas})` : ''}` : ''}`,
      target: event.target,
      tas: event.tas,
    });
    return holder.current;
  };
  const client = await createClient(ctx, {
    settings: FRAGALYSIS_SETTINGS,
    requests: { stack: { flag: options.stack, flagName: '--stack' }, token: {}, accessToken: {} },
    create: (settings, onEvent: (event: FragalysisEvent) => void) => {
      const { token, accessToken } = FRAGALYSIS_SETTINGS;
      // issue 14: xca. A session cookie or a bearer token, never both (spec §11.2: the session would win).
      if (settings.token && settings.accessToken) {
        throw new UsageError(
          `Both a session token (${token.env} or ${token.configKey}) and an access token (${accessToken.env} or ` +
            `${accessToken.configKey}) are set: give one of them`,
          {
            hint: `Unset one, e.g. \`unset ${token.env}\` or \`sciport config unset ${accessToken.configKey}\``,
          },
        );
      }
      if (!settings.token && !settings.accessToken)
        debug(ctx, `no ${token.env} or ${accessToken.env}: anonymous, public proposals only`);
      const timeout = timeoutMs(options.timeout);
      return new FragalysisClient({
        ...settings,
        // Both named, so that the client reads neither from the environment again.
        token: settings.token,
        accessToken: settings.accessToken,
        ...(timeout ? { timeout } : {}),
        onEvent,
      });
    },
    printEvent: (event) => {
      if (event.type === 'warning' && holder.current) {
        holder.current.print(() => warn(ctx, event.message));
        return true;
      }
      if (event.type !== 'archive') return false;
      if (event.phase === 'queued') {
        show(event).update({
          state: 'QUEUED',
          detail: `Fragalysis' build queue is full; asking again in ${Math.round((event.delayMs ?? 0) / 1000)} s`,
        });
      } else if (event.phase === 'waiting') {
        show(event).update({ state: event.status ?? 'UNKNOWN', detail: 'not started yet' });
      } else if (event.phase === 'running') {
        show(event).update({ state: event.status ?? 'RUNNING', detail: event.message });
      } else {
        // A build found done at its first poll still gets its summary; an archive ready at once has none.
        if (event.status !== undefined) show(event).stop(event.status);
        else holder.current?.stop('SUCCESS');
        holder.current = undefined;
      }
      return true;
    },
  });
  shown.set(client, holder);
  return client;
}

export function stackOption(command: Command): Command {
  return command
    .option('--stack <name|url>', 'production (default), staging, legacy, or a URL')
    .option('--timeout <seconds>', 'per-request timeout in seconds, the body included (default 60)');
}

function kebab(wire: string): string {
  return wire.replace(/_/g, '-');
}

/**
 * One commander option per request field of the download dialog, named after it in kebab-case, each in both
 * forms: `--event-file` / `--no-event-file`, `--readme` / `--no-readme`. A flag not given keeps the web
 * dialog's default.
 */
export function archiveOptions(command: Command): Command {
  command.option('--proteins <codes>', 'observation codes to include, comma-separated (default: all)');
  for (const [, wire, fallback] of ARCHIVE_FLAGS) {
    const name = kebab(wire);
    command.option(`--${name}`, `include ${wire}${fallback ? ' (the default)' : ''}`);
    command.option(`--no-${name}`, `leave out ${wire}${fallback ? '' : ' (the default)'}`);
  }
  return command
    .option('--file-url <path>', 're-fetch an earlier static download by its file_url')
    .option('--max-wait <seconds>', 'give up waiting for the build after this long (default 1800)');
}

export type ArchiveCliOptions = Record<string, unknown> & {
  proteins?: string;
  fileUrl?: string;
  maxWait?: string;
};

/** The archive flags given on the command line, as the library's `ArchiveOptions`. */
export function toArchiveOptions(options: ArchiveCliOptions): ArchiveOptions {
  const out: Record<string, unknown> = {};
  for (const [key] of ARCHIVE_FLAGS) {
    if (typeof options[key] === 'boolean') out[key] = options[key];
  }
  if (options.proteins) out.proteins = options.proteins;
  if (options.fileUrl) out.fileUrl = options.fileUrl;
  return out as ArchiveOptions;
}

/** `--max-wait <seconds>` in milliseconds. */
export function maxWait(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new UsageError(`--max-wait must be seconds, got ${value}`);
  return Number(value) * 1000;
}

/** `title`, or `title@tas`. */
export function parseTarget(spec: string): { title: string; tas: string | undefined } {
  const at = spec.lastIndexOf('@');
  if (at <= 0) return { title: spec, tas: undefined };
  return { title: spec.slice(0, at), tas: spec.slice(at + 1) };
}

/** The TAS given (flag or `title@tas`), else the one of the only visible target of that title. */
export async function resolveTas(
  ctx: CliContext,
  client: FragalysisClient,
  title: string,
  given: string | undefined,
): Promise<string> {
  return given ?? (await client.targets.get(title, undefined, { signal: ctx.signal })).tas;
}
