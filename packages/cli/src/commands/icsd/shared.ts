import { UsageError } from '@sciport/core';
import {
  CONTENT_TYPE_NAMES,
  CONTENT_TYPES,
  type ContentType,
  configTokenStore,
  DEFAULT_ICSD_BASE_URL,
  ICSD_SETTINGS,
  IcsdClient,
  type IcsdEvent,
  type IcsdTokenStore,
} from '@sciport/icsd';
import type { Command } from 'commander';
import { createClient, resolveSettings, timeoutMs } from '../../client-factory.js';
import type { CliContext } from '../../context.js';
import { ExitCode, ExitError } from '../../exit-codes.js';
import { debug, info, printJson, warn } from '../../output.js';

/** What the helpers of the `sciport icsd` commands share: flags, the client, parsing, the download summary. */

/** The flags of every command that talks to the service. */
export interface ConnectionOptions {
  baseUrl?: string;
  concurrency?: string;
  timeout?: string;
  /** `mirror --wait-on-quota`. */
  waitOnQuota?: boolean;
}

/** `--base-url` and `--timeout`, the flags of every command that talks to the service. */
export function connectionOptions(command: Command): Command {
  return command
    .option(
      '--base-url <url>',
      `ICSD API base URL (default ${ICSD_SETTINGS.baseUrl.env}, or ${DEFAULT_ICSD_BASE_URL})`,
    )
    .option('--timeout <seconds>', 'per-request timeout in seconds, the body included (default 120)');
}

/** The lines `sciport icsd --help` ends with: where the credentials and the server come from. */
export function settingsHelp(): string {
  const { baseUrl, username, password } = ICSD_SETTINGS;
  return (
    `\nCredentials: ${username.env} and ${password.env}, or \`sciport config set ${username.configKey}\` / \`${password.configKey}\`.\n` +
    `Another server: --base-url or ${baseUrl.env} (e.g. http://127.0.0.1:PORT/ws).\n` +
    'Sessions: `sciport icsd login` keeps one (in the credentials file, per server and account) for the other\n' +
    'commands until it expires or `sciport icsd logout`; without it, each command logs in and out.'
  );
}

