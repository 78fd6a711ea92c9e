import { createRandom } from '../random.js';
import {
  type AtomSite,
  entryCell,
  inorganicLayout,
  type Layout,
  molecularLayout,
  molecularVolume,
  renderSites,
} from './icsd-build.js';
import {
  type CrystalSystem,
  crystalSystemOf,
  MO_SPACE_GROUPS,
  SPACE_GROUP_BY_NUMBER,
  type SpaceGroup,
} from './icsd-chemistry.js';
import type { IcsdContentType } from './icsd-constants.js';
import {
  type Cell,
  cellNumbers,
  cellVolumeOf,
  createShare,
  formatCell,
  formatCount,
  makeCell,
  mixSeed,
  organicFormula,
  pickDistinct,
  randomDate,
  uniform,
  weighted,
} from './icsd-structure.js';
import {
  AUTHORS,
  doiFor,
  INORGANIC_TITLES,
  JOURNALS,
  METALORGANIC_TITLES,
  PRESSURES,
  TEMPERATURES,
  THEORY_JOURNALS,
  THEORY_TITLES,
} from './icsd-vocabulary.js';

/**
 * One entry of the simulated ICSD. Text fields hold exactly what the service writes (`''` for an absent value),
 * so tests can compare them with what a client parsed.
 */
export interface IcsdSimEntry {
  /** Internal id (`idnum`): what searches return and `/csv` and `/cif/{id}` take. Never a collection code. */
  readonly id: number;
  /** Collection code, as in `_database_code_ICSD`; increasing with the position in the dataset. */
  readonly collectionCode: number;
  /** The subset of the entry (`content type` of searches). */
  readonly contentType: IcsdContentType;
  /** Distinct element symbols, in the order of the structured formula (`['Li', 'Fe', 'O']`). */
  readonly elements: readonly string[];
  /** Number of atoms of each of {@link IcsdSimEntry.elements} per formula unit (`[1, 1, 2]`; may be fractional). */
  readonly elementCounts: readonly number[];
  /** Oxidation number of each of {@link IcsdSimEntry.elements}, as in the CIF's `_atom_type` loop (0 in metals). */
  readonly oxidationStates: readonly number[];
  /** `Li Fe O2`; metal-organic entries have groups: `Cu (C2 H3 O2)2 (H2 O)2`. */
  readonly structuredFormula: string;
  /** Elements in alphabetical order, every count written: `Fe1 Li1 O2`. */
  readonly sumFormula: string;
  /** `Lithium iron oxide`. */
  readonly chemicalName: string;
  /** `''` for most entries. */
  readonly mineralName: string;
  /** `''` when unknown. */
  readonly mineralGroup: string;
  /** Title of the main reference; some are German or French (non-ASCII). */
  readonly title: string;
  /** Authors of the main reference (`Müller, K.`), joined with `;` in CSV. */
  readonly authors: readonly string[];
  readonly journal: string;
  readonly volume: number;
  /** First page (digits). */
  readonly page: string;
  readonly publicationYear: number;
  /** Bare DOI of the main reference (`10.1021/ic.2016.00865`), or `''` when the entry has none. */
  readonly doi: string;
  readonly spaceGroupNumber: number;
  /** Hermann–Mauguin symbol as ICSD writes it (`P 63/m m c`, `P 1 21/c 1`, `F d -3 m Z`). */
  readonly spaceGroupSymbol: string;
  readonly crystalSystem: CrystalSystem;
  /** Published cell, `a b c alpha beta gamma` with uncertainties: `5.5385(2) 5.5385(2) 9.1120(5) 90. 90. 120.`. */
  readonly cellParameters: string;
  /** Cell volume in Å³, usually with an uncertainty: `242.05(3)`. */
  readonly cellVolume: string;
  /** Z. */
  readonly formulaUnitsPerCell: number;
  /** `94.78`. */
  readonly formulaWeight: string;
  /** g/cm³, `4.23`. */
  readonly calculatedDensity: string;
  /** `''` or a value with uncertainty, `4.2(1)`. */
  readonly measuredDensity: string;
  /** Kelvin, `293`; `''` for theoretical entries. */
  readonly temperature: string;
  /** MPa; `''` for most entries. */
  readonly pressure: string;
  /** `0.034`; `''` for theoretical entries. */
  readonly rValue: string;
  /** `Spinel-Al2MgO4`, or `''`. */
  readonly structureType: string;
  /** `cF8`. */
  readonly pearsonSymbol: string;
  /** Wyckoff letters of the atom sites, highest first, with counts: `g f e2 a`. */
  readonly wyckoffSequence: string;
  readonly quality: number;
  /** `YYYY-MM-DD` (`_audit_creation_date`). */
  readonly recordingDate: string;
  /**
   * `YYYY-MM-DD`, not before the recording date; never after 2025-12-31 for an unchanged entry. An entry changed by
   * the simulator's `revision` option or `modify()` carries the day of the change.
   */
  readonly modificationDate: string;
  /** Which tag dialect the entry's CIF uses (spec §8): `_symmetry_*`/`_publ_*` (2018) or `_space_group_*`/`_citation_*` (2025). */
  readonly cifDialect: 2018 | 2025;
}

