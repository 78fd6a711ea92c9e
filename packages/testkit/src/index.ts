/**
 * @sciport/testkit: msw request handlers served over real HTTP on 127.0.0.1, with seeded fault injection
 * and a request log, plus helpers for handler authors, and service simulators built on them (ICSD:
 * {@link createIcsdSimulator}, Fragalysis: {@link createFragalysisSimulator}, Crucible: {@link createCrucibleSimulator}; the `sciport-sim` bin serves them as separate processes).
 *
 * @packageDocumentation
 */

export { type BytesResponseOptions, bytesResponse, readBody } from './bytes-response.js';
// issue 13: download
export {
  addFolderFiles,
  type FolderDatasetFile,
  type FolderDatasetOptions,
} from './crucible/folder-dataset.js';
export {
  type AddFileOptions,
  CRUCIBLE_INGESTION_CLASSES,
  type CrucibleSimDataset,
  type CrucibleSimFile,
  type CrucibleSimInstrument,
  type CrucibleSimProject,
  type CrucibleSimRequestInfo,
  type CrucibleSimSample,
  type CrucibleSimSessionInfo,
  type CrucibleSimStats,
  type CrucibleSimUser,
  type CrucibleSimulator,
  type CrucibleSimulatorOptions,
  createCrucibleSimulator,
  type IngestionOutcome,
} from './crucible/index.js';
export {
  createFaultInjector,
  type FaultDecision,
  type FaultHandlersOptions,
  type FaultInjector,
  type FaultInjectorOptions,
  type FaultKind,
  type FaultMatch,
  type FaultRule,
  faultHandlers,
} from './faults.js';
export { type FileBody, fileBodyOf, withFileBody } from './file-body.js';
export {
  type ArchiveFile,
  type BuildOutcome,
  createFragalysisSimulator,
  type FragalysisArchiveQuirks,
  type FragalysisSimObservation,
  type FragalysisSimProject,
  type FragalysisSimStats,
  type FragalysisSimTarget,
  type FragalysisSimUser,
  type FragalysisSimulator,
  type FragalysisSimulatorOptions,
  writeArchiveZip,
  writeTarGz,
  // issue 14: xca
  type XcaBundleOptions,
  xcaBundle,
} from './fragalysis/index.js';
export {
  type RawRoute,
  startTestServer,
  type TestServer,
  type TestServerOptions,
} from './http-server.js';
export {
  createIcsdSimulator,
  ICSD_CONTENT_TYPE_ALIASES,
  ICSD_CONTENT_TYPES,
  ICSD_CSV_PROPERTIES,
  ICSD_EXPERT_FIELDS,
  ICSD_SIM_ENDPOINTS,
  ICSD_SIMULATED_EXPERT_FIELDS,
  type IcsdCellType,
  type IcsdCifOptions,
  type IcsdContentType,
  type IcsdCsvProperty,
  type IcsdExpertField,
  type IcsdModifyOptions,
  type IcsdSimEndpoint,
  type IcsdSimEntry,
  type IcsdSimStats,
  type IcsdSimulator,
  type IcsdSimulatorOptions,
} from './icsd/index.js';
export { createRandom, type Random } from './random.js';
export type { RequestLogEntry } from './request-log.js';
