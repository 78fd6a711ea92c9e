import { UsageError } from './errors.js';
import type { Logger } from './events.js';

/**
 * The options every client shares: what a constructor takes, and what every method takes last.
 */

/** The last argument of every client method. Each field overrides the client's setting for this call only. */
export interface RequestOptions {
  /** Cancels the call: it rejects with an `AbortError` and leaves nothing half-written. */
  signal?: AbortSignal | undefined;
  /**
   * Milliseconds each HTTP request of the call may take, body included (a stalled body is a timeout too);
   * `false` for none. Default: the client's `timeout`.
   */
  timeout?: number | false | undefined;
  /** Retries of a failed request after the first attempt (transient failures only). Default: the client's. */
  maxRetries?: number | undefined;
}

/** What every client's constructor takes, besides its service's credentials. */
export interface ClientOptions {
  /**
   * The service's API base URL, path prefix included. Default: the service's environment variable, else the
   * public service.
   */
  baseUrl?: string | undefined;
  /** Milliseconds per HTTP request, body included; `false` for none. Default: the service's. */
  timeout?: number | false | undefined;
  /** Retries of a transient failure (network, 408, 429, 5xx) per request. Default: the service's. */
  maxRetries?: number | undefined;
  /**
   * The `fetch` every request goes through (tests, instrumentation, a custom agent). Default: the global one;
   * on Node, with the proxy of `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` when one is set, and bulk transfers over
   * undici directly.
   */
  fetch?: typeof globalThis.fetch | undefined;
  /** Replaces the `User-Agent` (default `@sciport/<service>/<version> @sciport/core/<version> node/<version>`). */
  userAgent?: string | undefined;
  /** Receives what the client does as log lines: requests and responses (debug), retries (info), warnings. */
  logger?: Logger | undefined;
}

/** The options of every list method: `RequestOptions` and a cap on the items returned. */
export interface ListOptions extends RequestOptions {
  /** Stop after this many items in all. */
  limit?: number | undefined;
}

/**
 * The `RequestOptions` of a method's wider options object (`{ signal, timeout, maxRetries }` of a
 * `ListOptions`, a `WaitOptions`, …), for the HTTP requests the method makes.
 */
export function requestOptions(options: RequestOptions = {}): RequestOptions {
  const picked: RequestOptions = {};
  if (options.signal !== undefined) picked.signal = options.signal;
  if (options.timeout !== undefined) picked.timeout = options.timeout;
  if (options.maxRetries !== undefined) picked.maxRetries = options.maxRetries;
  return picked;
}

/** The longest timeout a timer can wait (2^31 - 1 ms, about 24.8 days): a longer one would fire at once. */
export const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * Checks a `timeout` option: a positive number of milliseconds up to `MAX_TIMEOUT_MS`, or `false` for none.
 * Anything else is a `UsageError` (a larger value would silently become a 1 ms timer).
 */
export function checkTimeout<T extends number | false | undefined>(timeout: T, name = 'timeout'): T {
  if (timeout === undefined || timeout === false) return timeout;
  if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout <= 0) {
    throw new UsageError(
      `${name} must be a positive number of milliseconds, or false for none; got ${String(timeout)}`,
    );
  }
  if (timeout > MAX_TIMEOUT_MS) {
    throw new UsageError(
      `${name} ${String(timeout)} ms is longer than the longest timer (${MAX_TIMEOUT_MS} ms, about 24.8 days); ` +
        'use false for no timeout',
    );
  }
  return timeout;
}
