/** @sciport/fragalysis for browsers and workers: the client without the parts that write files. */

export { FragalysisClient } from './fragalysis-client.js';
export * from './shared.js';
