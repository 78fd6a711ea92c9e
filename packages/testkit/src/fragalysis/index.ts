export { type ArchiveFile, writeArchiveZip, writeTarGz } from '../archives.js';
export type { FragalysisArchiveQuirks } from './archive-quirks.js';
export {
  type BuildOutcome,
  createFragalysisSimulator,
  type FragalysisSimObservation,
  type FragalysisSimProject,
  type FragalysisSimStats,
  type FragalysisSimTarget,
  type FragalysisSimUser,
  type FragalysisSimulator,
  type FragalysisSimulatorOptions,
} from './fragalysis-simulator.js';
// issue 14: xca
export { type XcaBundleOptions, xcaBundle } from './xca-bundle.js';
