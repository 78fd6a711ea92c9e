import cliProgress from 'cli-progress';
import type { CliContext, OutputStream } from './context.js';
import { escapeTerminal } from './terminal.js';
import { formatBytes, formatDuration, formatRate } from './units.js';

/**
 * Progress bars on stderr. What a bar shows, for a download of bytes:
 *
 *     download scan-5.h5 (resuming at 96.2 MiB) [████░░░░] 40% | 230 MiB / 572 MiB | 12.4 MiB/s | ETA 27s
 *
 * and for items (`fetch`, `mirror`): `fetch [████░░░░] 40% | 400/1000 | 35/s | ETA 17s`. The rate is measured
 * over the last 10 seconds (bytes of a resumed transfer that were already on disk do not count); no rate and
 * no ETA are shown until a second of transfer has been measured, and the ETA is a person's duration (`1m 20s`),
 * never `NaN`, `Infinity` or `NFs`. Without a known total the bar shows the amount and the rate only.
 *
 * Drawing is cli-progress's (throttled redraws, cursor hiding and restoring, the terminal's width), through a
 * format function of ours that fits the line into the terminal's width. A bar ends with its line finished
 * (a newline), so whatever comes next, the Ctrl-C message or an error included, starts on its own line: the
 * bar stops when the command's signal aborts, when `stopProgress()` is called before an error is reported, and
 * a message written while a bar is drawn (`info`, `warn`) first takes the bar off its line (see
 * `suspendProgress`), the bar coming back on the next update.
 */

export type ProgressUnit = 'bytes' | 'items';

/** What an update may say besides the amount. */
export interface ProgressDetail {
  /** The file being transferred (server text: escaped before it is drawn). */
  file?: string | undefined;
  /** The transfer resumed a partial file of this many bytes. */
  resumedFrom?: number | undefined;
}

export interface Progress {
  /** Adds `delta` (default 1) to the current value. */
  increment(delta?: number): void;
  /** Sets the current value (and, optionally, the file and the resume offset it belongs to). */
  update(value: number, detail?: ProgressDetail): void;
  /** Changes the total (when it becomes known, or grows). */
  setTotal(total: number): void;
  /** Stops drawing and leaves the last state on screen, its line finished. Safe to call twice. */
  stop(): void;
}

export interface ProgressOptions {
  /**
   * What is counted: `bytes` (sizes and rates in KiB, MiB, GiB) or `items`. Default: `bytes` for the labels
   * `download` and `upload`, `items` otherwise.
   */
  unit?: ProgressUnit;
  /** The clock (milliseconds), for tests. */
  now?: () => number;
}

/** The state a bar line is drawn from. */
export interface ProgressState {
  label: string;
  unit: ProgressUnit;
  value: number;
  /** 0 or less: unknown. */
  total: number;
  file?: string | undefined;
  resumedFrom?: number | undefined;
  /** Units a second, once measured. */
  rate?: number | undefined;
}

const RATE_WINDOW_MS = 10_000;
const RATE_MIN_SPAN_MS = 1_000;
const BAR_MAX = 30;
const BAR_MIN = 8;

/** One bar line of `state`, at most `width` characters wide (the file name is shortened first, then the bar). */
export function formatProgressLine(state: ProgressState, width: number): string {
  const amount = (n: number) => (state.unit === 'bytes' ? formatBytes(n) : String(n));
  const known = state.total > 0;
  const head = [state.label];
  const file = state.file === undefined ? undefined : escapeTerminal(state.file, { inline: true });
  const note =
    state.resumedFrom !== undefined && state.resumedFrom > 0
      ? `(resuming at ${formatBytes(state.resumedFrom)})`
      : undefined;
  const tail: string[] = [];
  if (known) {
    const pct = Math.min(100, Math.floor((state.value / state.total) * 100));
    tail.push(`${pct}%`);
    tail.push(
      state.unit === 'bytes'
        ? `${amount(state.value)} / ${amount(state.total)}`
        : `${amount(state.value)}/${amount(state.total)}`,
    );
  } else tail.push(amount(state.value));
  const rate = state.rate !== undefined && Number.isFinite(state.rate) ? state.rate : undefined;
  if (rate !== undefined) tail.push(formatRate(rate, state.unit));
  if (known && rate !== undefined && rate > 0) {
    const eta = formatDuration(Math.max(0, state.total - state.value) / rate);
    if (eta !== undefined) tail.push(`ETA ${eta}`);
  }
  const tailText = tail.join(' | ');
  const fixed = (fileText: string | undefined, withNote: boolean) =>
    [...head, ...(fileText ? [fileText] : []), ...(withNote && note ? [note] : [])].join(' ');
  const barRoom = (headText: string) => width - 1 - headText.length - 1 - tailText.length - 3;

  let fileText = file;
  let withNote = true;
  // Room for at least a small bar when the total is known: shorten the file name (keeping its end), then
  // drop the note, then the bar.
  const wanted = known ? BAR_MIN : 0;
  if (fileText && barRoom(fixed(fileText, withNote)) < wanted) {
    const excess = wanted - barRoom(fixed(fileText, withNote));
    const keep = Math.max(8, fileText.length - excess - 1);
    if (keep < fileText.length) fileText = `…${fileText.slice(fileText.length - keep)}`;
  }
  if (note && barRoom(fixed(fileText, withNote)) < wanted) withNote = false;
  const headText = fixed(fileText, withNote);
  const room = barRoom(headText);
  let line: string;
  if (known && room >= BAR_MIN) {
    const size = Math.min(BAR_MAX, room);
    const done = Math.round(Math.min(1, state.value / state.total) * size);
    line = `${headText} [${'█'.repeat(done)}${'░'.repeat(size - done)}] ${tailText}`;
  } else line = `${headText} | ${tailText}`;
  return line.length > width - 1 ? `${line.slice(0, Math.max(0, width - 2))}…` : line;
}

