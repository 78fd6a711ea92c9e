export type { IcsdCellType } from './icsd-cif.js';
export {
  ICSD_CONTENT_TYPE_ALIASES,
  ICSD_CONTENT_TYPES,
  ICSD_CSV_PROPERTIES,
  ICSD_EXPERT_FIELDS,
  ICSD_SIM_ENDPOINTS,
  ICSD_SIMULATED_EXPERT_FIELDS,
  type IcsdContentType,
  type IcsdCsvProperty,
  type IcsdExpertField,
  type IcsdSimEndpoint,
} from './icsd-constants.js';
export type { IcsdSimEntry } from './icsd-dataset.js';
export {
  createIcsdSimulator,
  type IcsdCifOptions,
  type IcsdModifyOptions,
  type IcsdSimStats,
  type IcsdSimulator,
  type IcsdSimulatorOptions,
} from './icsd-simulator.js';
