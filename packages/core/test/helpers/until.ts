/**
 * Resolves once `condition()` holds, checking after each turn of the event loop (`setImmediate`, which fake
 * timers leave alone). For waiting on what a server or client reports, never on the clock: a condition that
 * never comes true is caught by the test's own timeout.
 */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise<void>((resolve) => setImmediate(resolve));
}
