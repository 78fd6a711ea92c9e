/**
 * @sciport/fragalysis: a client for Fragalysis stacks (Diamond/XChem). This is the Node entry point, whose
 * client has `archives.download` and `archives.sync`; bundlers for the browser get the same client without them.
 */

// The browser entry's exports, but for `FragalysisClient`: the Node client below takes its place (a name exported
// here explicitly wins over the same name from `export *`).
export * from './browser.js';
export {
  type ArchiveFormat,
  targetFolderName,
} from './node/archive-file.js';
export type {
  ArchiveDownloadOptions,
  ArchiveDownloadResult,
  NodeArchives,
  SyncOptions,
  SyncResult,
} from './node/archives.js';
// issue 14: check
export {
  ARCHIVE_REPORT_SCHEMA,
  type ArchiveCheckOptions,
  type ArchiveErrorRow,
  type ArchiveReport,
  archiveReportPath,
  checkArchive,
  type IncompleteObservation,
  isPlaceholder,
  writeArchiveReport,
} from './node/completeness.js';
export { checkPdbZip, checkSdfFile, type SdfSummary } from './node/cset-files.js';
// issue 14: csets
export {
  type CompoundSetDownloadOptions,
  type CompoundSetDownloadResult,
  type CompoundSetUploadFileOptions,
  type CompoundSetUploadFileResult,
  NodeCompoundSets,
  scoresCsv,
} from './node/csets.js';
export { FragalysisClient } from './node/fragalysis-client.js';
// issue 14: obsync
export {
  OBSERVATION_MARKERS_SUFFIX,
  observationMarker,
  observationMarkersFile,
} from './node/observation-markers.js';
export type { ObservationSyncOptions, ObservationSyncReport } from './node/observation-sync.js';
export { SYNC_STATE_FILE } from './node/sync-state.js';
// issue 14: xca
export type { NodeUploads, XcaUploadOptions, XcaUploadResult } from './node/uploads.js';
export { checkXcaBundle, type XcaBundleInfo } from './node/xca-bundle.js';
