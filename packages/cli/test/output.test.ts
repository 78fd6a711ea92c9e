import { describe, expect, it } from 'vitest';
import { createWriter } from '../src/context.js';
import {
  createProgress,
  debug,
  formatBytes,
  formatTable,
  info,
  printJson,
  printNdjson,
  warn,
} from '../src/output.js';

function sink(isTTY = false, color = false) {
  let text = '';
  const stream = {
    write: (s: string) => {
      text += s;
    },
    isTTY,
  };
  return { writer: createWriter(stream, color), text: () => text };
}

describe('output', () => {
  it('formats byte counts in the unit a person reads', () => {
    expect([0, 812, 1024, 4300, 12.04 * 1024 ** 2, 1.5 * 1024 ** 3].map(formatBytes)).toEqual([
      '0 B',
      '812 B',
      '1.0 KiB',
      '4.2 KiB',
      '12.0 MiB',
      '1.50 GiB',
    ]);
  });

  it('prints JSON with keys in the given order, 2-space indent and a newline', () => {
    const s = sink();
    printJson(s.writer, { b: 1, a: [true] });
    expect(s.text()).toBe('{\n  "b": 1,\n  "a": [\n    true\n  ]\n}\n');
    const n = sink();
    printNdjson(n.writer, { b: 1, a: 2 });
    printNdjson(n.writer, { c: 'x' });
    expect(n.text()).toBe('{"b":1,"a":2}\n{"c":"x"}\n');
  });

  it('aligns table columns, without trailing spaces, and colours headers only when asked', () => {
    const rows = [
      { key: 'icsd.username', value: 'alice', n: 1 },
      { key: 'a', value: 'x\ny', n: 100 },
    ];
    const columns = [
      { header: 'key', value: 'key' as const },
      { header: 'n', value: 'n' as const, align: 'right' as const },
      { header: 'value', value: (r: (typeof rows)[number]) => r.value },
    ];
    expect(formatTable(rows, columns)).toBe(
      ['KEY              N  VALUE', 'icsd.username    1  alice', 'a              100  x y', ''].join('\n'),
    );
    expect(formatTable(rows, columns, { color: true })).toContain('\u001b[1mKEY\u001b[22m');
    expect(formatTable([], columns, { header: false })).toBe('');
  });

  it('routes messages to stderr by level, silenced by --quiet, debug only with --verbose', () => {
    const base = { json: false, quiet: false, verbose: false };
    const s = sink();
    info({ ...base, err: s.writer }, 'hello');
    warn({ ...base, err: s.writer }, 'careful');
    debug({ ...base, err: s.writer }, 'hidden');
    debug({ ...base, verbose: true, err: s.writer }, 'shown');
    expect(s.text()).toBe('hello\nwarning: careful\ndebug: shown\n');
    const q = sink();
    info({ ...base, quiet: true, err: q.writer }, 'hello');
    warn({ ...base, quiet: true, err: q.writer }, 'careful');
    expect(q.text()).toBe('');
    const j = sink();
    warn({ ...base, json: true, err: j.writer }, 'careful');
    expect(JSON.parse(j.text())).toEqual({ level: 'warning', message: 'careful' });
  });

  it('gives a no-op progress unless stderr is a terminal and neither --quiet nor --json', () => {
    const cleanups: unknown[] = [];
    const onCleanup = (fn: unknown) => void cleanups.push(fn);
    for (const [isTTY, quiet, json] of [
      [false, false, false],
      [true, true, false],
      [true, false, true],
    ] as const) {
      const s = sink(isTTY);
      const p = createProgress({ err: s.writer, quiet, json, onCleanup }, 10, 'Downloading');
      p.increment();
      p.update(5);
      p.setTotal(20);
      p.stop();
      expect(s.text()).toBe('');
    }
    expect(cleanups).toHaveLength(0);
  });

  it('draws a progress bar on a terminal stderr and stops it on cleanup', () => {
    let text = '';
    const stream = {
      write: (s: string) => {
        text += s;
        return true;
      },
      isTTY: true,
      columns: 80,
      cursorTo: () => true,
      clearLine: () => true,
      moveCursor: () => true,
    };
    const cleanups: Array<() => void> = [];
    const p = createProgress(
      {
        err: createWriter(stream, false),
        quiet: false,
        json: false,
        onCleanup: (fn) => void cleanups.push(fn as () => void),
      },
      4,
      'Downloading',
    );
    p.increment(2);
    expect(cleanups).toHaveLength(1);
    cleanups[0]!();
    p.stop();
    expect(text).toContain('Downloading');
  });
});
