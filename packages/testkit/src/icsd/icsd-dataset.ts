import { createRandom, type Random } from '../random.js';
import {
  ANIONS,
  CATIONS,
  type CrystalSystem,
  crystalSystemOf,
  elementInfo,
  LIGANDS,
  METALS,
  MO_METALS,
  MO_SPACE_GROUPS,
  SPACE_GROUP_BY_NUMBER,
  SPACE_GROUPS,
  type SpaceGroup,
} from './icsd-chemistry.js';
import type { IcsdContentType } from './icsd-constants.js';

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
  /** First page: usually digits, sometimes an article number (`e10234`). */
  readonly page: string;
  readonly publicationYear: number;
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
  /** `YYYY-MM-DD`, not before the recording date. */
  readonly modificationDate: string;
  /** Which tag dialect the entry's CIF uses (spec §8): `_symmetry_*`/`_publ_*` (2018) or `_space_group_*`/`_citation_*` (2025). */
  readonly cifDialect: 2018 | 2025;
}

/** The generated dataset, with lookups. */
export interface IcsdDataset {
  readonly entries: readonly IcsdSimEntry[];
  entryById(id: number): IcsdSimEntry | undefined;
  entryByCode(collectionCode: number): IcsdSimEntry | undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Pools
// ---------------------------------------------------------------------------------------------------------

const AUTHORS: readonly string[] = [
  'Müller, K.',
  'Ångström, A.',
  'Żółć, P.',
  'Smith, J.R.',
  'Nakamura, T.',
  'Dvořák, J.',
  'Sørensen, O.',
  'García-López, M.',
  'Öztürk, E.',
  'Lévy, F.',
  'Schröder, H.-J.',
  "O'Keeffe, M.",
  'Chen, X.',
  'Wang, L.',
  'Kowalski, A.',
  'Petrov, I.V.',
  'Johansson, B.',
  'Rossi, G.',
  'Dubois, C.',
  'Brown, I.D.',
  'Hoppe, R.',
  'Kanatzidis, M.G.',
  'Rosseinsky, M.J.',
  'Cava, R.J.',
  'Jansen, M.',
  'Schnick, W.',
  'Poeppelmeier, K.R.',
  'Tanaka, H.',
  'Kim, S.-J.',
  'Nguyễn, V.A.',
  'Şahin, B.',
  'Fjellvåg, H.',
  'Černý, R.',
  'Pöttgen, R.',
  'Jeitschko, W.',
  'von Schnering, H.G.',
  'Zhang, Y.',
  'Li, J.',
  'Kumar, R.',
  'Ivanova, E.',
];

/** Journal, ASTM code. */
const JOURNALS: readonly (readonly [string, string])[] = [
  ['Acta Crystallographica, Section B: Structural Science', 'ASBSDK'],
  ['Acta Crystallographica, Section C: Crystal Structure Communications', 'ACSCEE'],
  ['Journal of Solid State Chemistry', 'JSSCBI'],
  ['Journal of Solid State Chemistry', 'JSSCBI'],
  ['Zeitschrift für Kristallographie - Crystalline Materials', 'ZKCMAJ'],
  ['Zeitschrift für anorganische und allgemeine Chemie', 'ZAACAB'],
  ['Inorganic Chemistry', 'INOCAJ'],
  ['Inorganic Chemistry', 'INOCAJ'],
  ['Journal of Alloys and Compounds', 'JALCEU'],
  ['Materials Research Bulletin', 'MRBUAC'],
  ['Chemistry of Materials', 'CMATEX'],
  ['Dalton Transactions', 'DTARAF'],
  ['European Journal of Inorganic Chemistry', 'EJICFO'],
  ['Journal of the American Chemical Society', 'JACSAT'],
  ["Comptes Rendus Hebdomadaires des Séances de l'Académie des Sciences", 'COREAF'],
  ['Monatshefte für Chemie', 'MOCMB7'],
];

const THEORY_JOURNALS: readonly (readonly [string, string])[] = [
  ['Physical Review B', 'PRBMDO'],
  ['Physical Review Materials', 'PRMHAR'],
  ['Computational Materials Science', 'CMMSEM'],
  ['npj Computational Materials', 'NCMPAF'],
];

const JOURNAL_ASTM: ReadonlyMap<string, string> = new Map([...JOURNALS, ...THEORY_JOURNALS]);

/** The ASTM code of a journal of the dataset (`_citation_journal_id_ASTM`). */
export function journalAstm(journal: string): string {
  return JOURNAL_ASTM.get(journal) ?? '?';
}

const STRUCTURE_TYPES: readonly string[] = [
  'NaCl',
  'CsCl',
  'Sphalerite-ZnS(cF8)',
  'Wurtzite-ZnS(2H)',
  'Spinel-Al2MgO4',
  'Perovskite-CaTiO3',
  'Perovskite-GdFeO3',
  'Rutile-TiO2',
  'Fluorite-CaF2',
  'Corundum-Al2O3',
  'NiAs',
  'Pyrite-FeS2',
  'Olivine-Mg2SiO4',
  'Delafossite-CuFeO2',
  'K2NiF4',
  'ThCr2Si2',
  'Cu3Au',
  'Laves(cub)-MgCu2',
  'Garnet-Al2Ca3Si3O12',
  'Scheelite-CaWO4',
  'Ilmenite-FeTiO3',
  'CdI2',
  'MoS2',
  'alpha-NaFeO2',
];

/** Mineral name, mineral group. */
const MINERALS: readonly (readonly [string, string])[] = [
  ['Periclase', 'Periclase'],
  ['Rutile', 'Rutile'],
  ['Anatase', ''],
  ['Spinel', 'Spinel'],
  ['Perovskite', 'Perovskite'],
  ['Halite', 'Halite'],
  ['Sylvite', 'Halite'],
  ['Fluorite', 'Fluorite'],
  ['Corundum', 'Corundum'],
  ['Hematite', 'Corundum'],
  ['Magnetite', 'Spinel'],
  ['Wurtzite', 'Wurtzite'],
  ['Sphalerite', 'Sphalerite'],
  ['Pyrite', 'Pyrite'],
  ['Galena', 'Galena'],
  ['Cuprite', ''],
  ['Zincite', 'Wurtzite'],
  ['Cassiterite', 'Rutile'],
  ['Baddeleyite', ''],
  ['Ilmenite', 'Corundum'],
  ['Forsterite', 'Olivine'],
  ['Scheelite', 'Scheelite'],
  ['Åkermanite', 'Melilite'],
  ['Gehlenite', 'Melilite'],
  ['Nickeline', 'Nickeline'],
  ['Béhierite', ''],
];

type TitleTemplate = (name: string, formula: string) => string;

const INORGANIC_TITLES: readonly TitleTemplate[] = [
  (n) => `Crystal structure of ${n}`,
  (_, f) => `The crystal structure of ${f}`,
  (_, f) => `Refinement of the crystal structure of ${f}`,
  (_, f) => `Neutron powder diffraction study of ${f}`,
  (_, f) => `Synthesis, crystal structure and magnetic properties of ${f}`,
  (_, f) => `Über die Kristallstruktur von ${f}`,
  (_, f) => `Röntgenographische Untersuchung von ${f}`,
  (_, f) => `Étude structurale de ${f} à basse température`,
  (_, f) => `High-pressure polymorph of ${f}`,
  (n) => `Single-crystal X-ray study of ${n}`,
];

const METALORGANIC_TITLES: readonly TitleTemplate[] = [
  (n) => `Synthesis and structure of ${n}`,
  (_, f) => `A porous coordination polymer: ${f}`,
  (n) => `Crystal structure of ${n}`,
  (_, f) => `Hydrothermal synthesis of ${f}`,
];

const THEORY_TITLES: readonly TitleTemplate[] = [
  (n) => `Ab initio prediction of ${n} polymorphs`,
  (_, f) => `Density functional study of ${f}`,
  (_, f) => `High-throughput search for stable ${f} phases`,
];

const TEMPERATURES: readonly string[] = [
  '293',
  '293',
  '293',
  '295',
  '295',
  '298',
  '100',
  '150',
  '4.2',
  '10',
  '573',
];
const PRESSURES: readonly string[] = ['1000', '5300', '12000', '25000'];
const HYDRATES: readonly string[] = ['', 'monohydrate', 'dihydrate', 'trihydrate', 'tetrahydrate'];
const FRACTIONS: readonly number[] = [0.5, 0.25, 0.75, 0.8, 0.2, 1.5];

// ---------------------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------------------

/** `2` → `2`, `0.5` → `0.5`, `1.25` → `1.25`. */
export function formatCount(count: number): string {
  return Number.isInteger(count) ? String(count) : String(Number(count.toFixed(3)));
}

/** Strips an uncertainty: `5.5385(2)` → 5.5385. */
export function parseWireNumber(text: string): number {
  return Number.parseFloat(text.replace(/\(\d+\)$/, ''));
}

/** Deterministic 32-bit mix of two integers. */
export function mixSeed(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ b;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

function weighted<T>(random: Random, items: readonly T[], weights: readonly number[]): T {
  let total = 0;
  for (const w of weights) total += w;
  let r = random.next() * total;
  for (let i = 0; i < items.length; i++) {
    r -= weights[i]!;
    if (r < 0) return items[i]!;
  }
  return items[items.length - 1]!;
}

function pickDistinct(
  random: Random,
  pool: readonly string[],
  count: number,
  exclude: Set<string>,
): string[] {
  const picked: string[] = [];
  for (let guard = 0; picked.length < count && guard < 200; guard++) {
    const candidate = random.pick(pool);
    if (exclude.has(candidate)) continue;
    exclude.add(candidate);
    picked.push(candidate);
  }
  return picked;
}

function uniform(random: Random, min: number, max: number): number {
  return min + random.next() * (max - min);
}

function formatAngle(value: number, esd: number): string {
  if (value === 90 || value === 120) return `${value}.`;
  return esd > 0 ? `${value.toFixed(3)}(${esd})` : value.toFixed(3);
}

function formatLength(value: number, esd: number): string {
  return esd > 0 ? `${value.toFixed(4)}(${esd})` : value.toFixed(4);
}

const deg = Math.PI / 180;

/** Volume of a cell from its parameters (Å, degrees). */
export function cellVolumeOf(
  a: number,
  b: number,
  c: number,
  alpha: number,
  beta: number,
  gamma: number,
): number {
  const ca = Math.cos(alpha * deg);
  const cb = Math.cos(beta * deg);
  const cg = Math.cos(gamma * deg);
  return a * b * c * Math.sqrt(Math.max(0, 1 - ca * ca - cb * cb - cg * cg + 2 * ca * cb * cg));
}

/** The six numbers of a cell parameter string (uncertainties dropped). */
export function cellNumbers(cellParameters: string): [number, number, number, number, number, number] {
  const values = cellParameters.split(' ').map(parseWireNumber);
  return [values[0]!, values[1]!, values[2]!, values[3]!, values[4]!, values[5]!];
}

// ---------------------------------------------------------------------------------------------------------
// Atom sites (regenerated from a per-entry seed, so they need no storage)
// ---------------------------------------------------------------------------------------------------------

export interface AtomSite {
  readonly label: string;
  readonly element: string;
  readonly multiplicity: number;
  readonly wyckoff: string;
  /** Fractional coordinates as written (`0.2845(3)`, `0.25`). */
  readonly x: string;
  readonly y: string;
  readonly z: string;
  /** Occupancy as a number (1 for full sites). */
  readonly occupancy: number;
  /** Isotropic displacement B in Å² as written, or `''` when absent. */
  readonly bIso: string;
}

const SPECIAL_COORDINATES: readonly string[] = ['0', '0', '0.5', '0.25', '0.75', '0.125', '0.3333', '0.6667'];

const divisorCache = new Map<number, readonly number[]>();

function divisors(n: number): readonly number[] {
  let list = divisorCache.get(n);
  if (list === undefined) {
    const found: number[] = [];
    for (let d = 1; d <= n; d++) if (n % d === 0) found.push(d);
    list = found;
    divisorCache.set(n, list);
  }
  return list;
}

function formatCoordinate(random: Random, withEsd: boolean): string {
  const value = random.next().toFixed(withEsd ? 4 : 5);
  return withEsd ? `${value}(${random.int(1, 9)})` : value;
}

interface SiteParams {
  readonly seed: number;
  readonly elements: readonly string[];
  readonly counts: readonly number[];
  readonly group: SpaceGroup;
  readonly experimental: boolean;
  readonly organic: boolean;
}

interface SiteLayout {
  readonly element: string;
  readonly index: number;
  readonly letterIndex: number;
  readonly multiplicity: number;
  readonly occupancy: number;
}

/**
 * Which sites an entry has (element, Wyckoff letter, multiplicity), from its own random stream, so that the
 * dataset can compute the Wyckoff sequence without drawing coordinates.
 */
function siteLayout(params: SiteParams): SiteLayout[] {
  const { elements, counts, group, organic } = params;
  const random = createRandom(params.seed);
  const d = divisors(group.order);
  const letterCount = Math.min(2 * d.length - 1, 26);
  const layout: SiteLayout[] = [];
  for (let index = 0; index < elements.length; index++) {
    const element = elements[index]!;
    const count = counts[index]!;
    const light = organic && (element === 'C' || element === 'H' || element === 'N' || element === 'O');
    const siteCount = light
      ? Math.min(6, Math.max(1, Math.round(count / 2)))
      : count >= 3 && random.chance(0.4)
        ? 2
        : 1;
    const occupancy = Number.isInteger(count) ? 1 : Number((count / Math.ceil(count)).toFixed(3));
    for (let s = 0; s < siteCount; s++) {
      const general = light || random.chance(0.45);
      const letterIndex = general ? letterCount - 1 : random.int(0, Math.max(0, letterCount - 2));
      const multiplicity = d[Math.min(Math.floor(letterIndex / 2), d.length - 1)]!;
      layout.push({ element, index: s + 1, letterIndex, multiplicity, occupancy });
    }
  }
  return layout;
}

/** The atom sites of an entry: deterministic for a seed, consistent between the dataset and every CIF. */
export function generateSites(params: SiteParams): AtomSite[] {
  const random = createRandom(mixSeed(params.seed, 0xc00d));
  const { group, experimental } = params;
  return siteLayout(params).map((site) => {
    const { element, multiplicity } = site;
    const fixed = multiplicity === group.order ? 0 : multiplicity * 4 <= group.order ? 3 : random.int(1, 2);
    const x = fixed > 0 ? random.pick(SPECIAL_COORDINATES) : formatCoordinate(random, experimental);
    const y = fixed > 1 ? random.pick(SPECIAL_COORDINATES) : formatCoordinate(random, experimental);
    const z = fixed > 2 ? random.pick(SPECIAL_COORDINATES) : formatCoordinate(random, experimental);
    const hydrogen = element === 'H';
    const b = uniform(random, hydrogen ? 1.5 : 0.2, hydrogen ? 4 : 2.5).toFixed(2);
    return {
      label: `${element}${site.index}`,
      element,
      multiplicity,
      wyckoff: String.fromCharCode(97 + site.letterIndex),
      x,
      y,
      z,
      occupancy: site.occupancy,
      bIso: experimental ? `${b}(${random.int(1, 9)})` : '',
    };
  });
}

function wyckoffSequenceOf(layout: readonly SiteLayout[]): string {
  const counts = new Array<number>(26).fill(0);
  for (const site of layout) counts[site.letterIndex] = counts[site.letterIndex]! + 1;
  const parts: string[] = [];
  for (let letter = 25; letter >= 0; letter--) {
    const n = counts[letter]!;
    if (n === 0) continue;
    const symbol = String.fromCharCode(97 + letter);
    parts.push(n === 1 ? symbol : `${symbol}${n}`);
  }
  return parts.join(' ');
}

const PEARSON_FAMILY: Record<CrystalSystem, string> = {
  triclinic: 'a',
  monoclinic: 'm',
  orthorhombic: 'o',
  tetragonal: 't',
  trigonal: 'h',
  hexagonal: 'h',
  cubic: 'c',
};

function pearsonSymbolOf(group: SpaceGroup, atomsPerCell: number): string {
  const lattice = group.centering === 'A' ? 'C' : group.centering;
  return `${PEARSON_FAMILY[crystalSystemOf(group.number)]}${lattice}${Math.round(atomsPerCell)}`;
}

// ---------------------------------------------------------------------------------------------------------
// Entries
// ---------------------------------------------------------------------------------------------------------

interface Formula {
  elements: string[];
  counts: number[];
  structured: string;
  name: string;
  kind: 'ionic' | 'intermetallic' | 'element' | 'organic';
}

function ionicFormula(random: Random): Formula {
  const used = new Set<string>();
  const cationCount = weighted(random, [1, 2, 3], [35, 45, 20]);
  const anionCount = random.chance(0.15) ? 2 : 1;
  const cations = pickDistinct(random, CATIONS, cationCount, used);
  const anions = pickDistinct(random, ANIONS, anionCount, used);
  const cationCounts = cations.map(() => weighted(random, [1, 2, 3, 4], [55, 30, 10, 5]));
  if (random.chance(0.06)) cationCounts[0] = random.pick(FRACTIONS);
  const anionCounts = anions.map(() =>
    weighted(random, [1, 2, 3, 4, 5, 6, 7, 8], [20, 22, 18, 18, 6, 6, 5, 5]),
  );
  const elements = [...cations, ...anions];
  const counts = [...cationCounts, ...anionCounts];
  const structured = elements
    .map((e, i) => (counts[i] === 1 ? e : `${e}${formatCount(counts[i]!)}`))
    .join(' ');
  const cationNames = cations.map((e, i) => {
    const name = elementInfo(e).name;
    return i === 0 ? name : name.toLowerCase();
  });
  const anionNames = anions.map((e) => elementInfo(e).anionName ?? elementInfo(e).name.toLowerCase());
  return { elements, counts, structured, name: [...cationNames, ...anionNames].join(' '), kind: 'ionic' };
}

function intermetallicFormula(random: Random): Formula {
  const used = new Set<string>();
  const elements = pickDistinct(random, METALS, random.chance(0.7) ? 2 : 3, used);
  const counts = elements.map(() => weighted(random, [1, 2, 3, 5], [50, 30, 15, 5]));
  const structured = elements.map((e, i) => (counts[i] === 1 ? e : `${e}${counts[i]}`)).join(' ');
  const names = elements.map((e, i) => (i === 0 ? elementInfo(e).name : elementInfo(e).name.toLowerCase()));
  return {
    elements,
    counts,
    structured,
    name: `${names.join(' ')} (${counts.join('/')})`,
    kind: 'intermetallic',
  };
}

function elementFormula(random: Random): Formula {
  const symbol = random.pick(METALS);
  return {
    elements: [symbol],
    counts: [1],
    structured: symbol,
    name: elementInfo(symbol).name,
    kind: 'element',
  };
}

function organicFormula(random: Random): Formula {
  const metal = random.pick(MO_METALS);
  const ligand = random.pick(LIGANDS);
  const n = weighted(random, [1, 2, 3], [30, 55, 15]);
  const water = random.chance(0.3) ? random.int(1, 4) : 0;
  const totals = new Map<string, number>([[metal, 1]]);
  for (const [e, c] of ligand.composition) totals.set(e, (totals.get(e) ?? 0) + c * n);
  if (water > 0) {
    totals.set('H', (totals.get('H') ?? 0) + 2 * water);
    totals.set('O', (totals.get('O') ?? 0) + water);
  }
  let structured = `${metal} (${ligand.formula})${n === 1 ? '' : n}`;
  if (water > 0) structured += ` (H2 O)${water === 1 ? '' : water}`;
  const hydrate = water > 0 ? ` ${HYDRATES[water]}` : '';
  return {
    elements: [...totals.keys()],
    counts: [...totals.values()],
    structured,
    name: `${elementInfo(metal).name} ${ligand.name}${hydrate}`,
    kind: 'organic',
  };
}

interface Chemistry {
  readonly elements: readonly string[];
  readonly counts: readonly number[];
  readonly structured: string;
  readonly sum: string;
  readonly name: string;
  readonly atoms: number;
  readonly weight: number;
  readonly weightText: string;
}

interface Cell {
  a: number;
  b: number;
  c: number;
  alpha: number;
  beta: number;
  gamma: number;
}

function round(value: number, decimals: number): number {
  return Number(value.toFixed(decimals));
}

function makeCell(random: Random, system: CrystalSystem, volume: number): Cell {
  switch (system) {
    case 'cubic': {
      const a = round(Math.cbrt(volume), 4);
      return { a, b: a, c: a, alpha: 90, beta: 90, gamma: 90 };
    }
    case 'tetragonal': {
      const r = uniform(random, 0.5, 3);
      const a = round(Math.cbrt(volume / r), 4);
      return { a, b: a, c: round(a * r, 4), alpha: 90, beta: 90, gamma: 90 };
    }
    case 'trigonal':
    case 'hexagonal': {
      const r = uniform(random, 0.6, 3.5);
      const a = round(Math.cbrt(volume / (r * Math.sin(120 * deg))), 4);
      return { a, b: a, c: round(a * r, 4), alpha: 90, beta: 90, gamma: 120 };
    }
    case 'orthorhombic': {
      const rb = uniform(random, 0.5, 2.5);
      const rc = uniform(random, 0.5, 2.5);
      const a = Math.cbrt(volume / (rb * rc));
      return { a: round(a, 4), b: round(a * rb, 4), c: round(a * rc, 4), alpha: 90, beta: 90, gamma: 90 };
    }
    case 'monoclinic': {
      const beta = round(uniform(random, 91, 125), 3);
      const rb = uniform(random, 0.5, 2.5);
      const rc = uniform(random, 0.5, 2.5);
      const a = Math.cbrt(volume / (rb * rc * Math.sin(beta * deg)));
      return { a: round(a, 4), b: round(a * rb, 4), c: round(a * rc, 4), alpha: 90, beta, gamma: 90 };
    }
    default: {
      const alpha = round(uniform(random, 75, 115), 3);
      const beta = round(uniform(random, 75, 115), 3);
      const gamma = round(uniform(random, 75, 115), 3);
      const rb = uniform(random, 0.7, 1.8);
      const rc = uniform(random, 0.7, 1.8);
      const unit = cellVolumeOf(1, rb, rc, alpha, beta, gamma);
      const a = Math.cbrt(volume / unit);
      return { a: round(a, 4), b: round(a * rb, 4), c: round(a * rc, 4), alpha, beta, gamma };
    }
  }
}

function formatCell(random: Random, system: CrystalSystem, cell: Cell, experimental: boolean): string {
  const esd = (): number => (experimental ? random.int(1, 9) : 0);
  const ea = esd();
  const eb =
    system === 'cubic' || system === 'tetragonal' || system === 'trigonal' || system === 'hexagonal'
      ? ea
      : esd();
  const ec = system === 'cubic' ? ea : esd();
  const angleEsd = (): number => (experimental ? random.int(1, 9) : 0);
  return [
    formatLength(cell.a, ea),
    formatLength(cell.b, eb),
    formatLength(cell.c, ec),
    formatAngle(cell.alpha, cell.alpha === 90 ? 0 : angleEsd()),
    formatAngle(cell.beta, cell.beta === 90 ? 0 : angleEsd()),
    formatAngle(cell.gamma, cell.gamma === 90 || cell.gamma === 120 ? 0 : angleEsd()),
  ].join(' ');
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

type Share = (key: number, make: () => string) => string;

/** A cache of strings by a number that determines them. */
function createShare(): Share {
  const shared = new Map<number, string>();
  return (key, make) => {
    let value = shared.get(key);
    if (value === undefined) {
      value = make();
      shared.set(key, value);
    }
    return value;
  };
}

function randomDate(random: Random, share: Share, fromYear: number, toYear: number): string {
  const year = random.int(Math.min(fromYear, toYear), toYear);
  const month = random.int(1, 12);
  const day = random.int(1, 28);
  return share(year * 10000 + month * 100 + day, () => `${year}-${pad2(month)}-${pad2(day)}`);
}

const LAST_YEAR = 2025;

function groupWeights(): readonly number[] {
  return SPACE_GROUPS.map((group) => group.weight);
}

/**
 * Generates the dataset of a simulator: `count` entries sorted by collection code, deterministic for `seed`.
 *
 * Collection codes increase with gaps (4 apart on average, all within `1..4 × count`). Internal ids are a seeded permutation of a
 * range that starts at the first power of ten above the largest collection code, so an id never equals any
 * collection code and ids do not sort like codes: a client that confuses them gets 404s or empty searches.
 */
export function generateDataset(seed: number, count: number): IcsdDataset {
  const random = createRandom(mixSeed(seed, 0x1c5d));
  const sgWeights = groupWeights();
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
  const formulas = new Map<string, Chemistry>();
  const shareDate = createShare();
  const sharePage = createShare();
  const shareDensity = createShare();
  const shareRValue = createShare();
  const sharePearson = createShare();

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

    let formula: Formula;
    if (organic) formula = organicFormula(random);
    else {
      const kind = random.next();
      formula =
        kind < 0.02
          ? elementFormula(random)
          : kind < 0.14
            ? intermetallicFormula(random)
            : ionicFormula(random);
    }
    let chemistry = formulas.get(formula.structured);
    if (chemistry === undefined) {
      const { elements: symbols, counts: numbers } = formula;
      const sorted = symbols.map((_, k) => k).sort((x, y) => (symbols[x]! < symbols[y]! ? -1 : 1));
      let atomCount = 0;
      let mass = 0;
      symbols.forEach((e, k) => {
        atomCount += numbers[k]!;
        mass += numbers[k]! * elementInfo(e).mass;
      });
      chemistry = {
        elements: symbols.slice(),
        counts: numbers.slice(),
        structured: formula.structured,
        sum: sorted.map((k) => `${symbols[k]}${formatCount(numbers[k]!)}`).join(' '),
        name: formula.name,
        atoms: atomCount,
        weight: mass,
        weightText: mass.toFixed(2),
      };
      formulas.set(formula.structured, chemistry);
    }
    const { elements, counts, atoms, weight } = chemistry;

    const group = organic
      ? SPACE_GROUP_BY_NUMBER.get(random.pick(MO_SPACE_GROUPS))!
      : weighted(random, SPACE_GROUPS, sgWeights);
    const system = crystalSystemOf(group.number);
    const z = organic
      ? weighted(random, [1, 2, 4, 8], [10, 40, 40, 10])
      : weighted(random, [1, 2, 3, 4, 6, 8], [15, 25, 5, 35, 5, 15]);
    const volumePerAtom = organic ? uniform(random, 8, 13) : uniform(random, 11, 24);
    const cell = makeCell(random, system, z * atoms * volumePerAtom);
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

    const structureType = random.chance(0.55) && !organic ? random.pick(STRUCTURE_TYPES) : '';
    const mineral =
      contentType === 'EXPERIMENTAL_INORGANIC' && random.chance(0.22) ? random.pick(MINERALS) : undefined;

    const compact = formula.structured.replace(/ /g, '');
    const titles = organic ? METALORGANIC_TITLES : experimental ? INORGANIC_TITLES : THEORY_TITLES;
    const title = random.pick(titles)(formula.name.toLowerCase(), compact);
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
    const page =
      publicationYear >= 2010 && random.chance(0.15)
        ? `e${random.int(10000, 99999)}`
        : pageText(random.int(1, 4999));
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

    const layout = siteLayout({
      seed: mixSeed(seed, collectionCode),
      elements,
      counts,
      group,
      experimental,
      organic,
    });

    entries[i] = {
      id: ids[i]!,
      collectionCode,
      contentType,
      elements,
      elementCounts: counts,
      structuredFormula: chemistry.structured,
      sumFormula: chemistry.sum,
      chemicalName: chemistry.name,
      mineralName: mineral?.[0] ?? '',
      mineralGroup: mineral?.[1] ?? '',
      title,
      authors,
      journal,
      volume: volumeNumber,
      page,
      publicationYear,
      spaceGroupNumber: group.number,
      spaceGroupSymbol: group.symbol,
      crystalSystem: system,
      cellParameters,
      cellVolume,
      formulaUnitsPerCell: z,
      formulaWeight: chemistry.weightText,
      calculatedDensity: shareDensity(Math.round(density * 100), () => density.toFixed(2)),
      measuredDensity,
      temperature,
      pressure,
      rValue,
      structureType,
      pearsonSymbol: sharePearson(group.number * 1e5 + Math.round(z * atoms), () =>
        pearsonSymbolOf(group, z * atoms),
      ),
      wyckoffSequence: wyckoffSequenceOf(layout),
      quality: experimental ? random.int(1, 4) : 0,
      recordingDate,
      modificationDate: modification,
      cifDialect: random.chance(0.5) ? 2018 : 2025,
    };
  }

  const indexById = new Int32Array(count);
  for (let i = 0; i < count; i++) indexById[ids[i]! - idBase] = i;

  return {
    entries,
    entryById(id) {
      if (!Number.isInteger(id)) return undefined;
      const offset = id - idBase;
      if (offset < 0 || offset >= count) return undefined;
      return entries[indexById[offset]!];
    },
    entryByCode(collectionCode) {
      let lo = 0;
      let hi = count - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const value = entries[mid]!.collectionCode;
        if (value === collectionCode) return entries[mid];
        if (value < collectionCode) lo = mid + 1;
        else hi = mid - 1;
      }
      return undefined;
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

/** The atom sites of an entry, as its CIF lists them. */
export function sitesOf(entry: IcsdSimEntry, seed: number): AtomSite[] {
  return generateSites({
    seed: mixSeed(seed, entry.collectionCode),
    elements: entry.elements,
    counts: entry.elementCounts,
    group: spaceGroupOf(entry),
    experimental: entry.contentType !== 'THERORETICAL_STRUCTURES',
    organic: entry.contentType === 'EXPERIMENTAL_METALORGANIC',
  });
}

/**
 * The standardised cell: the published cell without uncertainties, lengths to 5 decimals and angles to 3, with
 * `a` and `c` exchanged in monoclinic and triclinic cells whose `a` is longer than `c`.
 */
export function standardisedCellOf(entry: IcsdSimEntry): [number, number, number, number, number, number] {
  const [a, b, c, alpha, beta, gamma] = cellNumbers(entry.cellParameters);
  const lowSymmetry = entry.crystalSystem === 'monoclinic' || entry.crystalSystem === 'triclinic';
  if (lowSymmetry && a > c) return [c, b, a, gamma, beta, alpha];
  return [a, b, c, alpha, beta, gamma];
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
  entry.elements.forEach((e, i) => {
    const anion = !organic && elementInfo(e).oxidation < 0;
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

/** The last page of the main reference, or `''` for article numbers. */
export function lastPageOf(entry: IcsdSimEntry): string {
  return /^\d+$/.test(entry.page) ? String(Number(entry.page) + 1 + (entry.collectionCode % 12)) : '';
}

/** `Journal of Solid State Chemistry (1998), 140, 123-130`. */
export function referenceOf(entry: IcsdSimEntry): string {
  const last = lastPageOf(entry);
  return `${entry.journal} (${entry.publicationYear}), ${entry.volume}, ${entry.page}${last === '' ? '' : `-${last}`}`;
}
