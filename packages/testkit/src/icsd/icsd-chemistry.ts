/**
 * Static tables behind the ICSD simulator: elements and space groups, with the symmetry operations of each
 * space group computed by closing a set of generators.
 *
 * @internal
 */

/** Every element symbol, so that queries can tell an unknown symbol from one that is absent. */
export const ELEMENT_SYMBOLS: ReadonlySet<string> = new Set(
  (
    'H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr Rb Sr Y ' +
    'Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re ' +
    'Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr Rf Db Sg Bh Hs Mt Ds Rg ' +
    'Cn Nh Fl Mc Lv Ts Og'
  ).split(' '),
);

/** Looks up an element symbol case-insensitively (`fe` → `Fe`); `undefined` when there is no such element. */
export function normalizeElement(symbol: string): string | undefined {
  if (!/^[A-Za-z]{1,2}$/.test(symbol)) return undefined;
  const normalized = symbol[0]!.toUpperCase() + symbol.slice(1).toLowerCase();
  return ELEMENT_SYMBOLS.has(normalized) ? normalized : undefined;
}

/** An element the generator uses. */
export interface ElementInfo {
  readonly symbol: string;
  /** English name, capitalised (`Iron`). */
  readonly name: string;
  /** Name as the anion of a binary compound (`oxide`), for anions only. */
  readonly anionName?: string;
  readonly mass: number;
  /** Typical oxidation state, written in the CIF's `_atom_type` loop. */
  readonly oxidation: number;
}

function element(symbol: string, name: string, mass: number, oxidation: number, anionName?: string) {
  const info: ElementInfo =
    anionName === undefined
      ? { symbol, name, mass, oxidation }
      : { symbol, name, mass, oxidation, anionName };
  return info;
}

const ELEMENT_LIST: readonly ElementInfo[] = [
  element('H', 'Hydrogen', 1.008, 1),
  element('Li', 'Lithium', 6.94, 1),
  element('Be', 'Beryllium', 9.012, 2),
  element('B', 'Boron', 10.81, 3),
  element('C', 'Carbon', 12.011, 0),
  element('N', 'Nitrogen', 14.007, -3, 'nitride'),
  element('O', 'Oxygen', 15.999, -2, 'oxide'),
  element('F', 'Fluorine', 18.998, -1, 'fluoride'),
  element('Na', 'Sodium', 22.99, 1),
  element('Mg', 'Magnesium', 24.305, 2),
  element('Al', 'Aluminium', 26.982, 3),
  element('Si', 'Silicon', 28.085, 4),
  element('P', 'Phosphorus', 30.974, -3, 'phosphide'),
  element('S', 'Sulfur', 32.06, -2, 'sulfide'),
  element('Cl', 'Chlorine', 35.45, -1, 'chloride'),
  element('K', 'Potassium', 39.098, 1),
  element('Ca', 'Calcium', 40.078, 2),
  element('Sc', 'Scandium', 44.956, 3),
  element('Ti', 'Titanium', 47.867, 4),
  element('V', 'Vanadium', 50.942, 5),
  element('Cr', 'Chromium', 51.996, 3),
  element('Mn', 'Manganese', 54.938, 2),
  element('Fe', 'Iron', 55.845, 3),
  element('Co', 'Cobalt', 58.933, 2),
  element('Ni', 'Nickel', 58.693, 2),
  element('Cu', 'Copper', 63.546, 2),
  element('Zn', 'Zinc', 65.38, 2),
  element('Ga', 'Gallium', 69.723, 3),
  element('Ge', 'Germanium', 72.63, 4),
  element('As', 'Arsenic', 74.922, -3, 'arsenide'),
  element('Se', 'Selenium', 78.971, -2, 'selenide'),
  element('Br', 'Bromine', 79.904, -1, 'bromide'),
  element('Rb', 'Rubidium', 85.468, 1),
  element('Sr', 'Strontium', 87.62, 2),
  element('Y', 'Yttrium', 88.906, 3),
  element('Zr', 'Zirconium', 91.224, 4),
  element('Nb', 'Niobium', 92.906, 5),
  element('Mo', 'Molybdenum', 95.95, 6),
  element('Ru', 'Ruthenium', 101.07, 4),
  element('Pd', 'Palladium', 106.42, 2),
  element('Ag', 'Silver', 107.868, 1),
  element('Cd', 'Cadmium', 112.41, 2),
  element('In', 'Indium', 114.82, 3),
  element('Sn', 'Tin', 118.71, 4),
  element('Sb', 'Antimony', 121.76, -3, 'antimonide'),
  element('Te', 'Tellurium', 127.6, -2, 'telluride'),
  element('I', 'Iodine', 126.904, -1, 'iodide'),
  element('Cs', 'Caesium', 132.905, 1),
  element('Ba', 'Barium', 137.327, 2),
  element('La', 'Lanthanum', 138.905, 3),
  element('Ce', 'Cerium', 140.116, 4),
  element('Nd', 'Neodymium', 144.242, 3),
  element('Gd', 'Gadolinium', 157.25, 3),
  element('Hf', 'Hafnium', 178.49, 4),
  element('Ta', 'Tantalum', 180.948, 5),
  element('W', 'Tungsten', 183.84, 6),
  element('Pt', 'Platinum', 195.084, 4),
  element('Au', 'Gold', 196.967, 1),
  element('Hg', 'Mercury', 200.592, 2),
  element('Tl', 'Thallium', 204.38, 1),
  element('Pb', 'Lead', 207.2, 2),
  element('Bi', 'Bismuth', 208.98, 3),
];

