import type { Random } from '../random.js';
import {
  type CrystalSystem,
  crystalSystemOf,
  elementInfo,
  LIGANDS,
  MO_METALS,
  type SpaceGroup,
} from './icsd-chemistry.js';
import { HYDRATES } from './icsd-vocabulary.js';

/** Formatting, cells, molecular formulas and dates of the simulated entries. */

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
