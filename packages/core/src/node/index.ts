/**
 * @sciport/core/node: what the clients need on Node only. Transports over undici for bulk transfers, and a
 * proxy-aware `fetch` (`nodeTransport`); file helpers (atomic writes, safe paths, verified resumable
 * downloads); the credentials/config store. Archive extraction has its own entry, `@sciport/core/extract`, so
 * that its libraries are installed only with the packages that extract.
 */
export * from './credentials/index.js';
export { nodeDownloadFetch } from './download-fetch.js';
export * from './files/atomic.js';
export * from './files/download.js';
export * from './files/safe-path.js';
export { nodeTransferFetch } from './transfer-fetch.js';
export { nodeTransport, type Transport } from './transport.js';
