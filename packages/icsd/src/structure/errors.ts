import { SciportError } from '@sciport/core';

/** Why a CIF could not be turned into a structure; stable, for `switch` and for `export`'s refusal counts. */
export type CifProblem =
  | 'syntax' // not CIF 1.1: unterminated quote or text field, a loop without values, a value without a tag …
  | 'no_block' // no `data_` block
  | 'missing_tag' // a required tag is absent (cell lengths and angles, the atom-site loop)
  | 'bad_number' // a value that should be a number is not one
  | 'bad_cell' // a cell length ≤ 0, or angles that make no cell
  | 'no_symmetry' // no symmetry operations listed
  | 'bad_operation' // an operation that is not an affine xyz expression with an integer rotation
  | 'unknown_element' // a type symbol whose element is not in the periodic table
  | 'multiplicity' // the distinct images of a site differ from its stated multiplicity
  | 'composition' // the cell's content does not match Z × `_chemical_formula_sum`
  | 'occupancy'; // an occupancy outside (0, 1], or a position holding more than 1

/**
 * A CIF that sciport cannot turn into a structure. Names the entry (collection code or source) and the
 * 1-based line, so a user can open the file at the right place.
 */
export class CifStructureError extends SciportError<'invalid_cif'> {
  static override readonly kind: string = 'CifStructureError';
  override readonly code = 'invalid_cif' as const;
  readonly problem: CifProblem;
  /** The collection code, or the source given to `parseCif` (a file name), or null. */
  readonly entry: string | null;
  /** 1-based line in the CIF text, null when the problem is not on one line. */
  readonly line: number | null;

  constructor(init: { problem: CifProblem; entry: string | null; line: number | null; detail: string }) {
    const where = [
      init.entry === null ? null : `entry ${init.entry}`,
      init.line === null ? null : `line ${init.line}`,
    ]
      .filter((x) => x !== null)
      .join(', ');
    super(`Invalid CIF${where ? ` (${where})` : ''}: ${init.detail}`);
    this.problem = init.problem;
    this.entry = init.entry;
    this.line = init.line;
  }
}
