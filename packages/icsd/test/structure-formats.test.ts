import { readdirSync, readFileSync } from 'node:fs';
import { UsageError } from '@sciport/core';
import { createIcsdSimulator } from '@sciport/testkit';
import { describe, expect, it } from 'vitest';
import {
  anonymousLabel,
  optimadeStructureSchema,
  parseCif,
  toOptimade,
  toPoscar,
  toStructureJson,
  toXyz,
  UnsupportedStructureError,
} from '../src/browser.js';
import { integerProportions } from '../src/structure/formula.js';
import {
  magnesiaNickel,
  makeStructure,
  rockSalt,
  spinelContent,
  wurtzite,
  wustite,
} from './structure-fixtures.js';

describe('toOptimade', () => {
  it('writes an ordered rock salt as a valid OPTIMADE v1.2 structures entry', () => {
    const entry = toOptimade(rockSalt());
    expect(optimadeStructureSchema.parse(entry)).toEqual(entry);
    expect(entry.id).toBe('18189');
    expect(entry.type).toBe('structures');
    const a = entry.attributes;
    expect(a.immutable_id).toBe('18189');
    expect(a.nsites).toBe(8);
    expect(a.cartesian_site_positions).toHaveLength(8);
    expect(a.cartesian_site_positions[4]).toEqual([2.82, 2.82, 2.82]);
    expect(a.elements).toEqual(['Cl', 'Na']);
    expect(a.nelements).toBe(2);
    expect(a.elements_ratios).toEqual([0.5, 0.5]);
    expect(a.chemical_formula_reduced).toBe('ClNa');
    expect(a.chemical_formula_anonymous).toBe('AB');
    expect(a.chemical_formula_descriptive).toBe('Na Cl');
    expect(a.species).toEqual([
      { name: 'Na', chemical_symbols: ['Na'], concentration: [1] },
      { name: 'Cl', chemical_symbols: ['Cl'], concentration: [1] },
    ]);
    expect(a.species_at_sites).toEqual(['Na', 'Na', 'Na', 'Na', 'Cl', 'Cl', 'Cl', 'Cl']);
    expect(a.structure_features).toEqual([]);
    expect(a.dimension_types).toEqual([1, 1, 1]);
    expect(a.nperiodic_dimensions).toBe(3);
    expect(a.last_modified).toBe('1980-01-01T00:00:00Z');
  });

  it('writes lattice vectors without the noise of cos 90° and never -0', () => {
    const a = toOptimade(rockSalt()).attributes;
    expect(a.lattice_vectors).toEqual([
      [5.64, 0, 0],
      [0, 5.64, 0],
      [0, 0, 5.64],
    ]);
    expect(JSON.stringify(a)).not.toMatch(/e-1[0-9]|-0[,\]]/);
  });

  it('keeps shared positions as one site whose species lists every element (disorder)', () => {
    const entry = toOptimade(magnesiaNickel());
    optimadeStructureSchema.parse(entry);
    const a = entry.attributes;
    expect(a.nsites).toBe(8);
    expect(a.species).toContainEqual({
      name: 'Mg0.7Ni0.3',
      chemical_symbols: ['Mg', 'Ni'],
      concentration: [0.7, 0.3],
    });
    expect(a.species_at_sites.slice(0, 4)).toEqual(Array(4).fill('Mg0.7Ni0.3'));
    expect(a.structure_features).toEqual(['disorder']);
    expect(a.chemical_formula_reduced).toBe('Mg7Ni3O10');
    expect(a.chemical_formula_anonymous).toBe('A10B7C3');
    expect(a.elements).toEqual(['Mg', 'Ni', 'O']);
    expect(a.elements_ratios[0]).toBeCloseTo(0.35, 12);
    expect(a.elements_ratios[1]).toBeCloseTo(0.15, 12);
    expect(a.elements_ratios[2]).toBeCloseTo(0.5, 12);
    // The modification date wins over the recording date.
    expect(a.last_modified).toBe('2012-08-01T00:00:00Z');
  });

  it('gives a partly empty position a vacancy with the rest of the occupancy', () => {
    const entry = toOptimade(wustite());
    optimadeStructureSchema.parse(entry);
    const a = entry.attributes;
    expect(a.species).toContainEqual({
      name: 'Fe0.95vac0.05',
      chemical_symbols: ['Fe', 'vacancy'],
      concentration: [0.95, 0.05],
    });
    expect(a.elements).toEqual(['Fe', 'O']);
    expect(a.structure_features).toEqual(['disorder']);
    expect(a.chemical_formula_reduced).toBe('Fe19O20');
    expect(a.chemical_formula_anonymous).toBe('A20B19');
    expect(a.last_modified).toBeNull();
  });

  it('reduces Al2MgO4 and labels its anonymous formula largest first', () => {
    const a = toOptimade(spinelContent()).attributes;
    expect(a.chemical_formula_reduced).toBe('Al2MgO4');
    expect(a.chemical_formula_anonymous).toBe('A4B2C');
    expect(a.nsites).toBe(56);
  });

  it('treats thirds written 0.3333 / 0.6667 as a full shared position', () => {
    const s = makeStructure({
      code: 1,
      cell: [4, 4, 4, 90, 90, 90],
      z: 1,
      atoms: [
        { element: 'Ga', fract: [0, 0, 0], occupancy: 0.3333 },
        { element: 'In', fract: [0, 0, 0], occupancy: 0.6667 },
        { element: 'As', fract: [0.5, 0.5, 0.5] },
      ],
    });
    const a = toOptimade(s).attributes;
    expect(a.species[0]).toEqual({
      name: 'Ga0.3333In0.6667',
      chemical_symbols: ['Ga', 'In'],
      concentration: [0.3333, 0.6667],
    });
    expect(a.chemical_formula_reduced).toBe('As3GaIn2');
  });

  it('uses the given id, or the block name when the CIF has no collection code', () => {
    expect(toOptimade(rockSalt(), { id: 'icsd-18189' }).id).toBe('icsd-18189');
    const anonymous = makeStructure({
      code: null,
      cell: [3, 3, 3, 90, 90, 90],
      z: 1,
      atoms: [{ element: 'Po', fract: [0, 0, 0] }],
    });
    const entry = toOptimade(anonymous);
    expect(entry.id).toBe('x-ICSD');
    expect(entry.attributes.immutable_id).toBeNull();
    expect(optimadeStructureSchema.safeParse(entry).success).toBe(true);
  });

  it('has a schema that rejects entries whose counts disagree', () => {
    const entry = toOptimade(rockSalt());
    const broken = { ...entry, attributes: { ...entry.attributes, nsites: 7 } };
    expect(optimadeStructureSchema.safeParse(broken).success).toBe(false);
    const noFeature = {
      ...entry,
      attributes: { ...toOptimade(wustite()).attributes, structure_features: [] },
    };
    expect(optimadeStructureSchema.safeParse(noFeature).success).toBe(false);
  });
});

