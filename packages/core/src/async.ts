import { AbortError } from './errors.js';

/**
 * Waiting and cancellation, written once for every client: a `sleep` that ends early with an `AbortError`,
 * and the conversion of an aborted signal into that error.
 */

/**
 * The `AbortError` for an aborted `signal`: its reason when that already is one (a CLI's Ctrl-C handler may
 * abort with its own), else a new one with the reason as its cause.
 */
export function abortError(signal: AbortSignal | undefined): AbortError {
  const reason = signal?.reason;
  if (AbortError.isInstance(reason)) return reason;
  return new AbortError(undefined, { cause: reason });
}

/** Throws `abortError(signal)` when `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/**
 * Resolves after `ms`, or rejects with an `AbortError` as soon as `signal` aborts (at once when it already
 * is). Leaves no timer or listener behind either way.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
