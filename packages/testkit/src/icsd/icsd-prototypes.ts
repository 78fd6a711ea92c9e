/**
 * Real structure prototypes the simulated ICSD builds its inorganic entries from: space group (setting as ICSD
 * writes it), Wyckoff positions and multiplicities as in International Tables, a reference cell, free parameters
 * and charge-balanced families of ions to substitute.
 *
 * @internal
 */

/** A coordinate: a fraction of International Tables (`'1/8'`, `'0'`) or the name of a free parameter. */
export type ProtoCoordinate = string;

export interface ProtoSite {
  readonly role: string;
  readonly wyckoff: string;
  readonly multiplicity: number;
  readonly xyz: readonly [ProtoCoordinate, ProtoCoordinate, ProtoCoordinate];
}

/** An ion choice: element and oxidation number (0 for metals). */
export type Ion = readonly [element: string, oxidation: number];

/** One charge-balanced family: for each role, the ions it may take. */
export type Family = Readonly<Record<string, readonly Ion[]>>;

export interface Prototype {
  readonly key: string;
  /** The ICSD structure-type name, or `''`. */
  readonly structureType: string;
  readonly group: number;
  readonly z: number;
  readonly kind: 'ionic' | 'metal';
  /** Roles in the order of the structured formula. */
  readonly roles: readonly string[];
  readonly sites: readonly ProtoSite[];
  /** Free parameters: their values in the reference compound. */
  readonly params: Readonly<Record<string, number>>;
  /** Reference cell `a b c alpha beta gamma` of the first ions of the first family. */
  readonly cell: readonly [number, number, number, number, number, number];
  /** Roles whose radii scale the cell (bond lengths that set it). */
  readonly scaleRoles: readonly string[];
  readonly families: readonly Family[];
  readonly weight: number;
  /** Roles that may be shared by two ions (a mixed position). */
  readonly mixRoles?: readonly string[];
  /** Roles that may be partly vacant (e.g. Fe0.95O). */
  readonly vacancyRoles?: readonly string[];
  /** Normal spinel: may be partly inverted (A and B exchanged between 8a and 16d). */
  readonly inversion?: boolean;
  /** Mineral names of compositions (sum formula without counts of 1 removed: `Mg1 O1`), with their group. */
  readonly minerals?: Readonly<Record<string, readonly [string, string]>>;
}

/** Shannon-like ionic radii (Å) by `El` + oxidation, and metallic radii by `El0`. */
// biome-ignore format: a data table, one line per group of ions
export const RADII: ReadonlyMap<string, number> = new Map(
  Object.entries({
    'Li+1': 0.76, 'Na+1': 1.02, 'K+1': 1.38, 'Rb+1': 1.52, 'Cs+1': 1.67, 'Ag+1': 1.15, 'Tl+1': 1.5, 'Cu+1': 0.77,
    'Be+2': 0.45, 'Mg+2': 0.72, 'Ca+2': 1.0, 'Sr+2': 1.18, 'Ba+2': 1.35, 'Mn+2': 0.83, 'Fe+2': 0.78, 'Co+2': 0.745,
    'Ni+2': 0.69, 'Cu+2': 0.73, 'Zn+2': 0.74, 'Cd+2': 0.95, 'Pb+2': 1.19, 'Hg+2': 1.02, 'Ru+2': 0.73, 'Pt+2': 0.8,
    'Al+3': 0.535, 'Ga+3': 0.62, 'In+3': 0.8, 'Cr+3': 0.615, 'Fe+3': 0.645, 'V+3': 0.64, 'Ti+3': 0.67,
    'Sc+3': 0.745, 'Y+3': 0.9, 'La+3': 1.03, 'Nd+3': 0.98, 'Gd+3': 0.94, 'Ce+3': 1.01, 'Bi+3': 1.03,
    'Ti+4': 0.605, 'Zr+4': 0.72, 'Hf+4': 0.71, 'Sn+4': 0.69, 'Ge+4': 0.53, 'Si+4': 0.4, 'Ru+4': 0.62,
    'Ce+4': 0.87, 'Pb+4': 0.775, 'Mn+4': 0.53, 'Nb+5': 0.64, 'Ta+5': 0.64, 'P+5': 0.38, 'V+5': 0.54,
    'W+6': 0.6, 'Mo+6': 0.59,
    'O-2': 1.4, 'S-2': 1.84, 'Se-2': 1.98, 'Te-2': 2.21, 'F-1': 1.33, 'Cl-1': 1.81, 'Br-1': 1.96, 'I-1': 2.2,
    'N-3': 1.46, 'S-1': 1.84, 'Se-1': 1.98,
    Al0: 1.43, Fe0: 1.26, Co0: 1.25, Ni0: 1.24, Cu0: 1.28, Zn0: 1.34, Ga0: 1.35, Pd0: 1.37, Pt0: 1.39,
    Au0: 1.44, Ag0: 1.44, Sn0: 1.51, Ti0: 1.47, Zr0: 1.6, Mg0: 1.6, La0: 1.87, Ce0: 1.82, Nd0: 1.82, Gd0: 1.8,
    Y0: 1.8, Mn0: 1.27, Cr0: 1.28, Mo0: 1.39, W0: 1.39, Nb0: 1.46, Ta0: 1.46, V0: 1.34, In0: 1.67, Si0: 1.17,
    Ge0: 1.25, B0: 0.85, C0: 0.77, Ba0: 2.22, Sr0: 2.15, Ca0: 1.97,
  }),
);

