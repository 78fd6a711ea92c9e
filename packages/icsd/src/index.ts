/**
 * @sciport/icsd: a client for the ICSD web service (FIZ Karlsruhe). This is the Node entry point, with
 * `download` and `mirror`; bundlers for the browser get the same client without them.
 */

export {
  type DownloadOptions,
  type DownloadReport,
  IcsdClient,
  type MirrorOptions,
  type MirrorReport,
  type TransferProgress,
} from './node/icsd-client.js';
export { JOURNAL_FILE } from './node/journal.js';
export * from './shared.js';
