import { describe, expect, it } from 'vitest';
import { COMMANDS, createProgram, invokedCommand, scanGlobalFlags } from '../src/program.js';

const io = { stdout: { write: () => true }, stderr: { write: () => true } };

describe('program', () => {
  it('has a placeholder with the description of every command in the table', () => {
    const program = createProgram(io);
    for (const entry of COMMANDS) {
      const command = program.commands.find((c) => c.name() === entry.name);
      expect(command?.description()).toBe(entry.description);
      expect(command?.commands).toHaveLength(0);
    }
  });

  it('finds the invoked command without parsing', () => {
    const program = createProgram(io);
    expect(invokedCommand(['config', 'list'], program)).toBe('config');
    expect(invokedCommand(['--json', '-q', 'config', 'get', 'x'], program)).toBe('config');
    expect(invokedCommand(['help', 'config'], program)).toBe('config');
    expect(invokedCommand(['--help'], program)).toBeUndefined();
    expect(invokedCommand(['--', 'config'], program)).toBeUndefined();
    expect(invokedCommand([], program)).toBeUndefined();
  });

  it('skips the value of a root option that takes one', () => {
    const program = createProgram(io).option('--profile <name>', 'test only');
    expect(invokedCommand(['--profile', 'work', 'config'], program)).toBe('config');
    expect(invokedCommand(['--profile=work', 'config'], program)).toBe('config');
  });

  it('reads global flags up to --', () => {
    expect(scanGlobalFlags(['config', '--json', '-q', '--no-color'])).toEqual({
      json: true,
      quiet: true,
      verbose: false,
      color: false,
    });
    expect(scanGlobalFlags(['config', '--', '--json']).json).toBe(false);
  });
});
