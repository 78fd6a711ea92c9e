import { type RequestOptions, type WaitOptions, waitFor } from '@sciport/core';
import { FragalysisTaskError, FragalysisTaskTimeoutError } from '../fragalysis-error.js';
import { taskStatusRecordSchema } from '../schemas/archives.js';
import { type Context, getJson, onStack } from './context.js';
import { FAILED_STATES, keepSecret, messageList, taskPolling, WAITING_STATES } from './task.js';

/**
 * The loader task of an XCA upload (spec §11.5, issue 14: xca), polled on §4.5's route: `messages` is an array of
 * `"LEVEL: text"` lines that ends with `"<bundle> uploaded successfully"`, `"SUCCESS"` or `"FAILED"`.
 */

export interface UploadWaitOptions extends WaitOptions, RequestOptions {
  /** Give up after this long in all, in ms (default 30 minutes: a large bundle loads for many minutes). */
  maxWaitTime?: number | undefined;
  /** A task still UNKNOWN (not started) after this long is lost (default 5 minutes). */
  unknownTimeout?: number | undefined;
  /** Each new message line of the loader, as it appears. */
  onMessage?: ((line: string) => void) | undefined;
  /** The loader task's state (`UNKNOWN`, `STARTED`, `SUCCESS`, …) whenever it changes (issue 15). */
  onState?: ((state: string) => void) | undefined;
}

/** Whether the loader's last line says it failed (spec §11.5: `status` is FAILED when it does). */
function failedLine(line: string | undefined): boolean {
  return line !== undefined && /(^|\b)(FAILED|FAILURE)\s*$|^ERROR: .*failed/i.test(line);
}

/** Polls an upload's loader task to its end; returns the loader's messages. `what` names the task in errors. */
export async function waitForUploadTask(
  ctx: Context,
  taskUrl: string,
  what: string,
  options: UploadWaitOptions = {},
): Promise<string[]> {
  const url = onStack(ctx, taskUrl);
  keepSecret(url, { whole: false });
  const unknownTimeout = options.unknownTimeout ?? 5 * 60_000;
  const requestTimeout = typeof options.timeout === 'number' ? options.timeout : 60_000;
  let unknownSince = Date.now();
  let lines: string[] = [];
  let lastState = 'UNKNOWN';
  let polls = 0;
  return waitFor<string[]>(
    async ({ remainingMs, signal }) => {
      const status = await getJson(ctx, url, taskStatusRecordSchema, {
        signal,
        maxRetries: 0,
        timeout: Math.max(1000, Math.min(requestTimeout, remainingMs)),
      });
      const state = status.status.toUpperCase();
      // The first state is reported whatever it is, then each change once.
      const first = polls++ === 0;
      if (first || state !== lastState) options.onState?.(state);
      lastState = state;
      const list = messageList(status.messages);
      // Lines are appended as the loader goes: report the new ones.
      const fresh = list.length >= lines.length ? list.slice(lines.length) : list;
      for (const line of fresh) options.onMessage?.(line);
      if (list.length) lines = list;
      if (FAILED_STATES.has(state) || (status.finished && failedLine(list.at(-1)))) {
        const errors = list.filter((l) => /^(ERROR|CRITICAL)\b/i.test(l));
        throw new FragalysisTaskError(
          `${what} failed: ${(errors.length ? errors : list.slice(-3)).join('; ') || status.status}`,
          { reason: 'failed', messages: list },
        );
      }
      if (status.finished || state === 'SUCCESS') return { done: true, value: list };
      const now = Date.now();
      if (!status.started && WAITING_STATES.has(state)) {
        if (now - unknownSince >= unknownTimeout) {
          throw new FragalysisTaskError(
            `${what} never started (still ${status.status} after ${Math.round((now - unknownSince) / 1000)} s): ` +
              'the loader task was lost; upload the bundle again',
            { reason: 'lost', messages: list },
          );
        }
      } else unknownSince = now;
      return { done: false };
    },
    {
      ...taskPolling(ctx, options),
      timeoutError: (info) =>
        new FragalysisTaskTimeoutError(
          `${what} was not finished within ${Math.round(info.waitedMs / 1000)} s (the loader task is still ` +
            `${lastState}${lines.length ? `: ${lines.at(-1)}` : ''}); it may still finish: see \`sciport fragalysis uploads\``,
          info,
          { reason: 'timeout', messages: lines },
        ),
    },
  );
}
