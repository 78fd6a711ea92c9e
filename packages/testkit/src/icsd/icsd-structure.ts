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
  type SpaceGroup,
} from './icsd-chemistry.js';
import { FRACTIONS, HYDRATES } from './icsd-vocabulary.js';

/** Formatting, cells, atom sites, formulas and dates of the simulated entries. */

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

export function weighted<T>(random: Random, items: readonly T[], weights: readonly number[]): T {
  let total = 0;
  for (const w of weights) total += w;
  let r = random.next() * total;
  for (let i = 0; i < items.length; i++) {
    r -= weights[i]!;
    if (r < 0) return items[i]!;
  }
  return items[items.length - 1]!;
}

export function pickDistinct(
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

export function uniform(random: Random, min: number, max: number): number {
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
export function siteLayout(params: SiteParams): SiteLayout[] {
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

export function wyckoffSequenceOf(layout: readonly SiteLayout[]): string {
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

export function pearsonSymbolOf(group: SpaceGroup, atomsPerCell: number): string {
  const lattice = group.centering === 'A' ? 'C' : group.centering;
  return `${PEARSON_FAMILY[crystalSystemOf(group.number)]}${lattice}${Math.round(atomsPerCell)}`;
}

// ---------------------------------------------------------------------------------------------------------
// Entries
// ---------------------------------------------------------------------------------------------------------

export interface Formula {
  elements: string[];
  counts: number[];
  structured: string;
  name: string;
  kind: 'ionic' | 'intermetallic' | 'element' | 'organic';
}

export function ionicFormula(random: Random): Formula {
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

export function intermetallicFormula(random: Random): Formula {
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

export function elementFormula(random: Random): Formula {
  const symbol = random.pick(METALS);
  return {
    elements: [symbol],
    counts: [1],
    structured: symbol,
    name: elementInfo(symbol).name,
    kind: 'element',
  };
}

export function organicFormula(random: Random): Formula {
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

export interface Chemistry {
  readonly elements: readonly string[];
  readonly counts: readonly number[];
  readonly structured: string;
  readonly sum: string;
  readonly name: string;
  readonly atoms: number;
  readonly weight: number;
  readonly weightText: string;
}

export interface Cell {
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

export function makeCell(random: Random, system: CrystalSystem, volume: number): Cell {
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

export function formatCell(random: Random, system: CrystalSystem, cell: Cell, experimental: boolean): string {
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
export function createShare(): Share {
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

export function randomDate(random: Random, share: Share, fromYear: number, toYear: number): string {
  const year = random.int(Math.min(fromYear, toYear), toYear);
  const month = random.int(1, 12);
  const day = random.int(1, 28);
  return share(year * 10000 + month * 100 + day, () => `${year}-${pad2(month)}-${pad2(day)}`);
}
