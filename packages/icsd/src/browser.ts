/**
 * @sciport/icsd for browsers and workers: the client without the parts that write files.
 */

export { IcsdClient } from './icsd-client.js';
export * from './shared.js';