export function radiusOf([element, oxidation]: Ion): number {
  const key = oxidation === 0 ? `${element}0` : `${element}${oxidation > 0 ? '+' : ''}${oxidation}`;
  const r = RADII.get(key);
  if (r === undefined) throw new Error(`icsd simulator: no radius for ${key}`);
  return r;
}

const ions = (elements: string, oxidation: number): Ion[] =>
  elements.split(' ').map((e) => [e, oxidation] as const);

const site = (
  role: string,
  wyckoff: string,
  multiplicity: number,
  x: string,
  y: string,
  z: string,
): ProtoSite => ({ role, wyckoff, multiplicity, xyz: [x, y, z] });

const cubic = (a: number) => [a, a, a, 90, 90, 90] as const;
const tetragonal = (a: number, c: number) => [a, a, c, 90, 90, 90] as const;
const hexagonal = (a: number, c: number) => [a, a, c, 90, 90, 120] as const;

const M1 = ions('Li Na K Rb Ag', 1);
const M2 = ions('Mg Ca Sr Ba Mn Fe Co Ni Cd Pb', 2);
const HALIDES = ions('F Cl Br I', -1);
const CHALCOGENIDES = ions('O S Se Te', -2);
const R3 = ions('La Nd Gd Y Ce', 3);

// biome-ignore format: a data table, one prototype per block
export const PROTOTYPES: readonly Prototype[] = [
  {
    key: 'rocksalt', structureType: 'NaCl', group: 225, z: 4, kind: 'ionic', roles: ['A', 'X'],
    sites: [site('A', 'a', 4, '0', '0', '0'), site('X', 'b', 4, '1/2', '1/2', '1/2')],
    params: {}, cell: cubic(5.6402), scaleRoles: ['A', 'X'], weight: 10,
    families: [{ A: [['Na', 1], ...M1], X: HALIDES }, { A: [['Mg', 2], ...M2], X: CHALCOGENIDES }],
    mixRoles: ['A'], vacancyRoles: ['A'],
    minerals: {
      'Cl1 Na1': ['Halite', 'Halite'], 'Cl1 K1': ['Sylvite', 'Halite'], 'Mg1 O1': ['Periclase', 'Periclase'],
      'Pb1 S1': ['Galena', 'Galena'], 'Fe1 O1': ['Wüstite', 'Periclase'], 'Ni1 O1': ['Bunsenite', 'Periclase'],
    },
  },
  {
    key: 'fluorite', structureType: 'Fluorite-CaF2', group: 225, z: 4, kind: 'ionic', roles: ['A', 'X'],
    sites: [site('A', 'a', 4, '0', '0', '0'), site('X', 'c', 8, '1/4', '1/4', '1/4')],
    params: {}, cell: cubic(5.4626), scaleRoles: ['A', 'X'], weight: 5,
    families: [
      { A: ions('Ca Sr Ba Cd Pb', 2), X: [['F', -1]] },
      { A: ions('Ce Zr Hf', 4), X: [['O', -2]] },
    ],
    mixRoles: ['A'],
    minerals: { 'Ca1 F2': ['Fluorite', 'Fluorite'], 'Ce1 O2': ['Cerianite-(Ce)', 'Fluorite'] },
  },
  {
    key: 'antifluorite', structureType: 'Fluorite-CaF2', group: 225, z: 4, kind: 'ionic', roles: ['A', 'X'],
    sites: [site('A', 'c', 8, '1/4', '1/4', '1/4'), site('X', 'a', 4, '0', '0', '0')],
    params: {}, cell: cubic(4.611), scaleRoles: ['A', 'X'], weight: 2,
    families: [{ A: ions('Li Na K', 1), X: ions('O S Se', -2) }],
  },
  {
    key: 'sphalerite', structureType: 'Sphalerite-ZnS(cF8)', group: 216, z: 4, kind: 'ionic', roles: ['A', 'X'],
    sites: [site('A', 'a', 4, '0', '0', '0'), site('X', 'c', 4, '1/4', '1/4', '1/4')],
    params: {}, cell: cubic(5.409), scaleRoles: ['A', 'X'], weight: 3,
    families: [{ A: ions('Zn Cd Hg', 2), X: ions('S Se Te', -2) }, { A: ions('Ga In Al', 3), X: [['N', -3]] }],
    minerals: { 'S1 Zn1': ['Sphalerite', 'Sphalerite'] },
  },
  {
    key: 'rutile', structureType: 'Rutile-TiO2', group: 136, z: 2, kind: 'ionic', roles: ['A', 'X'],
    sites: [site('A', 'a', 2, '0', '0', '0'), site('X', 'f', 4, 'x', 'x', '0')],
    params: { x: 0.3048 }, cell: tetragonal(4.5937, 2.9587), scaleRoles: ['A', 'X'], weight: 6,
    families: [{ A: ions('Ti Sn Ge Ru Pb Mn', 4), X: [['O', -2]] }, { A: ions('Mg Zn Ni Co Fe', 2), X: [['F', -1]] }],
    mixRoles: ['A'],
    minerals: { 'O2 Ti1': ['Rutile', 'Rutile'], 'O2 Sn1': ['Cassiterite', 'Rutile'], 'F2 Mg1': ['Sellaite', 'Rutile'] },
  },
  {
    key: 'perovskite', structureType: 'Perovskite-CaTiO3', group: 221, z: 1, kind: 'ionic', roles: ['A', 'B', 'X'],
    sites: [site('A', 'b', 1, '1/2', '1/2', '1/2'), site('B', 'a', 1, '0', '0', '0'), site('X', 'd', 3, '1/2', '0', '0')],
    params: {}, cell: cubic(3.905), scaleRoles: ['B', 'X'], weight: 7,
    families: [
      { A: ions('Sr Ba Ca Pb', 2), B: ions('Ti Zr Hf Sn', 4), X: [['O', -2]] },
      { A: ions('K Na', 1), B: ions('Nb Ta', 5), X: [['O', -2]] },
      { A: [['La', 3]], B: ions('Al Ga Fe Cr', 3), X: [['O', -2]] },
      { A: ions('K Rb Cs', 1), B: ions('Mg Zn Ni Co Mn', 2), X: [['F', -1]] },
    ],
    mixRoles: ['A', 'B'],
  },
  {
    key: 'cscl', structureType: 'CsCl', group: 221, z: 1, kind: 'ionic', roles: ['A', 'X'],
    sites: [site('A', 'a', 1, '0', '0', '0'), site('X', 'b', 1, '1/2', '1/2', '1/2')],
    params: {}, cell: cubic(4.123), scaleRoles: ['A', 'X'], weight: 2,
    families: [{ A: ions('Cs Tl', 1), X: ions('Cl Br I', -1) }],
  },
  {
    key: 'spinel', structureType: 'Spinel-Al2MgO4', group: 227, z: 8, kind: 'ionic', roles: ['A', 'B', 'X'],
    sites: [
      site('A', 'a', 8, '1/8', '1/8', '1/8'),
      site('B', 'd', 16, '1/2', '1/2', '1/2'),
      site('X', 'e', 32, 'x', 'x', 'x'),
    ],
    params: { x: 0.2624 }, cell: cubic(8.0831), scaleRoles: ['B', 'X'], weight: 8,
    families: [
      { A: ions('Mg Zn Fe Co Ni Mn', 2), B: ions('Al Cr Fe Ga V', 3), X: [['O', -2]] },
      { A: ions('Zn Cd Fe', 2), B: [['Cr', 3]], X: ions('S Se', -2) },
    ],
    mixRoles: ['B'], inversion: true,
    minerals: {
      'Al2 Mg1 O4': ['Spinel', 'Spinel'], 'Cr2 Fe1 O4': ['Chromite', 'Spinel'], 'Al2 O4 Zn1': ['Gahnite', 'Spinel'],
      'Fe2 Mg1 O4': ['Magnesioferrite', 'Spinel'],
    },
  },
  {
    key: 'wurtzite', structureType: 'Wurtzite-ZnS(2H)', group: 186, z: 2, kind: 'ionic', roles: ['A', 'X'],
    sites: [site('A', 'b', 2, '1/3', '2/3', '0'), site('X', 'b', 2, '1/3', '2/3', 'u')],
    params: { u: 0.3819 }, cell: hexagonal(3.2498, 5.2066), scaleRoles: ['A', 'X'], weight: 5,
    families: [{ A: ions('Zn Cd Be', 2), X: ions('O S Se', -2) }, { A: ions('Ga Al In', 3), X: [['N', -3]] }],
    minerals: { 'O1 Zn1': ['Zincite', 'Wurtzite'], 'S1 Zn1': ['Wurtzite', 'Wurtzite'], 'Cd1 S1': ['Greenockite', 'Wurtzite'] },
  },
  {
    key: 'corundum', structureType: 'Corundum-Al2O3', group: 167, z: 6, kind: 'ionic', roles: ['A', 'X'],
    sites: [site('A', 'c', 12, '0', '0', 'z'), site('X', 'e', 18, 'x', '0', '1/4')],
    params: { z: 0.35216, x: 0.30624 }, cell: hexagonal(4.7589, 12.991), scaleRoles: ['A', 'X'], weight: 6,
    families: [{ A: ions('Al Cr Fe Ga V Ti', 3), X: [['O', -2]] }],
    mixRoles: ['A'],
    minerals: { 'Al2 O3': ['Corundum', 'Corundum'], 'Fe2 O3': ['Hematite', 'Corundum'], 'Cr2 O3': ['Eskolaite', 'Corundum'] },
  },
  {
    key: 'olivine', structureType: 'Olivine-Mg2SiO4', group: 62, z: 4, kind: 'ionic', roles: ['A', 'T', 'X'],
    sites: [
      site('A', 'a', 4, '0', '0', '0'),
      site('A', 'c', 4, 'x1', '1/4', 'z1'),
      site('T', 'c', 4, 'x2', '1/4', 'z2'),
      site('X', 'c', 4, 'x3', '1/4', 'z3'),
      site('X', 'c', 4, 'x4', '1/4', 'z4'),
      site('X', 'd', 8, 'x5', 'y5', 'z5'),
    ],
    params: { x1: 0.2774, z1: 0.9916, x2: 0.094, z2: 0.4265, x3: 0.0916, z3: 0.7661, x4: 0.4469, z4: 0.2198, x5: 0.1628, y5: 0.0331, z5: 0.2778 },
    cell: [10.1943, 5.9807, 4.7553, 90, 90, 90], scaleRoles: ['A', 'X'], weight: 5,
    families: [{ A: ions('Mg Fe Mn Co Ni', 2), T: ions('Si Ge', 4), X: [['O', -2]] }],
    mixRoles: ['A'],
    minerals: { 'Mg2 O4 Si1': ['Forsterite', 'Olivine'], 'Fe2 O4 Si1': ['Fayalite', 'Olivine'], 'Mn2 O4 Si1': ['Tephroite', 'Olivine'] },
  },
  {
    key: 'orthoperovskite', structureType: 'Perovskite-GdFeO3', group: 62, z: 4, kind: 'ionic', roles: ['A', 'B', 'X'],
    sites: [
      site('A', 'c', 4, 'x1', '1/4', 'z1'),
      site('B', 'b', 4, '0', '0', '1/2'),
      site('X', 'c', 4, 'x2', '1/4', 'z2'),
      site('X', 'd', 8, 'x3', 'y3', 'z3'),
    ],
    params: { x1: 0.062, z1: 0.9848, x2: 0.4705, z2: 0.0957, x3: 0.3031, y3: 0.0523, z3: 0.6936 },
    cell: [5.349, 7.668, 5.611, 90, 90, 90], scaleRoles: ['B', 'X'], weight: 5,
    families: [
      { A: R3, B: ions('Fe Cr Al Ga Sc', 3), X: [['O', -2]] },
      { A: ions('Ca Sr', 2), B: ions('Ti Zr Sn', 4), X: [['O', -2]] },
    ],
    mixRoles: ['A'],
    minerals: { 'Ca1 O3 Ti1': ['Perovskite', 'Perovskite'] },
  },
  {
    key: 'baddeleyite', structureType: '', group: 14, z: 4, kind: 'ionic', roles: ['A', 'X'],
    sites: [
      site('A', 'e', 4, 'x1', 'y1', 'z1'),
      site('X', 'e', 4, 'x2', 'y2', 'z2'),
      site('X', 'e', 4, 'x3', 'y3', 'z3'),
    ],
    params: { x1: 0.2754, y1: 0.0395, z1: 0.2083, x2: 0.07, y2: 0.3317, z2: 0.3447, x3: 0.4496, y3: 0.7569, z3: 0.4792 },
    cell: [5.1505, 5.2116, 5.3173, 90, 99.23, 90], scaleRoles: ['A', 'X'], weight: 3,
    families: [{ A: ions('Zr Hf', 4), X: [['O', -2]] }],
    minerals: { 'O2 Zr1': ['Baddeleyite', ''] },
  },
  {
    key: 'monazite', structureType: '', group: 14, z: 4, kind: 'ionic', roles: ['A', 'T', 'X'],
    sites: [
      site('A', 'e', 4, 'x1', 'y1', 'z1'),
      site('T', 'e', 4, 'x2', 'y2', 'z2'),
      site('X', 'e', 4, 'x3', 'y3', 'z3'),
      site('X', 'e', 4, 'x4', 'y4', 'z4'),
      site('X', 'e', 4, 'x5', 'y5', 'z5'),
      site('X', 'e', 4, 'x6', 'y6', 'z6'),
    ],
    params: {
      x1: 0.2816, y1: 0.1595, z1: 0.1001, x2: 0.3044, y2: 0.1635, z2: 0.6125, x3: 0.2491, y3: 0.0066, z3: 0.4436,
      x4: 0.3816, y4: 0.3319, z4: 0.4967, x5: 0.4748, y5: 0.1069, z5: 0.8015, x6: 0.1279, y6: 0.2153, z6: 0.7138,
    },
    cell: [6.831, 7.071, 7.503, 90, 103.27, 90], scaleRoles: ['A', 'X'], weight: 3,
    families: [{ A: ions('La Ce Nd Gd', 3), T: ions('P V', 5), X: [['O', -2]] }],
    minerals: { 'Ce1 O4 P1': ['Monazite-(Ce)', 'Monazite'] },
  },
  {
    key: 'scheelite', structureType: 'Scheelite-CaWO4', group: 88, z: 4, kind: 'ionic', roles: ['A', 'B', 'X'],
    sites: [
      site('A', 'b', 4, '0', '1/4', '5/8'),
      site('B', 'a', 4, '0', '1/4', '1/8'),
      site('X', 'f', 16, 'x', 'y', 'z'),
    ],
    params: { x: 0.2415, y: 0.1504, z: 0.0861 }, cell: tetragonal(5.2429, 11.3737), scaleRoles: ['A', 'X'], weight: 3,
    families: [{ A: ions('Ca Sr Ba Pb', 2), B: ions('W Mo', 6), X: [['O', -2]] }],
    mixRoles: ['A'],
    minerals: { 'Ca1 O4 W1': ['Scheelite', 'Scheelite'], 'Mo1 O4 Pb1': ['Wulfenite', 'Scheelite'] },
  },
  {
    key: 'nias', structureType: 'NiAs', group: 194, z: 2, kind: 'ionic', roles: ['A', 'X'],
    sites: [site('A', 'a', 2, '0', '0', '0'), site('X', 'c', 2, '1/3', '2/3', '1/4')],
    params: {}, cell: hexagonal(3.619, 5.034), scaleRoles: ['A', 'X'], weight: 3,
    families: [{ A: ions('Ni Co Fe Mn', 2), X: ions('S Se Te', -2) }],
    vacancyRoles: ['A'],
    minerals: { 'Fe1 S1': ['Troilite', 'Nickeline'] },
  },
  {
    key: 'cdi2', structureType: 'CdI2', group: 164, z: 1, kind: 'ionic', roles: ['A', 'X'],
    sites: [site('A', 'a', 1, '0', '0', '0'), site('X', 'd', 2, '1/3', '2/3', 'z')],
    params: { z: 0.2492 }, cell: hexagonal(4.24, 6.84), scaleRoles: ['A', 'X'], weight: 3,
    families: [
      { A: ions('Cd Mg Fe Co Ni Mn Pb', 2), X: ions('I Br', -1) },
      { A: ions('Ti Sn Zr', 4), X: ions('S Se', -2) },
    ],
    minerals: { 'Mg1 O2': ['Brucite', 'Brucite'] },
  },
  {
    key: 'k2nif4', structureType: 'K2NiF4', group: 139, z: 2, kind: 'ionic', roles: ['A', 'B', 'X'],
    sites: [
      site('A', 'e', 4, '0', '0', 'z1'),
      site('B', 'a', 2, '0', '0', '0'),
      site('X', 'c', 4, '0', '1/2', '0'),
      site('X', 'e', 4, '0', '0', 'z2'),
    ],
    params: { z1: 0.3521, z2: 0.1519 }, cell: tetragonal(4.006, 13.076), scaleRoles: ['B', 'X'], weight: 4,
    families: [
      { A: ions('K Rb', 1), B: ions('Ni Mg Zn Co Mn', 2), X: [['F', -1]] },
      { A: ions('Sr Ba Ca', 2), B: ions('Ti Sn Zr', 4), X: [['O', -2]] },
      { A: ions('La Nd', 3), B: ions('Ni Cu Co', 2), X: [['O', -2]] },
    ],
    mixRoles: ['A'],
  },
  {
    key: 'delafossite', structureType: 'Delafossite-CuFeO2', group: 166, z: 3, kind: 'ionic', roles: ['A', 'B', 'X'],
    sites: [site('A', 'a', 3, '0', '0', '0'), site('B', 'b', 3, '0', '0', '1/2'), site('X', 'c', 6, '0', '0', 'z')],
    params: { z: 0.1066 }, cell: hexagonal(3.0351, 17.166), scaleRoles: ['B', 'X'], weight: 2,
    families: [{ A: ions('Cu Ag', 1), B: ions('Fe Al Cr Ga In Sc', 3), X: [['O', -2]] }],
    minerals: { 'Cu1 Fe1 O2': ['Delafossite', 'Delafossite'] },
  },
  {
    key: 'pyrite', structureType: 'Pyrite-FeS2', group: 205, z: 4, kind: 'ionic', roles: ['A', 'X'],
    sites: [site('A', 'a', 4, '0', '0', '0'), site('X', 'c', 8, 'x', 'x', 'x')],
    params: { x: 0.3848 }, cell: cubic(5.4179), scaleRoles: ['A', 'X'], weight: 2,
    families: [{ A: ions('Fe Co Ni Mn Ru Pt', 2), X: ions('S Se', -1) }],
    minerals: { 'Fe1 S2': ['Pyrite', 'Pyrite'], 'Co1 S2': ['Cattierite', 'Pyrite'] },
  },
  {
    key: 'chalcopyrite', structureType: '', group: 122, z: 4, kind: 'ionic', roles: ['A', 'B', 'X'],
    sites: [site('A', 'a', 4, '0', '0', '0'), site('B', 'b', 4, '0', '0', '1/2'), site('X', 'd', 8, 'x', '1/4', '1/8')],
    params: { x: 0.2574 }, cell: tetragonal(5.289, 10.423), scaleRoles: ['B', 'X'], weight: 2,
    families: [{ A: ions('Cu Ag', 1), B: ions('Fe Al Ga In', 3), X: ions('S Se Te', -2) }],
    minerals: { 'Cu1 Fe1 S2': ['Chalcopyrite', 'Chalcopyrite'] },
  },
  {
    key: 'pbfcl', structureType: '', group: 129, z: 2, kind: 'ionic', roles: ['A', 'X', 'Y'],
    sites: [site('X', 'a', 2, '3/4', '1/4', '0'), site('A', 'c', 2, '1/4', '1/4', 'z1'), site('Y', 'c', 2, '1/4', '1/4', 'z2')],
    params: { z1: 0.2058, z2: 0.6497 }, cell: tetragonal(4.106, 7.23), scaleRoles: ['A', 'Y'], weight: 2,
    families: [
      { A: ions('Pb Ba Sr Ca', 2), X: [['F', -1]], Y: ions('Cl Br I', -1) },
      { A: [['Bi', 3]], X: [['O', -2]], Y: ions('Cl Br I', -1) },
    ],
    minerals: { 'Cl1 F1 Pb1': ['Matlockite', 'Matlockite'], 'Bi1 Cl1 O1': ['Bismoclite', 'Matlockite'] },
  },
  {
    key: 'triclinic', structureType: '', group: 2, z: 2, kind: 'ionic', roles: ['A', 'T', 'X'],
    sites: [
      site('A', 'i', 2, 'x1', 'y1', 'z1'),
      site('T', 'i', 2, 'x2', 'y2', 'z2'),
      site('X', 'i', 2, 'x3', 'y3', 'z3'),
      site('X', 'i', 2, 'x4', 'y4', 'z4'),
      site('X', 'i', 2, 'x5', 'y5', 'z5'),
    ],
    params: {
      x1: 0.1982, y1: 0.4237, z1: 0.7614, x2: 0.1853, y2: 0.9561, z2: 0.2287, x3: 0.3042, y3: 0.7316, z3: 0.0841,
      x4: 0.3127, y4: 0.1838, z4: 0.4129, x5: 0.9186, y5: 0.9672, z5: 0.3363,
    },
    cell: [5.212, 5.634, 6.107, 98.21, 104.53, 91.34], scaleRoles: ['A', 'X'], weight: 3,
    families: [{ A: ions('Ca Sr Mn Cd', 2), T: ions('Si Ge', 4), X: [['O', -2]] }],
  },
  // Intermetallics and elements.
  {
    key: 'b2', structureType: 'CsCl', group: 221, z: 1, kind: 'metal', roles: ['A', 'B'],
    sites: [site('A', 'a', 1, '0', '0', '0'), site('B', 'b', 1, '1/2', '1/2', '1/2')],
    params: {}, cell: cubic(2.887), scaleRoles: ['A', 'B'], weight: 3,
    families: [{ A: ions('Ni Co Fe Cu Pd', 0), B: ions('Al Ga Zn In', 0) }],
  },
  {
    key: 'cu3au', structureType: 'Cu3Au', group: 221, z: 1, kind: 'metal', roles: ['B', 'A'],
    sites: [site('A', 'a', 1, '0', '0', '0'), site('B', 'c', 3, '0', '1/2', '1/2')],
    params: {}, cell: cubic(3.749), scaleRoles: ['A', 'B'], weight: 3,
    families: [{ A: ions('Au Pt Al Ga Sn', 0), B: ions('Cu Ni Pd Co', 0) }],
  },
  {
    key: 'laves', structureType: 'Laves(cub)-MgCu2', group: 227, z: 8, kind: 'metal', roles: ['A', 'B'],
    sites: [site('A', 'a', 8, '1/8', '1/8', '1/8'), site('B', 'd', 16, '1/2', '1/2', '1/2')],
    params: {}, cell: cubic(7.048), scaleRoles: ['A', 'B'], weight: 3,
    families: [{ A: ions('Mg Zr Ce La Gd Y Ti', 0), B: ions('Cu Ni Co Fe Al Mn Cr', 0) }],
  },
  {
    key: 'l10', structureType: '', group: 123, z: 1, kind: 'metal', roles: ['A', 'B'],
    sites: [site('A', 'a', 1, '0', '0', '0'), site('B', 'd', 1, '1/2', '1/2', '1/2')],
    params: {}, cell: tetragonal(2.8, 3.67), scaleRoles: ['A', 'B'], weight: 2,
    families: [{ A: ions('Au Pt Pd', 0), B: ions('Cu Fe Co Ni', 0) }],
  },
  {
    key: 'thcr2si2', structureType: 'ThCr2Si2', group: 139, z: 2, kind: 'metal', roles: ['A', 'B', 'X'],
    sites: [site('A', 'a', 2, '0', '0', '0'), site('B', 'd', 4, '0', '1/2', '1/4'), site('X', 'e', 4, '0', '0', 'z')],
    params: { z: 0.3786 }, cell: tetragonal(4.04, 10.58), scaleRoles: ['A', 'B'], weight: 3,
    families: [{ A: ions('La Ce Nd Gd Y Ba Sr Ca', 0), B: ions('Fe Co Ni Cu Mn', 0), X: ions('Si Ge', 0) }],
  },
  {
    key: 'alb2', structureType: '', group: 191, z: 1, kind: 'metal', roles: ['A', 'X'],
    sites: [site('A', 'a', 1, '0', '0', '0'), site('X', 'd', 2, '1/3', '2/3', '1/2')],
    params: {}, cell: hexagonal(3.009, 3.262), scaleRoles: ['A', 'X'], weight: 1,
    families: [{ A: ions('Mg Al Ti Zr Nb Ta', 0), X: [['B', 0]] }],
  },
  {
    key: 'wc', structureType: '', group: 187, z: 1, kind: 'metal', roles: ['A', 'X'],
    sites: [site('A', 'a', 1, '0', '0', '0'), site('X', 'd', 1, '1/3', '2/3', '1/2')],
    params: {}, cell: hexagonal(2.906, 2.837), scaleRoles: ['A', 'X'], weight: 1,
    families: [{ A: ions('W Mo', 0), X: [['C', 0]] }],
  },
  {
    key: 'fesi', structureType: '', group: 198, z: 4, kind: 'metal', roles: ['A', 'X'],
    sites: [site('A', 'a', 4, 'x1', 'x1', 'x1'), site('X', 'a', 4, 'x2', 'x2', 'x2')],
    params: { x1: 0.1358, x2: 0.844 }, cell: cubic(4.489), scaleRoles: ['A', 'X'], weight: 1,
    families: [{ A: ions('Fe Co Mn Cr', 0), X: ions('Si Ge', 0) }],
  },
];

