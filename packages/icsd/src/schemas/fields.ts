import { UsageError } from '@sciport/core';

/**
 * The vocabularies of the ICSD API: expert-search fields (spec §6) and CSV properties (spec §7), with the
 * content types (spec §4.3) and the batch limit (spec §9).
 */

/** ids per `/csv` or `/cif/multiple` request (spec §9). */
export const MAX_IDS_PER_REQUEST = 500;

export type ExpertFieldKind =
  | 'text'
  | 'integer'
  | 'number'
  | 'range'
  | 'date'
  | 'boolean'
  | 'enum'
  | 'composition'
  | 'cell';

export interface ExpertFieldInfo {
  /** The name as the API writes it (`SPACEGROUPNUMBER`). */
  field: string;
  /** The key in a typed query object (`spaceGroupNumber`). */
  key: string;
  group: 'bibliography' | 'cell' | 'chemistry' | 'database' | 'experiment' | 'structure type' | 'symmetry';
  kind: ExpertFieldKind;
  description: string;
  values?: readonly string[];
  /** Whole numbers only. */
  integer?: boolean;
  /** Allowed bounds, where the spec gives them. */
  bounds?: readonly [number, number];
}

function f(
  field: string,
  key: string,
  group: ExpertFieldInfo['group'],
  kind: ExpertFieldKind,
  description: string,
  values?: readonly string[],
): ExpertFieldInfo {
  return values ? { field, key, group, kind, description, values } : { field, key, group, kind, description };
}

const INTEGER_FIELDS = new Set([
  'PUBLICATIONYEAR',
  'PAGEFIRST',
  'VOLUME',
  'ZVALUECHEMISTRY',
  'NUMBEROFELEMENTS',
  'COLLECTIONCODE',
  'RELEASE',
  'SPACEGROUPNUMBER',
]);
const BOUNDS: Record<string, readonly [number, number]> = { SPACEGROUPNUMBER: [1, 230], RVALUE: [0, 1] };

