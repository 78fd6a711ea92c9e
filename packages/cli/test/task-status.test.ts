import { describe, expect, it } from 'vitest';
import { createWriter } from '../src/context.js';
import { createTaskStatus, formatElapsed } from '../src/task-status.js';

/** The wait display of server tasks (issue 15, item 11), in process with fake streams and a fake clock. */

function setup(isTTY: boolean, json: boolean) {
  let text = '';
  const stream = {
    write: (chunk: string) => {
      text += chunk;
      return true;
    },
    isTTY,
    columns: 200,
  };
  const cleanups: Array<(signal: AbortSignal) => unknown> = [];
  const ctx = {
    err: createWriter(stream, false, json),
    json,
    quiet: false,
    verbose: false,
    onCleanup: (fn: (signal: AbortSignal) => unknown) => {
      cleanups.push(fn);
    },
  };
  let time = 1_000_000;
  return {
    ctx,
    output: () => text,
    cleanups,
    clock: { now: () => time, advance: (ms: number) => (time += ms) },
  };
}

describe('task status', () => {
  it('formats elapsed time for people', () => {
    expect(formatElapsed(7_400)).toBe('7 s');
    expect(formatElapsed(64_000)).toBe('1 min 04 s');
    expect(formatElapsed(3_720_000)).toBe('1 h 02 min');
  });

  it('--json: one event per change, the last with end, server text kept as data', () => {
    const { ctx, output, clock } = setup(false, true);
    const status = createTaskStatus(
      ctx,
      { task: 'archive', label: 'archive build X', target: 'X' },
      clock.now,
    );
    status.update({ state: 'RUNNING', detail: 'Adding PDBs...' });
    status.update({ state: 'RUNNING', detail: 'Adding PDBs...' });
    clock.advance(3_000);
    status.update({ detail: 'evil\u001b]52;c;x\u0007' });
    status.stop('SUCCESS');
    status.stop('SUCCESS');
    const lines = output()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.state, l.detail, l.end ?? false])).toEqual([
      ['RUNNING', 'Adding PDBs...', false],
      ['RUNNING', 'evil\u001b]52;c;x\u0007', false],
      ['SUCCESS', null, true],
    ]);
    expect(lines[1]).toMatchObject({ event: 'task', task: 'archive', target: 'X', elapsedMs: 3_000 });
  });

  it('on a terminal: escapes server text, clears its line for other messages, ends with a summary', () => {
    const { ctx, output, clock, cleanups } = setup(true, false);
    const status = createTaskStatus(ctx, { task: 'archive', label: 'archive build X' }, clock.now);
    status.update({ state: 'RUNNING', detail: 'evil\u001b[2Jclear' });
    clock.advance(65_000);
    status.print(() => ctx.err.write('warning: slow\n'));
    status.stop('SUCCESS');
    const text = output();
    expect(text).toMatch(/archive build X · RUNNING: evil\\x1b\[2Jclear · 1 min 05 s/);
    expect(text).not.toContain('\u001b[2Jclear');
    // The spinner's line is cleared before the warning, and the spinner drawn again after it.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's escape sequences are the point
    expect(text).toMatch(/\u001b\[2Kwarning: slow\n\u001b7[^\n]*archive build X · RUNNING/);
    expect(text).toMatch(/archive build X: SUCCESS \(1 min 05 s\)\n$/);
    expect(cleanups).toHaveLength(1);
  });
});
