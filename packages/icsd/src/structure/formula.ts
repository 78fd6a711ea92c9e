import type { CrystalStructure } from './types.js';

/**
 * The chemistry the writers share: what sits on each position (species), the occupancy-weighted content of
 * the cell, and the OPTIMADE formulas made from it (spec §14.3). Browser-safe.
 */

/** A position whose occupancies sum to at least 1 − this is full (ICSD writes thirds as `0.3333`, `0.6667`). */
export const FULL_OCCUPANCY_TOLERANCE = 1e-3;

/** Numbers within this of zero are written 0: the noise of cos 90° (6e-17) in lattice vectors and positions. */
const NOISE = 1e-12;

/**
 * `x` as the writers put it out: -0 and floating-point noise become 0, and the value is rounded to 12
 * significant digits, so that `1 - 0.3059` is written `0.6941`, not `0.6940999999999999`. Twelve digits are far
 * beyond what a CIF measures (a picometre is 1e-2 Å) and still round-trip every value a CIF states.
 */
export function cleanNumber(x: number): number {
  if (Math.abs(x) < NOISE) return 0;
  return Number(x.toPrecision(12));
}

/**
 * `x` as text: rounded to 12 significant digits, in the shortest form that reads back as it (JavaScript's `String`),
 * never `-0`, noise written `0`. Finite numbers only.
 */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`cannot write the number ${x}`);
  return String(cleanNumber(x));
}

/** What sits on one position: its elements (alphabetical) with their summed occupancies, and the vacancy. */
export interface SiteSpecies {
  /** OPTIMADE species name: the element (`Mg`) when it fills the position alone, else `Mg0.7Ni0.3`, `Fe0.95vac0.05`. */
  readonly name: string;
  /** Element symbols in alphabetical order, then `vacancy` when the position is not full. */
  readonly chemical_symbols: readonly string[];
  readonly concentration: readonly number[];
}

/** Occupancies as keys and names: rounded to 6 decimals, which a CIF never exceeds. */
function roundOccupancy(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/**
 * The species of every position of the expanded cell, in the order of `structure.positions`, and the
 * distinct ones in order of first appearance. Rows of one element on one position (`Fe2+` and `Fe3+`) add up.
 */
export function speciesOf(structure: CrystalStructure): {
  species: SiteSpecies[];
  atSites: string[];
} {
  const byName = new Map<string, SiteSpecies>();
  const atSites: string[] = [];
  for (const position of structure.positions) {
    const amounts = new Map<string, number>();
    for (const index of position.atoms) {
      const atom = structure.atoms[index];
      if (!atom) throw new RangeError(`position refers to atom ${index}, which does not exist`);
      amounts.set(atom.element, (amounts.get(atom.element) ?? 0) + atom.occupancy);
    }
    const elements = [...amounts.keys()].sort();
    const symbols: string[] = [];
    const concentration: number[] = [];
    let sum = 0;
    for (const element of elements) {
      const c = roundOccupancy(Math.min(1, amounts.get(element) as number));
      symbols.push(element);
      concentration.push(c);
      sum += c;
    }
    const full = sum >= 1 - FULL_OCCUPANCY_TOLERANCE;
    if (!full) {
      symbols.push('vacancy');
      concentration.push(roundOccupancy(1 - sum));
    }
    const name =
      symbols.length === 1
        ? (symbols[0] as string)
        : symbols.map((s, i) => `${s === 'vacancy' ? 'vac' : s}${concentration[i]}`).join('');
    if (!byName.has(name)) {
      // A full position of one element: concentration exactly 1 (0.9999 + rounding is not a vacancy).
      byName.set(name, {
        name,
        chemical_symbols: symbols,
        concentration: symbols.length === 1 ? [1] : concentration,
      });
    }
    atSites.push(name);
  }
  return { species: [...byName.values()], atSites };
}

/** True when any position is shared by several elements or partly empty (OPTIMADE's `disorder`). */
export function isDisordered(species: readonly SiteSpecies[]): boolean {
  return species.some((s) => s.chemical_symbols.length > 1);
}

/** The occupancy-weighted number of atoms of each element in the cell, elements in alphabetical order. */
export function cellContent(structure: CrystalStructure): Map<string, number> {
  const counts = new Map<string, number>();
  for (const atom of structure.atoms)
    counts.set(atom.element, (counts.get(atom.element) ?? 0) + atom.occupancy);
  return new Map(
    [...counts.entries()].filter(([, n]) => n > 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

function gcd(a: number, b: number): number {
  let x = Math.abs(a);
  let y = Math.abs(b);
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/**
 * Whole-number proportions of `counts` (spec §14.3): the counts per formula unit (per cell without Z) times
 * the smallest k ≤ 100 that brings each within 1e-3 × k of a whole number, at least 1, divided by their gcd.
 * When no k fits, the k with the smallest largest error. `Mg2.8 Ni1.2 O4` → 7:3:10, `Fe3.8 O4` → 19:20.
 */
export function integerProportions(counts: readonly number[], z: number | null): number[] {
  if (counts.length === 0) return [];
  const per = counts.map((n) => (z !== null && z > 0 ? n / z : n));
  let best: { k: number; error: number } | undefined;
  for (let k = 1; k <= 100; k++) {
    let error = 0;
    let zero = false;
    for (const n of per) {
      const scaled = n * k;
      if (Math.round(scaled) < 1) zero = true;
      error = Math.max(error, Math.abs(scaled - Math.round(scaled)));
    }
    if (zero) continue;
    if (error <= 1e-3 * k) {
      best = { k, error };
      break;
    }
    if (!best || error < best.error) best = { k, error };
  }
  const k = best?.k ?? 100;
  const ints = per.map((n) => Math.max(1, Math.round(n * k)));
  const g = ints.reduce(gcd);
  return ints.map((n) => n / g);
}

/** `Al2MgO4`: symbols with their proportions, `1` left out. */
export function formulaText(parts: ReadonlyArray<readonly [string, number]>): string {
  return parts.map(([symbol, n]) => (n === 1 ? symbol : `${symbol}${n}`)).join('');
}

/** OPTIMADE's anonymous labels: A … Z, then Aa … Za, Ab … Zb, … */
export function anonymousLabel(index: number): string {
  const letter = String.fromCharCode(65 + (index % 26));
  const round = Math.floor(index / 26);
  return round === 0 ? letter : letter + String.fromCharCode(96 + round);
}

/** The formulas and ratios of OPTIMADE from the occupancy-weighted content of the cell. */
export function formulasOf(structure: CrystalStructure): {
  elements: string[];
  ratios: number[];
  reduced: string;
  anonymous: string;
} {
  const content = cellContent(structure);
  const elements = [...content.keys()];
  const counts = [...content.values()];
  const total = counts.reduce((a, b) => a + b, 0);
  const ratios = counts.map((n) => n / total);
  const proportions = integerProportions(counts, structure.z);
  const reduced = formulaText(elements.map((e, i) => [e, proportions[i] as number] as const));
  const anonymous = formulaText(
    [...proportions].sort((a, b) => b - a).map((n, i) => [anonymousLabel(i), n] as const),
  );
  return { elements, ratios, reduced, anonymous };
}
