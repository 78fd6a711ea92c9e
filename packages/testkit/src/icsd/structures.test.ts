import { describe, expect, it } from 'vitest';
import { createIcsdSimulator } from './icsd-simulator.js';

// Every served CIF is symmetry-consistent (spec §14.1, §14.2, Appendix A), checked by a small expansion written
// here, independent of the simulator: parse the operations and the atom sites, apply every operation, wrap into
// [0, 1), de-duplicate within 1e-3, compare with the stated multiplicity and with Z × _chemical_formula_sum.

/** CIF values of one document, by tokens: quoted strings, bare words; `;` text fields and comments skipped. */
function tokens(cif: string): string[] {
  const out: string[] = [];
  const lines = cif.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith(';')) {
      while (!lines[++i]!.startsWith(';'));
      out.push('<text>');
      continue;
    }
    for (const m of line.matchAll(/'([^']*)'(?=\s|$)|"([^"]*)"(?=\s|$)|(#.*$)|(\S+)/g)) {
      if (m[3] !== undefined) break;
      out.push(m[1] ?? m[2] ?? m[4]!);
    }
  }
  return out;
}

/** The loops and single items of a CIF. */
function parse(cif: string): { items: Map<string, string>; loops: Map<string, string>[][] } {
  const t = tokens(cif);
  const items = new Map<string, string>();
  const loops: Map<string, string>[][] = [];
  let i = 0;
  while (i < t.length) {
    if (t[i] === 'loop_') {
      i++;
      const names: string[] = [];
      while (i < t.length && t[i]!.startsWith('_')) names.push(t[i++]!);
      const rows: Map<string, string>[] = [];
      while (i < t.length && !t[i]!.startsWith('_') && t[i] !== 'loop_' && !t[i]!.startsWith('data_')) {
        const row = new Map<string, string>();
        for (const name of names) row.set(name, t[i++]!);
        rows.push(row);
      }
      loops.push(rows);
    } else if (t[i]!.startsWith('_')) {
      items.set(t[i]!, t[i + 1]!);
      i += 2;
    } else i++;
  }
  return { items, loops };
}

const num = (text: string): number => Number(text.replace(/\(\d+\)$/, ''));

type Op = (p: readonly number[]) => number[];

function parseOp(text: string): Op {
  const rows = text.split(',').map((part) => {
    const coefficients = [0, 0, 0];
    let shift = 0;
    for (const term of part.replace(/\s+/g, '').match(/[+-]?[^+-]+/g)!) {
      const sign = term.startsWith('-') ? -1 : 1;
      const body = term.replace(/^[+-]/, '');
      const axis = 'xyz'.indexOf(body);
      if (axis >= 0) coefficients[axis] = sign;
      else {
        const [n, d] = body.split('/').map(Number) as [number, number];
        shift += (sign * n) / d;
      }
    }
    return { coefficients, shift };
  });
  return (p) =>
    rows.map(
      (r) => r.coefficients[0]! * p[0]! + r.coefficients[1]! * p[1]! + r.coefficients[2]! * p[2]! + r.shift,
    );
}

const wrap = (v: number): number => {
  const w = v - Math.floor(v);
  return w > 1 - 1e-9 ? 0 : w;
};
const same = (a: readonly number[], b: readonly number[]): boolean =>
  a.every((v, k) => {
    const d = Math.abs(v - b[k]!);
    return Math.min(d, 1 - d) < 1e-3;
  });

function expand(ops: readonly Op[], point: readonly number[]): number[][] {
  const images: number[][] = [];
  for (const op of ops) {
    const image = op(point).map(wrap);
    if (!images.some((q) => same(q, image))) images.push(image);
  }
  return images;
}

