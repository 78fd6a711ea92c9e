import {
  citationOf,
  firstTag,
  modificationDate,
  recordingDate,
  tagValue,
  tagValues,
  textOf,
} from './cif-metadata.js';
import { parseCifNumber } from './cif-number.js';
import {
  type CifBlock,
  type CifLoop,
  CifSyntaxProblem,
  type CifValue,
  isNull,
  readCifBlocks,
} from './cif-syntax.js';
import { checkComposition } from './composition.js';
import { elementOf } from './elements.js';
import { type CifProblem, CifStructureError } from './errors.js';
import { expandCell } from './expand.js';
import { latticeVectorsOrNull } from './lattice.js';
import { isIdentity, readOperationCached } from './symmetry.js';
import type {
  AnisotropicDisplacement,
  AsymmetricSite,
  CifNumber,
  CrystalStructure,
  IsotropicDisplacement,
  SpaceGroupInfo,
  SymmetryOperation,
  UnitCell,
} from './types.js';

export interface ParseCifOptions {
  /** Names the entry in errors when the CIF has no collection code (a file name, say). */
  readonly source?: string;
  /** Check the cell's content against Z × `_chemical_formula_sum` (spec §14.2 step 5); default true. */
  readonly checkComposition?: boolean;
}

/** The most operations a space group lists (Fm-3m and the other face-centred cubic groups: 192). */
const MAX_OPERATIONS = 192;

const OPERATION_TAGS = ['_space_group_symop_operation_xyz', '_symmetry_equiv_pos_as_xyz'] as const;
const SG_NUMBER_TAGS = ['_space_group_it_number', '_symmetry_int_tables_number'] as const;
const SG_SYMBOL_TAGS = ['_space_group_name_h-m_alt', '_symmetry_space_group_name_h-m'] as const;

class Context {
  constructor(
    readonly entry: string | null,
    readonly block: CifBlock,
  ) {}

  fail(problem: CifProblem, line: number | null, detail: string): never {
    throw new CifStructureError({ problem, entry: this.entry, line, detail });
  }

  /** A number the structure needs: a missing tag or `?` is `missing_tag`, other text `bad_number`. */
  required(tag: string, shown: string): CifNumber & { line: number } {
    const value = tagValue(this.block, tag);
    if (value === undefined) this.fail('missing_tag', null, `${shown} is missing`);
    if (isNull(value)) this.fail('missing_tag', value.line, `${shown} is ${value.text} (not given)`);
    return { ...this.number(value, shown), line: value.line };
  }

  /** A number that may be absent or `?`/`.`. */
  optional(value: CifValue | undefined, shown: string): CifNumber | null {
    if (value === undefined || isNull(value)) return null;
    return this.number(value, shown);
  }

  number(value: CifValue, shown: string): CifNumber {
    const n = parseCifNumber(value.text);
    if (n === null)
      this.fail('bad_number', value.line, `${shown} is ${JSON.stringify(value.text)}, not a number`);
    return n;
  }

  integer(value: CifValue | undefined, shown: string, min: number, max: number): number | null {
    const n = this.optional(value, shown);
    if (n === null) return null;
    if (!Number.isInteger(n.value) || n.value < min || n.value > max) {
      this.fail(
        'bad_number',
        value!.line,
        `${shown} is ${value!.text}, not a whole number from ${min} to ${max}`,
      );
    }
    return n.value;
  }
}

/** The entry of a text that failed before its tags could be read: the collection code if it shows one. */
function guessEntry(text: string, source: string | undefined): string | null {
  const m = /_database_code_ICSD[ \t]+(\d+)/i.exec(text) ?? /data_(\d+)-ICSD/i.exec(text);
  return m?.[1] ?? source ?? null;
}

