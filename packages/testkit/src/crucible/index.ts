export { BlobStore, type BlobWriter, type SimBlob } from './blobs.js';
export {
  type AddFileOptions,
  type CrucibleSimRequestInfo,
  type CrucibleSimSessionInfo,
  type CrucibleSimStats,
  type CrucibleSimulator,
  type CrucibleSimulatorOptions,
  createCrucibleSimulator,
} from './crucible-simulator.js';
export {
  type AclEntry,
  AUTO_DETECT as CRUCIBLE_AUTO_DETECT,
  apiKey as crucibleSimApiKey,
  type CrucibleSimDataset,
  type CrucibleSimFile,
  type CrucibleSimInstrument,
  type CrucibleSimProject,
  type CrucibleSimSample,
  type CrucibleSimThumbnail,
  type CrucibleSimUser,
  DATASETS_WITH_FILES as CRUCIBLE_SIM_DATASETS_WITH_FILES,
  INGESTION_CLASSES as CRUCIBLE_INGESTION_CLASSES,
  type IngestionOutcome,
} from './model.js';
export type {
  CrucibleSimMultipart,
  CrucibleSimMultipartOptions,
  CrucibleSimMultipartStats,
  CrucibleSimMultipartUpload,
  MultipartOffer as CrucibleSimMultipartOffer,
  MultipartPartFault as CrucibleSimMultipartFault,
} from './multipart.js';
