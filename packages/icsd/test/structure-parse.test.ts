import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type CrystalStructure,
  ELEMENTS,
  elementOf,
  latticeVectors,
  parseCif,
  parseCifNumber,
  parseSymmetryOperation,
} from '../src/browser.js';

function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/cif/${name}`, import.meta.url), 'utf8');
}

/** Cartesian positions of the atoms of one element, rounded to 1e-3 Å and sorted, for set comparisons. */
function cartesianOf(s: CrystalStructure, element: string): string[] {
  return s.atoms
    .filter((a) => a.element === element)
    .map((a) => a.cartesian.map((v) => (Math.abs(v) < 5e-4 ? '0' : v.toFixed(3))).join(' '))
    .sort();
}

/** Σ occupancy per element over the cell. */
function content(s: CrystalStructure): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of s.atoms) out[a.element] = Math.round(((out[a.element] ?? 0) + a.occupancy) * 1e6) / 1e6;
  return out;
}

function expectFinite(s: CrystalStructure): void {
  for (const a of s.atoms) {
    for (const v of [...a.fract, ...a.cartesian]) expect(Number.isFinite(v)).toBe(true);
    for (const v of a.fract) expect(v >= 0 && v < 1).toBe(true);
  }
}

describe('parseCif on hand-written prototypes', () => {
  it('rock salt (F m -3 m, 192 operations): 8 atoms on 8 positions, citation and dates', () => {
    const s = parseCif(fixture('rocksalt-nacl.cif'));
    expect(s.collectionCode).toBe(900001);
    expect(s.block).toBe('900001-ICSD');
    expect(s.spaceGroup).toEqual({ number: 225, symbol: 'F m -3 m' });
    expect(s.operations).toHaveLength(192);
    expect(s.operations[0]).toEqual({
      xyz: 'x, y, z',
      rotation: [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ],
      translation: [0, 0, 0],
    });
    expect(s.cell.a).toEqual({ value: 5.6402, uncertainty: 0.0001 });
    expect(s.cell.b).toEqual({ value: 5.6402, uncertainty: null });
    expect(s.cell.alpha).toEqual({ value: 90, uncertainty: null });
    expect(s.cell.volume?.value).toBe(179.43);
    expect(s.z).toBe(4);
    expect(s.lattice).toEqual([
      [5.6402, 0, 0],
      [0, 5.6402, 0],
      [0, 0, 5.6402],
    ]);
    expect(s.atoms).toHaveLength(8);
    expect(s.positions).toHaveLength(8);
    expect(s.disordered).toBe(false);
    expect(cartesianOf(s, 'Na')).toEqual(['0 0 0', '0 2.820 2.820', '2.820 0 2.820', '2.820 2.820 0']);
    expect(cartesianOf(s, 'Cl')).toContain('2.820 2.820 2.820');
    const [na, cl] = s.sites;
    expect(na).toMatchObject({
      label: 'Na1',
      typeSymbol: 'Na1+',
      element: 'Na',
      oxidationState: 1,
      wyckoff: 'a',
      multiplicity: 4,
    });
    expect(na?.displacement).toEqual({ kind: 'Biso', value: { value: 1.62, uncertainty: 0.02 } });
    expect(cl).toMatchObject({ element: 'Cl', oxidationState: -1, wyckoff: 'b' });
    expect(s.chemicalName).toBe('Sodium chloride');
    expect(s.formulaSum).toBe('Cl1 Na1');
    expect(s.recordingDate).toBe('2019-04-01');
    expect(s.modificationDate).toBeNull();
    expect(s.citation).toEqual({
      authors: ['Example, A.', 'Müller, B.'],
      title: 'A hand-written rock-salt fixture for sciport',
      journal: 'Journal of Example Crystallography',
      year: 2001,
      volume: '12',
      pageFirst: '101',
      pageLast: '110',
      doi: null,
    });
    expectFinite(s);
    // Plain data: survives JSON.
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('fluorite: 4 Ca and 8 F on the cube of quarter positions; `.` displacement is null', () => {
    const s = parseCif(fixture('fluorite-caf2.cif'));
    expect(s.atoms).toHaveLength(12);
    expect(content(s)).toEqual({ Ca: 4, F: 8 });
    const q = (0.25 * 5.4626).toFixed(3);
    const t = (0.75 * 5.4626).toFixed(3);
    expect(cartesianOf(s, 'F')).toEqual(
      [q, t].flatMap((x) => [q, t].flatMap((y) => [q, t].map((z) => `${x} ${y} ${z}`))).sort(),
    );
    expect(s.sites.map((x) => x.displacement)).toEqual([null, null]);
    expect(s.modificationDate).toBe('2023-06-30');
  });

  it('rutile (P 42/m n m): 2 Ti + 4 O at hand-computed positions, U iso and the aniso tensor by label', () => {
    const s = parseCif(fixture('rutile-tio2.cif'));
    expect(s.spaceGroup).toEqual({ number: 136, symbol: 'P 42/m n m' });
    expect(s.operations).toHaveLength(16);
    expect(s.atoms).toHaveLength(6);
    expect(cartesianOf(s, 'Ti')).toEqual(['0 0 0', '2.297 2.297 1.479']);
    // O at (x, x, 0), (−x, −x, 0), (½+x, ½−x, ½), (½−x, ½+x, ½) with x = 0.3048, a = 4.5937, c = 2.9587
    const a = 4.5937;
    const x = 0.3048;
    const h = (2.9587 / 2).toFixed(3);
    expect(cartesianOf(s, 'O')).toEqual(
      [
        `${(x * a).toFixed(3)} ${(x * a).toFixed(3)} 0`,
        `${((1 - x) * a).toFixed(3)} ${((1 - x) * a).toFixed(3)} 0`,
        `${((0.5 + x) * a).toFixed(3)} ${((0.5 - x) * a).toFixed(3)} ${h}`,
        `${((0.5 - x) * a).toFixed(3)} ${((0.5 + x) * a).toFixed(3)} ${h}`,
      ].sort(),
    );
    const [ti, o] = s.sites;
    expect(ti?.displacement).toEqual({
      kind: 'Uani',
      u11: { value: 0.0066, uncertainty: 0.0001 },
      u22: { value: 0.0066, uncertainty: 0.0001 },
      u33: { value: 0.0051, uncertainty: 0.0001 },
      u12: { value: -0.0002, uncertainty: 0.0001 },
      u13: { value: 0, uncertainty: null },
      u23: { value: 0, uncertainty: null },
    });
    expect(o?.displacement).toEqual({ kind: 'Uiso', value: { value: 0.007, uncertainty: 0.0003 } });
    expect(o?.fract[0]).toEqual({ value: 0.3048, uncertainty: 0.0002 });
    expect(s.citation?.title).toBe('Rutile, written out by hand: a second line of title');
    expect(s.citation?.authors).toEqual(['Ångström, K.', "O'Brien, T."]);
    expect(s.citation?.doi).toBe('10.9999/example.1999.001');
  });

  it('cubic perovskite (P m -3 m): 5 atoms, oxygen on the face centres of the Ti cube', () => {
    const s = parseCif(fixture('perovskite-srtio3.cif'));
    expect(s.operations).toHaveLength(48);
    expect(s.atoms).toHaveLength(5);
    expect(content(s)).toEqual({ Sr: 1, Ti: 1, O: 3 });
    expect(cartesianOf(s, 'O')).toEqual(['0 0 1.952', '0 1.952 0', '1.952 0 0']);
    expect(cartesianOf(s, 'Sr')).toEqual(['1.952 1.952 1.952']);
    // No `_atom_type` loop: oxidation states from the type symbols.
    expect(s.sites.map((x) => x.oxidationState)).toEqual([2, 4, -2]);
    expect(s.citation).toBeNull();
  });

  it('spinel (F d -3 m Z, origin 2): 8 Mg + 16 Al + 32 O = Z × formula, a wrapped loop row', () => {
    const s = parseCif(fixture('spinel-mgal2o4.cif'));
    expect(s.spaceGroup.symbol).toBe('F d -3 m Z');
    expect(s.operations).toHaveLength(192);
    expect(s.atoms).toHaveLength(56);
    expect(s.positions).toHaveLength(56);
    expect(content(s)).toEqual({ Mg: 8, Al: 16, O: 32 });
    expect(s.sites.map((x) => [x.label, x.multiplicity, x.wyckoff])).toEqual([
      ['Mg1', 8, 'a'],
      ['Al1', 16, 'd'],
      ['O1', 32, 'e'],
    ]);
    // 8a of origin choice 2: (1/8, 1/8, 1/8) and (7/8, 3/8, 3/8), plus the F centring
    const e = (f: number): string => (f * 8.0832).toFixed(3);
    expect(cartesianOf(s, 'Mg')).toContain(`${e(1 / 8)} ${e(1 / 8)} ${e(1 / 8)}`);
    expect(cartesianOf(s, 'Mg')).toContain(`${e(7 / 8)} ${e(3 / 8)} ${e(3 / 8)}`);
    expect(s.sites[1]?.displacement).toEqual({ kind: 'Biso', value: { value: 0.35, uncertainty: 0.01 } });
    expect(s.modificationDate).toBe('2024-03-02');
    expectFinite(s);
  });

  it('wurtzite (P 63 m c): hexagonal lattice and positions written 0.3333 / 0.6667', () => {
    const s = parseCif(fixture('wurtzite-zno.cif'));
    const a = 3.2495;
    const c = 5.2069;
    const lattice = s.lattice.flat();
    const expected = [a, 0, 0, -a / 2, (a * Math.sqrt(3)) / 2, 0, 0, 0, c];
    for (const [i, v] of lattice.entries()) expect(v).toBeCloseTo(expected[i]!, 9);
    expect(s.atoms).toHaveLength(4);
    const zn = s.atoms.filter((x) => x.element === 'Zn').map((x) => x.cartesian);
    // (1/3, 2/3, 0) → (0, a/√3, 0); (2/3, 1/3, 1/2) → (a/2, a/(2√3), c/2); 0.3333 shifts them < 1e-3 Å
    const near = (p: readonly number[], q: readonly number[]): boolean =>
      Math.hypot(...p.map((v, i) => v - q[i]!)) < 1e-3;
    expect(zn.some((p) => near(p, [0, a / Math.sqrt(3), 0]))).toBe(true);
    expect(zn.some((p) => near(p, [a / 2, a / (2 * Math.sqrt(3)), c / 2]))).toBe(true);
    const o = s.atoms.filter((x) => x.element === 'O').map((x) => x.cartesian);
    expect(o.some((p) => near(p, [0, a / Math.sqrt(3), 0.3825 * c]))).toBe(true);
    expect(o.some((p) => near(p, [a / 2, a / (2 * Math.sqrt(3)), 0.8825 * c]))).toBe(true);
  });

  it('corundum (R -3 c H): 36 operations, 12 Al + 18 O', () => {
    const s = parseCif(fixture('corundum-al2o3.cif'));
    expect(s.operations).toHaveLength(36);
    expect(s.atoms).toHaveLength(30);
    expect(content(s)).toEqual({ Al: 12, O: 18 });
    expect(cartesianOf(s, 'Al')).toContain(`0 0 ${(0.35216 * 12.991).toFixed(3)}`);
    const r = s.operations.find((op) => op.xyz === '-x+y+2/3, -x+1/3, z+1/3');
    expect(r).toEqual({
      xyz: '-x+y+2/3, -x+1/3, z+1/3',
      rotation: [
        [-1, 1, 0],
        [-1, 0, 0],
        [0, 0, 1],
      ],
      translation: [2 / 3, 1 / 3, 1 / 3],
    });
  });

  it('the 2018 tag dialect (_symmetry_*, _publ_*, _journal_*): sphalerite', () => {
    const s = parseCif(fixture('sphalerite-zns-2018.cif'));
    expect(s.spaceGroup).toEqual({ number: 216, symbol: 'F -4 3 m' });
    expect(s.operations).toHaveLength(96);
    expect(s.atoms).toHaveLength(8);
    expect(content(s)).toEqual({ Zn: 4, S: 4 });
    expect(s.citation).toEqual({
      authors: ['Beispiel, C.', 'Exemple, D.'],
      title: 'Sphalerite in the 2018 tag dialect',
      journal: 'Example Letters',
      year: 1985,
      volume: '7',
      pageFirst: '33',
      pageLast: '35',
      doi: null,
    });
    expect([s.recordingDate, s.modificationDate]).toEqual(['2003-10-01', '2006-04-01']);
  });

  it('shared positions (Mg0.7Ni0.3O): Mg and Ni stay separate atoms of one position each', () => {
    const s = parseCif(fixture('disorder-mg07ni03o.cif'));
    expect(s.atoms).toHaveLength(12);
    expect(s.positions).toHaveLength(8);
    expect(s.disordered).toBe(true);
    expect(content(s)).toEqual({ Mg: 2.8, Ni: 1.2, O: 4 });
    const shared = s.positions.filter((p) => p.atoms.length === 2);
    expect(shared).toHaveLength(4);
    for (const p of shared) {
      expect(p.occupancy).toBeCloseTo(1, 12);
      expect(p.atoms.map((i) => s.atoms[i]?.element).sort()).toEqual(['Mg', 'Ni']);
      for (const i of p.atoms) {
        expect(s.atoms[i]?.position).toBe(s.positions.indexOf(p));
        expect(s.atoms[i]?.cartesian).toEqual(p.cartesian);
      }
    }
  });

  it('a vacancy (Fe0.95O): one row with occupancy 0.95, positions partly empty', () => {
    const s = parseCif(fixture('vacancy-fe095o.cif'));
    expect(s.atoms).toHaveLength(8);
    expect(s.positions).toHaveLength(8);
    expect(s.disordered).toBe(true);
    expect(content(s)).toEqual({ Fe: 3.8, O: 4 });
    expect(s.positions.filter((p) => p.occupancy === 0.95)).toHaveLength(4);
  });

  it('reads CRLF documents exactly as LF ones', () => {
    for (const name of ['spinel-mgal2o4.cif', 'rutile-tio2.cif', 'sphalerite-zns-2018.cif']) {
      const lf = fixture(name);
      expect(parseCif(lf.replace(/\n/g, '\r\n'))).toEqual(parseCif(lf));
    }
  });
});

describe('helpers', () => {
  it('parseCifNumber keeps the uncertainty in the units of the value', () => {
    expect(parseCifNumber('4.2117(2)')).toEqual({ value: 4.2117, uncertainty: 0.0002 });
    expect(parseCifNumber('0.3047(3)')).toEqual({ value: 0.3047, uncertainty: 0.0003 });
    expect(parseCifNumber('-0.5(12)')).toEqual({ value: -0.5, uncertainty: 1.2 });
    expect(parseCifNumber('12.991(1)')).toEqual({ value: 12.991, uncertainty: 0.001 });
    expect(parseCifNumber('1234(5)')).toEqual({ value: 1234, uncertainty: 5 });
    expect(parseCifNumber('90.')).toEqual({ value: 90, uncertainty: null });
    expect(parseCifNumber('.5')).toEqual({ value: 0.5, uncertainty: null });
    expect(parseCifNumber('1.5e-3(2)')).toEqual({ value: 0.0015, uncertainty: 0.0002 });
    expect(parseCifNumber('1.5(2)e-3')).toEqual({ value: 0.0015, uncertainty: 0.0002 });
    for (const bad of ['', '.', '?', '1..2', '4.2x', '1e999', 'NaN', 'Infinity', '4.2(', '(2)', '1,5']) {
      expect(parseCifNumber(bad)).toBeNull();
    }
  });

  it('parseSymmetryOperation reads ICSD operations, decimals and either term order', () => {
    expect(parseSymmetryOperation('-y+1/2, x-y, z+2/3')).toMatchObject({
      rotation: [
        [0, -1, 0],
        [1, -1, 0],
        [0, 0, 1],
      ],
      translation: [0.5, 0, 2 / 3],
    });
    expect(parseSymmetryOperation('X+0.5, 1/2-Y, -z')).toMatchObject({
      rotation: [
        [1, 0, 0],
        [0, -1, 0],
        [0, 0, -1],
      ],
      translation: [0.5, 0.5, 0],
    });
    for (const bad of [
      'x, y',
      'x, x, z',
      '0.5x, y, z',
      'x, y, q',
      'x, y, 1/2',
      'x y z, 1, 2',
      'x, y, z+1/0',
    ]) {
      expect(() => parseSymmetryOperation(bad), bad).toThrow(
        expect.objectContaining({ problem: 'bad_operation' }),
      );
    }
  });

  it('ELEMENTS holds the 118 elements; D and T are hydrogen', () => {
    expect(ELEMENTS).toHaveLength(118);
    expect(new Set(ELEMENTS).size).toBe(118);
    expect([ELEMENTS[0], ELEMENTS[25], ELEMENTS[117]]).toEqual(['H', 'Fe', 'Og']);
    expect(['Mg2+', 'O2-', 'D1+', 'T', 'Og', 'Cl1-', 'Xx', 'MG', '2+'].map(elementOf)).toEqual([
      'Mg',
      'O',
      'H',
      'H',
      'Og',
      'Cl',
      null,
      null,
      null,
    ]);
  });

  it('latticeVectors: spec §14.2 orientation, refuses impossible cells', () => {
    const m = latticeVectors(5, 6, 7, 80, 95, 110).flat();
    const g = (110 * Math.PI) / 180;
    expect(m[0]).toBe(5);
    expect(m[3]).toBeCloseTo(6 * Math.cos(g), 12);
    expect(m[4]).toBeCloseTo(6 * Math.sin(g), 12);
    expect(m[6]).toBeCloseTo(7 * Math.cos((95 * Math.PI) / 180), 12);
    const volume = Math.abs(m[0]! * m[4]! * m[8]!);
    const ca = Math.cos((80 * Math.PI) / 180);
    const cb = Math.cos((95 * Math.PI) / 180);
    const cg = Math.cos(g);
    expect(volume).toBeCloseTo(5 * 6 * 7 * Math.sqrt(1 - ca ** 2 - cb ** 2 - cg ** 2 + 2 * ca * cb * cg), 9);
    expect(() => latticeVectors(5, 5, 5, 120, 120, 120)).toThrow(RangeError);
    expect(() => latticeVectors(0, 5, 5, 90, 90, 90)).toThrow(RangeError);
  });
});
