/**
 * Hostile servers: raw routes (see `RawRoute`, `startTestServer({ raw })`) that misbehave on purpose (bodies
 * that never end, lengths that lie, stalls after the headers, gzip bombs, pages where data was expected) next
 * to a simulator that answers everything else. sciport's own tests show with them that every transfer ends in
 * bounded bytes and bounded time; use them the same way for code built on sciport.
 *
 * @example
 * ```ts
 * import { createCrucibleSimulator, startTestServer } from '@sciport/testkit';
 * import { endlessBody } from '@sciport/testkit/hostile';
 *
 * const storage = endlessBody({ path: '/storage/*' });
 * const sim = createCrucibleSimulator();
 * const server = await startTestServer({ handlers: sim.handlers, raw: [storage] });
 * // … download a file through the client; then storage.stats.bytesSent says how much the server pushed.
 * ```
 */

export * from './apply.js';
export * from './crucible.js';
export * from './echo.js';
export * from './fragalysis.js';
export * from './icsd.js';
export * from './scenarios.js';
