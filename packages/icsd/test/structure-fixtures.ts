import type { CellAtom, CellPosition, CrystalStructure, Mat3, Vec3 } from '../src/structure/types.js';

/**
 * Hand-made structures for the writers' tests: the expanded cell is given directly (what `parseCif` would
 * produce), atoms with equal fractional coordinates share a position.
 */

const n = (value: number) => ({ value, uncertainty: null });

function latticeOf(a: number, b: number, c: number, alpha: number, beta: number, gamma: number): Mat3 {
  const r = Math.PI / 180;
  const [ca, cb, cg, sg] = [
    Math.cos(alpha * r),
    Math.cos(beta * r),
    Math.cos(gamma * r),
    Math.sin(gamma * r),
  ];
  const cx = c * cb;
  const cy = (c * (ca - cb * cg)) / sg;
  return [
    [a, 0, 0],
    [b * cg, b * sg, 0],
    [cx, cy, Math.sqrt(c * c - cx * cx - cy * cy)],
  ];
}

export interface FixtureAtom {
  element: string;
  fract: Vec3;
  occupancy?: number;
}

export function makeStructure(init: {
  code: number | null;
  cell: [number, number, number, number, number, number];
  z: number | null;
  atoms: FixtureAtom[];
  formulaStructural?: string;
  formulaSum?: string;
  recordingDate?: string | null;
  modificationDate?: string | null;
}): CrystalStructure {
  const [a, b, c, alpha, beta, gamma] = init.cell;
  const lattice = latticeOf(a, b, c, alpha, beta, gamma);
  const cart = (f: Vec3): Vec3 =>
    [0, 1, 2].map(
      (k) => f[0] * lattice[0][k]! + f[1] * lattice[1][k]! + f[2] * lattice[2][k]!,
    ) as unknown as Vec3;
  const positions: { fract: Vec3; atoms: number[]; occupancy: number }[] = [];
  const atoms: CellAtom[] = init.atoms.map((atom, i) => {
    let p = positions.findIndex((q) => q.fract.every((x, k) => Math.abs(x - atom.fract[k]!) < 1e-6));
    if (p === -1) {
      positions.push({ fract: atom.fract, atoms: [], occupancy: 0 });
      p = positions.length - 1;
    }
    const occupancy = atom.occupancy ?? 1;
    positions[p]!.atoms.push(i);
    positions[p]!.occupancy += occupancy;
    return {
      site: 0,
      label: `${atom.element}1`,
      element: atom.element,
      oxidationState: null,
      fract: atom.fract,
      cartesian: cart(atom.fract),
      occupancy,
      position: p,
    };
  });
  const cellPositions: CellPosition[] = positions.map((p) => ({ ...p, cartesian: cart(p.fract) }));
  const code = init.code;
  return {
    collectionCode: code,
    block: `${code ?? 'x'}-ICSD`,
    chemicalName: null,
    formulaStructural: init.formulaStructural ?? null,
    formulaSum: init.formulaSum ?? null,
    z: init.z,
    cell: { a: n(a), b: n(b), c: n(c), alpha: n(alpha), beta: n(beta), gamma: n(gamma), volume: null },
    lattice,
    spaceGroup: { number: null, symbol: null },
    operations: [],
    sites: [],
    atoms,
    positions: cellPositions,
    disordered: cellPositions.some((p) => p.atoms.length > 1 || p.occupancy < 0.999),
    recordingDate: init.recordingDate ?? null,
    modificationDate: init.modificationDate ?? null,
    citation: null,
  };
}

const FCC: Vec3[] = [
  [0, 0, 0],
  [0, 0.5, 0.5],
  [0.5, 0, 0.5],
  [0.5, 0.5, 0],
];
const shift = (f: Vec3, d: Vec3): Vec3 => [(f[0] + d[0]) % 1, (f[1] + d[1]) % 1, (f[2] + d[2]) % 1];

/** Rock salt NaCl (Fm-3m, a = 5.64 Å, Z = 4): 8 ordered positions. */
export function rockSalt(code = 18189): CrystalStructure {
  return makeStructure({
    code,
    cell: [5.64, 5.64, 5.64, 90, 90, 90],
    z: 4,
    formulaStructural: 'Na Cl',
    formulaSum: 'Cl1 Na1',
    recordingDate: '1980-01-01',
    atoms: [
      ...FCC.map((f) => ({ element: 'Na', fract: f })),
      ...FCC.map((f) => ({ element: 'Cl', fract: shift(f, [0.5, 0.5, 0.5]) })),
    ],
  });
}

/** (Mg0.7Ni0.3)O in the rock-salt cell: every cation position shared by Mg and Ni. */
export function magnesiaNickel(): CrystalStructure {
  return makeStructure({
    code: 9863,
    cell: [4.2, 4.2, 4.2, 90, 90, 90],
    z: 4,
    formulaStructural: '(Mg0.7 Ni0.3) O',
    recordingDate: '1990-02-03',
    modificationDate: '2012-08-01',
    atoms: [
      ...FCC.flatMap((f) => [
        { element: 'Mg', fract: f, occupancy: 0.7 },
        { element: 'Ni', fract: f, occupancy: 0.3 },
      ]),
      ...FCC.map((f) => ({ element: 'O', fract: shift(f, [0.5, 0.5, 0.5]) })),
    ],
  });
}

/** Wüstite Fe0.95O: the iron positions partly empty. */
export function wustite(): CrystalStructure {
  return makeStructure({
    code: 82236,
    cell: [4.3, 4.3, 4.3, 90, 90, 90],
    z: 4,
    formulaStructural: 'Fe0.95 O',
    atoms: [
      ...FCC.map((f) => ({ element: 'Fe', fract: f, occupancy: 0.95 })),
      ...FCC.map((f) => ({ element: 'O', fract: shift(f, [0.5, 0.5, 0.5]) })),
    ],
  });
}

/** A hexagonal cell (wurtzite ZnO, P 63 m c, Z = 2), for the lattice of γ = 120°. */
export function wurtzite(): CrystalStructure {
  return makeStructure({
    code: 26170,
    cell: [3.25, 3.25, 5.207, 90, 90, 120],
    z: 2,
    formulaStructural: 'Zn O',
    recordingDate: '1985-05-05',
    atoms: [
      { element: 'Zn', fract: [1 / 3, 2 / 3, 0] },
      { element: 'Zn', fract: [2 / 3, 1 / 3, 0.5] },
      { element: 'O', fract: [1 / 3, 2 / 3, 0.382] },
      { element: 'O', fract: [2 / 3, 1 / 3, 0.882] },
    ],
  });
}

/** Spinel MgAl2O4 reduced to its content (positions not those of Fd-3m: only the counts matter here). */
export function spinelContent(): CrystalStructure {
  const atoms: FixtureAtom[] = [];
  const at = (i: number): Vec3 => [((i * 7) % 56) / 56, ((i * 3) % 56) / 56, (i % 56) / 56];
  let i = 0;
  for (const [element, count] of [
    ['Mg', 8],
    ['Al', 16],
    ['O', 32],
  ] as const) {
    for (let k = 0; k < count; k++) atoms.push({ element, fract: at(i++) });
  }
  return makeStructure({ code: 31379, cell: [8.08, 8.08, 8.08, 90, 90, 90], z: 8, atoms });
}
