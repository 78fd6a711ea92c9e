export { FRAGALYSIS_SETTINGS } from './credentials.js';
export * from './download-options.js';
export {
  type ArchiveLocation,
  type ArchiveRequest,
  type CallOptions,
  type FragalysisClientOptions,
  type FragalysisEvent,
  FragalysisTaskError,
  resolveStack,
  STACKS,
  type StackName,
  type TaskPhase,
  targetKey,
  type UploadRecord,
  type UploadStats,
  type WaitOptions,
} from './fragalysis-client.js';
export * from './schemas.js';
