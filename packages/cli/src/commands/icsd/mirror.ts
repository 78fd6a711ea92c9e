import { UsageError } from '@sciport/core';
import { CONTENT_TYPE_NAMES, type MirrorReport, type TransferProgress } from '@sciport/icsd';
import { type Command, Option } from 'commander';
import { checkOutFolder } from '../../client-factory.js';
import type { CliContext } from '../../context.js';
import { createProgress, info, printJson, warn } from '../../output.js';
import type { CommandApi } from '../../program.js';
import {
  type ConnectionOptions,
  collect,
  connectionOptions,
  contentTypes,
  makeClient,
  summarise,
  transferJson,
} from './shared.js';

/** `sciport icsd mirror --out <dir>`: the database (or a collection-code range) into a folder; resumes. */
export function registerMirror(parent: Command, { action }: CommandApi): void {
  connectionOptions(
    parent
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
      .option(
        '--refresh',
        'also fetch again the entries modified upstream since the last complete refresh (by modification date)',
      )
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
          refresh?: boolean;
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
        const out = await checkOutFolder(options.out);
        const client = await makeClient(ctx, options);
        const types = contentTypes(options.contentType);
        let progress: ReturnType<typeof createProgress> | undefined;
        const report = await client.cifs.mirror(out, {
          signal: ctx.signal,
          cellType: options.cellType,
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
          ...(types ? { contentType: types } : {}),
          ...(options.retryBad ? { retryBad: true } : {}),
          ...(options.refresh ? { refresh: true } : {}),
          onProgress: (p: TransferProgress) => {
            if (p.phase === 'discover') return;
            if (!progress) {
              info(
                ctx,
                `${p.total} entries to download${options.refresh ? ' (new or changed upstream)' : ''}, ` +
                  `${p.skipped} already in ${options.out}`,
              );
              progress = createProgress(ctx, p.total, 'mirror');
            }
            progress.update(p.done + p.failed);
          },
        });
        progress?.stop();
        summariseMirror(ctx, report, options.refresh === true);
      },
    ),
  );
}

/**
 * The report of a mirror. `--json`: the download's fields and the four counts (each entry found is in exactly
 * one), with `since` for `--refresh`. Text: as a download's, or for `--refresh` what is new, updated, unchanged
 * and unavailable.
 */
function summariseMirror(ctx: CliContext, report: MirrorReport, refresh: boolean): void {
  if (!ctx.json && !refresh) {
    summarise(ctx, report);
    return;
  }
  if (ctx.json) {
    printJson(ctx.out, {
      ...transferJson(report),
      new: report.new,
      updated: report.updated,
      unchanged: report.unchanged,
      unavailable: report.unavailable,
      ...(refresh ? { since: report.since ?? null } : {}),
    });
    return;
  }
  const since = report.since ? `modified since ${report.since}; ` : '';
  info(
    ctx,
    `${report.new} new, ${report.updated} updated, ${report.unchanged} unchanged, ${report.unavailable} unavailable` +
      ` in ${report.dir} (${since}${report.requests} requests, ${(report.durationMs / 1000).toFixed(1)} s)`,
  );
  if (report.badIds.length > 0) {
    const n = report.badIds.length;
    warn(
      ctx,
      `ICSD could not serve ${n === 1 ? 'id' : `${n} ids`}: ${report.badIds.slice(0, 50).join(', ')}` +
        `${n > 50 ? ', …' : ''} (their files, if any, are kept as they were)`,
    );
  }
}
