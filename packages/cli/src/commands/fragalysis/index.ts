import { SciportError, UsageError } from '@sciport/core';
import {
  ARCHIVE_FLAGS,
  type ArchiveOptions,
  type DownloadTargetResult,
  FRAGALYSIS_SETTINGS,
  FragalysisClient,
  type FragalysisEvent,
  type SyncResult,
} from '@sciport/fragalysis';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { printEvents, resolveSettings } from '../../client-factory.js';
import type { CliContext } from '../../context.js';
import {
  createProgress,
  debug,
  formatBytes,
  info,
  printJson,
  printNdjson,
  printTable,
  warn,
} from '../../output.js';
import type { CommandModule } from '../../program.js';

/**
 * `sciport fragalysis targets|download|uploads|sync|smiles|whoami`: a thin layer over `@sciport/fragalysis`.
 *
 * Token: `FRAGALYSIS_TOKEN`, else `sciport config set fragalysis.token` (the `sessionid` cookie value from
 * `<stack>/api/token/`); without one, public proposals only. Stack: `--stack`, `FRAGALYSIS_STACK` or
 * `fragalysis.stack` (production, staging, legacy or a URL).
 */

interface StackOptions {
  stack?: string;
}

function kebab(wire: string): string {
  return wire.replace(/_/g, '-');
}

async function makeClient(ctx: CliContext, options: StackOptions): Promise<FragalysisClient> {
  const settings = await resolveSettings(ctx, FRAGALYSIS_SETTINGS, {
    stack: { flag: options.stack, flagName: '--stack' },
    token: {},
  });
  if (!settings.token) debug(ctx, 'no FRAGALYSIS_TOKEN: anonymous, public proposals only');
  return new FragalysisClient({
    ...settings,
    onEvent: printEvents<FragalysisEvent>(ctx, (event) => {
      if (event.type !== 'archive') return false;
      if (event.phase === 'queued') {
        info(
          ctx,
          `Fragalysis' build queue is full; asking again in ${Math.round((event.delayMs ?? 0) / 1000)} s`,
        );
      } else if (event.phase === 'running' && event.message) debug(ctx, `build: ${event.message}`);
      return true;
    }),
  });
}

function stackOption(command: Command): Command {
  return command.option('--stack <name|url>', 'production (default), staging, legacy, or a URL');
}

/**
 * One commander option per request field of the download dialog, named after it in kebab-case, each in both
 * forms: `--event-file` / `--no-event-file`, `--readme` / `--no-readme`. A flag not given keeps the web
 * dialog's default.
 */