/** Every expert-search field the spec knows (§6), in its order. */
export const EXPERT_FIELDS: readonly ExpertFieldInfo[] = (
  [
    f('AUTHORS', 'authors', 'bibliography', 'text', 'authors of the main reference'),
    f('ARTICLE', 'article', 'bibliography', 'text', 'title of the main reference'),
    f('DOI', 'doi', 'bibliography', 'text', 'DOI of the main reference'),
    f('PUBLICATIONYEAR', 'publicationYear', 'bibliography', 'range', 'year, or a range like 2000-2010'),
    f('PAGEFIRST', 'pageFirst', 'bibliography', 'integer', 'first page'),
    f('JOURNAL', 'journal', 'bibliography', 'text', 'journal'),
    f('VOLUME', 'volume', 'bibliography', 'integer', 'journal volume'),
    f('ABSTRACT', 'abstract', 'bibliography', 'text', 'abstract'),
    f('KEYWORDS', 'keywords', 'bibliography', 'text', 'keywords'),
    f('CELLVOLUME', 'cellVolume', 'cell', 'range', 'cell volume (Å³), or a range'),
    f('CALCDENSITY', 'calcDensity', 'cell', 'range', 'calculated density, or a range'),
    f('CELLPARAMETERS', 'cellParameters', 'cell', 'cell', 'a b c alpha beta gamma, * for any'),
    f('SEARCH', 'search', 'cell', 'enum', 'which cell CELLPARAMETERS refers to', [
      'experimental',
      'reduced',
      'standardized',
    ]),
    f('STRUCTUREDFORMULA', 'structuredFormula', 'chemistry', 'text', 'chemical groups or element symbols'),
    f('CHEMICALNAME', 'chemicalName', 'chemistry', 'text', 'part of the chemical name'),
    f('MINERALNAME', 'mineralName', 'chemistry', 'text', 'mineral name'),
    f('MINERALNAMEIMA', 'mineralNameIma', 'chemistry', 'text', 'IMA mineral name'),
    f('MINERALGROUP', 'mineralGroup', 'chemistry', 'text', 'mineral group'),
    f('ZVALUECHEMISTRY', 'zValueChemistry', 'chemistry', 'integer', 'formula units per cell'),
    f('ANXFORMULA', 'anxFormula', 'chemistry', 'text', 'ANX formula'),
    f('ABFORMULA', 'abFormula', 'chemistry', 'text', 'AB formula'),
    f('FORMULAWEIGHT', 'formulaWeight', 'chemistry', 'range', 'formula weight, or a range'),
    f('NUMBEROFELEMENTS', 'numberOfElements', 'chemistry', 'range', 'number of elements, or a range'),
    f(
      'COMPOSITION',
      'composition',
      'chemistry',
      'composition',
      'elements present, each El[:cmin:cmax[:oxmin:oxmax]]',
    ),
    f('COLLECTIONCODE', 'collectionCode', 'database', 'range', 'collection code, a range, or a list'),
    f('PDFNUMBER', 'pdfNumber', 'database', 'text', 'ICDD PDF number'),
    f('RELEASE', 'release', 'database', 'integer', 'database release'),
    f('RECORDINGDATE', 'recordingDate', 'database', 'date', 'date recorded (years or ISO dates, as a range)'),
    f(
      'MODIFICATIONDATE',
      'modificationDate',
      'database',
      'date',
      'date modified (years or ISO dates, as a range)',
    ),
    f('COMMENT', 'comment', 'experiment', 'text', 'comment'),
    f('RVALUE', 'rValue', 'experiment', 'range', 'R value (0-1), or a range'),
    f('TEMPERATURE', 'temperature', 'experiment', 'range', 'temperature (K), or a range'),
    f('PRESSURE', 'pressure', 'experiment', 'range', 'pressure, or a range'),
    f('SAMPLETYPE', 'sampleType', 'experiment', 'enum', 'sample type', ['powder', 'singlecrystal']),
    f('RADIATIONTYPE', 'radiationType', 'experiment', 'enum', 'radiation type', [
      'xray',
      'electrons',
      'neutrons',
      'synchotron',
    ]),
    f('STRUCTURETYPE', 'structureType', 'structure type', 'text', 'a predefined structure type name'),
    f('SPACEGROUPSYMBOL', 'spaceGroupSymbol', 'symmetry', 'text', 'Hermann-Mauguin symbol'),
    f('SPACEGROUPNUMBER', 'spaceGroupNumber', 'symmetry', 'range', 'space group number 1-230, or a range'),
    f('BRAVAISLATTICE', 'bravaisLattice', 'symmetry', 'enum', 'Bravais lattice', [
      'Primitive',
      'a-centered',
      'b-centered',
      'c-centered',
      'Body-centered',
      'Rhombohedral',
      'Face-centered',
    ]),
    f('CRYSTALSYSTEM', 'crystalSystem', 'symmetry', 'text', 'crystal system'),
    f('CRYSTALCLASS', 'crystalClass', 'symmetry', 'text', 'crystal class'),
    f('LAUECLASS', 'laueClass', 'symmetry', 'enum', 'Laue class', [
      '-1',
      '-3',
      '-3m',
      '2/m',
      '4/m',
      '4/mmm',
      '6/m',
      '6/mmm',
      'm-3',
      'm-3m',
      'mmm',
    ]),
    f('WYCKOFFSEQUENCE', 'wyckoffSequence', 'symmetry', 'text', 'Wyckoff sequence'),
    f('PEARSONSYMBOL', 'pearsonSymbol', 'symmetry', 'text', 'Pearson symbol'),
    f('INVERSIONCENTER', 'inversionCenter', 'symmetry', 'boolean', 'has an inversion centre'),
    f('POLARAXIS', 'polarAxis', 'symmetry', 'boolean', 'has a polar axis'),
  ] as ExpertFieldInfo[]
).map((info) => ({
  ...info,
  ...(INTEGER_FIELDS.has(info.field) ? { integer: true } : {}),
  ...(BOUNDS[info.field] ? { bounds: BOUNDS[info.field] } : {}),
}));

