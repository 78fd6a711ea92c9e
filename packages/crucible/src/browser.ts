/** @sciport/crucible for browsers and workers: the client without uploads, downloads and local parsers. */

export { CRUCIBLE_SETTINGS, DEFAULT_CRUCIBLE_BASE_URL } from './credentials.js';
export {
  CRUCIBLE_VERSION,
  CrucibleClient,
  type CrucibleClientOptions,
  versionFromUrl,
} from './crucible-client.js';
export {
  type CrucibleError,
  DatasetDownloadError,
  type DownloadFailure,
  RequestFailedError,
  RequestTimeoutError,
  UploadStalledError,
} from './crucible-error.js';
// issue 13: basics
export {
  DEFAULT_CRUCIBLE_EXPLORER_URL,
  type ExplorerTarget,
  explorerUrl,
} from './explorer.js';
export type { ApiVersion, CrucibleEvent } from './internal/context.js';
// issue 13: graph
export {
  cutGraph,
  nodeLabel,
  type RenderTreeOptions,
  renderTree,
  type TreeLine,
  treeLines,
} from './internal/graph.js';
export { SEARCH_LIMIT_CAP, type SearchOptions } from './internal/search.js';
export { Access } from './resources/access.js';
export {
  type DatasetFilters,
  type DatasetGetOptions,
  type DatasetInput,
  type DatasetListOptions,
  Datasets,
  datasetBody,
} from './resources/datasets.js';
export { type FileRecordInput, Files } from './resources/files.js';
export { type InstrumentInput, Instruments } from './resources/instruments.js';
export { Keywords } from './resources/keywords.js';
export type { JoinRequestStatus, MemberRef } from './resources/projects.js';
export { type ProjectInput, Projects } from './resources/projects.js';
export {
  type RequestLookup,
  type RequestOutcome,
  Requests,
  type WaitForRequestOptions,
} from './resources/requests.js';
export type { MetadataHitType } from './resources/resources.js';
export { type ResourceInfo, Resources } from './resources/resources.js';
export { type SampleInput, type SampleListOptions, Samples } from './resources/samples.js';
export type { CrucibleStatus, CrucibleStatusCheck } from './resources/status.js';
export { Thumbnails } from './resources/thumbnails.js';
export { type UserInput, Users } from './resources/users.js';
export * from './schemas/index.js';
