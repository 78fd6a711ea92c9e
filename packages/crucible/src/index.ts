/**
 * @sciport/crucible: a client for Crucible (Molecular Foundry), API v2 with v1 compatibility. This is the Node
 * entry point, with uploads, downloads and local parsers; bundlers for the browser get the same client without
 * them.
 */

export {
  type CreatedDataset,
  type CreateFromFilesOptions,
  CrucibleClient,
  DEFAULT_INGESTION_CLASS,
  type IngestOptions,
  type UploadFileResult,
} from './node/crucible-client.js';
export {
  CHUNK_QUANTUM,
  type DownloadedFile,
  type DownloadOptions,
  localName,
  persistedFrom,
  type UploadOptions,
  type UploadProgress,
  type UploadResult,
  V1_UPLOAD_LIMIT,
} from './node/transfer.js';
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