/** The typed-query keys (`spaceGroupNumber`, …). */
export type ExpertFieldKey =
  | 'authors'
  | 'article'
  | 'doi'
  | 'publicationYear'
  | 'pageFirst'
  | 'journal'
  | 'volume'
  | 'abstract'
  | 'keywords'
  | 'cellVolume'
  | 'calcDensity'
  | 'cellParameters'
  | 'search'
  | 'structuredFormula'
  | 'chemicalName'
  | 'mineralName'
  | 'mineralNameIma'
  | 'mineralGroup'
  | 'zValueChemistry'
  | 'anxFormula'
  | 'abFormula'
  | 'formulaWeight'
  | 'numberOfElements'
  | 'composition'
  | 'collectionCode'
  | 'pdfNumber'
  | 'release'
  | 'recordingDate'
  | 'modificationDate'
  | 'comment'
  | 'rValue'
  | 'temperature'
  | 'pressure'
  | 'sampleType'
  | 'radiationType'
  | 'structureType'
  | 'spaceGroupSymbol'
  | 'spaceGroupNumber'
  | 'bravaisLattice'
  | 'crystalSystem'
  | 'crystalClass'
  | 'laueClass'
  | 'wyckoffSequence'
  | 'pearsonSymbol'
  | 'inversionCenter'
  | 'polarAxis';

const BY_NAME = new Map<string, ExpertFieldInfo>();
for (const info of EXPERT_FIELDS) {
  BY_NAME.set(info.field.toLowerCase(), info);
  BY_NAME.set(info.key.toLowerCase(), info);
}

/** Looks a field up by API name or typed key, case-insensitively. */
export function findExpertField(name: string): ExpertFieldInfo | undefined {
  return BY_NAME.get(
    name
      .trim()
      .toLowerCase()
      .replace(/[\s_-]+/g, ''),
  );
}

/** The CSV properties (spec §7), in the spec's order. */
export const CSV_PROPERTIES = [
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
] as const;

export type CsvProperty = (typeof CSV_PROPERTIES)[number];

/**
 * The key of each CSV property in a row (`IcsdRow`): the property's name in camelCase, as the typed expert-query
 * keys are written (`RValue` → `rValue`, `ANXFormula` → `anxFormula`).
 */
export const CSV_PROPERTY_KEYS = {
  CollectionCode: 'collectionCode',
  HMS: 'hms',
  StructuredFormula: 'structuredFormula',
  SumFormula: 'sumFormula',
  StructureType: 'structureType',
  Title: 'title',
  Authors: 'authors',
  Reference: 'reference',
  CellParameter: 'cellParameter',
  ReducedCellParameter: 'reducedCellParameter',
  StandardisedCellParameter: 'standardisedCellParameter',
  CellVolume: 'cellVolume',
  FormulaUnitsPerCell: 'formulaUnitsPerCell',
  FormulaWeight: 'formulaWeight',
  Temperature: 'temperature',
  Pressure: 'pressure',
  RValue: 'rValue',
  ANXFormula: 'anxFormula',
  ABFormula: 'abFormula',
  ChemicalName: 'chemicalName',
  MineralName: 'mineralName',
  MineralGroup: 'mineralGroup',
  CalculatedDensity: 'calculatedDensity',
  MeasuredDensity: 'measuredDensity',
  PearsonSymbol: 'pearsonSymbol',
  WyckoffSequence: 'wyckoffSequence',
  Journal: 'journal',
  Volume: 'volume',
  PublicationYear: 'publicationYear',
  Page: 'page',
  Quality: 'quality',
  CcdcNo: 'ccdcNo',
  Ccdc: 'ccdc',
  Pdf: 'pdf',
  Keywords: 'keywords',
  MineralNameIma: 'mineralNameIma',
  MineralSeries: 'mineralSeries',
  MineralRootGroup: 'mineralRootGroup',
  MineralSubGroup: 'mineralSubGroup',
  MineralSuperGroup: 'mineralSuperGroup',
  MineralSubClass: 'mineralSubClass',
  MineralClass: 'mineralClass',
} as const satisfies Record<CsvProperty, string>;

