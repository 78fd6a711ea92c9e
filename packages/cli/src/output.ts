import type { CliContext, Writer } from './context.js';
import { suspendProgress } from './progress.js';
import { escapeTerminal } from './terminal.js';

export {
  createProgress,
  formatProgressLine,
  type Progress,
  type ProgressDetail,
  type ProgressOptions,
  stopProgress,
} from './progress.js';
export { formatBytes, formatDuration, formatTimestamp, timeHeader } from './units.js';

/**
 * Output helpers. Rules: stdout carries the result only (with `--json`, only JSON: one document, or NDJSON for
 * streams); everything else (info, warnings, debug, progress) goes to stderr, where `--quiet` silences it.
 * With `--json`, stderr messages are JSON lines too (`{"level":"warning","message":…}`), so both streams stay
 * machine-readable.
 */

const ESC = '\u001b[';

/** Wraps `text` in an SGR sequence when `on`. */
function sgr(code: string, reset: string, text: string, on: boolean): string {
  return on ? `${ESC}${code}m${text}${ESC}${reset}m` : text;
}

export const style = {
  bold: (text: string, on: boolean) => sgr('1', '22', text, on),
  dim: (text: string, on: boolean) => sgr('2', '22', text, on),
  red: (text: string, on: boolean) => sgr('31', '39', text, on),
  yellow: (text: string, on: boolean) => sgr('33', '39', text, on),
  green: (text: string, on: boolean) => sgr('32', '39', text, on),
};

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escape sequences is the point
const ANSI = /\u001b\[[0-9;]*m/g;

/** The printed width of `text`, ignoring colour codes. */
export function visibleLength(text: string): number {
  return text.replace(ANSI, '').length;
}

/** Prints `value` as JSON: keys in the order given, 2-space indent, a final newline. */
export function printJson(out: Writer, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints one NDJSON line (for streamed results under `--json`). */
export function printNdjson(out: Writer, value: unknown): void {
  out.write(`${JSON.stringify(value)}\n`);
}

export interface Column<Row> {
  /** Header text (printed upper-case). */
  header: string;
  /** The cell of a row: a property name, or a function. */
  value: keyof Row | ((row: Row) => unknown);
  align?: 'left' | 'right';
}

export interface TableOptions {
  /** Bold headers when true. */
  color?: boolean;
  /** Print the header line (default true). */
  header?: boolean;
}

/** A plain text table: columns aligned with two spaces between, no trailing spaces, one row a line. */
export function formatTable<Row>(
  rows: readonly Row[],
  columns: readonly Column<Row>[],
  options: TableOptions = {},
): string {
  const color = options.color === true;
  const cells = rows.map((row) =>
    columns.map((column) => {
      const raw = typeof column.value === 'function' ? column.value(row) : row[column.value];
      return raw === undefined || raw === null
        ? ''
        : escapeTerminal(String(raw).replace(/[\r\n\t]+/g, ' '), { inline: true });
    }),
  );
  const showHeader = options.header !== false;
  const headers = columns.map((c) => c.header.toUpperCase());
  const widths = columns.map((_, i) =>
    Math.max(showHeader ? visibleLength(headers[i]!) : 0, ...cells.map((r) => visibleLength(r[i]!))),
  );
  const line = (values: string[], decorate: (s: string) => string = (s) => s) =>
    values
      .map((value, i) => {
        const pad = ' '.repeat(widths[i]! - visibleLength(value));
        const last = i === values.length - 1;
        if (columns[i]!.align === 'right') return pad + decorate(value);
        return decorate(value) + (last ? '' : pad);
      })
      .join('  ')
      .trimEnd();
  const lines = cells.map((r) => line(r));
  if (showHeader) lines.unshift(line(headers, (s) => style.bold(s, color)));
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** Prints a table on stdout, bold headers when stdout takes colour. */
export function printTable<Row>(
  ctx: Pick<CliContext, 'out'>,
  rows: readonly Row[],
  columns: readonly Column<Row>[],
  options: Omit<TableOptions, 'color'> = {},
): void {
  ctx.out.write(formatTable(rows, columns, { ...options, color: ctx.out.color }));
}

type Level = 'info' | 'warning' | 'debug';

/** Writes one message line on stderr: plain text, or a JSON line under `--json`. */
export function writeMessage(err: Writer, json: boolean, level: Level, message: string): void {
  if (json) {
    err.write(`${JSON.stringify({ level, message })}\n`);
    return;
  }
  // A bar being drawn on this stream first leaves its line: the message gets one of its own.
  suspendProgress(err.stream);
  const text = escapeTerminal(message.replace(/\n+$/, ''));
  if (level === 'warning') err.write(`${style.yellow('warning:', err.color)} ${text}\n`);
  else if (level === 'debug') err.write(`${style.dim(`debug: ${text}`, err.color)}\n`);
  else err.write(`${text}\n`);
}

type MessageContext = Pick<CliContext, 'err' | 'json' | 'quiet' | 'verbose'>;

/** Progress and confirmations, on stderr. Silenced by `--quiet`. */
export function info(ctx: MessageContext, message: string): void {
  if (!ctx.quiet) writeMessage(ctx.err, ctx.json, 'info', message);
}

/** Something the user should know, on stderr. Silenced by `--quiet`. */
export function warn(ctx: MessageContext, message: string): void {
  if (!ctx.quiet) writeMessage(ctx.err, ctx.json, 'warning', message);
}

/** Details for `--verbose` only, on stderr. */
export function debug(ctx: MessageContext, message: string): void {
  if (ctx.verbose && !ctx.quiet) writeMessage(ctx.err, ctx.json, 'debug', message);
}
