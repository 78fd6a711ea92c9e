import type { Mat3, Vec3 } from './types.js';

const DEG = Math.PI / 180;

/** cos of an angle in degrees, exact for the right angles that most cells have (cos 90° is 6e-17 otherwise). */
function cosDeg(angle: number): number {
  if (angle === 90) return 0;
  if (angle === 60) return 0.5;
  if (angle === 120) return -0.5;
  return Math.cos(angle * DEG);
}

function sinDeg(angle: number): number {
  if (angle === 90) return 1;
  return Math.sin(angle * DEG);
}

/**
 * The lattice vectors a⃗, b⃗, c⃗ (rows, Å) of a cell with lengths a, b, c (Å) and angles α, β, γ (degrees),
 * in the orientation of spec §14.2 and ASE: a⃗ along x, b⃗ in the xy plane. Returns null when the angles make
 * no cell (the volume would be zero or imaginary).
 */
export function latticeVectorsOrNull(
  a: number,
  b: number,
  c: number,
  alpha: number,
  beta: number,
  gamma: number,
): Mat3 | null {
  const ca = cosDeg(alpha);
  const cb = cosDeg(beta);
  const cg = cosDeg(gamma);
  const sg = sinDeg(gamma);
  const cx = c * cb;
  const cy = (c * (ca - cb * cg)) / sg;
  const cz2 = c * c - cx * cx - cy * cy;
  // The squared volume factor 1 − cos²α − cos²β − cos²γ + 2 cos α cos β cos γ must be positive.
  const factor = 1 - ca * ca - cb * cb - cg * cg + 2 * ca * cb * cg;
  if (!(factor > 1e-10) || !(cz2 > 0) || !(sg > 0)) return null;
  const row = (x: number, y: number, z: number): Vec3 => Object.freeze([x + 0, y + 0, z + 0] as const);
  return Object.freeze([row(a, 0, 0), row(b * cg, b * sg, 0), row(cx, cy, Math.sqrt(cz2))] as const);
}

/**
 * The lattice vectors a⃗, b⃗, c⃗ (rows, Å) of spec §14.2 (a⃗ along x, b⃗ in the xy plane, as ASE does).
 * Throws a RangeError for lengths that are not positive or angles that make no cell.
 */
export function latticeVectors(
  a: number,
  b: number,
  c: number,
  alpha: number,
  beta: number,
  gamma: number,
): Mat3 {
  const lengthsOk = a > 0 && b > 0 && c > 0 && Number.isFinite(a + b + c);
  const lattice = lengthsOk ? latticeVectorsOrNull(a, b, c, alpha, beta, gamma) : null;
  if (lattice === null) {
    throw new RangeError(`no cell has a=${a}, b=${b}, c=${c}, alpha=${alpha}, beta=${beta}, gamma=${gamma}`);
  }
  return lattice;
}

/** Cartesian position (Å) of fractional coordinates in a lattice (rows a⃗, b⃗, c⃗). */
export function fractToCartesian(lattice: Mat3, fract: Vec3): Vec3 {
  const [a, b, c] = lattice;
  const [x, y, z] = fract;
  return [x * a[0] + y * b[0] + z * c[0], x * a[1] + y * b[1] + z * c[1], x * a[2] + y * b[2] + z * c[2]];
}
