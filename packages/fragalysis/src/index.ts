/**
 * @sciport/fragalysis: a client for Fragalysis stacks (Diamond/XChem). This is the Node entry point, with
 * `downloadTarget` and `sync`; bundlers for the browser get the same client without them.
 */

export {
  type DownloadTargetOptions,
  type DownloadTargetResult,
  FragalysisClient,
  SYNC_STATE_FILE,
  type SyncOptions,
  type SyncResult,
  targetFolderName,
} from './node/fragalysis-client.js';
export * from './shared.js';