/** The key of property `P` in a row (`'StructuredFormula'` → `'structuredFormula'`). */
export type CsvPropertyKey<P extends CsvProperty = CsvProperty> = (typeof CSV_PROPERTY_KEYS)[P];

const PROPERTY_ALIASES: Record<string, CsvProperty> = {
  standardizedcellparameter: 'StandardisedCellParameter',
};
const PROPERTY_BY_LOWER = new Map<string, CsvProperty>(CSV_PROPERTIES.map((p) => [p.toLowerCase(), p]));

/**
 * Canonical spelling of a CSV property name: case-insensitive, blanks, `_` and `-` ignored (`Collection Code`
 * is `CollectionCode`), `StandardizedCellParameter` accepted.
 */
export function findCsvProperty(name: string): CsvProperty | undefined {
  const lower = name
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, '');
  return PROPERTY_BY_LOWER.get(lower) ?? PROPERTY_ALIASES[lower];
}

/**
 * Canonical spellings of CSV property names, in order and without repeats; an unknown name is a `UsageError`
 * naming the closest ones.
 */
export function resolveCsvProperties(names: readonly string[]): CsvProperty[] {
  const out: CsvProperty[] = [];
  for (const name of names) {
    const property = findCsvProperty(name);
    if (!property) {
      const near = closest(name, CSV_PROPERTIES);
      throw new UsageError(
        `Unknown ICSD property ${JSON.stringify(name)}${near.length ? `; did you mean ${near.join(', ')}?` : ''}`,
        { hint: 'Run `sciport icsd fields` for the list' },
      );
    }
    if (!out.includes(property)) out.push(property);
  }
  return out;
}

/** Content types (spec §4.3), with the API's own spelling. The theoretical subset is misspelled on purpose. */
export const CONTENT_TYPES = {
  inorganic: 'EXPERIMENTAL_INORGANIC',
  metalorganic: 'EXPERIMENTAL_METALORGANIC',
  theoretical: 'THERORETICAL_STRUCTURES',
} as const;

export type ContentTypeName = keyof typeof CONTENT_TYPES;
/** The three subsets, by short name. */
export const CONTENT_TYPE_NAMES: readonly ContentTypeName[] = ['inorganic', 'metalorganic', 'theoretical'];
/** A content type: a short name, or the API value (either spelling of the theoretical one). */
export type ContentType =
  | ContentTypeName
  | 'EXPERIMENTAL_INORGANIC'
  | 'EXPERIMENTAL_METALORGANIC'
  | 'THEORETICAL_STRUCTURES'
  | 'THERORETICAL_STRUCTURES';

export type CellType = 'experimental' | 'standardized';

/** Edit distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = cur;
  }
  return prev[n] ?? 0;
}

/** The closest names to `name` among `candidates` (at most `limit`). */
export function closest(name: string, candidates: readonly string[], limit = 3): string[] {
  const target = name.toLowerCase();
  return candidates
    .map((c) => {
      const lower = c.toLowerCase();
      const d = editDistance(target, lower);
      // A prefix or substring match counts as close, whatever the length difference.
      const bonus = lower.includes(target) || target.includes(lower) ? -2 : 0;
      return { c, d: d + bonus };
    })
    .filter((x) => x.d <= Math.max(3, Math.floor(target.length / 2)))
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c))
    .slice(0, limit)
    .map((x) => x.c);
}
