/**
 * @sciport/icsd for browsers and workers: the client without the parts that write files. The Node entry point
 * (`index.ts`) exports all of this too, with its own `IcsdClient` (`cifs.download`, `cifs.mirror`).
 */

export * from './citations/index.js';
export { DEFAULT_ICSD_BASE_URL, ICSD_SETTINGS } from './credentials.js';
export { IcsdClient, type IcsdClientOptions, type IcsdEvent } from './icsd-client.js';
export { type IcsdError, IcsdLoginRefusedError, IcsdQuotaError } from './icsd-error.js';
export type { IcsdLogoutResult } from './internal/auth.js';
export type { CifBatch } from './internal/cif-batch.js';
export type { CodeDuplicate, CodeMismatch } from './internal/codes.js';
export type { HistoryEntry } from './internal/history.js';
export type { SessionEvent } from './internal/session.js';
export type {
  CifByCodeOptions,
  CifCodeStream,
  CifListOptions,
  CifOptions,
  CifStream,
  Cifs,
} from './resources/cifs.js';
export type {
  Entries,
  ExpertSearchOptions,
  PropertiesOptions,
  RowStream,
  SearchOptions,
  SearchPage,
} from './resources/entries.js';
export {
  type CifBytes,
  type CifDocument,
  type CifPiece,
  checkDocument,
  cifFileName,
  findCifPieces,
  type IcsdCif,
  splitCifBytes,
  splitCifs,
} from './schemas/cif.js';
export {
  type CellParameters,
  type CsvRow,
  type IcsdRow,
  type Measured,
  type ParsedCsv,
  PROPERTY_SCHEMAS,
  type PropertyValue,
  parseCsv,
  parseMeasured,
} from './schemas/csv.js';
export * from './schemas/fields.js';
export * from './schemas/query.js';
export { parseSearchBody, type SearchJson, searchJsonSchema } from './schemas/search.js';
export { parseCifNumber } from './structure/cif-number.js';
export { ELEMENTS, elementOf, isElement } from './structure/elements.js';
export type { CifProblem } from './structure/errors.js';
export { CifStructureError } from './structure/errors.js';
export {
  anonymousLabel,
  cellContent,
  formatNumber,
  integerProportions,
  type SiteSpecies,
  speciesOf,
} from './structure/formula.js';
export { fractToCartesian, latticeVectors } from './structure/lattice.js';
export {
  type OptimadeOptions,
  type OptimadeSpecies,
  type OptimadeStructure,
  type OptimadeStructureAttributes,
  optimadeSpeciesSchema,
  optimadeStructureAttributesSchema,
  optimadeStructureSchema,
  toOptimade,
} from './structure/optimade.js';
export { type ParseCifOptions, parseCif } from './structure/parse-cif.js';
export {
  type PoscarOptions,
  type StructureFormat,
  toPoscar,
  UnsupportedStructureError,
} from './structure/poscar.js';
export { toStructureJson } from './structure/structure-json.js';
export { parseSymmetryOperation } from './structure/symmetry.js';
export type * from './structure/types.js';
export { toXyz } from './structure/xyz.js';
export {
  type IcsdKeptSession,
  type IcsdSessionKey,
  type IcsdTokenStore,
  KEPT_SESSION_MAX_AGE_MS,
  memoryTokenStore,
  normalizeIcsdBaseUrl,
} from './token-store.js';
