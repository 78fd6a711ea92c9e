import { formatNumber } from './formula.js';
import type { CrystalStructure } from './types.js';

/** Extended XYZ (the ASE / ovito dialect) of the expanded cell. Browser-safe. */

/**
 * Extended XYZ: the number of atoms, a comment line with the lattice, the columns (`species`, `pos` in Å,
 * `occupancy`), `pbc="T T T"` and the collection code, then one line per atom of the cell. Atoms that share a
 * position are all written, each with its occupancy, so nothing of a disordered structure is lost.
 */
export function toXyz(structure: CrystalStructure): string {
  const lattice = structure.lattice.flatMap((v) => v.map((x) => formatNumber(x))).join(' ');
  const comment = [
    `Lattice="${lattice}"`,
    'Properties=species:S:1:pos:R:3:occupancy:R:1',
    'pbc="T T T"',
    ...(structure.collectionCode === null ? [] : [`icsd_collection_code=${structure.collectionCode}`]),
  ].join(' ');
  const lines = [String(structure.atoms.length), comment];
  for (const atom of structure.atoms) {
    const [x, y, z] = atom.cartesian;
    lines.push(
      `${atom.element} ${formatNumber(x)} ${formatNumber(y)} ${formatNumber(z)} ${formatNumber(atom.occupancy)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
