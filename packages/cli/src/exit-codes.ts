import {
  AbortError,
  AuthenticationError,
  ConnectionError,
  isAbortLike,
  MissingCredentialsError,
  NotFoundError,
  PermissionDeniedError,
  redactText,
  SciportError,
  toSciportError,
  UsageError,
} from '@sciport/core';
import type { OutputStream } from './context.js';
import { type CommanderLikeError, isCommanderError } from './program.js';
import { escapeJsonText, escapeTerminal } from './terminal.js';

/**
 * The one place that turns an error into an exit code and a message. Commands just throw.
 *
 * | code | meaning                                                                 |
 * | ---- | ----------------------------------------------------------------------- |
 * | 0    | ok                                                                      |
 * | 1    | any other error                                                         |
 * | 2    | usage: bad arguments, unknown command or flag (`UsageError`, commander) |
 * | 3    | auth: `AuthenticationError`, `PermissionDeniedError`, `MissingCredentialsError` |
 * | 4    | not found: `NotFoundError`                                              |
 * | 5    | network: `ConnectionError`, `TimeoutError`                              |
 * | 130  | interrupted: Ctrl-C, `AbortError` (143 after SIGTERM)                   |
 */
export const ExitCode = {
  Ok: 0,
  Error: 1,
  Usage: 2,
  Auth: 3,
  NotFound: 4,
  Network: 5,
  Interrupted: 130,
  Terminated: 143,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Ends a command with a given exit code; prints `message` (when given) like any error. */
export class ExitError extends Error {
  readonly exitCode: number;

  constructor(exitCode: number, message = '') {
    super(message);
    this.name = 'ExitError';
    this.exitCode = exitCode;
  }
}

/** The exit code for anything thrown. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof ExitError) return error.exitCode;
  if (isCommanderError(error)) return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  if (isAbortLike(error)) return ExitCode.Interrupted;
  if (UsageError.isInstance(error)) return ExitCode.Usage;
  if (
    AuthenticationError.isInstance(error) ||
    PermissionDeniedError.isInstance(error) ||
    MissingCredentialsError.isInstance(error)
  ) {
    return ExitCode.Auth;
  }
  if (NotFoundError.isInstance(error)) return ExitCode.NotFound;
  if (ConnectionError.isInstance(error)) return ExitCode.Network;
  // `AbortSignal.timeout()` rejects with a DOMException named TimeoutError.
  if (error instanceof Error && error.name === 'TimeoutError') return ExitCode.Network;
  return ExitCode.Error;
}

export interface ReportOptions {
  /** Print the error as its `toJSON()` on one line. */
  json: boolean;
  /** Add the stack (and causes). */
  verbose: boolean;
  err: OutputStream;
  /** The command line that failed (`sciport config get`), for the "run … --help" hint of usage errors. */
  commandPath?: string | undefined;
  /** Overrides the exit code (143 after SIGTERM). */
  exitCode?: number | undefined;
}

/**
 * Prints an error on stderr and returns its exit code: exactly one line `sciport: <message>` (the message
 * already carries the hint), the stack only with `--verbose`; with `--json`, the error's `toJSON()` instead.
 * Prints nothing for commander's help and version exits, and for an `ExitError` without a message.
 */
export function reportError(error: unknown, options: ReportOptions): number {
  const code = options.exitCode ?? exitCodeFor(error);
  if (isCommanderError(error)) {
    if (error.exitCode === 0) return code;
    // Help was printed because a command is missing: enough in text mode.
    if (error.code === 'commander.help' && !options.json) return code;
  }
  if (error instanceof ExitError && error.message === '') return code;
  const shown = describe(error, options.commandPath ?? 'sciport');
  if (options.json) {
    const body = shown.toJSON();
    if (options.verbose && shown.stack) body.stack = redactText(shown.stack);
    options.err.write(`${escapeJsonText(JSON.stringify(body))}\n`);
    return code;
  }
  const known = SciportError.isInstance(error) || isCommanderError(error) || error instanceof ExitError;
  const message = oneLine(shown.message) || shown.name;
  const more = !known && !options.verbose ? ' (run with --verbose for details)' : '';
  options.err.write(`sciport: ${escapeTerminal(message, { inline: true })}${more}\n`);
  if (options.verbose && !isCommanderError(error)) options.err.write(escapeTerminal(stackOf(error)));
  return code;
}

/** The error to show: sciport errors as they are, commander errors as usage errors, others wrapped. */
function describe(error: unknown, commandPath: string): SciportError {
  if (isCommanderError(error)) return usageFromCommander(error, commandPath);
  if (isAbortLike(error) && !SciportError.isInstance(error)) return new AbortError('Interrupted');
  if (AbortError.isInstance(error) && /^Interrupted by SIG/.test(error.message))
    return new AbortError('Interrupted');
  if (error instanceof ExitError) return new SciportError(error.message);
  return toSciportError(error);
}

/** `error: unknown command 'confg'\n(Did you mean config?)` → a UsageError with a hint. */
export function usageFromCommander(error: CommanderLikeError, commandPath: string): UsageError {
  if (error.code === 'commander.help') {
    return new UsageError(`Missing command`, { hint: `Run \`${commandPath} --help\` to see the commands` });
  }
  const lines = error.message
    .replace(/^error:\s*/i, '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const suggestion = lines
    .slice(1)
    .map((l) => /^\(?(Did you mean .+\?)\)?$/.exec(l)?.[1])
    .find((s) => s !== undefined);
  const rest = lines.slice(1).filter((l) => !/^\(?Did you mean/.test(l));
  const message = [lines[0] ?? 'Invalid arguments', ...rest].join(' ').replace(/\.$/, '');
  const help = `Run \`${commandPath} --help\` for usage`;
  return new UsageError(message, { hint: suggestion ? `${suggestion} ${help}` : help });
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function stackOf(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const text =
      current instanceof Error ? (current.stack ?? `${current.name}: ${current.message}`) : String(current);
    parts.push(depth === 0 ? text : `Caused by: ${text}`);
    current = current instanceof Error ? (current as { cause?: unknown }).cause : undefined;
  }
  return `${redactText(parts.join('\n'))}\n`;
}