function readCell(ctx: Context): UnitCell {
  const lengths = (['a', 'b', 'c'] as const).map((axis) => {
    const n = ctx.required(`_cell_length_${axis}`, `_cell_length_${axis}`);
    if (!(n.value > 0))
      ctx.fail('bad_cell', n.line, `_cell_length_${axis} is ${n.value}; a cell length must be positive`);
    return n;
  });
  const angles = (['alpha', 'beta', 'gamma'] as const).map((name) => {
    const n = ctx.required(`_cell_angle_${name}`, `_cell_angle_${name}`);
    if (!(n.value > 0 && n.value < 180)) {
      ctx.fail(
        'bad_cell',
        n.line,
        `_cell_angle_${name} is ${n.value}°; a cell angle lies between 0° and 180°`,
      );
    }
    return n;
  });
  const plain = (n: CifNumber & { line: number }): CifNumber => ({
    value: n.value,
    uncertainty: n.uncertainty,
  });
  const [a, b, c] = lengths as [
    CifNumber & { line: number },
    CifNumber & { line: number },
    CifNumber & { line: number },
  ];
  const [alpha, beta, gamma] = angles as [
    CifNumber & { line: number },
    CifNumber & { line: number },
    CifNumber & { line: number },
  ];
  if (latticeVectorsOrNull(a.value, b.value, c.value, alpha.value, beta.value, gamma.value) === null) {
    ctx.fail(
      'bad_cell',
      alpha.line,
      `the angles α=${alpha.value}°, β=${beta.value}°, γ=${gamma.value}° make no cell (zero or imaginary volume)`,
    );
  }
  const volume = ctx.optional(tagValue(ctx.block, '_cell_volume'), '_cell_volume');
  if (volume !== null && !(volume.value > 0)) {
    ctx.fail(
      'bad_cell',
      tagValue(ctx.block, '_cell_volume')!.line,
      `_cell_volume is ${volume.value}; it must be positive`,
    );
  }
  return {
    a: plain(a),
    b: plain(b),
    c: plain(c),
    alpha: plain(alpha),
    beta: plain(beta),
    gamma: plain(gamma),
    volume,
  };
}

function readSpaceGroup(ctx: Context): SpaceGroupInfo {
  const numberTag = firstTag(ctx.block, SG_NUMBER_TAGS);
  const symbolTag = firstTag(ctx.block, SG_SYMBOL_TAGS);
  const number =
    numberTag === undefined ? null : ctx.integer(tagValue(ctx.block, numberTag), numberTag, 1, 230);
  const symbol = symbolTag === undefined ? null : textOf(tagValue(ctx.block, symbolTag));
  return { number, symbol };
}

function readOperations(ctx: Context): SymmetryOperation[] {
  const tag = firstTag(ctx.block, OPERATION_TAGS);
  const values = tag === undefined ? [] : tagValues(ctx.block, tag);
  if (values.length === 0) {
    ctx.fail(
      'no_symmetry',
      null,
      'no symmetry operations (_space_group_symop_operation_xyz or _symmetry_equiv_pos_as_xyz)',
    );
  }
  const where = ctx.block.looped.get(tag!)?.loop.line ?? values[0]!.line;
  if (values.length > MAX_OPERATIONS) {
    ctx.fail(
      'bad_operation',
      where,
      `${values.length} symmetry operations listed; a space group has at most ${MAX_OPERATIONS}`,
    );
  }
  const operations: SymmetryOperation[] = new Array(values.length);
  let identity = false;
  for (let k = 0; k < values.length; k++) {
    const value = values[k]!;
    if (isNull(value))
      ctx.fail('bad_operation', value.line, `symmetry operation ${k + 1} is ${value.text} (not given)`);
    const op = readOperationCached(value.text);
    if (typeof op === 'string') ctx.fail('bad_operation', value.line, op);
    if (!identity && isIdentity(op)) identity = true;
    operations[k] = op;
  }
  if (!identity)
    ctx.fail('bad_operation', where, 'the symmetry operations do not include the identity x, y, z');
  return operations;
}

/** Oxidation states from the `_atom_type_symbol` / `_atom_type_oxidation_number` loop. */
function readAtomTypes(ctx: Context): Map<string, number> {
  const out = new Map<string, number>();
  const symbols = tagValues(ctx.block, '_atom_type_symbol');
  const numbers = tagValues(ctx.block, '_atom_type_oxidation_number');
  if (numbers.length !== symbols.length) return out;
  for (let i = 0; i < symbols.length; i++) {
    const n = ctx.optional(numbers[i], '_atom_type_oxidation_number');
    if (n !== null) out.set(symbols[i]!.text, n.value);
  }
  return out;
}