describe('formula helpers', () => {
  it('labels anonymous elements A … Z, Aa … Za, Ab', () => {
    expect([0, 1, 25, 26, 27, 51, 52].map(anonymousLabel)).toEqual(['A', 'B', 'Z', 'Aa', 'Ba', 'Za', 'Ab']);
  });

  it('finds whole proportions with the smallest k ≤ 100', () => {
    expect(integerProportions([2.8, 1.2, 4], 4)).toEqual([7, 3, 10]);
    expect(integerProportions([3.8, 4], 4)).toEqual([19, 20]);
    expect(integerProportions([16, 8, 32], 8)).toEqual([2, 1, 4]);
    expect(integerProportions([16, 8, 32], null)).toEqual([2, 1, 4]);
    // An element with a tiny occupancy still counts at least once.
    expect(integerProportions([0.001, 1], 1)).toEqual(expect.arrayContaining([1]));
  });
});

describe('toPoscar', () => {
  it('writes a VASP 5 POSCAR grouped by element in alphabetical order', () => {
    const text = toPoscar(rockSalt());
    const lines = text.split('\n');
    expect(lines[0]).toBe('ICSD 18189 Cl1 Na1');
    expect(lines[1]).toBe('1.0');
    expect(lines.slice(2, 5)).toEqual(['  5.64 0 0', '  0 5.64 0', '  0 0 5.64']);
    expect(lines[5]).toBe('  Cl Na');
    expect(lines[6]).toBe('  4 4');
    expect(lines[7]).toBe('Direct');
    expect(lines[8]).toBe('  0.5 0.5 0.5 Cl');
    expect(lines.slice(12, 16)).toEqual(['  0 0 0 Na', '  0 0.5 0.5 Na', '  0.5 0 0.5 Na', '  0.5 0.5 0 Na']);
    expect(text.endsWith('Na\n')).toBe(true);
    expect(lines).toHaveLength(17);
  });

  it('takes a one-line comment', () => {
    expect(toPoscar(wurtzite(), { comment: 'ZnO\nwurtzite' }).split('\n')[0]).toBe('ZnO wurtzite');
  });

  it('writes the hexagonal lattice of γ = 120°', () => {
    const lines = toPoscar(wurtzite()).split('\n');
    const b = lines[3]!.trim().split(' ').map(Number);
    expect(b[0]).toBeCloseTo(-1.625, 9);
    expect(b[1]).toBeCloseTo(3.25 * Math.sin((2 * Math.PI) / 3), 9);
    expect(b[2]).toBe(0);
    expect(lines[5]).toBe('  O Zn');
  });

  it('refuses shared positions and vacancies with a typed error that says what to use', () => {
    for (const s of [magnesiaNickel(), wustite()]) {
      let error: unknown;
      try {
        toPoscar(s);
      } catch (e) {
        error = e;
      }
      expect(UnsupportedStructureError.isInstance(error)).toBe(true);
      expect(UsageError.isInstance(error)).toBe(true);
      const e = error as UnsupportedStructureError;
      expect(e.format).toBe('poscar');
      expect(e.entry).toBe(String(s.collectionCode));
      expect(e.message).toMatch(/disordered/);
      expect(e.message).toMatch(/optimade, json or xyz/);
    }
    expect(() => toPoscar(magnesiaNickel())).toThrow(/4 positions are shared/);
    expect(() => toPoscar(wustite())).toThrow(/4 positions are partly empty/);
  });
});

