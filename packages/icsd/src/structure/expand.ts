import type { AsymmetricSite, CellAtom, CellPosition, Mat3, SymmetryOperation, Vec3 } from './types.js';

/** Images within this fractional distance (every coordinate, minimum image) are one image. */
export const FRACT_TOLERANCE = 1e-3;
/** …or within this cartesian distance (Å). */
export const CARTESIAN_TOLERANCE = 0.01;
/** A coordinate this close below 1 wraps to 0. */
const WRAP_EPSILON = 1e-9;
/** Occupancies on one position may add up to 1 plus this much (rounding in the CIF). */
export const POSITION_OCCUPANCY_TOLERANCE = 0.01;

/** Why the cell cannot be built: the site (index) and what went wrong. */
export interface ExpandProblem {
  readonly problem: 'multiplicity' | 'occupancy';
  readonly site: number;
  readonly detail: string;
}

export interface ExpandedCell {
  readonly atoms: CellAtom[];
  readonly positions: CellPosition[];
  readonly disordered: boolean;
}

// Scratch space reused across calls: the distinct images of one site (x, y, z per image).
let images = new Float64Array(3 * 192);
// Distinct positions of the whole cell (x, y, z each), grown as needed.
let positionFract = new Float64Array(3 * 512);

function wrap(v: number): number {
  const w = v - Math.floor(v);
  return 1 - w < WRAP_EPSILON ? 0 : w;
}

/**
 * True when two fractional points coincide: every coordinate within FRACT_TOLERANCE after taking the
 * minimum image, or the cartesian distance of that minimum image below CARTESIAN_TOLERANCE.
 */
function coincide(lattice: Mat3, dx0: number, dy0: number, dz0: number): boolean {
  const dx = dx0 - Math.round(dx0);
  const dy = dy0 - Math.round(dy0);
  const dz = dz0 - Math.round(dz0);
  if (Math.abs(dx) <= FRACT_TOLERANCE && Math.abs(dy) <= FRACT_TOLERANCE && Math.abs(dz) <= FRACT_TOLERANCE) {
    return true;
  }
  const [a, b, c] = lattice;
  const x = dx * a[0] + dy * b[0] + dz * c[0];
  const y = dx * a[1] + dy * b[1] + dz * c[1];
  const z = dx * a[2] + dy * b[2] + dz * c[2];
  return x * x + y * y + z * z < CARTESIAN_TOLERANCE * CARTESIAN_TOLERANCE;
}

/**
 * Builds the unit cell of spec §14.2: every operation applied to every site, coordinates wrapped into
 * [0, 1), images of one site that coincide dropped, the count checked against the stated multiplicity,
 * and atoms of different sites on one point grouped into one position (shared positions stay separate
 * atoms). Returns the problem instead when a multiplicity differs or a position holds more than 1.
 */
