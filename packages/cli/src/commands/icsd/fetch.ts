import { UsageError } from '@sciport/core';
import type { CodeDownloadReport, TransferProgress } from '@sciport/icsd';
import { type Command, Option } from 'commander';
import { checkOutFolder } from '../../client-factory.js';
import type { CliContext } from '../../context.js';
import { ExitCode, ExitError } from '../../exit-codes.js';
import { createProgress, info, printJson } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { type ConnectionOptions, connectionOptions, makeClient, summarise, transferJson } from './shared.js';

/**
 * The operands of `fetch` and `cite`: whole numbers, space- or comma-separated, checked before anything is
 * sent. `what` names them in the error (`collection code`, `id`).
 */
export function parseNumbers(args: readonly string[], what: string): number[] {
  return args
    .flatMap((a) => a.split(','))
    .map((a) => a.trim())
    .filter(Boolean)
    .map((a) => {
      if (!/^\d+$/.test(a) || !Number.isSafeInteger(Number(a)) || Number(a) < 1)
        throw new UsageError(`Not an ICSD ${what}: ${JSON.stringify(a)} (a positive whole number)`);
      return Number(a);
    });
}

/**
 * The codes that do not exist, for the last line: `no ICSD entry has collection code 5` when none of the `asked`
 * exists, else `2 of 3 collection codes not found: 5, 7` (at most 50 listed).
 */
export function missingCodesText(codes: readonly number[], asked: number): string {
  const list = `${codes.slice(0, 50).join(', ')}${codes.length > 50 ? ', …' : ''}`;
  if (codes.length < asked) return `${codes.length} of ${asked} collection codes not found: ${list}`;
  return `no ICSD entry has collection ${codes.length === 1 ? 'code' : 'codes'} ${list}`;
}

/**
 * `sciport icsd fetch <code...> --out <dir>`: the CIFs of collection codes (the ICSD numbers of papers), or of
 * internal ids with `--idnum`, into a folder, resuming what is there.
 */
export function registerFetch(parent: Command, { action }: CommandApi): void {
  connectionOptions(
    parent
      .command('fetch')
      .description(
        'download the CIFs of collection codes (or internal ids with --idnum) into a folder (icsd_<code>.cif), resuming what is there',
      )
      .argument('<code...>', 'ICSD collection codes ("ICSD 1975" is 1975); with --idnum, internal ids')
      .requiredOption('--out <dir>', 'folder to write into')
      .option('--idnum', 'the operands are internal ids (from `sciport icsd search`), not collection codes')
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
        args: string[],
        options: ConnectionOptions & {
          out: string;
          idnum?: boolean;
          cellType: 'experimental' | 'standardized';
        },
      ) => {
        const numbers = parseNumbers(args, options.idnum ? 'id' : 'collection code');
        const out = await checkOutFolder(options.out);
        const client = await makeClient(ctx, options);
        const progress = createProgress(ctx, new Set(numbers).size, 'fetch');
        const downloadOptions = {
          signal: ctx.signal,
          cellType: options.cellType,
          onProgress: (p: TransferProgress) => progress.update(p.done + p.skipped + p.failed),
        };
        if (options.idnum) {
          const report = await client.cifs.download(numbers, out, downloadOptions);
          progress.stop();
          summarise(ctx, report, true);
          return;
        }
        const report = await client.cifs.downloadByCode(numbers, out, downloadOptions);
        progress.stop();
        summariseCodes(ctx, report, new Set(numbers).size);
      },
    ),
  );
}

/**
 * The report of a fetch by collection code. Exit 0 when every code that exists was written (or already there),
 * the others named on stderr; exit 4 when no code exists, or when ICSD could not serve an entry that exists.
 */
function summariseCodes(ctx: CliContext, report: CodeDownloadReport, asked: number): void {
  const missing = report.missingCodes;
  if (ctx.json) {
    printJson(ctx.out, {
      ...transferJson(report),
      missingCodes: missing,
      duplicates: report.duplicates,
      mismatches: report.mismatches,
    });
  } else {
    info(
      ctx,
      `${report.downloaded} written, ${report.skipped} already there, ${missing.length} not found` +
        `${report.badIds.length > 0 ? `, ${report.badIds.length} unavailable` : ''} in ${report.dir}` +
        ` (${report.requests} requests, ${(report.durationMs / 1000).toFixed(1)} s)`,
    );
  }
  const problems: string[] = [];
  // Codes that do not exist are named by the client's warning (stderr) and in --json; they fail the command
  // only when none of the codes exists (issue 12: the others are written, and that is a success).
  if (missing.length > 0 && missing.length >= asked) problems.push(missingCodesText(missing, asked));
  if (report.badIds.length > 0) {
    problems.push(
      `ICSD could not serve ${report.badIds.length === 1 ? 'id' : `${report.badIds.length} ids`} ` +
        `${report.badIds.slice(0, 50).join(', ')}${report.badIds.length > 50 ? ', …' : ''}`,
    );
  }
  if (problems.length === 0) return;
  const hint = missing.length > 0 ? ' (operands are collection codes; --idnum takes internal ids)' : '';
  throw new ExitError(ExitCode.NotFound, `${problems.join('; ')}${hint}`);
}
