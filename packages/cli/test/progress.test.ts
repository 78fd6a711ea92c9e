import { describe, expect, it } from 'vitest';
import { createWriter } from '../src/context.js';
import { createProgress, formatProgressLine, stopProgress, warn } from '../src/output.js';
import { RateMeter } from '../src/progress.js';
import { formatDuration, formatTimestamp, parseTimestamp } from '../src/units.js';

const MiB = 1024 ** 2;

/** A terminal-like stderr that records what is written (cli-progress moves the cursor with escapes). */
function fakeTerminal(columns = 100) {
  let text = '';
  const stream = {
    write: (s: string) => {
      text += s;
      return true;
    },
    isTTY: true,
    columns,
  };
  return { stream, writer: createWriter(stream, false), text: () => text };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: removing the terminal's cursor escapes is the point
const plain = (s: string) => s.replace(/\u001b(\[[0-9;?]*[A-Za-z]|[78])/g, '');

describe('progress line', () => {
  it('shows the file, human bytes, the rate and a human ETA', () => {
    const line = formatProgressLine(
      {
        label: 'download',
        unit: 'bytes',
        value: 96.2 * MiB,
        total: 572 * MiB,
        file: 'scan-5.h5',
        rate: 6 * MiB,
      },
      120,
    );
    expect(line).toMatch(
      /^download scan-5\.h5 \[█+░+\] 16% \| 96\.2 MiB \/ 572\.0 MiB \| 6\.0 MiB\/s \| ETA 1m 19s$/,
    );
  });

  it('shows no ETA (and no NaN, Infinity or NFs) until the rate is known, nor when it is 0', () => {
    for (const rate of [undefined, 0, Number.NaN, Number.POSITIVE_INFINITY]) {
      const line = formatProgressLine({ label: 'upload', unit: 'bytes', value: 10, total: 100, rate }, 100);
      expect(line).not.toMatch(/ETA|NaN|Infinity|NF|undefined/);
      expect(line).toContain('10 B / 100 B');
    }
  });

  it('says where a resumed transfer started', () => {
    const line = formatProgressLine(
      {
        label: 'download',
        unit: 'bytes',
        value: 300 * MiB,
        total: 572 * MiB,
        file: 'a.h5',
        resumedFrom: 96 * MiB,
      },
      120,
    );
    expect(line).toContain('a.h5 (resuming at 96.0 MiB)');
  });

  it('counts items without units, and shows the amount alone when the total is unknown', () => {
    expect(
      formatProgressLine({ label: 'fetch', unit: 'items', value: 400, total: 1000, rate: 35 }, 80),
    ).toMatch(/^fetch \[█+░+\] 40% \| 400\/1000 \| 35\/s \| ETA 17s$/);
    expect(formatProgressLine({ label: 'download', unit: 'bytes', value: 2 * MiB, total: 0 }, 80)).toBe(
      'download | 2.0 MiB',
    );
  });

  it('fits the terminal width, shortening a long file name first, and escapes the name', () => {
    const file = `${'deep/'.repeat(30)}\u001b]52;c;evil\u0007name.h5`;
    for (const width of [40, 60, 80, 200]) {
      const line = formatProgressLine(
        { label: 'download', unit: 'bytes', value: MiB, total: 4 * MiB, file, rate: MiB, resumedFrom: MiB },
        width,
      );
      expect(line.length).toBeLessThan(width);
      expect(line).not.toContain('\u001b');
      expect(line).toContain('%');
    }
    const wide = formatProgressLine({ label: 'download', unit: 'bytes', value: 1, total: 4, file }, 400);
    expect(wide).toContain('\\x1b]52;c;evil\\x07name.h5');
  });

  it('formats durations as people read them', () => {
    expect([0, 9.4, 80, 3599, 3600 * 2 + 5 * 60, 400 * 3600].map(formatDuration)).toEqual([
      '0s',
      '9s',
      '1m 20s',
      '59m 59s',
      '2h 05m',
      '400h',
    ]);
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(formatDuration(Number.NaN)).toBeUndefined();
  });
});

describe('rate meter', () => {
  it('knows no rate before a second, measures it after, and falls to 0 after a stall', () => {
    let t = 0;
    const meter = new RateMeter(() => t);
    meter.sample(0);
    t = 500;
    meter.sample(MiB);
    expect(meter.rate()).toBeUndefined();
    t = 2000;
    meter.sample(4 * MiB);
    expect(meter.rate()).toBeCloseTo(2 * MiB);
    t = 20_000;
    expect(meter.rate()).toBe(0);
    // A new file starting lower: measured afresh.
    meter.sample(10);
    expect(meter.rate()).toBeUndefined();
  });
});

describe('progress bar on a terminal', () => {
  it('finishes its line when stopped, and a message written meanwhile gets a line of its own', () => {
    const term = fakeTerminal();
    const base = { err: term.writer, quiet: false, json: false, verbose: false, onCleanup: () => undefined };
    const p = createProgress(base, 100 * MiB, 'download');
    p.update(10 * MiB, { file: 'x.bin' });
    warn(base, 'x.bin: the server hung up');
    p.update(20 * MiB, { file: 'x.bin' });
    p.stop();
    const out = plain(term.text());
    // Back to the start of the bar's line, cleared, before the message; the bar again on the next line.
    expect(term.text()).toContain('\r\u001b[2Kwarning: x.bin: the server hung up\n');
    expect(out).toMatch(/hung up\ndownload x\.bin /);
    expect(out).toMatch(/download x\.bin .*20\.0 MiB \/ 100\.0 MiB\n$/);
    // The cursor hidden while drawing is shown again.
    expect(term.text()).toContain('\u001b[?25h');
  });

  it('stops on Ctrl-C (the signal) and before an error is reported, so the next line starts clean', () => {
    const term = fakeTerminal();
    const controller = new AbortController();
    const ctx = {
      err: term.writer,
      quiet: false,
      json: false,
      onCleanup: () => undefined,
      signal: controller.signal,
    };
    const p = createProgress(ctx, 10, 'fetch');
    p.increment(3);
    controller.abort();
    expect(term.text().endsWith('\n')).toBe(true);
    const before = term.text();
    p.increment();
    expect(term.text()).toBe(before);

    const other = fakeTerminal();
    const q = createProgress({ ...ctx, err: other.writer, signal: undefined }, 10, 'mirror');
    q.increment();
    stopProgress();
    expect(other.text().endsWith('\n')).toBe(true);
  });
});

describe('timestamps', () => {
  it('prints server times in UTC, taking a time without an offset as UTC', () => {
    expect(formatTimestamp('2026-01-15T19:01:54.440343')).toBe('2026-01-15 19:01:54');
    expect(formatTimestamp('2026-01-15T11:01:54-08:00')).toBe('2026-01-15 19:01:54');
    expect(formatTimestamp('2026-01-15T19:01:54Z')).toBe('2026-01-15 19:01:54');
    expect(formatTimestamp('2026-01-15')).toBe('2026-01-15 00:00:00');
    expect(formatTimestamp('not a date')).toBe('not a date');
    expect(formatTimestamp(undefined)).toBe('');
    expect(parseTimestamp('2026-01-15T19:01:54+0100')).toBe(Date.UTC(2026, 0, 15, 18, 1, 54));
  });
});
