/**
 * @sciport/core/node: file system helpers (atomic writes, safe paths, verified streaming downloads, safe
 * archive extraction) and the credentials/config store. Node only.
 */
export * from './credentials/index.js';
export * from './files/atomic.js';
export * from './files/download.js';
export * from './files/extract.js';
export * from './files/safe-path.js';
export { nodeDownloadFetch } from './http/node-download-fetch.js';
export { nodeTransferFetch } from './http/node-transfer-fetch.js';