export function expandCell(
  lattice: Mat3,
  operations: readonly SymmetryOperation[],
  sites: readonly AsymmetricSite[],
): ExpandedCell | ExpandProblem {
  const nops = operations.length;
  const rt = new Float64Array(12 * nops);
  for (let k = 0; k < nops; k++) {
    const { rotation: r, translation: t } = operations[k]!;
    rt.set(
      [r[0][0], r[0][1], r[0][2], t[0], r[1][0], r[1][1], r[1][2], t[1], r[2][0], r[2][1], r[2][2], t[2]],
      12 * k,
    );
  }
  if (images.length < 3 * nops) images = new Float64Array(3 * nops);
  const [la, lb, lc] = lattice;

  const atoms: CellAtom[] = [];
  const positionFirstFract: Vec3[] = [];
  const positionFirstCartesian: Vec3[] = [];
  const positionAtoms: number[][] = [];
  const positionOccupancy: number[] = [];
  // Orbits: the positions a site created, as [first, count) ranges.
  const orbitStart: number[] = [];
  const orbitCount: number[] = [];
  let disordered = false;

  for (let s = 0; s < sites.length; s++) {
    const site = sites[s]!;
    const x0 = site.fract[0].value;
    const y0 = site.fract[1].value;
    const z0 = site.fract[2].value;
    let count = 0;
    for (let k = 0; k < nops; k++) {
      const o = 12 * k;
      const x = wrap(rt[o]! * x0 + rt[o + 1]! * y0 + rt[o + 2]! * z0 + rt[o + 3]!);
      const y = wrap(rt[o + 4]! * x0 + rt[o + 5]! * y0 + rt[o + 6]! * z0 + rt[o + 7]!);
      const z = wrap(rt[o + 8]! * x0 + rt[o + 9]! * y0 + rt[o + 10]! * z0 + rt[o + 11]!);
      let seen = false;
      for (let j = 0; j < count; j++) {
        const p = 3 * j;
        if (coincide(lattice, x - images[p]!, y - images[p + 1]!, z - images[p + 2]!)) {
          seen = true;
          break;
        }
      }
      if (!seen) {
        images[3 * count] = x;
        images[3 * count + 1] = y;
        images[3 * count + 2] = z;
        count++;
      }
    }
    if (site.multiplicity !== null && site.multiplicity !== count) {
      return {
        problem: 'multiplicity',
        site: s,
        detail: `site ${site.label} has ${count} distinct images in the cell, but its stated multiplicity is ${site.multiplicity}`,
      };
    }

    // Is this site on the points of an earlier site (a shared position)? Orbits are equal or disjoint,
    // so it is enough to look for its first image among the earlier positions.
    let orbit = -1;
    for (let o = 0; o < orbitStart.length && orbit < 0; o++) {
      const end = orbitStart[o]! + orbitCount[o]!;
      for (let p = orbitStart[o]!; p < end; p++) {
        const q = 3 * p;
        if (
          coincide(
            lattice,
            images[0]! - positionFract[q]!,
            images[1]! - positionFract[q + 1]!,
            images[2]! - positionFract[q + 2]!,
          )
        ) {
          orbit = o;
          break;
        }
      }
    }
    const newStart = positionAtoms.length;
    const occupancy = site.occupancy.value;
    for (let j = 0; j < count; j++) {
      const x = images[3 * j]!;
      const y = images[3 * j + 1]!;
      const z = images[3 * j + 2]!;
      let position = -1;
      if (orbit >= 0) {
        const end = orbitStart[orbit]! + orbitCount[orbit]!;
        for (let p = orbitStart[orbit]!; p < end; p++) {
          const q = 3 * p;
          if (
            coincide(lattice, x - positionFract[q]!, y - positionFract[q + 1]!, z - positionFract[q + 2]!)
          ) {
            position = p;
            break;
          }
        }
      }
      const fract: Vec3 = [x, y, z];
      const cartesian: Vec3 = [
        x * la[0] + y * lb[0] + z * lc[0],
        x * la[1] + y * lb[1] + z * lc[1],
        x * la[2] + y * lb[2] + z * lc[2],
      ];
      const atomIndex = atoms.length;
      if (position < 0) {
        position = positionAtoms.length;
        if (positionFract.length < 3 * (position + 1)) {
          const grown = new Float64Array(positionFract.length * 2);
          grown.set(positionFract);
          positionFract = grown;
        }
        positionFract[3 * position] = x;
        positionFract[3 * position + 1] = y;
        positionFract[3 * position + 2] = z;
        const members = [atomIndex];
        positionAtoms.push(members);
        positionOccupancy.push(occupancy);
        positionFirstFract.push(fract);
        positionFirstCartesian.push(cartesian);
      } else {
        positionAtoms[position]!.push(atomIndex);
        const total = positionOccupancy[position]! + occupancy;
        if (total > 1 + POSITION_OCCUPANCY_TOLERANCE) {
          return {
            problem: 'occupancy',
            site: s,
            detail: `the sites on the position of ${site.label} have occupancies adding up to ${round(total)}, more than 1`,
          };
        }
        positionOccupancy[position] = total;
        disordered = true;
      }
      atoms.push({
        site: s,
        label: site.label,
        element: site.element,
        oxidationState: site.oxidationState,
        fract,
        cartesian,
        occupancy,
        position,
      });
    }
    if (positionAtoms.length > newStart) {
      orbitStart.push(newStart);
      orbitCount.push(positionAtoms.length - newStart);
    }
  }
  const positions: CellPosition[] = new Array(positionAtoms.length);
  for (let p = 0; p < positionAtoms.length; p++) {
    const occupancy = positionOccupancy[p]!;
    if (occupancy < 1 - 1e-6) disordered = true;
    positions[p] = {
      fract: positionFirstFract[p]!,
      cartesian: positionFirstCartesian[p]!,
      atoms: positionAtoms[p]!,
      occupancy,
    };
  }
  return { atoms, positions, disordered };
}

function round(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}
