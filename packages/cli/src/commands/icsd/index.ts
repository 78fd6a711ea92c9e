import { UsageError } from '@sciport/core';
import {
  CONTENT_TYPE_NAMES,
  type ContentType,
  CSV_PROPERTIES,
  type CsvProperty,
  EXPERT_FIELDS,
  ICSD_SETTINGS,
  IcsdClient,
  type IcsdEvent,
  type IcsdRow,
  resolveCsvProperties,
  type TransferProgress,
} from '@sciport/icsd';
import { type Command, Option } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { disposeOnExit, printEvents, resolveSettings } from '../../client-factory.js';
import type { CliContext } from '../../context.js';
import { ExitCode, ExitError } from '../../exit-codes.js';
import { createProgress, debug, info, printJson, printNdjson, printTable, warn } from '../../output.js';
import type { CommandModule } from '../../program.js';

/**
 * `sciport icsd login|search|fetch|mirror|fields`: a thin layer over `@sciport/icsd`.
 *
 * Credentials: `ICSD_USERNAME` and `ICSD_PASSWORD`, else `sciport config set icsd.username|icsd.password`.
 * Server: `--base-url`, else `ICSD_BASE_URL`, else `icsd.baseUrl` in the config, else the real service.
 * The session is logged out however the command ends (success, error, Ctrl-C).
 */

interface ConnectionOptions {
  baseUrl?: string;
  concurrency?: string;
  timeout?: string;
}

