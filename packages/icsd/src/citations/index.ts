/** Citations of ICSD entries (spec §14.5): the records, the call that builds them, and the writers. */
export {
  CITATION_PROPERTIES,
  type Citation,
  type CitationAuthor,
  normalizeDoi,
  type ParsedReference,
  parseAuthors,
  parseReference,
} from './citation.js';
export type { CiteOptions, CiteResult } from './cite.js';
export { type CslItem, escapeBibtex, formatBibtex, formatRis, toCslJson } from './format.js';