/** Measures a rate over a sliding window of (time, value) samples. */
export class RateMeter {
  private samples: Array<{ t: number; v: number }> = [];

  constructor(private readonly now: () => number) {}

  /** Records the value reached now. */
  sample(value: number): void {
    const t = this.now();
    const last = this.samples.at(-1);
    if (last && value < last.v) this.samples = [];
    this.samples.push({ t, v: value });
    // Keep one sample older than the window, as the window's start.
    while (this.samples.length > 2 && this.samples[1]!.t <= t - RATE_WINDOW_MS) this.samples.shift();
  }

  /** Forgets the samples (a new file starts). */
  reset(): void {
    this.samples = [];
  }

  /** Units a second over the window, or undefined until a second has been measured (0 after a stall). */
  rate(): number | undefined {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last) return undefined;
    const now = this.now();
    const span = now - first.t;
    if (span < RATE_MIN_SPAN_MS) return undefined;
    if (now - last.t >= RATE_WINDOW_MS) return 0;
    return Math.max(0, (last.v - first.v) / (span / 1000));
  }
}

interface ActiveBar {
  stream: OutputStream;
  /** Takes the bar off its line (the next update draws it again). */
  suspend(): void;
  stop(): void;
}

const active = new Set<ActiveBar>();

/** Takes every bar drawn on `stream` off its line, so that a message can be written there. */
export function suspendProgress(stream: OutputStream): void {
  for (const bar of active) if (bar.stream === stream) bar.suspend();
}

/** Stops every bar (before an error is reported: its message starts on its own line). */
export function stopProgress(): void {
  for (const bar of [...active]) bar.stop();
}

const NO_PROGRESS: Progress = Object.freeze({
  increment() {},
  update() {},
  setTotal() {},
  stop() {},
});

type ProgressContext = Pick<CliContext, 'err' | 'json' | 'quiet' | 'onCleanup'> & {
  readonly signal?: AbortSignal | undefined;
};

/**
 * A progress bar on stderr, drawn only when stderr is a terminal and neither `--quiet` nor `--json` is set;
 * otherwise a no-op with the same methods, so commands never check.
 *
 * Why cli-progress: it handles what a hand-made bar gets wrong (redraw throttling, terminal width, cursor
 * hiding and restoring, non-TTY streams), has a single small dependency, and is CommonJS-only but loads fine
 * from ESM. The bar is stopped by a cleanup and when the context's signal aborts (Ctrl-C), so the cursor
 * comes back and the next message starts on a line of its own.
 */
export function createProgress(
  ctx: ProgressContext,
  total: number,
  label: string,
  options: ProgressOptions = {},
): Progress {
  if (!ctx.err.isTTY || ctx.quiet || ctx.json) return NO_PROGRESS;
  const stream = ctx.err.stream as OutputStream & { columns?: number };
  const now = options.now ?? Date.now;
  const meter = new RateMeter(now);
  const state: ProgressState = {
    label,
    unit: options.unit ?? (label === 'download' || label === 'upload' ? 'bytes' : 'items'),
    value: 0,
    total,
  };
  const makeBar = () =>
    new cliProgress.SingleBar({
      stream: stream as NodeJS.WritableStream,
      format: (_options, params) =>
        formatProgressLine({ ...state, rate: meter.rate() }, params.maxWidth ?? stream.columns ?? 80),
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      // Redrawn on every tick: the rate and the ETA change with time, not only with the value.
      forceRedraw: true,
      fps: 10,
    });
  let bar: cliProgress.SingleBar | undefined;
  let stopped = false;
  const draw = () => {
    if (stopped) return;
    if (!bar) {
      bar = makeBar();
      bar.start(Math.max(state.total, 1), state.value);
    } else bar.update(state.value);
  };
  const entry: ActiveBar = {
    stream,
    suspend: () => {
      if (!bar) return;
      // Off its line: back to column 0 and cleared, the cursor shown again (cli-progress restores it).
      bar.stop();
      stream.write('\u001b[1A\r\u001b[2K');
      bar = undefined;
    },
    stop: () => {
      if (stopped) return;
      // The last state, its line finished.
      draw();
      stopped = true;
      active.delete(entry);
      ctx.signal?.removeEventListener('abort', entry.stop);
      bar?.stop();
      bar = undefined;
    },
  };
  active.add(entry);
  ctx.onCleanup(entry.stop);
  ctx.signal?.addEventListener('abort', entry.stop, { once: true });
  draw();
  return {
    increment: (delta = 1) => {
      state.value += delta;
      meter.sample(state.value);
      draw();
    },
    update: (value, detail) => {
      if (detail?.file !== undefined && detail.file !== state.file) {
        // A new file: its own amount, total and rate.
        state.file = detail.file;
        state.resumedFrom = undefined;
        meter.reset();
      }
      if (detail?.resumedFrom !== undefined) state.resumedFrom = detail.resumedFrom;
      state.value = value;
      meter.sample(value);
      draw();
    },
    setTotal: (value) => {
      state.total = value;
      bar?.setTotal(Math.max(value, 1));
    },
    stop: entry.stop,
  };
}
