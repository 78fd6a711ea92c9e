import type { CrystalStructure } from './types.js';

/** sciport's own structure format: the `CrystalStructure` itself as JSON. Browser-safe. */

/** The keys of `CrystalStructure` in the order they are written (the order of the type's declaration). */
const KEY_ORDER: readonly (keyof CrystalStructure)[] = [
  'collectionCode',
  'block',
  'chemicalName',
  'formulaStructural',
  'formulaSum',
  'z',
  'cell',
  'lattice',
  'spaceGroup',
  'operations',
  'sites',
  'atoms',
  'positions',
  'disordered',
  'recordingDate',
  'modificationDate',
  'citation',
];

/**
 * The structure as one line of JSON, top-level keys always in the same order (that of the type; keys it
 * does not know follow in their own order), so that two runs over the same CIF give identical bytes.
 * Numbers are JavaScript's shortest round-trip form; `-0` is written `0`.
 */
export function toStructureJson(structure: CrystalStructure, options: { indent?: number } = {}): string {
  const ordered: Record<string, unknown> = {};
  const source = structure as unknown as Record<string, unknown>;
  for (const key of KEY_ORDER) if (key in source) ordered[key] = source[key];
  for (const key of Object.keys(source)) if (!(key in ordered)) ordered[key] = source[key];
  return JSON.stringify(ordered, null, options.indent);
}
