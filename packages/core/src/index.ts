/**
 * @sciport/core: what every sciport client shares. This entry point runs anywhere `fetch` does (Node,
 * browsers, workers); file handling and the config store are in `@sciport/core/node`.
 */
export * from './concurrency.js';
export * from './env.js';
export * from './errors.js';
export * from './http/auth.js';
export * from './http/buffer-pool.js';
export { appendQuery, CORE_VERSION, createHttpClient, extractDetail } from './http/client.js';
export * from './http/raw-body.js';
export * from './http/retry.js';
export type * from './http/types.js';
export * from './pagination.js';
export * from './redact.js';
export * from './schema.js';
