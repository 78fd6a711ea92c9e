import { UsageError } from '@sciport/core';
import { cleanNumber, FULL_OCCUPANCY_TOLERANCE, formatNumber, isDisordered, speciesOf } from './formula.js';
import type { CrystalStructure } from './types.js';

/** VASP 5 POSCAR files of ordered structures. Browser-safe. */

/** The structure formats a writer may refuse a structure for. */
export type StructureFormat = 'poscar';

/**
 * A structure that a format cannot hold: a POSCAR has one element per site, so shared positions and partial
 * occupancies (vacancies) have no place in it. The message says which and what to use instead.
 */
export class UnsupportedStructureError extends UsageError {
  static override readonly kind: string = 'UnsupportedStructureError';
  readonly format: StructureFormat;
  /** The collection code, or the block name when the CIF has none. */
  readonly entry: string;

  constructor(init: { format: StructureFormat; entry: string; detail: string; hint: string }) {
    super(`Entry ${init.entry} cannot be written as ${init.format.toUpperCase()}: ${init.detail}`, {
      hint: init.hint,
    });
    this.format = init.format;
    this.entry = init.entry;
  }
}

export interface PoscarOptions {
  /** The first line (default: `ICSD <code> <reduced formula>`); line breaks become spaces. */
  comment?: string | undefined;
}

function entryName(structure: CrystalStructure): string {
  return structure.collectionCode === null ? structure.block : String(structure.collectionCode);
}

/**
 * A VASP 5 POSCAR: the comment line, scale 1.0, the lattice vectors (Å), the element symbols and their counts
 * (alphabetical order), `Direct`, and the fractional coordinates grouped by element. A disordered structure
 * (a position shared by several elements, or partly empty) is refused with an `UnsupportedStructureError`.
 */
export function toPoscar(structure: CrystalStructure, options: PoscarOptions = {}): string {
  const { species } = speciesOf(structure);
  if (isDisordered(species)) {
    let shared = 0;
    let partial = 0;
    for (const p of structure.positions) {
      if (new Set(p.atoms.map((i) => structure.atoms[i]?.element)).size > 1) shared += 1;
      else if (p.occupancy < 1 - FULL_OCCUPANCY_TOLERANCE) partial += 1;
    }
    const detail = [
      shared > 0 ? `${shared} position${shared === 1 ? ' is' : 's are'} shared by several elements` : null,
      partial > 0 ? `${partial} position${partial === 1 ? ' is' : 's are'} partly empty` : null,
    ]
      .filter((x) => x !== null)
      .join(' and ');
    throw new UnsupportedStructureError({
      format: 'poscar',
      entry: entryName(structure),
      detail: `it is disordered (${detail || 'partial occupancies'}), and a POSCAR holds one fully occupied element per site`,
      hint: 'Use the optimade, json or xyz format, which keep partial occupancies',
    });
  }
  // Group the positions by element, in alphabetical order; within an element, in the order of the cell.
  const groups = new Map<string, number[][]>();
  for (const position of structure.positions) {
    const atom = structure.atoms[position.atoms[0] as number];
    if (!atom) continue;
    const list = groups.get(atom.element) ?? [];
    list.push([...position.fract]);
    groups.set(atom.element, list);
  }
  const elements = [...groups.keys()].sort();
  const comment =
    options.comment?.replace(/[\r\n]+/g, ' ') ??
    `ICSD ${entryName(structure)} ${structure.formulaSum ?? elements.join(' ')}`.trim();
  const row = (v: readonly number[]) => `  ${v.map((x) => formatNumber(x)).join(' ')}`;
  const lines = [
    comment,
    '1.0',
    ...structure.lattice.map((v) => row(v)),
    `  ${elements.join(' ')}`,
    `  ${elements.map((e) => (groups.get(e) as number[][]).length).join(' ')}`,
    'Direct',
  ];
  for (const element of elements) {
    for (const fract of groups.get(element) as number[][]) {
      lines.push(`${row(fract.map((x) => wrapFraction(cleanNumber(x))))} ${element}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** A fractional coordinate in [0, 1): 1 − 1e-12 and noise become 0. */
function wrapFraction(x: number): number {
  const w = x - Math.floor(x);
  return w > 1 - 1e-12 ? 0 : w;
}
