import cliProgress from 'cli-progress';
import type { CliContext } from './context.js';
import { info } from './output.js';
import { escapeTerminal } from './terminal.js';

/**
 * What a command shows while it waits for a server-side task (a Fragalysis archive build, a compound-set or XCA
 * load), which can take minutes:
 *
 * - on a terminal: one line on stderr, redrawn ten times a second, with a spinner, the elapsed time and the
 *   server's state and last message (`⠹ archive build A71EV2A (lb32627-66) · RUNNING: Adding PDBs… · 1 min 04 s`),
 *   replaced by a summary line when the wait ends;
 * - with `--json`: one NDJSON line on stderr per change of the state or message (stdout keeps its single result):
 *   `{"level":"info","event":"task","task":"archive","target":"A71EV2A","tas":"lb32627-66","state":"RUNNING",
 *   "detail":"Adding PDBs...","elapsedMs":3012,"message":"…"}`, the last one with `"end":true`;
 * - otherwise (a log file, a pipe): one info line per change.
 *
 * `--quiet` silences all three. The spinner is drawn with cli-progress (the CLI's progress bars), a bar-less
 * format: it throttles redraws, crops to the terminal width and hides and restores the cursor.
 */

export interface TaskUpdate {
  /** The server's state (`UNKNOWN`, `RUNNING`, `PENDING`, `SUCCESS`, …). */
  state?: string | undefined;
  /** The server's last message (a progress line). */
  detail?: string | undefined;
}

export interface TaskStatus {
  /** A new state or message from the server (unchanged ones are ignored). */
  update(update: TaskUpdate): void;
  /** Writes other messages (warnings) without breaking the spinner's line. */
  print(write: () => void): void;
  /**
   * Ends the display; `state` is the last state (`SUCCESS`) for a summary line. Without one (an error message
   * follows) the spinner's line is only cleared. Safe to call twice.
   */
  stop(state?: string): void;
}

export interface TaskDescription {
  /** A stable name for machines: `archive`, `cset-validation`, `cset-upload`, `xca-upload`. */
  task: string;
  /** What people read: `archive build A71EV2A (lb32627-66)`. */
  label: string;
  target?: string | undefined;
  tas?: string | undefined;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** `7 s`, `1 min 04 s`, `1 h 02 min`. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

function describe(update: TaskUpdate): string {
  const state = update.state ?? 'waiting';
  return update.detail ? `${state}: ${update.detail}` : state;
}

/** Starts showing a wait (see the module comment); stopped too by the command's cleanup (Ctrl-C). */
export function createTaskStatus(
  ctx: Pick<CliContext, 'err' | 'json' | 'quiet' | 'verbose' | 'onCleanup'>,
  task: TaskDescription,
  now: () => number = Date.now,
): TaskStatus {
  const started = now();
  let current: TaskUpdate = {};
  let stopped = false;
  const label = escapeTerminal(task.label, { inline: true });
  const line = (update: TaskUpdate) =>
    `${task.label}: ${describe(update)} (${formatElapsed(now() - started)})`;
  const event = (update: TaskUpdate, end: boolean) => {
    ctx.err.write(
      `${JSON.stringify({
        level: 'info',
        event: 'task',
        task: task.task,
        ...(task.target !== undefined ? { target: task.target } : {}),
        ...(task.tas !== undefined ? { tas: task.tas } : {}),
        state: update.state ?? null,
        detail: update.detail ?? null,
        elapsedMs: now() - started,
        ...(end ? { end: true } : {}),
        message: line(update),
      })}\n`,
    );
  };

  if (ctx.quiet) return { update() {}, print: (write) => write(), stop() {} };

  if (ctx.json || !ctx.err.isTTY) {
    const report = (update: TaskUpdate, end: boolean) =>
      ctx.json ? event(update, end) : info(ctx, line(update));
    return {
      update(update) {
        if (stopped) return;
        const next = { ...current, ...update };
        if (next.state === current.state && next.detail === current.detail) return;
        current = next;
        report(current, false);
      },
      print: (write) => write(),
      stop(state) {
        if (stopped) return;
        stopped = true;
        // Without a final state (an error follows), only JSON says the wait ended.
        if (state || ctx.json) report({ ...current, ...(state ? { state, detail: undefined } : {}) }, true);
      },
    };
  }

  const bar = new cliProgress.SingleBar({
    stream: ctx.err.stream as NodeJS.WritableStream,
    format: () => {
      const elapsed = now() - started;
      const frame = FRAMES[Math.floor(elapsed / 100) % FRAMES.length];
      const text = escapeTerminal(describe(current), { inline: true });
      return `${frame} ${label} · ${text} · ${formatElapsed(elapsed)}`;
    },
    hideCursor: true,
    clearOnComplete: true,
    stopOnComplete: false,
    linewrap: false,
    fps: 10,
  });
  // Drawn from the first update on, so that its first frame already shows the server's state.
  let drawing = false;
  const draw = () => {
    if (drawing) return;
    drawing = true;
    bar.start(1, 0);
  };
  const stop = (state?: string) => {
    if (stopped) return;
    stopped = true;
    if (drawing) bar.stop();
    if (state) info(ctx, line({ ...current, state, detail: undefined }));
  };
  ctx.onCleanup(() => stop());
  return {
    update(update) {
      if (stopped) return;
      current = { ...current, ...update };
      draw();
      bar.update(0);
    },
    print(write) {
      if (stopped || !drawing) {
        write();
        return;
      }
      // cli-progress keeps the cursor where the bar started (and goes back there when it stops): the bar is
      // stopped (its line cleared), the message written, and the bar started again on the next line.
      bar.stop();
      write();
      bar.start(1, 0);
    },
    stop,
  };
}
