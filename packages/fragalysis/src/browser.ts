/** @sciport/fragalysis for browsers and workers: the client without the parts that write files. */

export { FRAGALYSIS_SETTINGS, resolveStack, STACKS, type StackName } from './credentials.js';
export {
  type ArchiveEvent,
  FRAGALYSIS_VERSION,
  FragalysisClient,
  type FragalysisClientOptions,
  type FragalysisEvent,
  type TaskPhase,
  type WarningEvent,
} from './fragalysis-client.js';
export {
  type FragalysisError,
  FragalysisTaskError,
  type FragalysisTaskFailure,
  FragalysisTaskTimeoutError,
} from './fragalysis-error.js';
export type { UploadWaitOptions } from './internal/upload-task.js';
export type {
  ArchiveLocation,
  ArchiveRequestOptions,
  Archives,
  ArchiveWaitOptions,
} from './resources/archives.js';
export type { CompoundSetListOptions, CompoundSets } from './resources/compound-sets.js';
// issue 14: csets
export type {
  CompoundSetIssue,
  CompoundSetTask,
  CompoundSetTaskKind,
  CompoundSetTaskResult,
  CompoundSetUploadRequest,
  CompoundSetWaitOptions,
} from './resources/csets-types.js';
export type { FragalysisCompound, Observations } from './resources/observations.js';
export type { Projects } from './resources/projects.js';
export type { TargetListOptions, Targets } from './resources/targets.js';
// issue 14: xca
export type {
  UploadFindOptions,
  UploadOutcome,
  UploadStartRequest,
  UploadTask,
} from './resources/uploads.js';
export { targetKey, type Uploads } from './resources/uploads.js';
export type { Users } from './resources/users.js';
export * from './schemas/download-options.js';
export * from './schemas/index.js';