/** The generated dataset, with lookups. */
export interface IcsdDataset {
  readonly entries: readonly IcsdSimEntry[];
  entryById(id: number): IcsdSimEntry | undefined;
  entryByCode(collectionCode: number): IcsdSimEntry | undefined;
  /** Puts `entry` in the place of the entry with the same collection code (upstream changes). */
  replaceEntry(entry: IcsdSimEntry): void;
  /** The `_atom_site` rows of an entry's CIF (regenerated on each call from the entry's seed). */
  sitesOf(entry: IcsdSimEntry): AtomSite[];
}

const LAST_YEAR = 2025;

/**
 * Generates the dataset of a simulator: `count` entries sorted by collection code, deterministic for `seed`.
 *
 * Collection codes increase with gaps (4 apart on average, all within `1..4 × count`). Internal ids are a seeded permutation of a
 * range that starts at the first power of ten above the largest collection code, so an id never equals any
 * collection code and ids do not sort like codes: a client that confuses them gets 404s or empty searches.
 */
export function generateDataset(seed: number, count: number): IcsdDataset {
  const random = createRandom(mixSeed(seed, 0x1c5d));
  const entries: IcsdSimEntry[] = new Array<IcsdSimEntry>(count);

  // Entry i gets a code in [4i + 1, 4i + 4]: increasing, gaps of 1 to 7, never above 4 × count.
  const codes = new Array<number>(count);
  for (let i = 0; i < count; i++) codes[i] = 4 * i + random.int(1, 4);
  const maxCode = count > 0 ? codes[count - 1]! : 0;
  const idBase = 10 ** Math.max(1, Math.ceil(Math.log10(maxCode + 1)));
  const ids = new Array<number>(count);
  for (let i = 0; i < count; i++) ids[i] = idBase + i;
  for (let i = count - 1; i > 0; i--) {
    const j = random.int(0, i);
    const t = ids[i]!;
    ids[i] = ids[j]!;
    ids[j] = t;
  }
  if (count >= 2 && ids[0]! < ids[1]!) {
    const t = ids[0]!;
    ids[0] = ids[1]!;
    ids[1] = t;
  }

  // Repeated values share one string or array (keyed by numbers where possible, which is cheaper than hashing
  // strings), so that a 50,000-entry dataset stays small.
  const layouts = new Map<string, Layout>();
  const layoutList: Layout[] = [];
  const layoutNumbers = new Map<Layout, number>();
  const layoutIds = (layout: Layout): number => {
    let n = layoutNumbers.get(layout);
    if (n === undefined) {
      n = layoutList.length;
      layoutList.push(layout);
      layoutNumbers.set(layout, n);
    }
    return n;
  };
  const layoutIndex = new Int32Array(count);
  const shareDate = createShare();
  const sharePage = createShare();
  const shareDensity = createShare();
  const shareRValue = createShare();

  for (let i = 0; i < count; i++) {
    const collectionCode = codes[i]!;
    const roll = random.next();
    const contentType: IcsdContentType =
      roll < 0.8
        ? 'EXPERIMENTAL_INORGANIC'
        : roll < 0.9
          ? 'EXPERIMENTAL_METALORGANIC'
          : 'THERORETICAL_STRUCTURES';
    const experimental = contentType !== 'THERORETICAL_STRUCTURES';
    const organic = contentType === 'EXPERIMENTAL_METALORGANIC';

    let layout: Layout;
    let cell: Cell;
    if (organic) {
      const formula = organicFormula(random);
      const group = SPACE_GROUP_BY_NUMBER.get(random.pick(MO_SPACE_GROUPS))!;
      const key = `${group.number}|${formula.structured}`;
      let found = layouts.get(key);
      if (found === undefined) {
        found = molecularLayout(group, formula.elements, formula.counts, formula.structured, formula.name);
        layouts.set(key, found);
      }
      layout = found;
      cell = makeCell(random, crystalSystemOf(group.number), molecularVolume(random, layout));
    } else {
      const kind = random.next();
      layout = inorganicLayout(
        random,
        kind < 0.02 ? 'element' : kind < 0.14 ? 'intermetallic' : 'ionic',
        layouts,
      );
      cell = entryCell(random, layout, crystalSystemOf(layout.group.number));
    }
    const { elements, counts, weight, group, z } = layout;
    const system = crystalSystemOf(group.number);
    const cellParameters = formatCell(random, system, cell, experimental);
    const volume = cellVolumeOf(cell.a, cell.b, cell.c, cell.alpha, cell.beta, cell.gamma);
    const cellVolume =
      experimental && random.chance(0.85) ? `${volume.toFixed(2)}(${random.int(1, 9)})` : volume.toFixed(2);
    const density = (z * weight * 1.66054) / volume;
    const measuredDensity =
      experimental && random.chance(0.12)
        ? `${(density * uniform(random, 0.97, 1.02)).toFixed(2)}(${random.int(1, 5)})`
        : '';

    let temperature = '';
    let pressure = '';
    let rValue = '';
    if (experimental) {
      temperature = random.pick(TEMPERATURES);
      if (random.chance(0.05)) pressure = random.pick(PRESSURES);
      const thousandths = random.int(10, 120);
      rValue = shareRValue(thousandths, () => (thousandths / 1000).toFixed(3));
    }

    const structureType = layout.structureType;
    const mineral = contentType === 'EXPERIMENTAL_INORGANIC' ? layout.mineral : undefined;

    const compact = layout.structured.replace(/ /g, '');
    const titles = organic ? METALORGANIC_TITLES : experimental ? INORGANIC_TITLES : THEORY_TITLES;
    const title = random.pick(titles)(layout.name.toLowerCase(), compact);
    const authors = pickDistinct(
      random,
      AUTHORS,
      weighted(random, [1, 2, 3, 4, 5, 6], [10, 25, 25, 20, 12, 8]),
      new Set(),
    ).slice();
    const [journal] = random.pick(experimental ? JOURNALS : THEORY_JOURNALS);
    const publicationYear = experimental
      ? LAST_YEAR - Math.floor(101 * random.next() ** 1.7)
      : random.int(1995, LAST_YEAR);
    const volumeNumber = random.int(1, 320);
    const pageText = (n: number): string => sharePage(n, () => String(n));
    const page = pageText(random.int(1, 4999));
    const doiShare = !experimental
      ? 0.9
      : publicationYear >= 2000
        ? 0.85
        : publicationYear >= 1990
          ? 0.5
          : 0.15;
    const doi = random.chance(doiShare) ? doiFor(journal, publicationYear, random.int(1, 99999)) : '';
    const recordingDate = randomDate(
      random,
      shareDate,
      publicationYear,
      Math.min(LAST_YEAR, publicationYear + 2),
    );
    const recordingYear = Number(recordingDate.slice(0, 4));
    const modification =
      recordingYear >= LAST_YEAR || random.chance(0.6)
        ? recordingDate
        : randomDate(random, shareDate, recordingYear + 1, LAST_YEAR);

    layoutIndex[i] = layoutIds(layout);

    entries[i] = {
      id: ids[i]!,
      collectionCode,
      contentType,
      elements,
      elementCounts: counts,
      oxidationStates: layout.oxidation,
      structuredFormula: layout.structured,
      sumFormula: layout.sum,
      chemicalName: layout.name,
      mineralName: mineral?.[0] ?? '',
      mineralGroup: mineral?.[1] ?? '',
      title,
      authors,
      journal,
      volume: volumeNumber,
      page,
      publicationYear,
      doi,
      spaceGroupNumber: group.number,
      spaceGroupSymbol: group.symbol,
      crystalSystem: system,
      cellParameters,
      cellVolume,
      formulaUnitsPerCell: z,
      formulaWeight: layout.weightText,
      calculatedDensity: shareDensity(Math.round(density * 100), () => density.toFixed(2)),
      measuredDensity,
      temperature,
      pressure,
      rValue,
      structureType,
      pearsonSymbol: layout.pearsonSymbol,
      wyckoffSequence: layout.wyckoffSequence,
      quality: experimental ? random.int(1, 4) : 0,
      recordingDate,
      modificationDate: modification,
      cifDialect: random.chance(0.5) ? 2018 : 2025,
    };
  }

  const indexById = new Int32Array(count);
  for (let i = 0; i < count; i++) indexById[ids[i]! - idBase] = i;

  const indexByCode = (collectionCode: number): number => {
    let lo = 0;
    let hi = count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const value = entries[mid]!.collectionCode;
      if (value === collectionCode) return mid;
      if (value < collectionCode) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  };

  return {
    entries,
    entryById(id) {
      if (!Number.isInteger(id)) return undefined;
      const offset = id - idBase;
      if (offset < 0 || offset >= count) return undefined;
      return entries[indexById[offset]!];
    },
    entryByCode(collectionCode) {
      const index = indexByCode(collectionCode);
      return index < 0 ? undefined : entries[index];
    },
    sitesOf(entry) {
      const index = indexByCode(entry.collectionCode);
      if (index < 0)
        throw new RangeError(`icsd simulator: no entry with collection code ${entry.collectionCode}`);
      return renderSites(
        layoutList[layoutIndex[index]!]!,
        mixSeed(seed, entry.collectionCode),
        entry.contentType !== 'THERORETICAL_STRUCTURES',
      );
    },
    replaceEntry(entry) {
      const index = indexByCode(entry.collectionCode);
      if (index < 0 || entries[index]!.id !== entry.id) {
        throw new RangeError(`icsd simulator: no entry with collection code ${entry.collectionCode}`);
      }
      entries[index] = entry;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Derived values (computed when served, not stored)
// ---------------------------------------------------------------------------------------------------------

export function spaceGroupOf(entry: IcsdSimEntry): SpaceGroup {
  const group = SPACE_GROUP_BY_NUMBER.get(entry.spaceGroupNumber);
  if (group === undefined) throw new Error(`icsd simulator: unknown space group ${entry.spaceGroupNumber}`);
  return group;
}

/** The standardised cell: the published cell without uncertainties, lengths to 5 decimals and angles to 3. */
export function standardisedCellOf(entry: IcsdSimEntry): [number, number, number, number, number, number] {
  return cellNumbers(entry.cellParameters);
}

export function formatStandardisedCell(cell: readonly number[]): string {
  return cell.map((v, i) => (i < 3 ? v.toFixed(5) : v.toFixed(3))).join(' ');
}

/**
 * An approximation of the reduced cell: the primitive cell for cubic F and I lattices, the published cell
 * otherwise; without uncertainties.
 */
export function reducedCellOf(entry: IcsdSimEntry): string {
  const [a, b, c, alpha, beta, gamma] = cellNumbers(entry.cellParameters);
  const group = spaceGroupOf(entry);
  let cell = [a, b, c, alpha, beta, gamma];
  if (entry.crystalSystem === 'cubic' && group.centering === 'F') {
    const p = a / Math.SQRT2;
    cell = [p, p, p, 60, 60, 60];
  } else if (entry.crystalSystem === 'cubic' && group.centering === 'I') {
    const p = (a * Math.sqrt(3)) / 2;
    cell = [p, p, p, 109.471, 109.471, 109.471];
  }
  return cell.map((v, i) => (i < 3 ? v.toFixed(4) : v.toFixed(3))).join(' ');
}

/** `ANX` formula: cations A, B, … and anions X, Y, … ordered by increasing count. */
export function anxFormulaOf(entry: IcsdSimEntry): string {
  const cations: number[] = [];
  const anions: number[] = [];
  const organic = entry.contentType === 'EXPERIMENTAL_METALORGANIC';
  entry.elements.forEach((_, i) => {
    const anion = !organic && entry.oxidationStates[i]! < 0;
    (anion ? anions : cations).push(entry.elementCounts[i]!);
  });
  const letters = (counts: number[], alphabet: string): string =>
    [...counts]
      .sort((x, y) => x - y)
      .map((n, i) => `${alphabet[i] ?? '?'}${n === 1 ? '' : formatCount(n)}`)
      .join('');
  return letters(cations, 'ABCDEFGHIJKLM') + letters(anions, 'XYZ');
}

/** `AB` formula: every element by increasing count. */
export function abFormulaOf(entry: IcsdSimEntry): string {
  return [...entry.elementCounts]
    .sort((x, y) => x - y)
    .map((n, i) => `${'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[i] ?? '?'}${n === 1 ? '' : formatCount(n)}`)
    .join('');
}

/** The last page of the main reference. */
export function lastPageOf(entry: IcsdSimEntry): string {
  return String(Number(entry.page) + 1 + (entry.collectionCode % 12));
}

/** `Journal of Solid State Chemistry (1998), 140, 123-130`: `<journal> (<year>), <volume>, <first>-<last>`. */
export function referenceOf(entry: IcsdSimEntry): string {
  return `${entry.journal} (${entry.publicationYear}), ${entry.volume}, ${entry.page}-${lastPageOf(entry)}`;
}
