import { ICSD_CSV_PROPERTIES, type IcsdCsvProperty } from '../icsd-constants.js';
import {
  abFormulaOf,
  anxFormulaOf,
  formatStandardisedCell,
  type IcsdSimEntry,
  reducedCellOf,
  referenceOf,
  standardisedCellOf,
} from '../icsd-dataset.js';
import { endpoint, type IcsdRoutes, methodNotAllowed, respond, text } from '../state.js';

const CSV_VALUES: Readonly<Record<IcsdCsvProperty, (entry: IcsdSimEntry) => string>> = {
  CollectionCode: (e) => String(e.collectionCode),
  HMS: (e) => e.spaceGroupSymbol,
  StructuredFormula: (e) => e.structuredFormula,
  SumFormula: (e) => e.sumFormula,
  StructureType: (e) => e.structureType,
  Title: (e) => e.title,
  Authors: (e) => e.authors.join(';'),
  Reference: referenceOf,
  CellParameter: (e) => e.cellParameters,
  ReducedCellParameter: reducedCellOf,
  StandardisedCellParameter: (e) => formatStandardisedCell(standardisedCellOf(e)),
  CellVolume: (e) => e.cellVolume,
  FormulaUnitsPerCell: (e) => String(e.formulaUnitsPerCell),
  FormulaWeight: (e) => e.formulaWeight,
  Temperature: (e) => e.temperature,
  Pressure: (e) => e.pressure,
  RValue: (e) => e.rValue,
  ANXFormula: anxFormulaOf,
  ABFormula: abFormulaOf,
  ChemicalName: (e) => e.chemicalName,
  MineralName: (e) => e.mineralName,
  MineralGroup: (e) => e.mineralGroup,
  CalculatedDensity: (e) => e.calculatedDensity,
  MeasuredDensity: (e) => e.measuredDensity,
  PearsonSymbol: (e) => e.pearsonSymbol,
  WyckoffSequence: (e) => e.wyckoffSequence,
  Journal: (e) => e.journal,
  Volume: (e) => String(e.volume),
  PublicationYear: (e) => String(e.publicationYear),
  Page: (e) => e.page,
  Quality: (e) => String(e.quality),
  CcdcNo: () => '',
  Ccdc: () => '',
  Pdf: () => '',
  Keywords: () => '',
  MineralNameIma: (e) => e.mineralName,
  MineralSeries: () => '',
  MineralRootGroup: () => '',
  MineralSubGroup: () => '',
  MineralSuperGroup: () => '',
  MineralSubClass: () => '',
  MineralClass: () => '',
  RecordingDate: (e) => e.recordingDate,
  ModificationDate: (e) => e.modificationDate,
  Doi: (e) => e.doi,
};

/** Property getters by lower-cased name, with the American spelling of the standardised cell. */
const CSV_BY_NAME: ReadonlyMap<string, (entry: IcsdSimEntry) => string> = new Map([
  ...ICSD_CSV_PROPERTIES.map((name) => [name.toLowerCase(), CSV_VALUES[name]] as const),
  ['standardizedcellparameter', CSV_VALUES.StandardisedCellParameter] as const,
]);

/** `GET /csv`: the selected properties of entries, tab-separated. */
export const csvRoutes: IcsdRoutes = (sim, mount) => {
  const csv = (request: Request): Response => {
    if (request.method !== 'GET') return methodNotAllowed('GET');
    const session = sim.authenticate(request);
    if (session instanceof Response) return session;
    const params = new URL(request.url).searchParams;
    const ids = sim.readIds(params);
    if (ids instanceof Response) return ids;
    const names = params.getAll('listSelection');
    if (names.length === 0)
      return text(400, 'Bad Request: listSelection is missing (name at least one property)');
    const getters: ((entry: IcsdSimEntry) => string)[] = [];
    for (const name of names) {
      const getter = CSV_BY_NAME.get(name.trim().toLowerCase());
      if (getter === undefined)
        return text(400, `Bad Request: unknown property in listSelection: ${name.slice(0, 60)}`);
      getters.push(getter);
    }
    const eol = sim.isWindows(params) ? '\r\n' : '\n';
    let body = '';
    for (const name of names) body += `${name}\t`;
    body += eol;
    for (const id of ids) {
      const entry = sim.dataset.entryById(id);
      if (entry === undefined) continue;
      for (const getter of getters) body += `${getter(entry)}\t`;
      body += eol;
    }
    return respond(200, body, 'application/csv;charset=UTF-8');
  };

  return [endpoint(sim, mount, '/csv', 'csv', csv)];
};
