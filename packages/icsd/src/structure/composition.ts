import { elementOf } from './elements.js';
import type { CellAtom } from './types.js';

/**
 * Allowed difference, per formula unit, between Σ occupancy of an element over the cell divided by Z and
 * its coefficient in `_chemical_formula_sum` (spec §14.2 step 5: ±0.01, taken per formula unit so that
 * the rounding of occupancies written with 3–4 digits does not add up over large Z).
 */
export const COMPOSITION_TOLERANCE = 0.01;

/**
 * Reads `_chemical_formula_sum` (`'Al2 Mg1 O4'`, `'Fe0.95 O1'`) into element → coefficient. Deuterium and
 * tritium count as H. Null when a part is not an element followed by an optional number.
 */
export function parseFormulaSum(formula: string): Map<string, number> | null {
  const out = new Map<string, number>();
  const parts = formula.trim().split(/\s+/);
  for (const part of parts) {
    const m = /^([A-Z][a-z]{0,2})(\d*\.?\d*)$/.exec(part);
    if (m === null) return null;
    const element = elementOf(m[1]!);
    if (element === null || (element.length !== m[1]!.length && m[1] !== 'D' && m[1] !== 'T')) return null;
    const coefficient = m[2] === '' ? 1 : Number(m[2]);
    if (!Number.isFinite(coefficient) || coefficient < 0) return null;
    out.set(element, (out.get(element) ?? 0) + coefficient);
  }
  return out;
}

function show(v: number): string {
  return String(Math.round(v * 1e4) / 1e4);
}

/**
 * Checks the content of the cell against Z × `_chemical_formula_sum`; returns what differs, or null.
 */
export function checkComposition(formula: string, z: number, atoms: readonly CellAtom[]): string | null {
  const expected = parseFormulaSum(formula);
  if (expected === null)
    return `_chemical_formula_sum ${JSON.stringify(formula)} is not a list of elements with counts`;
  const actual = new Map<string, number>();
  for (const atom of atoms) actual.set(atom.element, (actual.get(atom.element) ?? 0) + atom.occupancy);
  const elements = new Set([...expected.keys(), ...actual.keys()]);
  for (const element of elements) {
    const want = (expected.get(element) ?? 0) * z;
    const have = actual.get(element) ?? 0;
    if (Math.abs(have - want) > COMPOSITION_TOLERANCE * z) {
      return `the cell holds ${show(have)} ${element} (Σ occupancy), but Z × _chemical_formula_sum gives ${z} × ${show(
        expected.get(element) ?? 0,
      )} = ${show(want)}`;
    }
  }
  return null;
}
