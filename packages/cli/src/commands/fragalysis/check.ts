import { type ArchiveReport, checkArchive, writeArchiveReport } from '@sciport/fragalysis';
import type { Command } from 'commander';
import { printJson, warn } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { escapeTerminal } from '../../terminal.js';
import { failIfIncomplete, reportSummary } from './report.js';

/**
 * `sciport fragalysis check <archive-or-folder> [--strict]`: the completeness check of an archive already on
 * disk (spec §11.1), without the network. The report is written beside it as `<archive>.report.json`.
 */
export function registerCheck(command: Command, { action }: CommandApi): void {
  command
    .command('check')
    .description('check a downloaded archive (.tar.gz, .zip or extracted folder) against what was asked')
    .argument('<archive-or-folder>', 'the archive file, or the folder it was extracted into')
    .option('--strict', 'exit 1 when the archive is incomplete')
    .action(
      action(async (ctx, location: string, options: { strict?: boolean }) => {
        const report: ArchiveReport = await checkArchive(location, { signal: ctx.signal });
        let reportFile: string | undefined;
        try {
          reportFile = await writeArchiveReport(report);
        } catch (error) {
          // A read-only place still gets its check: only the file is missing.
          warn(ctx, `The report could not be written beside ${report.archive}: ${(error as Error).message}`);
        }
        if (ctx.json)
          printJson(ctx.out, { archive: report.archive, ...(reportFile ? { reportFile } : {}), report });
        else {
          const { lines, notes } = reportSummary(report, reportFile);
          ctx.out.write(`${lines.map((l) => escapeTerminal(l, { inline: true })).join('\n')}\n`);
          for (const note of notes) warn(ctx, note);
        }
        failIfIncomplete(report, options.strict);
      }),
    );
}