export const ELEMENTS: ReadonlyMap<string, ElementInfo> = new Map(ELEMENT_LIST.map((e) => [e.symbol, e]));

export function elementInfo(symbol: string): ElementInfo {
  const info = ELEMENTS.get(symbol);
  if (info === undefined) throw new Error(`icsd simulator: no data for element ${symbol}`);
  return info;
}

/** Cations of inorganic compounds, repeated by how often they should occur. */
export const CATIONS: readonly string[] = (
  'Li Li Na Na K Rb Cs Be Mg Mg Ca Ca Sr Ba Ba Sc Y La La Ce Nd Gd Ti Ti Zr Hf V Nb Ta Cr Mo W Mn Mn Fe Fe Fe ' +
  'Co Co Ni Ni Cu Cu Ag Au Zn Zn Cd Hg Al Al Ga In Tl Si Ge Sn Pb Bi Pd Pt Ru B'
).split(' ');

/** Anions, repeated by how often they should occur (oxides dominate the ICSD). */
export const ANIONS: readonly string[] = 'O O O O O O O O S S Se Te F F Cl Cl Br I N P As Sb'.split(' ');

/** Metals of intermetallic compounds. */
export const METALS: readonly string[] =
  'Al Fe Co Ni Cu Zn Ga Pd Pt Au Ag Sn Ti Zr Mg La Ce Nd Gd Y Mn Cr Mo W Bi In'.split(' ');

/** Metals of metal-organic compounds. */
export const MO_METALS: readonly string[] = 'Cu Zn Co Ni Fe Mn Cd Ag Mg Ca Pd Pt'.split(' ');

/** Ligands of metal-organic compounds: structured formula part, composition, name. */
export interface Ligand {
  readonly formula: string;
  readonly composition: readonly (readonly [string, number])[];
  readonly name: string;
}

