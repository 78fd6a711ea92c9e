/**
 * Names of the ICSD wire protocol (docs: /work/shared/specs/icsd.md §4.3, §6, §7), shared by the simulator and
 * by tests of clients.
 */

/**
 * The `content type` values of ICSD searches, as clients send them. Note the misspelling of the theoretical
 * subset: every client sends `THERORETICAL_STRUCTURES`. The simulator also accepts the alias
 * {@link ICSD_CONTENT_TYPE_ALIASES}.
 */
export const ICSD_CONTENT_TYPES = [
  'EXPERIMENTAL_INORGANIC',
  'EXPERIMENTAL_METALORGANIC',
  'THERORETICAL_STRUCTURES',
] as const;

/** One of {@link ICSD_CONTENT_TYPES}: the subset an entry belongs to. */
export type IcsdContentType = (typeof ICSD_CONTENT_TYPES)[number];

/** Other spellings of a `content type` the simulator accepts, mapped to the value of {@link ICSD_CONTENT_TYPES}. */
export const ICSD_CONTENT_TYPE_ALIASES: Readonly<Record<string, IcsdContentType>> = {
  THEORETICAL_STRUCTURES: 'THERORETICAL_STRUCTURES',
};

/** Every field name of the expert query language known to ICSD (spec §6), upper case. */
export const ICSD_EXPERT_FIELDS = [
  'AUTHORS',
  'ARTICLE',
  'DOI',
  'PUBLICATIONYEAR',
  'PAGEFIRST',
  'JOURNAL',
  'VOLUME',
  'ABSTRACT',
  'KEYWORDS',
  'CELLVOLUME',
  'CALCDENSITY',
  'CELLPARAMETERS',
  'SEARCH',
  'STRUCTUREDFORMULA',
  'CHEMICALNAME',
  'MINERALNAME',
  'MINERALNAMEIMA',
  'MINERALGROUP',
  'ZVALUECHEMISTRY',
  'ANXFORMULA',
  'ABFORMULA',
  'FORMULAWEIGHT',
  'NUMBEROFELEMENTS',
  'COMPOSITION',
  'COLLECTIONCODE',
  'PDFNUMBER',
  'RELEASE',
  'RECORDINGDATE',
  'MODIFICATIONDATE',
  'COMMENT',
  'RVALUE',
  'TEMPERATURE',
  'PRESSURE',
  'SAMPLETYPE',
  'RADIATIONTYPE',
  'STRUCTURETYPE',
  'SPACEGROUPSYMBOL',
  'SPACEGROUPNUMBER',
  'BRAVAISLATTICE',
  'CRYSTALSYSTEM',
  'CRYSTALCLASS',
  'LAUECLASS',
  'WYCKOFFSEQUENCE',
  'PEARSONSYMBOL',
  'INVERSIONCENTER',
  'POLARAXIS',
] as const;

/** A field name of {@link ICSD_EXPERT_FIELDS}. */
export type IcsdExpertField = (typeof ICSD_EXPERT_FIELDS)[number];

/**
 * The expert fields the simulator evaluates; the other fields of {@link ICSD_EXPERT_FIELDS} are answered 400
 * "not supported by the simulator".
 */
export const ICSD_SIMULATED_EXPERT_FIELDS = [
  'AUTHORS',
  'ARTICLE',
  'DOI',
  'PUBLICATIONYEAR',
  'PAGEFIRST',
  'JOURNAL',
  'VOLUME',
  'CELLVOLUME',
  'CALCDENSITY',
  'STRUCTUREDFORMULA',
  'CHEMICALNAME',
  'MINERALNAME',
  'MINERALGROUP',
  'ZVALUECHEMISTRY',
  'ANXFORMULA',
  'ABFORMULA',
  'FORMULAWEIGHT',
  'NUMBEROFELEMENTS',
  'COMPOSITION',
  'COLLECTIONCODE',
  'RECORDINGDATE',
  'MODIFICATIONDATE',
  'RVALUE',
  'TEMPERATURE',
  'PRESSURE',
  'STRUCTURETYPE',
  'SPACEGROUPSYMBOL',
  'SPACEGROUPNUMBER',
  'BRAVAISLATTICE',
  'CRYSTALSYSTEM',
  'WYCKOFFSEQUENCE',
  'PEARSONSYMBOL',
] as const satisfies readonly IcsdExpertField[];

/**
 * Every `listSelection` property of `/csv` (spec §7 and Appendix A), with the British spelling
 * `StandardisedCellParameter` (the simulator also accepts `StandardizedCellParameter`, and any letter case, so
 * `DOI` is `Doi`). `RecordingDate` and `ModificationDate` are ISO dates; `Doi` is a bare DOI or empty.
 */
export const ICSD_CSV_PROPERTIES = [
  'CollectionCode',
  'HMS',
  'StructuredFormula',
  'SumFormula',
  'StructureType',
  'Title',
  'Authors',
  'Reference',
  'CellParameter',
  'ReducedCellParameter',
  'StandardisedCellParameter',
  'CellVolume',
  'FormulaUnitsPerCell',
  'FormulaWeight',
  'Temperature',
  'Pressure',
  'RValue',
  'ANXFormula',
  'ABFormula',
  'ChemicalName',
  'MineralName',
  'MineralGroup',
  'CalculatedDensity',
  'MeasuredDensity',
  'PearsonSymbol',
  'WyckoffSequence',
  'Journal',
  'Volume',
  'PublicationYear',
  'Page',
  'Quality',
  'CcdcNo',
  'Ccdc',
  'Pdf',
  'Keywords',
  'MineralNameIma',
  'MineralSeries',
  'MineralRootGroup',
  'MineralSubGroup',
  'MineralSuperGroup',
  'MineralSubClass',
  'MineralClass',
  'RecordingDate',
  'ModificationDate',
  'Doi',
] as const;

/** A property name of {@link ICSD_CSV_PROPERTIES}. */
export type IcsdCsvProperty = (typeof ICSD_CSV_PROPERTIES)[number];

/** The endpoints of the simulator, as counted in {@link IcsdSimStats.requests}. */
export const ICSD_SIM_ENDPOINTS = [
  'auth/login',
  'auth/logout',
  'search/simple',
  'search/expert',
  'csv',
  'cif',
  'cif/multiple',
  'reference',
] as const;

/** One of {@link ICSD_SIM_ENDPOINTS}. */
export type IcsdSimEndpoint = (typeof ICSD_SIM_ENDPOINTS)[number];
