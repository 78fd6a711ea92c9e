import type { CifNumber } from './types.js';

// A CIF 1.1 number: optional sign, digits with an optional decimal point (`90.`, `.5`), optional exponent,
// and an optional standard uncertainty in parentheses (after the exponent as CIF 1.1 writes it, or before).
const NUMBER = /^[+-]?(?:(\d+)\.?(\d*)|\.(\d+))(?:\((\d+)\))?(?:[eE]([+-]?\d+))?(?:\((\d+)\))?$/;

/**
 * Reads a CIF number with its standard uncertainty in the value's units: `4.2117(2)` → 4.2117 ± 0.0002,
 * `90.` → 90, `1.5e-3(2)` → 0.0015 ± 0.0002e-3. Null when the text is not a finite CIF number.
 */
export function parseCifNumber(text: string): CifNumber | null {
  const m = NUMBER.exec(text);
  if (m === null) return null;
  const su = m[4] ?? m[6];
  if (m[4] !== undefined && m[6] !== undefined) return null;
  const mantissaEnd = text.indexOf('(');
  const mantissa = mantissaEnd >= 0 ? text.slice(0, mantissaEnd) : text;
  const exponent = m[5] === undefined ? 0 : Number(m[5]);
  const value =
    m[5] === undefined ? Number(mantissa) : Number(`${mantissa.replace(/[eE].*$/, '')}e${exponent}`);
  if (!Number.isFinite(value)) return null;
  if (su === undefined) return { value, uncertainty: null };
  const decimals = (m[2] ?? m[3] ?? '').length;
  const uncertainty = Number(`${su}e${exponent - decimals}`);
  return Number.isFinite(uncertainty) ? { value, uncertainty } : null;
}