export const LIGANDS: readonly Ligand[] = [
  {
    formula: 'C2 H3 O2',
    composition: [
      ['C', 2],
      ['H', 3],
      ['O', 2],
    ],
    name: 'acetate',
  },
  {
    formula: 'C H O2',
    composition: [
      ['C', 1],
      ['H', 1],
      ['O', 2],
    ],
    name: 'formate',
  },
  {
    formula: 'C2 O4',
    composition: [
      ['C', 2],
      ['O', 4],
    ],
    name: 'oxalate',
  },
  {
    formula: 'C5 H5',
    composition: [
      ['C', 5],
      ['H', 5],
    ],
    name: 'cyclopentadienide',
  },
  {
    formula: 'C7 H5 O2',
    composition: [
      ['C', 7],
      ['H', 5],
      ['O', 2],
    ],
    name: 'benzoate',
  },
  {
    formula: 'C8 H4 O4',
    composition: [
      ['C', 8],
      ['H', 4],
      ['O', 4],
    ],
    name: 'terephthalate',
  },
  {
    formula: 'C3 H3 N2',
    composition: [
      ['C', 3],
      ['H', 3],
      ['N', 2],
    ],
    name: 'imidazolate',
  },
  {
    formula: 'C N',
    composition: [
      ['C', 1],
      ['N', 1],
    ],
    name: 'cyanide',
  },
];

// ---------------------------------------------------------------------------------------------------------
// Space groups
// ---------------------------------------------------------------------------------------------------------

export type CrystalSystem =
  | 'triclinic'
  | 'monoclinic'
  | 'orthorhombic'
  | 'tetragonal'
  | 'trigonal'
  | 'hexagonal'
  | 'cubic';

export function crystalSystemOf(spaceGroupNumber: number): CrystalSystem {
  if (spaceGroupNumber <= 2) return 'triclinic';
  if (spaceGroupNumber <= 15) return 'monoclinic';
  if (spaceGroupNumber <= 74) return 'orthorhombic';
  if (spaceGroupNumber <= 142) return 'tetragonal';
  if (spaceGroupNumber <= 167) return 'trigonal';
  if (spaceGroupNumber <= 194) return 'hexagonal';
  return 'cubic';
}

export interface SpaceGroup {
  readonly number: number;
  /** Hermann–Mauguin symbol as ICSD writes it: space-separated, full monoclinic symbol, setting suffix. */
  readonly symbol: string;
  /** Short symbol without spaces (`P21/c`). */
  readonly short: string;
  /** Generators besides the identity and the lattice centring, as CIF xyz strings. */
  readonly generators: readonly string[];
  readonly centering: 'P' | 'A' | 'C' | 'I' | 'F' | 'R';
  /** Number of symmetry operations in the conventional cell (multiplicity of the general position). */
  readonly order: number;
  /** Relative frequency in the generated data. */
  readonly weight: number;
}

function sg(
  number: number,
  symbol: string,
  short: string,
  centering: SpaceGroup['centering'],
  order: number,
  weight: number,
  generators: readonly string[],
): SpaceGroup {
  return { number, symbol, short, centering, order, weight, generators };
}

const INV = '-x, -y, -z';

/**
 * The space groups the simulator uses, in their standard settings (origin choice 2 where there are two,
 * hexagonal axes for rhombohedral groups). Generators follow International Tables for Crystallography A.
 */
