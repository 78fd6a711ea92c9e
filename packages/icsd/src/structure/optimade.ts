import { z } from 'zod';
import { cleanNumber, formulasOf, isDisordered, speciesOf } from './formula.js';
import type { CrystalStructure, Vec3 } from './types.js';

/**
 * OPTIMADE v1.2 `structures` entries (spec §14.3). The zod schema below is the single source of the type:
 * others consume this output, so they can validate what they read with the same schema
 * (`optimadeStructureSchema.parse(JSON.parse(line))`). Browser-safe.
 */

const vec3Schema = z.tuple([z.number(), z.number(), z.number()]);

export const optimadeSpeciesSchema = z.object({
  name: z.string().min(1),
  /** Element symbols, plus `vacancy` for the empty part of a position. */
  chemical_symbols: z.array(z.string().regex(/^([A-Z][a-z]?|vacancy)$/)).min(1),
  concentration: z.array(z.number().min(0).max(1)),
});
export type OptimadeSpecies = z.infer<typeof optimadeSpeciesSchema>;

export const optimadeStructureAttributesSchema = z.object({
  immutable_id: z.string().nullable(),
  /** `YYYY-MM-DDT00:00:00Z`: the modification date, else the recording date; null when the CIF has neither. */
  last_modified: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}T00:00:00Z$/)
    .nullable(),
  elements: z.array(z.string()),
  nelements: z.number().int().nonnegative(),
  elements_ratios: z.array(z.number().min(0).max(1)),
  chemical_formula_descriptive: z.string().nullable(),
  chemical_formula_reduced: z.string(),
  chemical_formula_anonymous: z.string(),
  dimension_types: z.tuple([z.literal(1), z.literal(1), z.literal(1)]),
  nperiodic_dimensions: z.literal(3),
  /** Rows a⃗, b⃗, c⃗ in Å. */
  lattice_vectors: z.tuple([vec3Schema, vec3Schema, vec3Schema]),
  /** One per position of the cell, in Å. */
  cartesian_site_positions: z.array(vec3Schema),
  nsites: z.number().int().nonnegative(),
  species: z.array(optimadeSpeciesSchema),
  species_at_sites: z.array(z.string()),
  structure_features: z.array(z.literal('disorder')),
});

export const optimadeStructureSchema = z
  .object({
    /** The collection code as a decimal string (`"1975"`). */
    id: z.string().min(1),
    type: z.literal('structures'),
    attributes: optimadeStructureAttributesSchema,
  })
  .superRefine((entry, ctx) => {
    const a = entry.attributes;
    const issue = (message: string) => ctx.addIssue({ code: 'custom', message, path: ['attributes'] });
    if (a.nsites !== a.cartesian_site_positions.length || a.nsites !== a.species_at_sites.length)
      issue('nsites, cartesian_site_positions and species_at_sites differ in length');
    if (a.nelements !== a.elements.length || a.elements_ratios.length !== a.elements.length)
      issue('nelements, elements and elements_ratios differ in length');
    if (a.elements.some((e, i) => i > 0 && (a.elements[i - 1] as string) >= e))
      issue('elements are not in alphabetical order');
    if (a.elements.length > 0 && Math.abs(a.elements_ratios.reduce((s, r) => s + r, 0) - 1) > 1e-6)
      issue('elements_ratios do not sum to 1');
    const names = new Set(a.species.map((s) => s.name));
    if (names.size !== a.species.length) issue('two species have the same name');
    if (a.species_at_sites.some((n) => !names.has(n))) issue('species_at_sites names an undefined species');
    for (const s of a.species) {
      if (s.concentration.length !== s.chemical_symbols.length)
        issue(`species ${s.name}: chemical_symbols and concentration differ in length`);
      if (s.concentration.reduce((x, c) => x + c, 0) > 1 + 1e-6)
        issue(`species ${s.name}: concentrations sum above 1`);
    }
    const disorder = a.species.some((s) => s.chemical_symbols.length > 1);
    if (disorder !== a.structure_features.includes('disorder'))
      issue('structure_features must list "disorder" exactly when a species has several symbols');
  });

export type OptimadeStructure = z.infer<typeof optimadeStructureSchema>;
export type OptimadeStructureAttributes = z.infer<typeof optimadeStructureAttributesSchema>;

export interface OptimadeOptions {
  /** The entry's `id` (default: the collection code, else the block name). */
  id?: string | undefined;
}

function vec(v: Vec3): [number, number, number] {
  return [cleanNumber(v[0]), cleanNumber(v[1]), cleanNumber(v[2])];
}

/**
 * The OPTIMADE v1.2 `structures` entry of a structure: lattice, one site per position of the expanded cell
 * (atoms sharing a position are one site whose species lists them all, with a `vacancy` when they do not fill
 * it), element ratios weighted by occupancy, and the reduced and anonymous formulas of spec §14.3.
 */
export function toOptimade(structure: CrystalStructure, options: OptimadeOptions = {}): OptimadeStructure {
  const code = structure.collectionCode === null ? null : String(structure.collectionCode);
  const { species, atSites } = speciesOf(structure);
  const formulas = formulasOf(structure);
  const date = [structure.modificationDate, structure.recordingDate].find(
    (d): d is string => typeof d === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(d),
  );
  const l = structure.lattice;
  return {
    id: options.id ?? code ?? structure.block,
    type: 'structures',
    attributes: {
      immutable_id: code,
      last_modified: date === undefined ? null : `${date}T00:00:00Z`,
      elements: formulas.elements,
      nelements: formulas.elements.length,
      elements_ratios: formulas.ratios,
      chemical_formula_descriptive: structure.formulaStructural,
      chemical_formula_reduced: formulas.reduced,
      chemical_formula_anonymous: formulas.anonymous,
      dimension_types: [1, 1, 1],
      nperiodic_dimensions: 3,
      lattice_vectors: [vec(l[0]), vec(l[1]), vec(l[2])],
      cartesian_site_positions: structure.positions.map((p) => vec(p.cartesian)),
      nsites: structure.positions.length,
      species: species.map((s) => ({
        name: s.name,
        chemical_symbols: [...s.chemical_symbols],
        concentration: [...s.concentration],
      })),
      species_at_sites: atSites,
      structure_features: isDisordered(species) ? ['disorder'] : [],
    },
  };
}
