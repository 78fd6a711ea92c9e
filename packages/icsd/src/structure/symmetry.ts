import { CifStructureError } from './errors.js';
import type { Mat3, SymmetryOperation, Vec3 } from './types.js';

/**
 * Reads one component of an operation (`-y+1/2`, `x-y`, `1/2+x`, `z+0.25`) into its three rotation
 * coefficients and its translation. Returns a reason string when the text is not an affine expression.
 */
function readComponent(text: string, out: number[], offset: number): string | null {
  const s = text.replace(/\s+/g, '').toLowerCase();
  if (s === '') return 'an empty component';
  let i = 0;
  let translation = 0;
  let terms = 0;
  let hasVariable = false;
  while (i < s.length) {
    let sign = 1;
    const c = s[i];
    if (c === '+' || c === '-') {
      sign = c === '-' ? -1 : 1;
      i++;
    } else if (terms > 0) {
      return `"${text}" is not a sum of terms`;
    }
    // A number: digits with an optional decimal part, optionally divided by digits.
    const numberMatch = /^(\d+\.?\d*|\.\d+)(?:\/(\d+\.?\d*))?/.exec(s.slice(i));
    let coefficient = 1;
    let hasNumber = false;
    if (numberMatch !== null) {
      hasNumber = true;
      const numerator = Number(numberMatch[1]);
      const denominator = numberMatch[2] === undefined ? 1 : Number(numberMatch[2]);
      if (!(denominator > 0)) return `"${text}" divides by zero`;
      coefficient = numerator / denominator;
      i += numberMatch[0].length;
      if (s[i] === '*') i++;
    }
    const v = s[i];
    if (v === 'x' || v === 'y' || v === 'z') {
      const axis = v === 'x' ? 0 : v === 'y' ? 1 : 2;
      out[offset + axis]! += sign * coefficient;
      hasVariable = true;
      i++;
    } else if (hasNumber) {
      translation += sign * coefficient;
    } else {
      return `"${text}" has an unexpected character ${JSON.stringify(s[i] ?? 'at its end')}`;
    }
    terms++;
  }
  if (!hasVariable) return `"${text}" names none of x, y, z`;
  out[offset + 3] = translation;
  return null;
}

/**
 * Reads an operation `x′, y′, z′` as ICSD lists it, into its integer rotation and fractional translation.
 * Returns a reason string when the text is not one, its rotation has a non-integer entry, or its
 * determinant is not ±1.
 */
export function readOperation(xyz: string): SymmetryOperation | string {
  const parts = xyz.split(',');
  if (parts.length !== 3) return `"${xyz}" does not have three comma-separated components`;
  const raw = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (let row = 0; row < 3; row++) {
    const reason = readComponent(parts[row]!, raw, row * 4);
    if (reason !== null) return `operation "${xyz}": ${reason}`;
  }
  for (let row = 0; row < 3; row++) {
    for (let col = 0; col < 3; col++) {
      const r = raw[row * 4 + col]!;
      if (!Number.isInteger(r)) return `operation "${xyz}" has a non-integer rotation coefficient ${r}`;
    }
  }
  const r = (row: number, col: number): number => raw[row * 4 + col]!;
  const det =
    r(0, 0) * (r(1, 1) * r(2, 2) - r(1, 2) * r(2, 1)) -
    r(0, 1) * (r(1, 0) * r(2, 2) - r(1, 2) * r(2, 0)) +
    r(0, 2) * (r(1, 0) * r(2, 1) - r(1, 1) * r(2, 0));
  if (det !== 1 && det !== -1) return `operation "${xyz}" has a rotation with determinant ${det}, not ±1`;
  const row = (k: number): Vec3 => Object.freeze([r(k, 0) + 0, r(k, 1) + 0, r(k, 2) + 0] as const);
  const rotation: Mat3 = Object.freeze([row(0), row(1), row(2)] as const);
  const translation: Vec3 = Object.freeze([raw[3]! + 0, raw[7]! + 0, raw[11]! + 0] as const);
  return Object.freeze({ xyz, rotation, translation });
}

const cache = new Map<string, SymmetryOperation | string>();

/** `readOperation` with a bounded cache: the same few thousand operation strings recur in every CIF. */
export function readOperationCached(xyz: string): SymmetryOperation | string {
  let op = cache.get(xyz);
  if (op === undefined) {
    op = readOperation(xyz);
    if (cache.size >= 20_000) cache.clear();
    cache.set(xyz, op);
  }
  return op;
}

/**
 * Parses one symmetry operation in the xyz notation of CIF (`-y+1/2, x-y, z+2/3`, `x+0.5, y, z`) into an
 * integer rotation R and a fractional translation t (x′ = R·x + t). Throws a `CifStructureError` with
 * problem `bad_operation` when the text is not an affine operation with an integer rotation of
 * determinant ±1.
 */
export function parseSymmetryOperation(xyz: string): SymmetryOperation {
  const op = readOperationCached(xyz);
  if (typeof op === 'string')
    throw new CifStructureError({ problem: 'bad_operation', entry: null, line: null, detail: op });
  return op;
}

/** True when the operation is the identity (R = I, t ≡ 0 modulo whole cells). */
export function isIdentity(op: SymmetryOperation): boolean {
  const [r0, r1, r2] = op.rotation;
  const identity =
    r0[0] === 1 &&
    r0[1] === 0 &&
    r0[2] === 0 &&
    r1[0] === 0 &&
    r1[1] === 1 &&
    r1[2] === 0 &&
    r2[0] === 0 &&
    r2[1] === 0 &&
    r2[2] === 1;
  if (!identity) return false;
  return op.translation.every((t) => Math.abs(t - Math.round(t)) < 1e-6);
}