export const SPACE_GROUPS: readonly SpaceGroup[] = [
  sg(1, 'P 1', 'P1', 'P', 1, 2, []),
  sg(2, 'P -1', 'P-1', 'P', 2, 8, [INV]),
  sg(4, 'P 1 21 1', 'P21', 'P', 2, 2, ['-x, y+1/2, -z']),
  sg(5, 'C 1 2 1', 'C2', 'C', 4, 1, ['-x, y, -z']),
  sg(7, 'P 1 c 1', 'Pc', 'P', 2, 1, ['x, -y, z+1/2']),
  sg(9, 'C 1 c 1', 'Cc', 'C', 4, 1, ['x, -y, z+1/2']),
  sg(11, 'P 1 21/m 1', 'P21/m', 'P', 4, 3, ['-x, y+1/2, -z', INV]),
  sg(12, 'C 1 2/m 1', 'C2/m', 'C', 8, 6, ['-x, y, -z', INV]),
  sg(14, 'P 1 21/c 1', 'P21/c', 'P', 4, 16, ['-x, y+1/2, -z+1/2', INV]),
  sg(15, 'C 1 2/c 1', 'C2/c', 'C', 8, 8, ['-x, y, -z+1/2', INV]),
  sg(19, 'P 21 21 21', 'P212121', 'P', 4, 3, ['-x+1/2, -y, z+1/2', '-x, y+1/2, -z+1/2']),
  sg(33, 'P n a 21', 'Pna21', 'P', 4, 2, ['-x, -y, z+1/2', 'x+1/2, -y+1/2, z']),
  sg(43, 'F d d 2', 'Fdd2', 'F', 16, 1, ['-x, -y, z', '-x+1/4, y+1/4, z+1/4']),
  sg(60, 'P b c n', 'Pbcn', 'P', 8, 2, ['-x+1/2, -y+1/2, z+1/2', '-x, y, -z+1/2', INV]),
  sg(61, 'P b c a', 'Pbca', 'P', 8, 3, ['-x+1/2, -y, z+1/2', '-x, y+1/2, -z+1/2', INV]),
  sg(62, 'P n m a', 'Pnma', 'P', 8, 10, ['-x+1/2, -y, z+1/2', '-x, y+1/2, -z', INV]),
  sg(63, 'C m c m', 'Cmcm', 'C', 16, 4, ['-x, -y, z+1/2', '-x, y, -z+1/2', INV]),
  sg(74, 'I m m a', 'Imma', 'I', 16, 1, ['-x, -y+1/2, z', '-x, y+1/2, -z', INV]),
  sg(88, 'I 41/a Z', 'I41/a', 'I', 16, 2, ['-x+1/2, -y, z+1/2', '-y+3/4, x+1/4, z+1/4', INV]),
  sg(122, 'I -4 2 d', 'I-42d', 'I', 16, 1, ['-x, -y, z', 'y, -x, -z', '-x+1/2, y, -z+3/4']),
  sg(123, 'P 4/m m m', 'P4/mmm', 'P', 16, 4, ['-x, -y, z', '-y, x, z', '-x, y, -z', INV]),
  sg(129, 'P 4/n m m Z', 'P4/nmm', 'P', 16, 3, ['-x+1/2, -y+1/2, z', '-y+1/2, x, z', '-x, y+1/2, -z', INV]),
  sg(136, 'P 42/m n m', 'P42/mnm', 'P', 16, 2, [
    '-x, -y, z',
    '-y+1/2, x+1/2, z+1/2',
    '-x+1/2, y+1/2, -z+1/2',
    INV,
  ]),
  sg(139, 'I 4/m m m', 'I4/mmm', 'I', 32, 6, ['-x, -y, z', '-y, x, z', '-x, y, -z', INV]),
  sg(140, 'I 4/m c m', 'I4/mcm', 'I', 32, 2, ['-x, -y, z', '-y, x, z', '-x, y, -z+1/2', INV]),
  sg(141, 'I 41/a m d Z', 'I41/amd', 'I', 32, 2, [
    '-x+1/2, -y, z+1/2',
    '-y+1/4, x+3/4, z+1/4',
    '-x+1/2, y, -z+1/2',
    INV,
  ]),
  sg(148, 'R -3 H', 'R-3', 'R', 18, 2, ['-y, x-y, z', INV]),
  sg(160, 'R 3 m H', 'R3m', 'R', 18, 1, ['-y, x-y, z', '-y, -x, z']),
  sg(164, 'P -3 m 1', 'P-3m1', 'P', 12, 3, ['-y, x-y, z', 'y, x, -z', INV]),
  sg(166, 'R -3 m H', 'R-3m', 'R', 36, 5, ['-y, x-y, z', 'y, x, -z', INV]),
  sg(167, 'R -3 c H', 'R-3c', 'R', 36, 3, ['-y, x-y, z', 'y, x, -z+1/2', INV]),
  sg(176, 'P 63/m', 'P63/m', 'P', 12, 2, ['-y, x-y, z', '-x, -y, z+1/2', INV]),
  sg(186, 'P 63 m c', 'P63mc', 'P', 12, 2, ['-y, x-y, z', '-x, -y, z+1/2', '-y, -x, z']),
  sg(187, 'P -6 m 2', 'P-6m2', 'P', 12, 1, ['-y, x-y, z', 'x, y, -z', '-y, -x, z']),
  sg(191, 'P 6/m m m', 'P6/mmm', 'P', 24, 4, ['-y, x-y, z', '-x, -y, z', 'y, x, -z', INV]),
  sg(194, 'P 63/m m c', 'P63/mmc', 'P', 24, 6, ['-y, x-y, z', '-x, -y, z+1/2', 'y, x, -z', INV]),
  sg(198, 'P 21 3', 'P213', 'P', 12, 1, ['-x+1/2, -y, z+1/2', '-x, y+1/2, -z+1/2', 'z, x, y']),
  sg(204, 'I m -3', 'Im-3', 'I', 48, 1, ['-x, -y, z', '-x, y, -z', 'z, x, y', INV]),
  sg(205, 'P a -3', 'Pa-3', 'P', 24, 1, ['-x+1/2, -y, z+1/2', '-x, y+1/2, -z+1/2', 'z, x, y', INV]),
  sg(216, 'F -4 3 m', 'F-43m', 'F', 96, 3, ['-x, -y, z', '-x, y, -z', 'z, x, y', 'y, x, z']),
  sg(221, 'P m -3 m', 'Pm-3m', 'P', 48, 5, ['-x, -y, z', '-x, y, -z', 'z, x, y', 'y, x, -z', INV]),
  sg(225, 'F m -3 m', 'Fm-3m', 'F', 192, 7, ['-x, -y, z', '-x, y, -z', 'z, x, y', 'y, x, -z', INV]),
  sg(227, 'F d -3 m Z', 'Fd-3m', 'F', 192, 4, [
    '-x+3/4, -y+1/4, z+1/2',
    '-x+1/4, y+1/2, -z+3/4',
    'z, x, y',
    'y+3/4, x+1/4, -z+1/2',
    INV,
  ]),
  sg(229, 'I m -3 m', 'Im-3m', 'I', 96, 2, ['-x, -y, z', '-x, y, -z', 'z, x, y', 'y, x, -z', INV]),
];