function positiveInt(name: string, value: string | undefined, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new UsageError(`${name} must be a positive whole number, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

function contentTypes(values: string[] | undefined): ContentType[] | undefined {
  if (!values || values.length === 0) return undefined;
  const out: ContentType[] = [];
  for (const v of values.flatMap((x) => x.split(','))) {
    const name = v.trim();
    if (name === '') continue;
    const known = [
      ...CONTENT_TYPE_NAMES,
      'EXPERIMENTAL_INORGANIC',
      'EXPERIMENTAL_METALORGANIC',
      'THEORETICAL_STRUCTURES',
      'THERORETICAL_STRUCTURES',
    ];
    const match = known.find((k) => k.toLowerCase() === name.toLowerCase());
    if (!match)
      throw new UsageError(
        `Unknown content type ${JSON.stringify(name)}; use ${CONTENT_TYPE_NAMES.join(', ')}`,
      );
    out.push(match as ContentType);
  }
  return out;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

async function makeClient(
  ctx: CliContext,
  options: ConnectionOptions,
  needsCredentials = true,
): Promise<IcsdClient> {
  const settings = await resolveSettings(ctx, ICSD_SETTINGS, {
    baseUrl: { flag: options.baseUrl },
    ...(needsCredentials ? { username: { required: true }, password: { required: true } } : {}),
  });
  const timeout = positiveInt('--timeout', options.timeout);
  const client = new IcsdClient({
    ...settings,
    ...(timeout ? { timeout: timeout * 1000 } : {}),
    concurrency: positiveInt('--concurrency', options.concurrency, 4) as number,
    onEvent: printEvents<IcsdEvent>(ctx, (event) => {
      if (event.type === 'session') debug(ctx, `new ICSD session (${event.reason})`);
      else if (event.type === 'quota' && event.action === 'wait')
        warn(
          ctx,
          `ICSD is throttling downloads; waiting ${Math.round(event.delayMs / 1000)} s before trying again`,
        );
      else if (event.type === 'quota')
        debug(ctx, `ICSD serves at most ${event.cifsPerSession} CIFs a session; using smaller batches`);
      else return false;
      return true;
    }),
  });
  return disposeOnExit(ctx, client);
}

function connectionOptions(command: Command): Command {
  return command
    .option(
      '--base-url <url>',
      'ICSD API base URL (default ICSD_BASE_URL, or https://icsd.fiz-karlsruhe.de/ws)',
    )
    .option('--timeout <seconds>', 'per-request timeout in seconds (default 120)');
}

/** Flattens a typed row into printable cells. */
function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.join('; ');
  if (typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (typeof v.text === 'string') return v.text;
    return Object.values(v)
      .map((x) => cellText(x))
      .join(' ');
  }
  return String(value);
}

function jsonValue(value: unknown): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const v = value as Record<string, unknown>;
    if ('value' in v && 'text' in v)
      return { value: v.value, uncertainty: v.uncertainty ?? null, text: v.text };
  }
  return value;
}

/** The `--properties` list, checked (and spelt canonically) before anything is sent. */
function parseFields(list: string): CsvProperty[] {
  return resolveCsvProperties(
    list
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

export const register: CommandModule['register'] = (command, { action }) => {
  command.addHelpText(
    'after',
    '\nCredentials: ICSD_USERNAME and ICSD_PASSWORD, or `sciport config set icsd.username` / `icsd.password`.\n' +
      'Another server: --base-url or ICSD_BASE_URL (e.g. http://127.0.0.1:PORT/ws).',
  );

  connectionOptions(
    command.command('login').description('check the credentials: log in, then out (no token is printed)'),
  ).action(
    action(async (ctx, options: ConnectionOptions) => {
      const client = await makeClient(ctx, options);
      await client.login({ signal: ctx.signal });
      await client.logout();
      if (ctx.json) printJson(ctx.out, { ok: true, baseUrl: client.baseUrl });
      else info(ctx, `Logged in to ${client.baseUrl} and out again: the credentials work`);
    }),
  );

  connectionOptions(
    command
      .command('search')
      .description('search ICSD; prints internal ids, or a table of properties')
      .argument('[text...]', 'free text (simple search), e.g. "Li O" or LiCl')
      .option('--expert <query>', 'an expert query, e.g. "COMPOSITION : Li O and SPACEGROUPNUMBER : 225"')
      .option(
        '--content-type <type>',
        `subset to search: ${CONTENT_TYPE_NAMES.join(', ')} (repeat or comma-separate; default: the server's)`,
        collect,
      )
      .option('--properties <list>', 'CSV properties to show, comma-separated (see `sciport icsd fields`)')
      .option('--csv', 'with --properties: write CSV to stdout')
      .option('--limit <n>', 'keep only the first n ids')
      .option('--concurrency <n>', 'requests in flight for --properties (default 4)'),
  ).action(
    action(
      async (
        ctx,
        words: string[],
        options: ConnectionOptions & {
          expert?: string;
          contentType?: string[];
          properties?: string;
          csv?: boolean;
          limit?: string;
        },
      ) => {
        const text = words.join(' ').trim();
        if (!text && !options.expert) throw new UsageError('Give search text, or --expert "<query>"');
        if (text && options.expert) throw new UsageError('Give either search text or --expert, not both');
        if (options.csv && !options.properties) throw new UsageError('--csv needs --properties');
        if (options.csv && ctx.json) throw new UsageError('Choose --csv or --json, not both');
        const limit = positiveInt('--limit', options.limit);
        const fields = options.properties ? parseFields(options.properties) : undefined;
        const client = await makeClient(ctx, options);
        const types = contentTypes(options.contentType);
        const searchOptions = { signal: ctx.signal, ...(types ? { contentType: types } : {}) };
        let ids = options.expert
          ? await client.expertSearch(options.expert, searchOptions)
          : await client.search(text, searchOptions);
        if (limit !== undefined) ids = ids.slice(0, limit);
        if (!fields) {
          if (ctx.json) printJson(ctx.out, { ids });
          else if (ids.length > 0) ctx.out.write(`${ids.join('\n')}\n`);
          info(ctx, `${ids.length} ${ids.length === 1 ? 'entry' : 'entries'}`);
          return;
        }
        const rows: IcsdRow[] = [];
        for await (const row of client.properties(ids, fields, { signal: ctx.signal })) {
          if (ctx.json) {
            const out: Record<string, unknown> = { id: row.id ?? null, collectionCode: row.collectionCode };
            for (const f of fields) out[f] = jsonValue((row as Record<string, unknown>)[f]);
            printNdjson(ctx.out, out);
          } else rows.push(row as IcsdRow);
        }
        if (ctx.json) return;
        const columns = ['id', 'collectionCode', ...fields.filter((f) => f !== 'CollectionCode')];
        const records = rows.map((row) => columns.map((c) => cellText((row as Record<string, unknown>)[c])));
        if (options.csv) {
          ctx.out.write(stringify([columns, ...records]));
        } else {
          printTable(
            ctx,
            records,
            columns.map((c, i) => ({
              header: c === 'collectionCode' ? 'code' : c,
              value: (r: string[]) => r[i],
            })),
          );
        }
        info(ctx, `${rows.length} ${rows.length === 1 ? 'entry' : 'entries'}`);
      },
    ),
  );

  connectionOptions(
    command
      .command('fetch')
      .description(
        'download the CIFs of internal ids into a folder (icsd_<code>.cif), resuming what is there',
      )
      .argument('<id...>', 'internal ids (from `sciport icsd search`)')
      .requiredOption('--out <dir>', 'folder to write into')
      .addOption(
        new Option('--cell-type <type>', 'cell')
          .choices(['experimental', 'standardized'])
          .default('experimental'),
      )
      .option('--concurrency <n>', 'requests in flight (default 4)'),
  ).action(
    action(
      async (
        ctx,
        idArgs: string[],
        options: ConnectionOptions & { out: string; cellType: 'experimental' | 'standardized' },
      ) => {
        const ids = idArgs
          .flatMap((a) => a.split(','))
          .filter(Boolean)
          .map((a) => {
            if (!/^\d+$/.test(a.trim()) || Number(a) < 1)
              throw new UsageError(`Not an ICSD id: ${JSON.stringify(a)}`);
            return Number(a);
          });
        const client = await makeClient(ctx, options);
        const progress = createProgress(ctx, ids.length, 'fetch');
        const report = await client.download(ids, options.out, {
          signal: ctx.signal,
          cellType: options.cellType,
          onProgress: (p: TransferProgress) => progress.update(p.done + p.skipped + p.failed),
        });
        progress.stop();
        summarise(ctx, report, true);
      },
    ),
  );

  connectionOptions(
    command
      .command('mirror')
      .description('mirror the database (or a collection-code range) into a folder; resumes by default')
      .requiredOption('--out <dir>', 'folder to mirror into')
      .option('--from <code>', 'lowest collection code (default 1)')
      .option('--to <code>', 'highest collection code (default 9999999)')
      .option(
        '--content-type <type>',
        `subset(s): ${CONTENT_TYPE_NAMES.join(', ')} (default: all three)`,
        collect,
      )
      .addOption(
        new Option('--cell-type <type>', 'cell')
          .choices(['experimental', 'standardized'])
          .default('experimental'),
      )
      .option('--concurrency <n>', 'requests in flight, sharing one session (default 4)')
      .option('--retry-bad', 'try again the ids an earlier run could not download')
      .option('--wait-on-quota', 'when ICSD throttles, wait (minutes) and go on instead of stopping'),
  ).action(
    action(
      async (
        ctx,
        options: ConnectionOptions & {
          out: string;
          from?: string;
          to?: string;
          contentType?: string[];
          cellType: 'experimental' | 'standardized';
          retryBad?: boolean;
          waitOnQuota?: boolean;
        },
      ) => {
        const from = options.from === undefined ? undefined : Number(options.from);
        const to = options.to === undefined ? undefined : Number(options.to);
        for (const [name, v] of [
          ['--from', options.from],
          ['--to', options.to],
        ] as const) {
          if (v !== undefined && !/^\d+$/.test(v))
            throw new UsageError(`${name} must be a collection code, got ${JSON.stringify(v)}`);
        }
        const client = await makeClient(ctx, options);
        const types = contentTypes(options.contentType);
        let progress: ReturnType<typeof createProgress> | undefined;
        const report = await client.mirror(options.out, {
          signal: ctx.signal,
          cellType: options.cellType,
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
          ...(types ? { contentType: types } : {}),
          ...(options.retryBad ? { retryBad: true } : {}),
          onProgress: (p: TransferProgress) => {
            if (p.phase === 'discover') return;
            if (!progress) {
              info(ctx, `${p.total} entries to download, ${p.skipped} already in ${options.out}`);
              progress = createProgress(ctx, p.total, 'mirror');
            }
            progress.update(p.done + p.failed);
          },
        });
        progress?.stop();
        summarise(ctx, report);
      },
    ),
  );

  command
    .command('fields')
    .description('list the expert-search fields and the CSV properties')
    .action(
      action(async (ctx) => {
        if (ctx.json) {
          printJson(ctx.out, {
            searchFields: EXPERT_FIELDS.map((f) => ({
              field: f.field,
              key: f.key,
              group: f.group,
              description: f.description,
            })),
            properties: CSV_PROPERTIES,
          });
          return;
        }
        ctx.out.write('Expert search fields (--expert "FIELD : value and …"):\n');
        printTable(ctx, EXPERT_FIELDS, [
          { header: 'field', value: 'field' },
          { header: 'group', value: 'group' },
          { header: 'value', value: 'description' },
        ]);
        ctx.out.write(`\nCSV properties (--properties a,b):\n${CSV_PROPERTIES.join('\n')}\n`);
      }),
    );
};

/**
 * Prints the report of a download. With `strict` (`fetch`: the user named the ids), ids the server could not
 * serve end the command with exit code 4 once the others are written; a mirror only warns (its ids come from
 * the server's own search).
 */
function summarise(
  ctx: CliContext,
  report: {
    dir: string;
    downloaded: number;
    skipped: number;
    badIds: number[];
    bytes: number;
    requests: number;
    durationMs: number;
  },
  strict = false,
): void {
  const missing =
    report.badIds.length === 0
      ? undefined
      : `ICSD could not serve ${report.badIds.length === 1 ? 'id' : `${report.badIds.length} ids`}: ` +
        `${report.badIds.slice(0, 50).join(', ')}${report.badIds.length > 50 ? ', …' : ''}` +
        ' (ids are internal ids from `sciport icsd search`, not collection codes)';
  if (ctx.json) {
    printJson(ctx.out, {
      dir: report.dir,
      downloaded: report.downloaded,
      skipped: report.skipped,
      badIds: report.badIds,
      bytes: report.bytes,
      requests: report.requests,
      durationMs: report.durationMs,
    });
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