/** Elements: one metal on the sites of a close-packed or body-centred lattice. */
// biome-ignore format: a data table, one prototype per block
export const ELEMENT_PROTOTYPES: readonly Prototype[] = [
  {
    key: 'fcc', structureType: 'Cu', group: 225, z: 4, kind: 'metal', roles: ['A'],
    sites: [site('A', 'a', 4, '0', '0', '0')],
    params: {}, cell: cubic(3.615), scaleRoles: ['A'], weight: 3,
    families: [{ A: [['Cu', 0], ...ions('Ag Au Al Ni Pd Pt', 0)] }],
  },
  {
    key: 'bcc', structureType: 'W', group: 229, z: 2, kind: 'metal', roles: ['A'],
    sites: [site('A', 'a', 2, '0', '0', '0')],
    params: {}, cell: cubic(3.165), scaleRoles: ['A'], weight: 2,
    families: [{ A: [['W', 0], ...ions('Fe Cr Mo Nb Ta V', 0)] }],
  },
  {
    key: 'hcp', structureType: 'Mg', group: 194, z: 2, kind: 'metal', roles: ['A'],
    sites: [site('A', 'c', 2, '1/3', '2/3', '1/4')],
    params: {}, cell: hexagonal(3.209, 5.211), scaleRoles: ['A'], weight: 2,
    families: [{ A: [['Mg', 0], ...ions('Ti Zr Co Zn Y Gd', 0)] }],
  },
];

/** Wyckoff letter of the general position of the groups used for molecular (metal-organic) crystals. */
// biome-ignore format: a data table
export const GENERAL_POSITION: ReadonlyMap<number, string> = new Map([
  [2, 'i'], [4, 'a'], [9, 'a'], [12, 'j'], [14, 'e'], [15, 'f'], [19, 'a'], [33, 'a'], [61, 'c'], [62, 'd'],
]);
