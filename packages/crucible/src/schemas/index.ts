/** The records Crucible returns: zod schemas (camelCase output, the server's object under `raw`) and their types. */

// issue 13: basics
export { type CrucibleMetadataHit, metadataHitSchema } from './basics.js';
export {
  type CrucibleInstrument,
  type CrucibleProject,
  type CrucibleResourceRecord,
  instrumentSchema,
  projectSchema,
  resourceSchema,
} from './catalog.js';
export {
  type CrucibleDataset,
  type CrucibleKeyword,
  type CrucibleLink,
  type CrucibleThumbnail,
  datasetSchema,
  datasetSchemaV1,
  keywordSchema,
  linkSchema,
  thumbnailSchema,
} from './datasets.js';
export { type CrucibleFile, fileSchema } from './files.js';
export * from './graph.js';
export { type InitiateMultipart, initiateMultipartSchema } from './multipart.js';
export { type CrucibleRequest, PENDING_STATUSES, requestSchema, SUCCESS_STATUSES } from './requests.js';
export { type CrucibleSample, sampleSchema } from './samples.js';
export { accountSchema, type CrucibleAccount, type CrucibleUser, userSchema } from './users.js';
