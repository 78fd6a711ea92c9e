/**
 * Retry policy: which failures are worth repeating, and how long to wait before the next attempt.
 *
 * - Retried: network errors, timeouts, cut-short bodies, and the statuses 408, 429, 500, 502, 503, 504.
 * - Only for idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) unless the call is marked safe to repeat
 *   (or, for a 429 alone, `retryRateLimited`), and only when the request body can be sent again (never a
 *   stream).
 * - Delay: exponential backoff with full jitter (a random wait between 0 and `min(cap, base * 2^attempt)`),
 *   or the server's `Retry-After` (seconds or an HTTP date) when it sent one, up to `maxRetryAfterMs`. A
 *   `Retry-After` longer than that cap is not waited for: the error is raised with `retryAfterMs` so the caller
 *   decides.
 */

export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'OPTIONS',
  'PUT',
  'DELETE',
  'TRACE',
]);

export interface RetryOptions {
  /** First backoff step in ms (default 500). */
  baseDelayMs?: number;
  /** Largest backoff in ms (default 30 s). */
  maxDelayMs?: number;
  /** Longest `Retry-After` honoured, in ms (default 60 s). */
  maxRetryAfterMs?: number;
  /** Source of randomness in [0, 1) for jitter (tests pass a fixed one). */
  random?: () => number;
}

export interface ResolvedRetryOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  maxRetryAfterMs: number;
  random: () => number;
}

export function resolveRetryOptions(options: RetryOptions = {}): ResolvedRetryOptions {
  return {
    baseDelayMs: options.baseDelayMs ?? 500,
    maxDelayMs: options.maxDelayMs ?? 30_000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
    random: options.random ?? Math.random,
  };
}

/** Full-jitter exponential backoff for retry number `attempt` (0 for the first retry). */
export function backoffDelay(attempt: number, options: ResolvedRetryOptions): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.min(attempt, 30));
  return Math.floor(options.random() * ceiling);
}

/**
 * Parses a `Retry-After` (or `retry-after-ms`) header into milliseconds from `now`.
 * Accepts delta-seconds (`120`, also fractional) and HTTP dates. Returns undefined for anything else.
 */
export function parseRetryAfter(headers: Headers, now: number = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.max(0, Math.ceil(Number(ms)));
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.max(0, Math.ceil(Number(trimmed) * 1000));
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
