import type { Command } from 'commander';
import type { CliContext, CliIo, GlobalOptions, Session } from './context.js';
import {
  type ActionWrapper,
  COMMANDS,
  type CommandApi,
  commandPathOf,
  createProgram,
  invokedCommand,
  isCommanderError,
  scanGlobalFlags,
  throwParseErrors,
} from './program.js';
import { escapeTerminal } from './terminal.js';

export type {
  Cleanup,
  CliContext,
  CliIo,
  GlobalOptions,
  InputStream,
  OutputStream,
  Writer,
} from './context.js';
export type { ActionWrapper, CommandApi, CommandEntry, CommandModule } from './program.js';
export { COMMANDS, VERSION } from './program.js';

/**
 * Runs the `sciport` command line and resolves with the exit code (it never calls `process.exit` itself).
 *
 * Startup stays small: this module loads commander and the command table only. The invoked command's module,
 * `@sciport/core` (through the context) and the error reporter are imported when needed.
 *
 * @param argv the arguments after `node sciport` (default `process.argv.slice(2)`).
 * @param io streams and environment (default the process's own).
 */
export async function main(
  argv: readonly string[] = process.argv.slice(2),
  io: Partial<CliIo> = {},
): Promise<number> {
  const streams: CliIo = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    stdin: io.stdin ?? process.stdin,
    env: io.env ?? process.env,
  };
  const early = scanGlobalFlags(argv);
  let session: Session | undefined;

  const action: ActionWrapper = (handler) =>
    async function (this: Command, ...args) {
      if (session) throw new Error('sciport: only one action may run per invocation');
      const { Session } = await import('./context.js');
      session = new Session(this.optsWithGlobals<GlobalOptions>(), streams);
      const context = session.context;
      await session.run(async () => {
        await handler(context, ...args);
      });
    };
  const api: CommandApi = { action };

  let code: number;
  try {
    const program = createProgram({
      stdout: streams.stdout,
      stderr: streams.stderr,
      silentErrors: early.json,
      env: streams.env,
    });
    const name = invokedCommand(argv, program);
    const entry = COMMANDS.find((c) => c.name === name);
    if (entry) {
      const command = program.commands.find((c) => c.name() === entry.name)!;
      (await entry.load()).register(command, api);
    }
    throwParseErrors(program);
    await program.parseAsync([...argv], { from: 'user' });
    code = session?.interruptCode ?? 0;
  } catch (error) {
    // `--help` and `--version` end as commander "errors" with exit code 0: no need to load the reporter.
    code = isCommanderError(error) && error.exitCode === 0 ? 0 : await report(error, session, early, streams);
  }
  if (session) {
    const ctx: CliContext = session.context;
    const failures: unknown[] = [];
    await session.close((error) => failures.push(error));
    if (failures.length > 0 && ctx.verbose) {
      // Loaded only here: `--help` and friends must not load core.
      const { redactText } = await import('@sciport/core');
      for (const error of failures) {
        streams.stderr.write(
          `sciport: cleanup failed: ${escapeTerminal(redactText(String(error)), { inline: true })}\n`,
        );
      }
    }
  }
  return code;
}

async function report(
  error: unknown,
  session: Session | undefined,
  early: ReturnType<typeof scanGlobalFlags>,
  io: CliIo,
): Promise<number> {
  const ctx = session?.context;
  if (session) {
    // A progress bar still drawn (an error or Ctrl-C mid-transfer) finishes its line first, so the message
    // starts on its own. Loaded only when a command ran (then output.js is loaded already).
    const { stopProgress } = await import('./progress.js');
    stopProgress();
  }
  const { reportError } = await import('./exit-codes.js');
  return reportError(error, {
    json: ctx?.json ?? early.json,
    verbose: ctx?.verbose ?? early.verbose,
    err: io.stderr,
    commandPath: commandPathOf(error),
    exitCode: session?.interruptCode,
  });
}
