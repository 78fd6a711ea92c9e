import { AbortError } from '@sciport/core';
import { ConfigStore, type Environment } from '@sciport/core/node';
import { writeMessage } from './output.js';
import { escapeJsonText, escapeTerminalKeepColor } from './terminal.js';

/**
 * The context every command receives. Created (and `@sciport/core` loaded) only when a command runs, never for
 * `--help` or `--version`.
 */

/** A place to write text: stdout or stderr, with what the output helpers need to know about it. */
export interface Writer {
  write(text: string): void;
  /** Whether the stream is a terminal. */
  readonly isTTY: boolean;
  /** Whether to colour text written here (colour allowed, and a terminal or `FORCE_COLOR`). */
  readonly color: boolean;
  /** The underlying stream (for cli-progress, readline). */
  readonly stream: OutputStream;
}

/** What `main` writes to: `process.stdout`/`process.stderr` or anything with `write`. */
export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean | undefined;
}

/** What `main` reads from: `process.stdin` or any readable stream. */
export type InputStream = NodeJS.ReadableStream & { isTTY?: boolean | undefined };

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  stdin: InputStream;
  env: Environment;
}

/** The root options, as `command.optsWithGlobals()` returns them. */
export interface GlobalOptions {
  json?: boolean | undefined;
  quiet?: boolean | undefined;
  verbose?: boolean | undefined;
  /** `false` with `--no-color`. */
  color?: boolean | undefined;
}

/** Runs when the command ends, however it ends (success, error, Ctrl-C), last registered first. */
export type Cleanup = (signal: AbortSignal) => unknown;

export interface CliContext {
  /** `--json`: only JSON on stdout (NDJSON for streams), errors as JSON on stderr. */
  readonly json: boolean;
  /** `--quiet`: no info, warnings or progress on stderr. */
  readonly quiet: boolean;
  /** `--verbose`: debug logs and stack traces on stderr. */
  readonly verbose: boolean;
  /** Whether to colour stdout (no `--no-color`, no `NO_COLOR`, and a terminal or `FORCE_COLOR`). */
  readonly color: boolean;
  /** Aborted on Ctrl-C (SIGINT) or SIGTERM: pass it to every call so in-flight work stops. */
  readonly signal: AbortSignal;
  readonly out: Writer;
  readonly err: Writer;
  readonly stdin: InputStream;
  readonly env: Environment;
  /** Settings and credentials (`config.json`, `credentials.json`). */
  readonly config: ConfigStore;
  /** Registers work to do when the command ends (a logout, closing a file); gets a signal that times it out. */
  onCleanup(fn: Cleanup): void;
}

/** How long cleanups may take together before the command exits anyway. */
export const CLEANUP_TIMEOUT_MS = 5_000;
/** After Ctrl-C, how long the command gets to unwind before cleanups run regardless. */
export const ABORT_GRACE_MS = 1_000;

/**
 * Colour policy: `--no-color` and a non-empty `NO_COLOR` always win; otherwise colour on a terminal, or
 * anywhere when `FORCE_COLOR` is set (and not `0` or `false`).
 */
export function useColor(flag: boolean | undefined, env: Environment, isTTY: boolean): boolean {
  if (flag === false || (env.NO_COLOR !== undefined && env.NO_COLOR !== '')) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  return isTTY;
}

/**
 * A writer over `stream`. Everything written passes a last guard against server text reaching the terminal
 * raw (see terminal.ts): in JSON mode the characters JSON leaves raw are escaped; otherwise every control
 * character but newline and tab is made visible, except colour codes. Tables and messages escape server text
 * fully (colour codes too) before it gets here.
 */
export function createWriter(stream: OutputStream, color: boolean, json = false): Writer {
  return {
    write: (text) => {
      stream.write(json ? escapeJsonText(text) : escapeTerminalKeepColor(text));
    },
    isTTY: stream.isTTY === true,
    color,
    stream,
  };
}

/**
 * One command run: its context, the Ctrl-C handling and the cleanups. SIGINT and SIGTERM abort the context's
 * signal; a second signal exits at once (130 for SIGINT, 143 for SIGTERM).
 */
export class Session {
  readonly context: CliContext;
  private readonly controller = new AbortController();
  private readonly cleanups: Cleanup[] = [];
  private readonly onSigint = () => this.interrupt('SIGINT');
  private readonly onSigterm = () => this.interrupt('SIGTERM');
  private signalExitCode: number | undefined;
  private closed = false;

  constructor(globals: GlobalOptions, io: CliIo) {
    const outColor = useColor(globals.color, io.env, io.stdout.isTTY === true);
    const errColor = useColor(globals.color, io.env, io.stderr.isTTY === true);
    const json = globals.json === true;
    const err = createWriter(io.stderr, errColor, json);
    this.context = {
      json,
      quiet: globals.quiet === true,
      verbose: globals.verbose === true,
      color: outColor,
      signal: this.controller.signal,
      out: createWriter(io.stdout, outColor, json),
      err,
      stdin: io.stdin,
      env: io.env,
      config: new ConfigStore({
        env: io.env,
        onWarning: (message) => {
          if (globals.quiet) return;
          writeMessage(err, json, 'warning', message);
        },
      }),
      onCleanup: (fn) => {
        this.cleanups.push(fn);
      },
    };
    process.on('SIGINT', this.onSigint);
    process.on('SIGTERM', this.onSigterm);
  }

  /** 130 after SIGINT, 143 after SIGTERM, `undefined` when no signal came. */
  get interruptCode(): number | undefined {
    return this.signalExitCode;
  }

  /** What SIGINT and SIGTERM do (public for tests and embedders). */
  interrupt(signal: 'SIGINT' | 'SIGTERM'): void {
    const code = signal === 'SIGINT' ? 130 : 143;
    if (this.signalExitCode !== undefined) {
      // Second signal: the user does not want to wait for cleanups.
      process.exit(code);
    }
    this.signalExitCode = code;
    this.controller.abort(new AbortError(`Interrupted by ${signal}`));
  }

  /**
   * Runs a command's work, settling as soon as the context's signal aborts even if the work ignores it
   * (after giving it `ABORT_GRACE_MS` to unwind).
   */
  async run<T>(work: () => Promise<T>): Promise<T> {
    const signal = this.controller.signal;
    const running = Promise.resolve().then(work);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([running, aborted]);
    } catch (error) {
      if (signal.aborted) await settleWithin(running, ABORT_GRACE_MS);
      throw error;
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
      aborted.catch(() => undefined);
    }
  }

  /** Runs the cleanups (last first, each error ignored) within `CLEANUP_TIMEOUT_MS`, then stops listening. */
  async close(onError?: (error: unknown) => void): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const timeout = AbortSignal.timeout(CLEANUP_TIMEOUT_MS);
    const all = (async () => {
      for (const fn of this.cleanups.reverse()) {
        try {
          await fn(timeout);
        } catch (error) {
          onError?.(error);
        }
      }
    })();
    const timedOut = new Promise<void>((resolve) => timeout.addEventListener('abort', () => resolve()));
    await Promise.race([all, timedOut]);
    process.off('SIGINT', this.onSigint);
    process.off('SIGTERM', this.onSigterm);
  }
}

async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