export function positiveInt(name: string, value: string | undefined, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new UsageError(`${name} must be a positive whole number, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** Repeatable options (`--content-type a --content-type b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The `--content-type` values (repeated or comma-separated), checked before anything is sent. */
export function contentTypes(values: string[] | undefined): ContentType[] | undefined {
  if (!values || values.length === 0) return undefined;
  const known = [...CONTENT_TYPE_NAMES, ...Object.values(CONTENT_TYPES), 'THEORETICAL_STRUCTURES'];
  const out: ContentType[] = [];
  for (const v of values.flatMap((x) => x.split(','))) {
    const name = v.trim();
    if (name === '') continue;
    const match = known.find((k) => k.toLowerCase() === name.toLowerCase());
    if (!match)
      throw new UsageError(
        `Unknown content type ${JSON.stringify(name)}; use ${CONTENT_TYPE_NAMES.join(', ')}`,
      );
    out.push(match as ContentType);
  }
  return out;
}

/** How a command uses the kept session (`sciport icsd login`). */
export interface SessionUse {
  /**
   * `reuse` (the default): the kept session, when there is one for this server and account, else a session of the
   * command's own, logged out at its end. `keep`: always through the store (`login`, `logout`).
   */
  session?: 'reuse' | 'keep';
  /** Whether the command needs the password (default true; `logout` does not). */
  password?: boolean;
}

/** The store of kept sessions: sciport's credentials file. */
export function sessionStore(ctx: CliContext): IcsdTokenStore {
  return configTokenStore({ store: ctx.config });
}

/** Whether a session is kept for the server and account the flags, environment and config file name. */
async function hasKeptSession(ctx: CliContext, options: ConnectionOptions, store: IcsdTokenStore) {
  const found = await resolveSettings(ctx, ICSD_SETTINGS, {
    baseUrl: { flag: options.baseUrl },
    username: {},
  });
  if (!found.username) return false;
  const baseUrl = found.baseUrl ?? DEFAULT_ICSD_BASE_URL;
  // An unreadable credentials file is reported where the password is read.
  const kept = await store.load({ baseUrl, username: found.username }).catch(() => undefined);
  return kept !== undefined;
}

/**
 * The client of a command: settings from flags > environment > config file (through `ICSD_SETTINGS`), its
 * events on stderr, logged out however the command ends (unless its session is the kept one).
 */
export async function makeClient(
  ctx: CliContext,
  options: ConnectionOptions,
  use: SessionUse = {},
): Promise<IcsdClient> {
  const timeout = timeoutMs(options.timeout);
  const concurrency = positiveInt('--concurrency', options.concurrency, 4) as number;
  const store = sessionStore(ctx);
  const keep = use.session === 'keep' || (await hasKeptSession(ctx, options, store));
  return createClient(ctx, {
    settings: ICSD_SETTINGS,
    requests: {
      baseUrl: { flag: options.baseUrl },
      username: { required: true },
      password: { required: use.password !== false },
    },
    create: (settings, onEvent: (event: IcsdEvent) => void) =>
      new IcsdClient({
        ...settings,
        ...(timeout ? { timeout } : {}),
        concurrency,
        ...(options.waitOnQuota ? { waitOnQuota: true } : {}),
        ...(keep ? { tokenStore: store } : {}),
        onEvent,
      }),
    printEvent: (event) => {
      if (event.type === 'session') debug(ctx, `new ICSD session (${event.reason})`);
      else if (event.type === 'keptSession' && event.action === 'reuse')
        debug(ctx, `using the kept ICSD session (logged in ${minutesAgo(event.loginTime)})`);
      else if (event.type === 'keptSession' && event.action === 'keep')
        debug(ctx, 'ICSD session kept for the next commands (`sciport icsd logout` ends it)');
      else if (event.type === 'keptSession' && event.reason === 'unauthorized')
        debug(ctx, 'the kept ICSD session had ended; logging in again');
      else if (event.type === 'keptSession') debug(ctx, 'the kept ICSD session is forgotten');
      else if (event.type === 'quota' && event.action === 'wait')
        warn(
          ctx,
          `ICSD is throttling downloads; waiting ${Math.round(event.delayMs / 1000)} s before trying again`,
        );
      else if (event.type === 'quota' && event.action === 'backoff')
        debug(ctx, `ICSD refused CIFs ${event.refusals} times in a row; pausing ${event.delayMs} ms`);
      else if (event.type === 'quota')
        debug(
          ctx,
          `ICSD serves at most ${event.cifsPerSession} CIF${event.cifsPerSession === 1 ? '' : 's'} a session; using smaller batches`,
        );
      else return false;
      return true;
    },
  });
}

/** "12 min ago", "just now". */
export function minutesAgo(time: number, now = Date.now()): string {
  const minutes = Math.max(0, Math.floor((now - time) / 60_000));
  return minutes === 0 ? 'just now' : `${minutes} min ago`;
}

/** The counts of a download or mirror that the commands print. */
export interface TransferSummary {
  dir: string;
  downloaded: number;
  skipped: number;
  badIds: number[];
  bytes: number;
  requests: number;
  durationMs: number;
}

/**
 * Prints the report of a download. With `strict` (`fetch`: the user named the ids), ids the server could not
 * serve end the command with exit code 4 once the others are written; a mirror only warns (its ids come from
 * the server's own search).
 */
/** The fields every download report prints under `--json`. */
export function transferJson(report: TransferSummary): Record<string, unknown> {
  return {
    dir: report.dir,
    downloaded: report.downloaded,
    skipped: report.skipped,
    badIds: report.badIds,
    bytes: report.bytes,
    requests: report.requests,
    durationMs: report.durationMs,
  };
}

export function summarise(ctx: CliContext, report: TransferSummary, strict = false): void {
  const missing =
    report.badIds.length === 0
      ? undefined
      : `ICSD could not serve ${report.badIds.length === 1 ? 'id' : `${report.badIds.length} ids`}: ` +
        `${report.badIds.slice(0, 50).join(', ')}${report.badIds.length > 50 ? ', …' : ''}` +
        ' (ids are internal ids from `sciport icsd search`, not collection codes)';
  if (ctx.json) {
    printJson(ctx.out, transferJson(report));
    if (strict && missing) throw new ExitError(ExitCode.NotFound, missing);
    return;
  }
  info(
    ctx,
    `${report.downloaded} written, ${report.skipped} already there, ${report.badIds.length} unavailable` +
      ` in ${report.dir} (${report.requests} requests, ${(report.durationMs / 1000).toFixed(1)} s)`,
  );
  if (!missing) return;
  if (strict) throw new ExitError(ExitCode.NotFound, missing);
  warn(ctx, missing);
}
