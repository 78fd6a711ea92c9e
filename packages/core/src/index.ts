/**
 * @sciport/core: what every sciport client shares. This entry point runs anywhere `fetch` does (Node,
 * browsers, workers); Node transports, files and the config store are in `@sciport/core/node`, archive
 * extraction in `@sciport/core/extract`.
 */
export * from './async.js';
export * from './concurrency.js';
export * from './env.js';
export * from './errors.js';
export * from './events.js';
export * from './http/auth.js';
export { type BufferPool, type BufferPoolOptions, createBufferPool } from './http/buffer-pool.js';
export { appendQuery, CORE_VERSION, createHttpClient } from './http/client.js';
export { extractDetail } from './http/error-body.js';
export {
  describeNetworkFailure,
  type NetworkFailure,
  type NetworkFailureKind,
  NOT_SENT_FAILURES,
} from './http/network-failure.js';
export type { RawBody } from './http/raw-body.js';
export * from './http/retry.js';
export type * from './http/types.js';
export * from './options.js';
export * from './pagination.js';
export * from './records.js';
export * from './redact.js';
export * from './schema.js';
export * from './settings.js';
export * from './suggest.js';
export * from './waiter.js';