export const SPACE_GROUP_BY_NUMBER: ReadonlyMap<number, SpaceGroup> = new Map(
  SPACE_GROUPS.map((group) => [group.number, group]),
);

/** Space groups typical of molecular (metal-organic) crystals. */
export const MO_SPACE_GROUPS: readonly number[] = [2, 2, 14, 14, 14, 14, 15, 15, 19, 61, 62, 4, 33, 9, 12];

/** Bravais lattice name used by the `BRAVAISLATTICE` expert field. */
export function bravaisLatticeOf(group: SpaceGroup): string {
  switch (group.centering) {
    case 'A':
      return 'a-centered';
    case 'C':
      return 'c-centered';
    case 'I':
      return 'Body-centered';
    case 'F':
      return 'Face-centered';
    case 'R':
      return 'Rhombohedral';
    default:
      return 'Primitive';
  }
}

// ---------------------------------------------------------------------------------------------------------
// Symmetry operations: affine maps with integer matrices and translations in twelfths, closed into groups.
// ---------------------------------------------------------------------------------------------------------

/** `[r00, r01, r02, r10, …, r22, t0, t1, t2]`, translations in twelfths, in `[0, 12)`. */
type Operation = readonly number[];

const CENTERING_TRANSLATIONS: Record<SpaceGroup['centering'], readonly (readonly number[])[]> = {
  P: [],
  A: [[0, 6, 6]],
  C: [[6, 6, 0]],
  I: [[6, 6, 6]],
  F: [
    [0, 6, 6],
    [6, 0, 6],
    [6, 6, 0],
  ],
  R: [
    [8, 4, 4],
    [4, 8, 8],
  ],
};

const mod12 = (value: number): number => ((value % 12) + 12) % 12;

