export type { ApiVersion, CallOptions, CrucibleEvent, ListOptions } from './context.js';
export { CRUCIBLE_SETTINGS, DEFAULT_CRUCIBLE_BASE_URL } from './credentials.js';
export {
  CRUCIBLE_VERSION,
  type CrucibleClientOptions,
  DEFAULT_CRUCIBLE_API_URL,
  versionFromUrl,
} from './crucible-client.js';
export {
  type InstrumentInput,
  Instruments,
  type ProjectInput,
  Projects,
  type SampleInput,
  Samples,
  type UserInput,
  Users,
} from './resources/catalog.js';
export {
  type DatasetFilters,
  type DatasetInput,
  type DatasetListOptions,
  Datasets,
  datasetBody,
} from './resources/datasets.js';
export {
  Files,
  RequestFailedError,
  type RequestOutcome,
  Requests,
  RequestTimeoutError,
  type WaitForRequestOptions,
} from './resources/files.js';
export * from './schemas.js';