describe('toXyz', () => {
  it('writes extended XYZ with the lattice, the columns and the collection code', () => {
    const lines = toXyz(wurtzite()).split('\n');
    expect(lines[0]).toBe('4');
    expect(lines[1]).toMatch(
      /^Lattice="3\.25 0 0 -1\.62\d* 2\.81\d* 0 0 0 5\.207" Properties=species:S:1:pos:R:3:occupancy:R:1 pbc="T T T" icsd_collection_code=26170$/,
    );
    expect(lines[2]).toMatch(/^Zn -?[0-9.e-]+ [0-9.]+ 0 1$/);
    expect(lines).toHaveLength(7);
    expect(lines[6]).toBe('');
  });

  it('writes every atom of a shared position with its occupancy', () => {
    const lines = toXyz(magnesiaNickel()).trimEnd().split('\n');
    expect(lines[0]).toBe('12');
    expect(lines[2]).toBe('Mg 0 0 0 0.7');
    expect(lines[3]).toBe('Ni 0 0 0 0.3');
  });
});

describe('toStructureJson', () => {
  it('writes the structure with its keys in the order of the type, whatever the object order', () => {
    const s = rockSalt();
    const shuffled = Object.fromEntries(Object.entries(s).reverse()) as unknown as typeof s;
    expect(toStructureJson(shuffled)).toBe(toStructureJson(s));
    expect(Object.keys(JSON.parse(toStructureJson(s))).slice(0, 3)).toEqual([
      'collectionCode',
      'block',
      'chemicalName',
    ]);
    expect(JSON.parse(toStructureJson(s))).toEqual(s);
  });

  it('never writes -0', () => {
    const s = {
      ...rockSalt(),
      lattice: [
        [-0, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ],
    } as unknown as ReturnType<typeof rockSalt>;
    expect(toStructureJson(s)).toContain('"lattice":[[0,0,0]');
  });
});

describe('the writers over parsed ICSD CIFs (test/fixtures/cif)', () => {
  const dir = new URL('./fixtures/cif/', import.meta.url);
  const parsed = (name: string) => parseCif(readFileSync(new URL(name, dir), 'utf8'), { source: name });

  it('gives a valid OPTIMADE entry for every fixture, with the formulas of spec §14.3', () => {
    const seen: Record<string, string> = {};
    for (const name of readdirSync(dir)) {
      const entry = toOptimade(parsed(name));
      expect(optimadeStructureSchema.safeParse(entry).success, name).toBe(true);
      seen[name] = entry.attributes.chemical_formula_reduced;
    }
    expect(seen).toMatchObject({
      'spinel-mgal2o4.cif': 'Al2MgO4',
      'disorder-mg07ni03o.cif': 'Mg7Ni3O10',
      'vacancy-fe095o.cif': 'Fe19O20',
      'rocksalt-nacl.cif': 'ClNa',
    });
  });

  it('writes a POSCAR with as many coordinate lines as the cell has atoms', () => {
    const s = parsed('spinel-mgal2o4.cif');
    const lines = toPoscar(s).trimEnd().split('\n');
    expect(lines[5]).toBe('  Al Mg O');
    expect(lines[6]).toBe('  16 8 32');
    expect(lines.slice(8)).toHaveLength(56);
    expect(() => toPoscar(parsed('disorder-mg07ni03o.cif'))).toThrow(UnsupportedStructureError);
  });

  it('writes JSON that parses back to the same structure', () => {
    const s = parsed('corundum-al2o3.cif');
    expect(JSON.parse(toStructureJson(s))).toEqual(s);
    expect(toStructureJson(parsed('corundum-al2o3.cif'))).toBe(toStructureJson(s));
  });
});

describe('the writers over every CIF of the simulator', () => {
  it('gives schema-valid OPTIMADE, and a POSCAR exactly for the ordered structures', () => {
    const sim = createIcsdSimulator({ entries: 400, seed: 5 });
    let disordered = 0;
    for (const entry of sim.entries) {
      const s = parseCif(sim.cif(entry.id));
      const o = toOptimade(s);
      expect(optimadeStructureSchema.safeParse(o).success, String(entry.collectionCode)).toBe(true);
      expect(o.id).toBe(String(entry.collectionCode));
      const disorder = o.attributes.structure_features.includes('disorder');
      if (disorder) {
        disordered += 1;
        expect(() => toPoscar(s)).toThrow(UnsupportedStructureError);
      } else {
        const lines = toPoscar(s).trimEnd().split('\n');
        expect(lines.length - 8).toBe(o.attributes.nsites);
      }
      expect(toXyz(s).split('\n')[0]).toBe(String(s.atoms.length));
    }
    expect(disordered).toBeGreaterThan(0);
  });
});