const CHARGE_AFTER = /^[A-Za-z]+(\d+(?:\.\d+)?)?([+-])$/;
const CHARGE_BEFORE = /^[A-Za-z]+([+-])(\d+(?:\.\d+)?)$/;

/** The oxidation state written in an ion symbol: `Mg2+` → 2, `O2-` → −2, `Cl-` → −1, `Mg` → null. */
function chargeOf(symbol: string): number | null {
  const after = CHARGE_AFTER.exec(symbol);
  if (after !== null)
    return (after[2] === '-' ? -1 : 1) * (after[1] === undefined ? 1 : Number(after[1])) + 0;
  const before = CHARGE_BEFORE.exec(symbol);
  if (before !== null) return (before[1] === '-' ? -1 : 1) * Number(before[2]) + 0;
  return null;
}

/** The columns of a loop by tag, all in the loop of the first tag; a column elsewhere is a syntax problem. */
function columnsOf(ctx: Context, loop: CifLoop, tags: readonly string[]): (number | null)[] {
  return tags.map((tag) => {
    const looped = ctx.block.looped.get(tag);
    if (looped === undefined) {
      const item = ctx.block.items.get(tag);
      if (item !== undefined && loop.rows > 1)
        ctx.fail('syntax', item.line, `${tag} is not in the loop of ${loop.tags[0]}`);
      return null;
    }
    if (looped.loop !== loop)
      ctx.fail('syntax', looped.loop.line, `${tag} is not in the same loop as ${loop.tags[0]}`);
    return looped.column;
  });
}

const SITE_TAGS = [
  '_atom_site_label',
  '_atom_site_type_symbol',
  '_atom_site_symmetry_multiplicity',
  '_atom_site_wyckoff_symbol',
  '_atom_site_fract_x',
  '_atom_site_fract_y',
  '_atom_site_fract_z',
  '_atom_site_occupancy',
  '_atom_site_b_iso_or_equiv',
  '_atom_site_u_iso_or_equiv',
] as const;

