/**
 * @sciport/crucible: a client for Crucible (Molecular Foundry), API v2 with v1 compatibility. This is the Node
 * entry point, with uploads, downloads and local parsers; bundlers for the browser get the same client without
 * them.
 */

export { CrucibleClient } from './node/crucible-client.js';
export {
  type CreatedDataset,
  type CreateFromFilesOptions,
  NodeDatasets,
} from './node/datasets.js';
export {
  type DownloadedFile,
  type DownloadOptions,
  localName,
} from './node/download.js';
export {
  DEFAULT_INGESTION_CLASS,
  type FileUploadOptions,
  type IngestOptions,
  NodeFiles,
  type UploadFileResult,
} from './node/files.js';
export {
  CHUNK_QUANTUM,
  persistedFrom,
  type UploadOptions,
  type UploadProgress,
  type UploadResult,
  V1_UPLOAD_LIMIT,
} from './node/upload.js';
export {
  type DatasetParser,
  genericParser,
  getParser,
  lammpsParser,
  type ParsedDataset,
  parseLammps,
  parserNames,
  registerParser,
} from './parsers/parsers.js';
export * from './shared.js';
