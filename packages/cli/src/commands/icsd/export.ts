import { exportStructures } from '@sciport/icsd';
import { type Command, Option } from 'commander';
import type { CliContext } from '../../context.js';
import { ExitCode, ExitError } from '../../exit-codes.js';
import { createProgress, info, printJson } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { escapeTerminal } from '../../terminal.js';

/**
 * `sciport icsd export <mirror-dir> --format optimade --out FILE.jsonl`: every CIF of a mirror folder as one
 * OPTIMADE `structures` entry per line, in collection-code order and flat memory. Works offline (no login).
 * FILE appears only when the export completes. Entries that cannot be parsed are refused, each with its
 * reason on stderr and in `--json`; the file holds the rest and the exit code is 0 (1 with `--strict`).
 */
export function registerExport(parent: Command, { action }: CommandApi): void {
  parent
    .command('export')
    .description('write a mirror folder as OPTIMADE JSON Lines (one structures entry per CIF), offline')
    .argument('<mirror-dir>', 'the folder of a mirror (`sciport icsd mirror --out`)')
    .addOption(new Option('--format <format>', 'output format').choices(['optimade']).default('optimade'))
    .requiredOption('--out <file>', 'the JSON Lines file to write (its folder must exist)')
    .option('--strict', 'exit 1 when any entry is refused (the file is written all the same)')
    .action(
      action(async (ctx, dir: string, options: { format: 'optimade'; out: string; strict?: boolean }) => {
        let progress: ReturnType<typeof createProgress> | undefined;
        const report = await exportStructures(dir, options.out, {
          format: options.format,
          signal: ctx.signal,
          onProgress: (p) => {
            progress ??= createProgress(ctx, p.total, 'export');
            progress.update(p.done);
          },
        });
        progress?.stop();
        const refused = report.refused;
        if (ctx.json) {
          printJson(ctx.out, {
            file: report.file,
            format: report.format,
            written: report.written,
            refused: refused.length,
            refusals: refused,
            bytes: report.bytes,
            durationMs: Math.round(report.durationMs),
          });
        } else {
          for (const r of refused) printRefusal(ctx, r);
          info(
            ctx,
            `${report.written} entr${report.written === 1 ? 'y' : 'ies'} written to ${report.file}, ` +
              `${refused.length} refused (${(report.durationMs / 1000).toFixed(1)} s)`,
          );
        }
        if (options.strict && refused.length > 0) {
          throw new ExitError(
            ExitCode.Error,
            ctx.json
              ? ''
              : `${refused.length} entr${refused.length === 1 ? 'y was' : 'ies were'} refused (listed above)`,
          );
        }
      }),
    );
}

function printRefusal(
  ctx: CliContext,
  r: { file: string; collectionCode: number | null; problem: string; message: string; line: number | null },
): void {
  const where = `${r.file}${r.line === null ? '' : `:${r.line}`}`;
  ctx.err.write(`refused ${escapeTerminal(`${where} (${r.problem}): ${r.message}`, { inline: true })}\n`);
}