function readSites(ctx: Context): AsymmetricSite[] {
  const looped = ctx.block.looped.get('_atom_site_label');
  const single = ctx.block.items.get('_atom_site_label');
  let loop: CifLoop;
  if (looped !== undefined) {
    loop = looped.loop;
  } else if (single !== undefined) {
    // One site written as items: read it as a loop of one row.
    const values = SITE_TAGS.map((tag) => ctx.block.items.get(tag));
    loop = {
      tags: SITE_TAGS.filter((_, i) => values[i] !== undefined),
      line: single.line,
      values: values.filter((v) => v !== undefined),
      rows: 1,
    };
  } else {
    return ctx.fail(
      'missing_tag',
      null,
      'the atom-site loop (_atom_site_label, _atom_site_fract_x, …) is missing',
    );
  }
  const width = loop.tags.length;
  const cols =
    looped !== undefined
      ? columnsOf(ctx, loop, SITE_TAGS)
      : SITE_TAGS.map((tag) => {
          const i = loop.tags.indexOf(tag);
          return i < 0 ? null : i;
        });
  const [cLabel, cType, cMult, cWyckoff, cx, cy, cz, cOcc, cB, cU] = cols;
  for (const [col, tag] of [
    [cx, '_atom_site_fract_x'],
    [cy, '_atom_site_fract_y'],
    [cz, '_atom_site_fract_z'],
  ] as const) {
    if (col === null) ctx.fail('missing_tag', loop.line, `the atom-site loop has no ${tag}`);
  }
  const types = readAtomTypes(ctx);
  const sites: AsymmetricSite[] = new Array(loop.rows);
  const labels = new Set<string>();
  for (let row = 0; row < loop.rows; row++) {
    const at = (col: number | null | undefined): CifValue | undefined =>
      col == null ? undefined : loop.values[row * width + col];
    const first = loop.values[row * width]!;
    const line = first.line;
    const label = at(cLabel)!.text;
    if (labels.has(label)) ctx.fail('syntax', at(cLabel)!.line, `site label ${label} is given twice`);
    labels.add(label);
    const typeValue = at(cType);
    const typeSymbol = typeValue === undefined || isNull(typeValue) ? label : typeValue.text;
    const element = elementOf(typeSymbol);
    if (element === null) {
      ctx.fail(
        'unknown_element',
        typeValue?.line ?? line,
        `site ${label}: ${JSON.stringify(typeSymbol)} names no chemical element`,
      );
    }
    const oxidationState = types.get(typeSymbol) ?? chargeOf(typeSymbol);
    const multiplicity = ctx.integer(at(cMult), `the multiplicity of site ${label}`, 1, MAX_OPERATIONS);
    const wyckoff = textOf(at(cWyckoff));
    const coordinate = (col: number | null | undefined, axis: string): CifNumber => {
      const v = at(col)!;
      if (isNull(v))
        ctx.fail('bad_number', v.line, `site ${label}: fractional ${axis} is ${v.text} (not given)`);
      return ctx.number(v, `site ${label}: fractional ${axis}`);
    };
    const fract = [coordinate(cx, 'x'), coordinate(cy, 'y'), coordinate(cz, 'z')] as const;
    const occValue = at(cOcc);
    const occupancy = ctx.optional(occValue, `the occupancy of site ${label}`) ?? {
      value: 1,
      uncertainty: null,
    };
    if (!(occupancy.value > 0 && occupancy.value <= 1 + 1e-6)) {
      ctx.fail(
        'occupancy',
        occValue!.line,
        `site ${label} has occupancy ${occupancy.value}; it must lie in (0, 1]`,
      );
    }
    let displacement: IsotropicDisplacement | null = null;
    const b = ctx.optional(at(cB), `the B_iso of site ${label}`);
    if (b !== null) displacement = { kind: 'Biso', value: b };
    else {
      const u = ctx.optional(at(cU), `the U_iso of site ${label}`);
      if (u !== null) displacement = { kind: 'Uiso', value: u };
    }
    sites[row] = {
      label,
      typeSymbol,
      element,
      oxidationState,
      wyckoff,
      multiplicity,
      fract,
      occupancy,
      displacement,
      line,
    };
  }
  return attachAniso(ctx, sites);
}

const ANISO = ['11', '22', '33', '12', '13', '23'] as const;

/** Replaces the isotropic displacement of the sites the `_atom_site_aniso_*` loop names by its tensor. */
function attachAniso(ctx: Context, sites: AsymmetricSite[]): AsymmetricSite[] {
  const labels = tagValues(ctx.block, '_atom_site_aniso_label');
  if (labels.length === 0) return sites;
  const isB = !ctx.block.looped.has('_atom_site_aniso_u_11') && !ctx.block.items.has('_atom_site_aniso_u_11');
  const prefix = isB ? '_atom_site_aniso_b_' : '_atom_site_aniso_u_';
  const columns = ANISO.map((ij) => tagValues(ctx.block, `${prefix}${ij}`));
  const byLabel = new Map(sites.map((site, i) => [site.label, i]));
  for (let row = 0; row < labels.length; row++) {
    const label = labels[row]!;
    const index = byLabel.get(label.text);
    if (index === undefined) {
      ctx.fail(
        'syntax',
        label.line,
        `the aniso loop names site ${label.text}, which the atom-site loop does not list`,
      );
    }
    const component = (k: number): CifNumber => {
      const value = columns[k]![row];
      const shown = `${prefix}${ANISO[k]} of site ${label.text}`;
      if (value === undefined) ctx.fail('missing_tag', label.line, `${shown} is missing`);
      if (isNull(value)) ctx.fail('bad_number', value.line, `${shown} is ${value.text} (not given)`);
      return ctx.number(value, shown);
    };
    const tensor: AnisotropicDisplacement = {
      kind: isB ? 'Bani' : 'Uani',
      u11: component(0),
      u22: component(1),
      u33: component(2),
      u12: component(3),
      u13: component(4),
      u23: component(5),
    };
    sites[index] = { ...sites[index]!, displacement: tensor };
  }
  return sites;
}

