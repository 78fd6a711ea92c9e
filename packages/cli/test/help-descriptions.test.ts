import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, type CommandApi, createProgram } from '../src/program.js';

/**
 * Every command, subcommand, option and argument of the whole tree (every service, loaded as `main` loads
 * them) has a help description. A command added without one fails here, by its full name.
 */
async function fullProgram(): Promise<Command> {
  const sink = { write: () => true };
  const program = createProgram({ stdout: sink, stderr: sink });
  const api: CommandApi = { action: () => async () => undefined };
  for (const entry of COMMANDS) {
    const command = program.commands.find((c) => c.name() === entry.name)!;
    (await entry.load()).register(command, api);
  }
  return program;
}

function missingDescriptions(program: Command): string[] {
  const missing: string[] = [];
  const visit = (command: Command, path: string) => {
    const name = path ? `${path} ${command.name()}` : command.name();
    if (!command.description().trim()) missing.push(`command \`${name}\` has no description`);
    for (const option of command.options) {
      if (!option.description.trim())
        missing.push(`option ${option.flags} of \`${name}\` has no description`);
    }
    for (const argument of command.registeredArguments) {
      if (!argument.description.trim())
        missing.push(`argument <${argument.name()}> of \`${name}\` has no description`);
    }
    for (const sub of command.commands) visit(sub, name);
  };
  visit(program, '');
  return missing;
}

describe('help descriptions', () => {
  it('every command, option and argument of every service says what it is for', async () => {
    const program = await fullProgram();
    const count = (c: Command): number => 1 + c.commands.reduce((n, s) => n + count(s), 0);
    // The walk reaches the services' subcommands (so an empty list below means something).
    expect(count(program)).toBeGreaterThan(60);
    expect(missingDescriptions(program)).toEqual([]);
  });
});
