/** @sciport/crucible for browsers and workers: the client without uploads, downloads and local parsers. */

export { CrucibleClient } from './crucible-client.js';
export * from './shared.js';
