/**
 * @sciport/icsd for browsers and workers: the client without the parts that write files.
 */
export * from './shared.js';
export { IcsdClient } from './icsd-client.js';
