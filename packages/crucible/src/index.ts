/**
 * @sciport/crucible: a client for Crucible (Molecular Foundry), API v2 with v1 compatibility. This is the Node
 * entry point, with uploads, downloads and local parsers; bundlers for the browser get the same client without
 * them.
 */

// The browser entry's exports, but for `CrucibleClient`: the Node client below takes its place (a name exported
// here explicitly wins over the same name from `export *`).
export * from './browser.js';
export { CrucibleClient } from './node/crucible-client.js';
export {
  type CreatedDataset,
  type CreateFromFilesOptions,
  NodeDatasets,
} from './node/datasets.js';
export type { DownloadedFile, DownloadOptions } from './node/download.js';
export {
  type FileUploadOptions,
  type IngestOptions,
  NodeFiles,
  type UploadFileResult,
} from './node/files.js';
export { fitSegment, localName, MAX_SEGMENT_BYTES } from './node/local-names.js';
// issue 13: apply
export {
  type ApplyAction,
  type ApplyOptions,
  type ApplyOutcome,
  type ApplyResult,
  type ApplyState,
  applyManifest,
  formatProblem,
  type Manifest,
  type ManifestDataset,
  ManifestError,
  type ManifestPlan,
  type ManifestProblem,
  type ManifestSample,
  type ParseManifestOptions,
  parseManifest,
  planManifest,
  readLocal,
  statePathFor,
} from './node/manifest/index.js';
// issue 13: multipart
export {
  DEFAULT_PARALLEL,
  DEFAULT_PART_SIZE,
  DEFAULT_STORAGE_HOST,
  MIN_PART_SIZE,
  MULTIPART_THRESHOLD,
  partSizeFor,
  storageHost,
} from './node/multipart.js';
export {
  type DatasetParser,
  genericParser,
  getParser,
  lammpsParser,
  type ParsedDataset,
  parseLammps,
  parserNames,
  registerParser,
} from './node/parsers.js';
// issue 13: download
export {
  compileGlob,
  type FileSelection,
  NoFilesSelectedError,
  pathInDataset,
} from './node/select.js';
export {
  CHUNK_QUANTUM,
  persistedFrom,
  type UploadOptions,
  type UploadProgress,
  type UploadResult,
  V1_UPLOAD_LIMIT,
} from './node/upload.js';
