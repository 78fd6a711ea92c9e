import type { ArchiveReport } from '@sciport/fragalysis';
import { ExitCode, ExitError } from '../../exit-codes.js';

/** What `download` and `check` print of a completeness report (spec §11.1). File names come from the archive:
 * the callers pass these lines through `info`/`escapeTerminal`, never raw to a terminal. */

/** Codes shown in a summary line; the full lists are in the report. */
const FIRST = 5;

function some(codes: readonly string[]): string {
  if (codes.length === 0) return '';
  const shown = codes.slice(0, FIRST).join(', ');
  return ` (${shown}${codes.length > FIRST ? `, … ${codes.length - FIRST} more` : ''})`;
}

/** The summary: observations complete / incomplete / missing with the first few codes, and where the report is. */
export function reportSummary(
  report: ArchiveReport,
  reportFile: string | undefined,
): { lines: string[]; notes: string[] } {
  const { observations: o } = report;
  const lines: string[] = [];
  if (report.complete) {
    lines.push(`Complete: ${o.requested} observations requested, each with every file its options promise`);
  } else {
    lines.push(
      `Incomplete archive: ${o.requested} observations requested: ${o.complete} complete, ` +
        `${o.incomplete} incomplete${some(report.incomplete.map((i) => i.code))}, ` +
        `${o.missing} missing${some(report.missing)}`,
    );
    if (report.missingFiles.length > 0) lines.push(`Absent: ${report.missingFiles.join(', ')}`);
    if (report.placeholders.length > 0 || report.errors.length > 0)
      lines.push(
        `${report.placeholders.length} placeholder files, ${report.errors.length} rows in errors.csv`,
      );
  }
  if (reportFile) lines.push(`Report: ${reportFile}`);
  return { lines, notes: report.warnings };
}

/** `--strict`: an incomplete archive ends the command with exit 1 (the files stay where they are). */
export function failIfIncomplete(report: ArchiveReport, strict: boolean | undefined): void {
  if (!strict || report.complete) return;
  const { observations: o } = report;
  throw new ExitError(
    ExitCode.Error,
    `The archive is incomplete (${o.incomplete} incomplete, ${o.missing} missing of ${o.requested} observations` +
      `${report.missingFiles.length > 0 ? `, ${report.missingFiles.length} top-level files absent` : ''}); ` +
      'its files are kept',
  );
}
