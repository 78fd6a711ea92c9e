import {
  ApiError,
  ConnectionError,
  ResponseValidationError,
  registerSecret,
  type WaitForOptions,
  type WaitOptions,
} from '@sciport/core';
import type { TaskStatus } from '../schemas/archives.js';
import type { Context } from './context.js';

/**
 * What a build's task status means (spec §4.5, §8): its states, its messages, the archive path among them, and
 * the failures of a poll worth polling through.
 */

/** Task states that mean the build ended badly, whatever `finished` says. */
export const FAILED_STATES: ReadonlySet<string> = new Set(['FAILED', 'FAILURE', 'REVOKED', 'ERROR']);
/** Task states of a build that has not been picked up (or was lost before it ran). */
export const WAITING_STATES: ReadonlySet<string> = new Set(['UNKNOWN', 'PENDING', 'QUEUED', 'RECEIVED']);

/** `messages` as a list of strings: a string is one message, `[]` none. */
export function messageList(messages: TaskStatus['messages']): string[] {
  if (typeof messages === 'string') return messages.trim() ? [messages.trim()] : [];
  if (!Array.isArray(messages)) return [];
  return messages
    .map((m) => (typeof m === 'string' ? m : JSON.stringify(m)))
    .map((m) => m.trim())
    .filter((m) => m !== '');
}

/** A server path of a finished archive: absolute, ending in `.tar.gz`, `.tgz` or `.zip`. */
export function isArchivePath(path: string): boolean {
  return path.startsWith('/') && /\.(tar\.gz|tgz|zip)$/i.test(path.trim());
}

/**
 * Answers worth polling again: a timeout, a dropped connection, 408/429/5xx, or a proxy's non-JSON page. (Core's
 * `isTransientError` leaves out the 5xx statuses other than 500/502/503/504, which a task status may send.)
 */
export function isTransientPollError(error: unknown): boolean {
  if (ConnectionError.isInstance(error)) return true;
  if (ResponseValidationError.isInstance(error)) return true;
  return ApiError.isInstance(error) && (error.status === 408 || error.status === 429 || error.status >= 500);
}

/**
 * The archive's server path is a capability (no access check on the fetch), and its directory is the task
 * uuid, also part of the task-status URL: both are redacted from every message, log line and error.
 */
export function keepSecret(url: string, { whole = true } = {}): void {
  if (whole) registerSecret(url);
  for (const part of url.split(/[/?#]/)) {
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(part)) registerSecret(part);
  }
}

/** How long a task (an archive build, a compound-set task, an XCA load) is waited for unless told. */
export const DEFAULT_TASK_WAIT = 30 * 60_000;

/**
 * The schedule every Fragalysis task wait shares: the first look after a pause (the task was just asked for, as
 * the web front end does), core's growing, jittered pauses, and a failed poll worth riding out reported as a
 * warning event (`label` names what was polled). The caller adds its timeout error and anything it does
 * differently.
 */
export function taskPolling(
  ctx: Context,
  options: WaitOptions,
  label = 'task status',
): WaitForOptions & { defaultMaxWaitTime: number } {
  return {
    maxWaitTime: options.maxWaitTime,
    defaultMaxWaitTime: DEFAULT_TASK_WAIT,
    pollInterval: options.pollInterval,
    maxPollInterval: options.maxPollInterval,
    signal: options.signal,
    delayFirst: true,
    isTransient: isTransientPollError,
    onPollError: (error) =>
      ctx.events.emit({ type: 'warning', message: `${label}: ${(error as Error).message}; polling again` }),
  };
}
