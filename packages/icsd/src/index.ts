/**
 * @sciport/icsd: a client for the ICSD web service (FIZ Karlsruhe). This is the Node entry point: everything
 * the browser entry point has, with the client whose `cifs` can `download` and `mirror` into a folder.
 */

// The browser entry's exports, but for `IcsdClient`: the Node client below takes its place (a name exported
// here explicitly wins over the same name from `export *`).
export * from './browser.js';
export type { CodeDownloadReport, DownloadOptions, MirrorOptions, NodeCifs } from './node/cifs.js';
export {
  type ExportFormat,
  type ExportOptions,
  type ExportProblem,
  type ExportProgress,
  type ExportRefusal,
  type ExportReport,
  exportStructures,
} from './node/export.js';
export { IcsdClient } from './node/icsd-client.js';
export { JOURNAL_FILE } from './node/journal.js';
export { type ConfigTokenStoreOptions, configTokenStore, keptSessionKey } from './node/token-store.js';
export type { DownloadReport, MirrorReport, TransferProgress } from './node/transfer.js';