/** Parses `-x+y+1/2`-style CIF operations. */
export function parseOperation(text: string): Operation {
  const parts = text.split(',');
  if (parts.length !== 3) throw new Error(`Bad symmetry operation: ${text}`);
  const op: number[] = new Array<number>(12).fill(0);
  parts.forEach((part, row) => {
    const compact = part.replace(/\s+/g, '');
    const terms = compact.match(/[+-]?[^+-]+/g) ?? [];
    for (const term of terms) {
      const sign = term.startsWith('-') ? -1 : 1;
      const body = term.replace(/^[+-]/, '');
      const axis = 'xyz'.indexOf(body);
      if (axis >= 0) {
        op[row * 3 + axis] = sign;
        continue;
      }
      const fraction = /^(\d+)\/(\d+)$/.exec(body);
      if (fraction === null || 12 % Number(fraction[2]) !== 0) {
        throw new Error(`Bad symmetry operation term: ${term} in ${text}`);
      }
      op[9 + row] = mod12((sign * Number(fraction[1]) * 12) / Number(fraction[2]));
    }
  });
  return op;
}

function compose(a: Operation, b: Operation): Operation {
  // (a ∘ b)(x) = Ra (Rb x + tb) + ta
  const result: number[] = new Array<number>(12).fill(0);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let sum = 0;
      for (let k = 0; k < 3; k++) sum += a[i * 3 + k]! * b[k * 3 + j]!;
      result[i * 3 + j] = sum;
    }
    let t = a[9 + i]!;
    for (let k = 0; k < 3; k++) t += a[i * 3 + k]! * b[9 + k]!;
    result[9 + i] = mod12(t);
  }
  return result;
}

const FRACTIONS: Record<number, string> = {
  1: '1/12',
  2: '1/6',
  3: '1/4',
  4: '1/3',
  5: '5/12',
  6: '1/2',
  7: '7/12',
  8: '2/3',
  9: '3/4',
  10: '5/6',
  11: '11/12',
};

/** Formats an operation as ICSD writes it: `-x+1/2, y, -z+1/2`. */
export function formatOperation(op: Operation): string {
  const rows: string[] = [];
  for (let i = 0; i < 3; i++) {
    let text = '';
    for (let j = 0; j < 3; j++) {
      const c = op[i * 3 + j]!;
      if (c === 0) continue;
      const axis = 'xyz'[j]!;
      if (c === 1) text += text === '' ? axis : `+${axis}`;
      else if (c === -1) text += `-${axis}`;
      else text += `${c > 0 && text !== '' ? '+' : ''}${c}${axis}`;
    }
    const t = op[9 + i]!;
    if (t !== 0) text += `+${FRACTIONS[t]}`;
    rows.push(text);
  }
  return rows.join(', ');
}

const IDENTITY: Operation = [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0];

/** Closes the generators (and the centring translations) into the full list of operations, identity first. */
export function closeGroup(group: SpaceGroup): Operation[] {
  const generators = group.generators.map(parseOperation);
  for (const t of CENTERING_TRANSLATIONS[group.centering]) {
    generators.push([1, 0, 0, 0, 1, 0, 0, 0, 1, ...t]);
  }
  const key = (op: Operation): string => op.join(',');
  const seen = new Map<string, Operation>([[key(IDENTITY), IDENTITY]]);
  const queue: Operation[] = [IDENTITY];
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const generator of generators) {
      const next = compose(generator, current);
      const k = key(next);
      if (!seen.has(k)) {
        seen.set(k, next);
        queue.push(next);
        if (seen.size > 192) throw new Error(`Space group ${group.number}: generators do not close`);
      }
    }
  }
  return [...seen.values()];
}

const operationCache = new Map<number, readonly string[]>();

/** The symmetry operations of a space group of {@link SPACE_GROUPS}, formatted, identity first (cached). */
export function symmetryOperations(group: SpaceGroup): readonly string[] {
  let ops = operationCache.get(group.number);
  if (ops === undefined) {
    ops = closeGroup(group).map(formatOperation);
    operationCache.set(group.number, ops);
  }
  return ops;
}