/**
 * Reads one ICSD CIF document (CIF 1.1, either tag dialect: 2025 `_space_group_*`/`_citation_*`, 2018
 * `_symmetry_*`/`_publ_*`) into a `CrystalStructure`: cell, lattice vectors, space group, the operations as
 * listed, the asymmetric unit, and the expanded unit cell of spec §14.2 (every operation applied, wrapped
 * into [0, 1), coinciding images dropped, multiplicities and composition checked). Browser-safe.
 *
 * Throws a `CifStructureError` naming the entry (collection code, else `options.source`) and the 1-based
 * line for every problem: malformed CIF, no symmetry operations, bad operations, unknown elements, bad
 * numbers, impossible cells, occupancies outside (0, 1], multiplicity or composition mismatches.
 */
export function parseCif(text: string, options: ParseCifOptions = {}): CrystalStructure {
  let blocks: CifBlock[];
  try {
    blocks = readCifBlocks(text);
  } catch (error) {
    if (error instanceof CifSyntaxProblem) {
      throw new CifStructureError({
        problem: error.problem,
        entry: guessEntry(text, options.source),
        line: error.line,
        detail: error.detail,
      });
    }
    throw error;
  }
  const block = blocks[0]!;
  const codeValue = block.items.get('_database_code_icsd');
  let collectionCode: number | null = null;
  if (codeValue !== undefined && !isNull(codeValue)) {
    if (!/^\d{1,10}$/.test(codeValue.text)) {
      throw new CifStructureError({
        problem: 'bad_number',
        entry: options.source ?? null,
        line: codeValue.line,
        detail: `_database_code_ICSD is ${JSON.stringify(codeValue.text)}, not a collection code`,
      });
    }
    collectionCode = Number(codeValue.text);
  } else {
    const m = /^(\d{1,10})-ICSD$/i.exec(block.name);
    if (m !== null) collectionCode = Number(m[1]);
  }
  const ctx: Context = new Context(
    collectionCode !== null ? String(collectionCode) : (options.source ?? null),
    block,
  );
  if (blocks.length > 1) {
    ctx.fail(
      'syntax',
      blocks[1]!.line,
      'more than one data_ block: split a multi-CIF body with splitCifs first',
    );
  }

  const cell = readCell(ctx);
  const lattice = latticeVectorsOrNull(
    cell.a.value,
    cell.b.value,
    cell.c.value,
    cell.alpha.value,
    cell.beta.value,
    cell.gamma.value,
  )!;
  const z = ctx.integer(tagValue(block, '_cell_formula_units_z'), '_cell_formula_units_Z', 1, 1_000_000);
  const spaceGroup = readSpaceGroup(ctx);
  const operations = readOperations(ctx);
  const sites = readSites(ctx);
  const expanded = expandCell(lattice, operations, sites);
  if ('problem' in expanded) ctx.fail(expanded.problem, sites[expanded.site]!.line, expanded.detail);

  const formulaSumValue = tagValue(block, '_chemical_formula_sum');
  const formulaSum = textOf(formulaSumValue);
  if (options.checkComposition !== false && z !== null && formulaSum !== null) {
    const problem = checkComposition(formulaSum, z, expanded.atoms);
    if (problem !== null) ctx.fail('composition', formulaSumValue!.line, problem);
  }

  return {
    collectionCode,
    block: block.name,
    chemicalName: textOf(tagValue(block, '_chemical_name_systematic')),
    formulaStructural: textOf(tagValue(block, '_chemical_formula_structural')),
    formulaSum,
    z,
    cell,
    lattice,
    spaceGroup,
    operations,
    sites,
    atoms: expanded.atoms,
    positions: expanded.positions,
    disordered: expanded.disordered,
    recordingDate: recordingDate(block),
    modificationDate: modificationDate(block),
    citation: citationOf(block),
  };
}