function archiveOptions(command: Command): Command {
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

type ArchiveCliOptions = Record<string, unknown> & { proteins?: string; fileUrl?: string; maxWait?: string };

function toArchiveOptions(options: ArchiveCliOptions): ArchiveOptions {
  const out: Record<string, unknown> = {};
  for (const [key] of ARCHIVE_FLAGS) {
    if (typeof options[key] === 'boolean') out[key] = options[key];
  }
  if (options.proteins) out.proteins = options.proteins;
  if (options.fileUrl) out.fileUrl = options.fileUrl;
  return out as ArchiveOptions;
}

function maxWait(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new UsageError(`--max-wait must be seconds, got ${value}`);
  return Number(value) * 1000;
}

/** `title`, or `title@tas`. */
function parseTarget(spec: string): { title: string; tas: string | undefined } {
  const at = spec.lastIndexOf('@');
  if (at <= 0) return { title: spec, tas: undefined };
  return { title: spec.slice(0, at), tas: spec.slice(at + 1) };
}

function describeResult(result: DownloadTargetResult, includeUrl: boolean) {
  return {
    target: result.target,
    tas: result.tas,
    archive: result.archive,
    format: result.format,
    bytes: result.bytes,
    ...(result.sha256 ? { sha256: result.sha256 } : {}),
    immediate: result.immediate,
    ...(result.extractedTo ? { extractedTo: result.extractedTo } : {}),
    // A static link's file_url is how it is fetched again later; others expire and stay out of the output.
    ...(includeUrl ? { fileUrl: result.fileUrl } : {}),
  };
}

export const register: CommandModule['register'] = (command, { action }) => {
  command.addHelpText(
    'after',
    '\nToken: FRAGALYSIS_TOKEN or `sciport config set fragalysis.token` (from <stack>/api/token/ while logged in);\n' +
      'without it, public proposals only. Stack: --stack, FRAGALYSIS_STACK or fragalysis.stack.',
  );

  stackOption(
    command.command('whoami').description('who the stack thinks you are, and your proposals'),
  ).action(
    action(async (ctx, options: StackOptions) => {
      const client = await makeClient(ctx, options);
      const user = client.authenticated
        ? await client.verifyToken({ signal: ctx.signal })
        : await client.whoami({ signal: ctx.signal });
      if (ctx.json)
        printJson(ctx.out, {
          stack: client.baseUrl,
          user: user?.user ?? null,
          targetAccess: user?.target_access ?? [],
        });
      else
        ctx.out.write(
          `${user?.user ?? 'anonymous'} on ${client.baseUrl}\n${(user?.target_access ?? []).join('\n')}\n`,
        );
    }),
  );

  stackOption(
    command.command('targets').description('list the targets you can see, with their target access strings'),
  ).action(
    action(async (ctx, options: StackOptions) => {
      const client = await makeClient(ctx, options);
      const rows: Array<{ id: number; title: string; tas: string; name: string }> = [];
      for await (const t of client.targets({ signal: ctx.signal })) {
        if (ctx.json)
          printNdjson(ctx.out, { id: t.id, title: t.title, tas: t.tas, displayName: t.displayName ?? null });
        else rows.push({ id: t.id, title: t.title, tas: t.tas, name: t.displayName ?? '' });
      }
      if (!ctx.json) {
        printTable(ctx, rows, [
          { header: 'title', value: 'title' },
          { header: 'tas', value: 'tas' },
          { header: 'id', value: 'id', align: 'right' },
          { header: 'display name', value: 'name' },
        ]);
        info(ctx, `${rows.length} targets on ${client.baseUrl}`);
      }
    }),
  );

  archiveOptions(
    stackOption(
      command
        .command('download')
        .description("build and download a target's archive, with every option of the web download dialog")
        .argument('<target>', 'target title (with --tas, or title@tas)')
        .option('--tas <tas>', 'target access string (needed when two targets share the title)')
        .addOption(
          command
            .createOption('--target-access-string <tas>', 'the same as --tas (the request field)')
            .hideHelp(),
        )
        .option('--out <dir>', 'folder to save into', '.')
        .option('--extract', 'unpack it (safely) into <out>/<title>_<tas>/')
        .option('--sha256', "compute the archive's SHA-256 as it arrives (printed; in --json)"),
    ),
  ).action(
    action(
      async (
        ctx,
        spec: string,
        options: StackOptions &
          ArchiveCliOptions & {
            tas?: string;
            targetAccessString?: string;
            out: string;
            extract?: boolean;
            sha256?: boolean;
          },
      ) => {
        const parsed = parseTarget(spec);
        const archive = toArchiveOptions(options);
        const wait = maxWait(options.maxWait);
        const client = await makeClient(ctx, options);
        const tas =
          options.tas ??
          options.targetAccessString ??
          parsed.tas ??
          (await client.findTarget(parsed.title, undefined, { signal: ctx.signal })).tas;
        info(ctx, `Asking ${client.baseUrl} for ${parsed.title} (${tas})…`);
        let progress: ReturnType<typeof createProgress> | undefined;
        const result = await client.downloadTarget({
          target: parsed.title,
          tas,
          destination: options.out,
          options: archive,
          ...(options.extract ? { extract: true } : {}),
          ...(options.sha256 ? { checksum: true } : {}),
          ...(wait ? { maxWaitTime: wait } : {}),
          signal: ctx.signal,
          onProgress: (p) => {
            if (!progress) progress = createProgress(ctx, p.total ?? 0, 'download');
            progress.update(p.bytes);
          },
        });
        progress?.stop();
        if (ctx.json) printJson(ctx.out, describeResult(result, archive.staticLink === true));
        else {
          info(ctx, `Saved ${result.archive} (${formatBytes(result.bytes)}, ${result.format})`);
          if (result.sha256) info(ctx, `SHA-256 ${result.sha256}`);
          if (result.extractedTo) info(ctx, `Unpacked into ${result.extractedTo}`);
          if (archive.staticLink) info(ctx, `Static link (fetch again with --file-url): ${result.fileUrl}`);
        }
      },
    ),
  );

  stackOption(
    command.command('uploads').description('upload history: last upload index and time per target'),
  ).action(
    action(async (ctx, options: StackOptions) => {
      const client = await makeClient(ctx, options);
      const stats = await client.uploads({ signal: ctx.signal });
      if (ctx.json) {
        for (const s of stats) {
          printNdjson(ctx.out, {
            targetId: s.targetId,
            target: s.targetName,
            tas: s.tas,
            projectId: s.projectId ?? null,
            lastUploadIndex: s.lastUploadIndex,
            lastUploadTimestamp: s.lastUploadTimestamp.toISOString(),
            uploads: s.uploads.length,
          });
        }
        return;
      }
      printTable(ctx, stats, [
        { header: 'target', value: 'targetName' },
        { header: 'tas', value: 'tas' },
        { header: 'last upload', value: 'lastUploadIndex', align: 'right' },
        { header: 'at', value: (s) => s.lastUploadTimestamp.toISOString() },
      ]);
    }),
  );

  archiveOptions(
    stackOption(
      command
        .command('sync')
        .description('download targets only when they have a newer upload than the copy in the folder')
        .argument('<target...>', 'targets, as title@tas (or a title that is unique)')
        .option('--tas <tas>', 'target access string of the targets given by title alone')
        .requiredOption('--out <dir>', 'folder holding the copies and the sync state')
        .option('--extract', 'unpack each archive'),
    ),
  ).action(
    action(
      async (
        ctx,
        specs: string[],
        options: StackOptions & ArchiveCliOptions & { tas?: string; out: string; extract?: boolean },
      ) => {
        const archive = toArchiveOptions(options);
        const wait = maxWait(options.maxWait);
        const client = await makeClient(ctx, options);
        const targets: Array<{ title: string; tas: string }> = [];
        for (const spec of specs) {
          const p = parseTarget(spec);
          targets.push({
            title: p.title,
            tas:
              p.tas ??
              options.tas ??
              (await client.findTarget(p.title, undefined, { signal: ctx.signal })).tas,
          });
        }
        const results = await client.sync(targets, options.out, {
          options: archive,
          ...(options.extract ? { extract: true } : {}),
          ...(wait ? { maxWaitTime: wait } : {}),
          signal: ctx.signal,
          onTarget: (r: SyncResult) => {
            if (ctx.json) {
              printNdjson(ctx.out, {
                target: r.target,
                tas: r.tas,
                status: r.status,
                lastUploadIndex: r.lastUploadIndex ?? null,
                archive: r.archive ?? null,
                ...(r.error ? { error: r.error.message } : {}),
              });
            } else if (r.status === 'failed') warn(ctx, `${r.target} (${r.tas}): ${r.error?.message}`);
            else info(ctx, `${r.target} (${r.tas}): ${r.status}${r.archive ? ` → ${r.archive}` : ''}`);
          },
        });
        const failed = results.filter((r) => r.status === 'failed');
        if (failed.length > 0) {
          throw new SciportError(`${failed.length} of ${results.length} targets failed to sync`);
        }
      },
    ),
  );

  stackOption(
    command
      .command('smiles')
      .description('the unique SMILES of a target’s compounds')
      .argument('<target>', 'target title (with --tas, or title@tas)')
      .option('--tas <tas>', 'target access string')
      .option('--format <format>', 'smi, csv or json', 'smi'),
  ).action(
    action(async (ctx, spec: string, options: StackOptions & { tas?: string; format: string }) => {
      if (!['smi', 'csv', 'json'].includes(options.format)) {
        throw new UsageError(`--format must be smi, csv or json, got ${options.format}`);
      }
      const parsed = parseTarget(spec);
      const client = await makeClient(ctx, options);
      const tas =
        options.tas ??
        parsed.tas ??
        (await client.findTarget(parsed.title, undefined, { signal: ctx.signal })).tas;
      const smiles = await client.compoundSmiles(parsed.title, tas, { signal: ctx.signal });
      if (ctx.json || options.format === 'json') printJson(ctx.out, { target: parsed.title, tas, smiles });
      else if (options.format === 'csv') {
        ctx.out.write(stringify([['target', 'tas', 'smiles'], ...smiles.map((s) => [parsed.title, tas, s])]));
      } else if (smiles.length > 0) ctx.out.write(`${smiles.join('\n')}\n`);
      info(ctx, `${smiles.length} compounds in ${parsed.title} (${tas})`);
    }),
  );
};
