export {
  type ApplyAction,
  type ApplyOptions,
  type ApplyOutcome,
  type ApplyResult,
  applyManifest,
} from './apply.js';
export { formatProblem, ManifestError, type ManifestProblem } from './errors.js';
export { type LocalData, type LocalFile, readLocal } from './local.js';
export {
  LOCAL_ID,
  type Manifest,
  type ManifestDataset,
  type ManifestFilePattern,
  type ManifestMetadata,
  type ManifestRef,
  type ManifestSample,
  type ParseManifestOptions,
  parseManifest,
  type SourcePosition,
} from './parse.js';
export { type LinkEnd, type ManifestPlan, type PlanStep, planManifest } from './plan.js';
export { type ApplyState, loadState, newMfid, statePathFor } from './state.js';
