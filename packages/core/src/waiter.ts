import { abortError, sleep } from './async.js';
import {
  ApiError,
  ConnectionError,
  ResponseValidationError,
  SciportError,
  type SciportErrorOptions,
} from './errors.js';

/**
 * `waitFor`: the one poll loop of every client (a Crucible ingestion request, a Fragalysis archive build). It
 * owns the deadline, the growing and jittered pauses, the transient failures a poll may ride out, and
 * cancellation; the caller owns what one poll means.
 */

/** The options every `wait…` method of every client takes. */
export interface WaitOptions {
  /** Give up after this long in all, in ms (default: the waiter's, typically 30 minutes). */
  maxWaitTime?: number | undefined;
  /** The first pause between polls, in ms (default 1000). Later pauses grow by `growth` up to `maxPollInterval`. */
  pollInterval?: number | undefined;
  /** The longest pause between polls, in ms (default 15 000). */
  maxPollInterval?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** What one poll found: the end (with its value), or not yet (optionally with the pause the server asked for). */
export type PollResult<T> =
  | { readonly done: true; readonly value: T }
  | {
      readonly done: false;
      /** The pause before the next poll, replacing the computed one (a `Retry-After`, a queue's backoff). */
      readonly delayMs?: number | undefined;
    };

export interface PollContext {
  /** 0 for the first poll. */
  readonly attempt: number;
  /** Milliseconds since the wait began. */
  readonly elapsedMs: number;
  /** Milliseconds left before the deadline (bound a poll's own request by it). */
  readonly remainingMs: number;
  readonly signal: AbortSignal | undefined;
}

export interface WaitTimeoutInfo {
  /** Milliseconds waited. */
  readonly waitedMs: number;
  /** Polls made. */
  readonly polls: number;
  /** The failure of the last poll, when it failed. */
  readonly lastError: unknown;
}

export interface WaitForOptions extends WaitOptions {
  /** Default `maxWaitTime` (default 30 minutes). */
  defaultMaxWaitTime?: number;
  /** How much each pause grows (default 1.6). */
  growth?: number;
  /** Each pause is scaled by a random factor in [1 - jitter, 1 + jitter] (default 0.25). */
  jitter?: number;
  /** Pause before the first poll too (default false: poll at once). */
  delayFirst?: boolean;
  /** Polls that may fail in a row with a transient error before the wait gives up with that error (default 10). */
  maxFailures?: number;
  /** Which failures a poll may ride out (default `isTransientError`). Anything else ends the wait at once. */
  isTransient?: (error: unknown) => boolean;
  /** Called for each transient failure that the wait rides out. */
  onPollError?: (error: unknown, failures: number) => void;
  /** The error for a deadline reached (default a `WaitTimeoutError`). */
  timeoutError?: (info: WaitTimeoutInfo) => Error;
  /** Clock and randomness, for tests (default `Date.now`, `Math.random`). */
  now?: () => number;
  random?: () => number;
}

/**
 * A failure worth polling through: no answer (network, timeout), a retryable status (408, 429, 5xx) after the
 * client's own retries, or an answer that was not what the protocol says (a proxy's HTML page).
 */
export function isTransientError(error: unknown): boolean {
  return (
    ConnectionError.isInstance(error) ||
    (ApiError.isInstance(error) && error.retryable) ||
    ResponseValidationError.isInstance(error)
  );
}

/**
 * Polls until `poll` reports the end, and returns its value. Pauses start at `pollInterval` and grow by `growth`
 * (with jitter) up to `maxPollInterval`, never past the deadline; a transient failure of a poll is ridden out
 * (up to `maxFailures` in a row), any other failure ends the wait with that error. An abort ends it with an
 * `AbortError` at once, during a pause or a poll.
 *
 * @throws WaitTimeoutError (or `timeoutError(…)`) when the deadline comes before the end.
 */
export async function waitFor<T>(
  poll: (ctx: PollContext) => Promise<PollResult<T>>,
  options: WaitForOptions = {},
): Promise<T> {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const signal = options.signal;
  const maxWait = options.maxWaitTime ?? options.defaultMaxWaitTime ?? 30 * 60_000;
  const maxInterval = options.maxPollInterval ?? 15_000;
  const growth = options.growth ?? 1.6;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.25));
  const maxFailures = options.maxFailures ?? 10;
  const isTransient = options.isTransient ?? isTransientError;
  checkDuration('maxWaitTime', maxWait);
  checkDuration('pollInterval', options.pollInterval);
  checkDuration('maxPollInterval', options.maxPollInterval);
  const started = now();
  const deadline = started + maxWait;
  let interval = Math.min(options.pollInterval ?? 1000, maxInterval);
  let failures = 0;
  let lastError: unknown;
  let polls = 0;

  const timeout = (): Error => {
    const info = { waitedMs: now() - started, polls, lastError };
    return options.timeoutError?.(info) ?? new WaitTimeoutError(info);
  };
  const pause = async (requested?: number) => {
    const remaining = deadline - now();
    if (remaining <= 0) throw timeout();
    const computed = interval * (1 - jitter + 2 * jitter * random());
    interval = Math.min(maxInterval, interval * growth);
    const ms = requested ?? computed;
    // A requested pause past the deadline cannot end well: say so now rather than sleep through it.
    if (requested !== undefined && requested > remaining) throw timeout();
    await sleep(Math.max(0, Math.min(ms, remaining)), signal);
  };

  if (signal?.aborted) throw abortError(signal);
  if (options.delayFirst) await pause();
  for (let attempt = 0; ; attempt++) {
    if (signal?.aborted) throw abortError(signal);
    const elapsed = now() - started;
    let result: PollResult<T> | undefined;
    try {
      polls += 1;
      result = await poll({
        attempt,
        elapsedMs: elapsed,
        remainingMs: Math.max(0, deadline - now()),
        signal,
      });
      failures = 0;
      lastError = undefined;
    } catch (error) {
      if (signal?.aborted) throw abortError(signal);
      if (!isTransient(error)) throw error;
      failures += 1;
      lastError = error;
      if (failures > maxFailures) throw error;
      options.onPollError?.(error, failures);
    }
    if (result?.done) return result.value;
    await pause(result?.done === false ? result.delayMs : undefined);
  }
}

function checkDuration(name: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value < 0) {
    throw new SciportError(`${name} must be a number of milliseconds of at least 0, got ${value}`);
  }
}

/** A wait that reached its deadline before the awaited state. Subclass it per service (with its own code). */
export class WaitTimeoutError<C extends string = string> extends SciportError<C> {
  static override readonly kind: string = 'WaitTimeoutError';
  override readonly code: C = 'wait_timeout' as C;
  /** Milliseconds waited. */
  readonly waitedMs: number;

  constructor(info: WaitTimeoutInfo, message?: string, options: SciportErrorOptions = {}) {
    super(message ?? `Gave up waiting after ${Math.round(info.waitedMs / 1000)} s`, {
      retryable: true,
      ...options,
      ...(options.cause === undefined && info.lastError !== undefined ? { cause: info.lastError } : {}),
    });
    this.waitedMs = info.waitedMs;
  }
}
