export { DEFAULT_ICSD_BASE_URL, ICSD_SETTINGS } from './credentials.js';
export * from './fields.js';
export type { HistoryEntry } from './history.js';
export {
  type CallOptions,
  type CifBatch,
  type CifOptions,
  type CifStream,
  type CifsOptions,
  CONTENT_TYPE_NAMES,
  type ExpertSearchOptions,
  type IcsdCif,
  type IcsdClientOptions,
  type IcsdEvent,
  MAX_IDS_PER_REQUEST,
  type PropertiesOptions,
  type ResultStream,
  type RowStream,
  type SearchOptions,
} from './icsd-client.js';
export { IcsdLoginRefusedError, IcsdQuotaError } from './icsd-error.js';
export * from './query.js';
export {
  type CifBytes,
  type CifDocument,
  type CifPiece,
  checkDocument,
  cifFileName,
  findCifPieces,
  splitCifBytes,
  splitCifs,
} from './schemas/cif.js';
export {
  type CellParameters,
  type IcsdRow,
  type Measured,
  PROPERTY_SCHEMAS,
  type PropertyValue,
  parseCsv,
  parseMeasured,
} from './schemas/csv.js';
export { parseSearchBody, searchJsonSchema } from './schemas/search.js';
export type { SessionEvent } from './session.js';