describe('symmetry-consistent CIFs', () => {
  const sim = createIcsdSimulator({ entries: 2000, seed: 5 });

  it('expands every site of every entry to its multiplicity, and the cell to Z × the sum formula', () => {
    const groups = new Map<number, number>();
    let shared = 0;
    let vacancies = 0;
    let aniso = 0;
    let dots = 0;
    for (const entry of sim.entries) {
      const cif = sim.cif(entry.id);
      const { items, loops } = parse(cif);
      const name = `${entry.collectionCode} (${entry.spaceGroupSymbol}, ${entry.structuredFormula})`;
      const opLoop = loops.find(
        (l) => l[0]!.has('_space_group_symop_operation_xyz') || l[0]!.has('_symmetry_equiv_pos_as_xyz'),
      )!;
      const ops = opLoop.map((r) =>
        parseOp(r.get('_space_group_symop_operation_xyz') ?? r.get('_symmetry_equiv_pos_as_xyz')!),
      );
      const number = Number(items.get('_space_group_IT_number') ?? items.get('_symmetry_Int_Tables_number'));
      groups.set(number, ops.length);
      const z = Number(items.get('_cell_formula_units_Z'));
      const formula = new Map<string, number>();
      for (const part of items.get('_chemical_formula_sum')!.split(' ')) {
        const m = /^([A-Z][a-z]?)([\d.]+)$/.exec(part)!;
        formula.set(m[1]!, Number(m[2]));
      }
      const sites = loops.find((l) => l[0]!.has('_atom_site_fract_x'))!;
      const content = new Map<string, number>();
      const positions: number[][] = [];
      const occupancyAt: number[] = [];
      for (const site of sites) {
        const point = ['x', 'y', 'z'].map((a) => num(site.get(`_atom_site_fract_${a}`)!));
        const images = expand(ops, point);
        expect(images.length, `${name} ${site.get('_atom_site_label')}`).toBe(
          Number(site.get('_atom_site_symmetry_multiplicity')),
        );
        const element = /^[A-Z][a-z]?/.exec(site.get('_atom_site_type_symbol')!)![0];
        const occupancy = num(site.get('_atom_site_occupancy')!);
        content.set(element, (content.get(element) ?? 0) + images.length * occupancy);
        const at = positions.findIndex((q) => same(q, point));
        if (at >= 0) {
          occupancyAt[at]! += occupancy;
          shared += 1;
        } else {
          positions.push(point);
          occupancyAt.push(occupancy);
        }
        const b = site.get('_atom_site_B_iso_or_equiv') ?? site.get('_atom_site_U_iso_or_equiv');
        if (b !== undefined) {
          expect(b, name).toMatch(/^(\.|\d+\.\d+(\(\d+\))?)$/);
          if (b === '.') dots += 1;
        }
      }
      for (const total of occupancyAt) expect(total, name).toBeLessThanOrEqual(1 + 1e-9);
      vacancies += occupancyAt.filter((total) => total < 1 - 1e-9).length;
      expect([...content.keys()].sort(), name).toEqual([...formula.keys()].sort());
      for (const [element, total] of content) {
        expect(Math.abs(total - z * formula.get(element)!), `${name} ${element}`).toBeLessThan(0.01);
      }
      const anisoLoop = loops.find((l) => l[0]!.has('_atom_site_aniso_U_11'));
      if (anisoLoop !== undefined) {
        aniso += 1;
        const labels = sites.map((s) => s.get('_atom_site_label'));
        for (const row of anisoLoop) expect(labels).toContain(row.get('_atom_site_aniso_label'));
      }
      // Special positions as decimals of International Tables.
      for (const site of sites) {
        for (const a of ['x', 'y', 'z']) {
          const v = site.get(`_atom_site_fract_${a}`)!;
          if (!v.includes('('))
            expect(v, name).toMatch(
              /^(0|0\.5|0\.25|0\.75|0\.125|0\.375|0\.625|0\.875|0\.3333|0\.6667|0\.\d{5})$/,
            );
        }
      }
    }
    // Full operation sets, centring included.
    expect(groups.get(225)).toBe(192);
    expect(groups.get(227)).toBe(192);
    expect(groups.get(221)).toBe(48);
    expect(groups.get(167)).toBe(36);
    expect(groups.get(186)).toBe(12);
    expect(groups.get(136)).toBe(16);
    expect(groups.get(62)).toBe(8);
    expect(groups.get(14)).toBe(4);
    expect(shared).toBeGreaterThan(20);
    expect(vacancies).toBeGreaterThan(20);
    expect(aniso).toBeGreaterThan(20);
    expect(dots).toBeGreaterThan(20);
  });

  it('builds the named prototypes with their settings, and keeps searches consistent with the structures', () => {
    const types = new Set(sim.entries.map((e) => `${e.structureType}|${e.spaceGroupSymbol}`));
    for (const expected of [
      'NaCl|F m -3 m',
      'Fluorite-CaF2|F m -3 m',
      'Rutile-TiO2|P 42/m n m',
      'Perovskite-CaTiO3|P m -3 m',
      'Spinel-Al2MgO4|F d -3 m Z',
      'Wurtzite-ZnS(2H)|P 63 m c',
      'Corundum-Al2O3|R -3 c H',
      'Olivine-Mg2SiO4|P n m a',
      'Perovskite-GdFeO3|P n m a',
    ]) {
      expect(types).toContain(expected);
    }
    expect(
      sim.entries.some(
        (e) => e.spaceGroupSymbol === 'P 1 21/c 1' && e.contentType === 'EXPERIMENTAL_INORGANIC',
      ),
    ).toBe(true);
    const systems = new Set(sim.entries.map((e) => e.crystalSystem));
    expect(systems.size).toBe(7);
    // Pearson symbol: lattice and number of positions in the cell.
    const halite = sim.entries.find((e) => e.structureType === 'NaCl')!;
    expect(halite.pearsonSymbol).toBe('cF8');
    expect(halite.wyckoffSequence).toBe('b a');
    const spinel = sim.entries.find((e) => e.structureType === 'Spinel-Al2MgO4')!;
    expect(spinel.pearsonSymbol).toBe('cF56');
    expect(spinel.wyckoffSequence).toBe('e d a');
    expect(spinel.formulaUnitsPerCell).toBe(8);
    // Disordered compositions: (Mg,Ni)O-like mixed positions and Fe0.95O-like vacancies.
    expect(sim.entries.some((e) => e.structureType === 'NaCl' && e.elements.length === 3)).toBe(true);
    expect(sim.entries.some((e) => e.elementCounts.some((c) => c > 0.8 && c < 1))).toBe(true);
  });
});
