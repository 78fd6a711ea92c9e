/**
 * The crystal structure sciport reads from an ICSD CIF (spec §14): what the CIF states (cell, space group,
 * operations, asymmetric unit), and the unit cell made from it. Plain data: JSON-serialisable, no classes,
 * browser-safe. `parseCif` builds it; `toOptimade`, `toPoscar`, `toXyz` and `toStructureJson` write it out.
 */

/** Three numbers: fractional coordinates, a cartesian position in Å, or a lattice vector. */
export type Vec3 = readonly [number, number, number];

/** A 3×3 matrix, rows first. */
export type Mat3 = readonly [Vec3, Vec3, Vec3];

/** A number as the CIF wrote it, with its standard uncertainty: `4.2117(2)` → 4.2117 ± 0.0002. */
export interface CifNumber {
  readonly value: number;
  /** The standard uncertainty in the value's units, when the CIF gives one in parentheses. */
  readonly uncertainty: number | null;
}

/** The published cell: lengths in Å, angles in degrees. */
export interface UnitCell {
  readonly a: CifNumber;
  readonly b: CifNumber;
  readonly c: CifNumber;
  readonly alpha: CifNumber;
  readonly beta: CifNumber;
  readonly gamma: CifNumber;
  /** `_cell_volume` as stated (Å³), or null when absent. */
  readonly volume: CifNumber | null;
}

export interface SpaceGroupInfo {
  /** International Tables number (`_space_group_IT_number` / `_symmetry_Int_Tables_number`), null if absent. */
  readonly number: number | null;
  /** Hermann–Mauguin symbol as written, setting suffix included (`R -3 c H`), null if absent. */
  readonly symbol: string | null;
}

/** One symmetry operation as listed: x′ = R·x + t. */
export interface SymmetryOperation {
  /** The text as listed (`-y+1/2, x+1/2, z+1/2`). */
  readonly xyz: string;
  /** Integer rotation part R, rows first. */
  readonly rotation: Mat3;
  /** Translation part t, as fractions of the cell. */
  readonly translation: Vec3;
}

/** An isotropic displacement: `_atom_site_B_iso_or_equiv` (Å²) or `_atom_site_U_iso_or_equiv` (Å²). */
export interface IsotropicDisplacement {
  readonly kind: 'Biso' | 'Uiso';
  readonly value: CifNumber;
}

/** Anisotropic displacement from the `_atom_site_aniso_*` loop, U or B tensor components (Å²). */
export interface AnisotropicDisplacement {
  readonly kind: 'Uani' | 'Bani';
  readonly u11: CifNumber;
  readonly u22: CifNumber;
  readonly u33: CifNumber;
  readonly u12: CifNumber;
  readonly u13: CifNumber;
  readonly u23: CifNumber;
}

/** One row of the `_atom_site_*` loop: a site of the asymmetric unit. */
export interface AsymmetricSite {
  /** `_atom_site_label` (`Mg1`). */
  readonly label: string;
  /** `_atom_site_type_symbol` as written (`Mg2+`, `O2-`, `D1+`). */
  readonly typeSymbol: string;
  /** The chemical element (`Mg`); deuterium `D` and tritium `T` are written `H`. */
  readonly element: string;
  /** From the type symbol or the `_atom_type_oxidation_number` loop; null when neither gives it. */
  readonly oxidationState: number | null;
  /** `_atom_site_Wyckoff_symbol`, null when absent. */
  readonly wyckoff: string | null;
  /** `_atom_site_symmetry_multiplicity`, null when absent. */
  readonly multiplicity: number | null;
  readonly fract: readonly [CifNumber, CifNumber, CifNumber];
  /** `_atom_site_occupancy`, 1 when absent. */
  readonly occupancy: CifNumber;
  readonly displacement: IsotropicDisplacement | AnisotropicDisplacement | null;
  /** 1-based line of the row in the CIF text, for messages. */
  readonly line: number;
}

/** One atom of the expanded unit cell. Atoms that share a position are separate entries with equal coordinates. */
export interface CellAtom {
  /** Index into `CrystalStructure.sites` of the asymmetric site this atom is an image of. */
  readonly site: number;
  readonly label: string;
  readonly element: string;
  readonly oxidationState: number | null;
  /** Fractional coordinates wrapped into [0, 1). */
  readonly fract: Vec3;
  /** Cartesian coordinates in Å (lattice of `CrystalStructure.lattice`). */
  readonly cartesian: Vec3;
  readonly occupancy: number;
  /** Index into `CrystalStructure.positions` of the position this atom sits on. */
  readonly position: number;
}

/** A distinct position of the expanded cell, with every atom on it (one, or several when disordered). */
export interface CellPosition {
  readonly fract: Vec3;
  readonly cartesian: Vec3;
  /** Indices into `CrystalStructure.atoms`. */
  readonly atoms: readonly number[];
  /** Sum of the occupancies on this position (≤ 1; below 1 means a partial vacancy). */
  readonly occupancy: number;
}

/** Bibliographic data of the CIF's primary citation (`_citation_*`, or `_publ_*` and `_journal_*` in 2018 files). */
export interface CifCitation {
  readonly authors: readonly string[];
  readonly title: string | null;
  readonly journal: string | null;
  readonly year: number | null;
  readonly volume: string | null;
  readonly pageFirst: string | null;
  readonly pageLast: string | null;
  readonly doi: string | null;
}

/** A crystal structure read from one ICSD CIF document. */
export interface CrystalStructure {
  /** `_database_code_ICSD` (the collection code), or the one in the block name `data_<cc>-ICSD`. */
  readonly collectionCode: number | null;
  /** The data block name without `data_` (`1975-ICSD`). */
  readonly block: string;
  readonly chemicalName: string | null;
  /** `_chemical_formula_structural` (`'Mg Al2 O4'`). */
  readonly formulaStructural: string | null;
  /** `_chemical_formula_sum` (`'Al2 Mg1 O4'`). */
  readonly formulaSum: string | null;
  /** `_cell_formula_units_Z`, null when absent. */
  readonly z: number | null;
  readonly cell: UnitCell;
  /** Lattice vectors a⃗, b⃗, c⃗ in Å, rows first (a along x, b in the xy plane; spec §14.2). */
  readonly lattice: Mat3;
  readonly spaceGroup: SpaceGroupInfo;
  /** The operations exactly as listed, in order. */
  readonly operations: readonly SymmetryOperation[];
  /** The asymmetric unit, in the order of the CIF. */
  readonly sites: readonly AsymmetricSite[];
  /** Every atom of the unit cell: each site's distinct images under every operation (spec §14.2). */
  readonly atoms: readonly CellAtom[];
  /** The distinct positions of the unit cell, in order of first appearance in `atoms`. */
  readonly positions: readonly CellPosition[];
  /** True when any position holds more than one atom or has an occupancy below 1. */
  readonly disordered: boolean;
  /** `_audit_creation_date` (ISO `YYYY-MM-DD`), null when absent. */
  readonly recordingDate: string | null;
  /** The date in `_audit_update_record` (ISO), else null. */
  readonly modificationDate: string | null;
  readonly citation: CifCitation | null;
}
