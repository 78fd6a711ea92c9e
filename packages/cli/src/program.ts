import { Command, type CommanderError } from 'commander';
import pkg from '../package.json' with { type: 'json' };
import type { CliContext, OutputStream } from './context.js';
import { helpWidth, wrapHelp } from './help-wrap.js';

/**
 * The root command. It knows every command's name and description from `COMMANDS` without importing any of
 * them: `main` imports only the module of the command actually invoked, lets it add its commander subtree,
 * then parses. `sciport --help` imports none.
 */

/** Wraps a command's action: builds the `CliContext` (from the global flags) and handles Ctrl-C and errors. */
export type ActionWrapper = <A extends unknown[]>(
  handler: (ctx: CliContext, ...args: A) => unknown,
) => (this: Command, ...args: A) => Promise<void>;

/** What `main` hands to a command module's `register`. */
export interface CommandApi {
  /**
   * `command.action(action(async (ctx, key: string, options: { reveal?: true }) => …))`: the handler gets the
   * context first, then commander's usual arguments (operands, options, the command).
   */
  action: ActionWrapper;
}

/** A command module (`src/commands/<name>.ts`): adds subcommands, arguments, options and actions. */
export interface CommandModule {
  /** `command` is already named and described from `COMMANDS`; add the rest. */
  register(command: Command, api: CommandApi): void;
}

export interface CommandEntry {
  name: string;
  /** One line, shown by `sciport --help`. */
  description: string;
  load: () => Promise<CommandModule>;
}

/** Every top-level command. Adding a service is one line here plus `src/commands/<name>.ts`. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'icsd',
    description: 'ICSD (FIZ Karlsruhe): search, properties, CIFs, mirrors, structures and citations',
    load: () => import('./commands/icsd/index.js'),
  },
  {
    name: 'crucible',
    description: 'Crucible (Molecular Foundry): datasets, files, metadata, samples, ingestion',
    load: () => import('./commands/crucible/index.js'),
  },
  {
    name: 'fragalysis',
    description: 'Fragalysis (Diamond/XChem): targets, structure archives, uploads, compound SMILES',
    load: () => import('./commands/fragalysis/index.js'),
  },
  {
    name: 'config',
    description: 'show and change settings and stored credentials',
    load: () => import('./commands/config.js'),
  },
  {
    name: 'completion',
    description: 'print a completion script for bash, zsh or fish',
    load: () => import('./commands/completion.js'),
  },
];

export const VERSION: string = pkg.version;

export interface ProgramOptions {
  stdout: OutputStream;
  stderr: OutputStream;
  /** Write nothing to stderr from commander (`--json`: errors are printed as JSON by `main`). */
  silentErrors?: boolean;
  /** The environment (`COLUMNS` sets the help's width when stdout is not a terminal). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The root program, with a placeholder (name and description) for every command of `COMMANDS`. */
export function createProgram(options: ProgramOptions): Command {
  const env = options.env ?? process.env;
  const outWidth = () => helpWidth(options.stdout as OutputStream & { columns?: number }, env);
  const errWidth = () => helpWidth(options.stderr as OutputStream & { columns?: number }, env);
  const program = new Command('sciport')
    .description('ICSD, Crucible and Fragalysis from the shell.')
    .version(VERSION, '-V, --version', 'print the version')
    .option('--json', 'write only JSON to stdout (NDJSON for streams); errors as JSON on stderr')
    .option('-q, --quiet', 'print no info, warnings or progress')
    .option('--verbose', 'print debug logs and stack traces on stderr')
    .option('--no-color', 'never colour output (NO_COLOR=1 does the same)')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    .configureOutput({
      // Help at the terminal's width (or `COLUMNS`), the text commands add to it included.
      writeOut: (text) => {
        const width = outWidth();
        options.stdout.write(width === undefined ? text : wrapHelp(text, width));
      },
      writeErr: (text) => {
        const width = errWidth();
        if (!options.silentErrors) options.stderr.write(width === undefined ? text : wrapHelp(text, width));
      },
      getOutHelpWidth: () => outWidth() ?? 80,
      getErrHelpWidth: () => errWidth() ?? 80,
      // `main` prints parse errors itself, as one `sciport: …` line (or JSON).
      outputError: () => undefined,
    })
    .exitOverride();
  program.helpCommand('help [command]', 'show help for a command');
  program.addHelpText(
    'after',
    '\nRun `sciport <command> --help` for a command’s options. Settings: `sciport config path`.\n' +
      'Exit codes: 0 ok, 1 error, 2 usage, 3 auth, 4 not found, 5 network, 130 interrupted.',
  );
  for (const entry of COMMANDS) program.command(entry.name).description(entry.description);
  return program;
}

/**
 * The name of the command `argv` invokes, without parsing: the first operand, skipping root options (and the
 * value of those that take one) and `help` (`sciport help config` → `config`). Stops at `--`.
 */
export function invokedCommand(argv: readonly string[], program: Command): string | undefined {
  let skipHelp = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return undefined;
    if (arg.length > 1 && arg.startsWith('-')) {
      const option = program.options.find((o) => o.short === arg || o.long === arg);
      if (option && (option.required || option.optional) && !arg.includes('=')) i++;
      continue;
    }
    if (arg === 'help' && skipHelp) {
      skipHelp = false;
      continue;
    }
    return arg;
  }
  return undefined;
}

/** Global flags read straight from argv, for errors raised before (or while) commander parses. */
export function scanGlobalFlags(argv: readonly string[]): {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  color: boolean;
} {
  const end = argv.indexOf('--');
  const args = end === -1 ? argv : argv.slice(0, end);
  return {
    json: args.includes('--json'),
    quiet: args.includes('--quiet') || args.includes('-q'),
    verbose: args.includes('--verbose'),
    color: !args.includes('--no-color'),
  };
}

export interface CommanderLikeError {
  code: string;
  exitCode: number;
  message: string;
}

/** A commander error (duck-typed, so that two copies of commander both count). */
export function isCommanderError(error: unknown): error is CommanderLikeError {
  if (!(error instanceof Error)) return false;
  const { code, exitCode } = error as Partial<CommanderLikeError>;
  return typeof code === 'string' && code.startsWith('commander.') && typeof exitCode === 'number';
}

const commandsOfErrors = new WeakMap<Error, Command>();

/**
 * Makes every command in the tree throw commander's errors (instead of exiting), remembering which command
 * raised each, for the "run `sciport config set --help`" hint.
 */
export function throwParseErrors(root: Command): void {
  const visit = (command: Command) => {
    command.exitOverride((error: CommanderError) => {
      commandsOfErrors.set(error, command);
      throw error;
    });
    for (const sub of command.commands) visit(sub);
  };
  visit(root);
}

/** `sciport config set` for an error raised by that command while parsing. */
export function commandPathOf(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  let command = commandsOfErrors.get(error);
  const names: string[] = [];
  while (command) {
    names.unshift(command.name());
    command = command.parent ?? undefined;
  }
  return names.length > 0 ? names.join(' ') : undefined;
}
