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
 * Decides whether two fractional points coincide: every coordinate within FRACT_TOLERANCE after taking the
 * minimum image, or the cartesian distance of that minimum image below CARTESIAN_TOLERANCE. Precomputes
 * per-axis bounds so that most pairs are rejected on one coordinate: a cartesian distance below
 * CARTESIAN_TOLERANCE implies |Δx_i| ≤ CARTESIAN_TOLERANCE × |a*_i| (a*_i the reciprocal vector).
 */
class Coincidence {
  private readonly m: Float64Array;
  readonly bx: number;
  readonly by: number;
  readonly bz: number;

  constructor(lattice: Mat3) {
    const [a, b, c] = lattice;
    this.m = Float64Array.from([a[0], a[1], a[2], b[0], b[1], b[2], c[0], c[1], c[2]]);
    const volume = Math.abs(
      a[0] * (b[1] * c[2] - b[2] * c[1]) -
        a[1] * (b[0] * c[2] - b[2] * c[0]) +
        a[2] * (b[0] * c[1] - b[1] * c[0]),
    );
    const cross = (u: Vec3, v: Vec3): number =>
      Math.hypot(u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]);
    // The bounds are a little generous (× 1.000001) so that rounding never rejects a true match.
    this.bx = Math.max(FRACT_TOLERANCE, (CARTESIAN_TOLERANCE * cross(b, c)) / volume) * 1.000001;
    this.by = Math.max(FRACT_TOLERANCE, (CARTESIAN_TOLERANCE * cross(c, a)) / volume) * 1.000001;
    this.bz = Math.max(FRACT_TOLERANCE, (CARTESIAN_TOLERANCE * cross(a, b)) / volume) * 1.000001;
  }

  /** The full test, for a pair whose minimum-image differences are already within the per-axis bounds. */
  exact(dx: number, dy: number, dz: number): boolean {
    if (
      Math.abs(dx) <= FRACT_TOLERANCE &&
      Math.abs(dy) <= FRACT_TOLERANCE &&
      Math.abs(dz) <= FRACT_TOLERANCE
    ) {
      return true;
    }
    const m = this.m;
    const x = dx * m[0]! + dy * m[3]! + dz * m[6]!;
    const y = dx * m[1]! + dy * m[4]! + dz * m[7]!;
    const z = dx * m[2]! + dy * m[5]! + dz * m[8]!;
    return x * x + y * y + z * z < CARTESIAN_TOLERANCE * CARTESIAN_TOLERANCE;
  }

  /** True when the points (x, y, z) and buffer[q..q+2] coincide. */
  at(x: number, y: number, z: number, buffer: Float64Array, q: number): boolean {
    let dx = x - buffer[q]!;
    dx -= Math.round(dx);
    if (dx > this.bx || dx < -this.bx) return false;
    let dy = y - buffer[q + 1]!;
    dy -= Math.round(dy);
    if (dy > this.by || dy < -this.by) return false;
    let dz = z - buffer[q + 2]!;
    dz -= Math.round(dz);
    if (dz > this.bz || dz < -this.bz) return false;
    return this.exact(dx, dy, dz);
  }
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
    const o = 12 * k;
    for (let row = 0; row < 3; row++) {
      const rr = r[row]!;
      rt[o + 4 * row] = rr[0];
      rt[o + 4 * row + 1] = rr[1];
      rt[o + 4 * row + 2] = rr[2];
      rt[o + 4 * row + 3] = t[row]!;
    }
  }
  if (images.length < 3 * nops) images = new Float64Array(3 * nops);
  const [la, lb, lc] = lattice;
  const same = new Coincidence(lattice);

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
        if (same.at(x, y, z, images, p)) {
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
        if (same.at(images[0]!, images[1]!, images[2]!, positionFract, q)) {
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
          if (same.at(x, y, z, positionFract, q)) {
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
