import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type CifProblem, CifStructureError, parseCif } from '../src/browser.js';

function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/cif/${name}`, import.meta.url), 'utf8');
}

const PEROVSKITE = fixture('perovskite-srtio3.cif');
const MGNIO = fixture('disorder-mg07ni03o.cif');

/** The text with one exact piece replaced (the piece must be there once). */
function edit(text: string, from: string, to: string): string {
  expect(text.split(from), `"${from}" once in the fixture`).toHaveLength(2);
  return text.replace(from, to);
}

/** 1-based line of the first line that contains the needle. */
function lineOf(text: string, needle: string): number {
  const i = text.split(/\r?\n/).findIndex((l) => l.includes(needle));
  expect(i, `"${needle}" in the text`).toBeGreaterThanOrEqual(0);
  return i + 1;
}

function failure(text: string, options?: Parameters<typeof parseCif>[1]): CifStructureError {
  try {
    parseCif(text, options);
  } catch (error) {
    expect(error).toBeInstanceOf(CifStructureError);
    expect(CifStructureError.isInstance(error)).toBe(true);
    return error as CifStructureError;
  }
  throw new Error('parseCif accepted the text');
}

function expectProblem(
  text: string,
  problem: CifProblem,
  line: number | null,
  entry: string | null = '900004',
): void {
  const error = failure(text);
  expect({ problem: error.problem, line: error.line, entry: error.entry }, error.message).toEqual({
    problem,
    line,
    entry,
  });
  expect(error.code).toBe('invalid_cif');
  if (line !== null) expect(error.message).toContain(`line ${line}`);
}

describe('parseCif refuses bad input with the problem, the entry and the line', () => {
  it('malformed CIF syntax', () => {
    const quote = edit(PEROVSKITE, "'Strontium titanate'", "'Strontium titanate");
    expectProblem(quote, 'syntax', lineOf(quote, 'Strontium'));
    // CIF's quote rule: a quote followed by a letter does not close the value, so this one is never closed.
    const inner = edit(PEROVSKITE, "'P m -3 m'", "'P m -3 m'x");
    expectProblem(inner, 'syntax', lineOf(inner, 'P m -3 m'));
    const text = edit(PEROVSKITE, '_cell_formula_units_Z 1', '_publ_section_title\n;\nnever closed');
    expectProblem(text, 'syntax', lineOf(text, '_publ_section_title') + 1);
    const ragged = edit(PEROVSKITE, 'O1 O2- 3 d 0.5 0 0 0.62 1.', 'O1 O2- 3 d 0.5 0 0 0.62');
    expectProblem(ragged, 'syntax', lineOf(ragged, '_atom_site_label') - 1);
    const noValue = edit(PEROVSKITE, '_cell_formula_units_Z 1', '_cell_formula_units_Z');
    expectProblem(noValue, 'syntax', lineOf(noValue, '_cell_formula_units_Z'));
    const stray = edit(PEROVSKITE, '_cell_formula_units_Z 1', '_cell_formula_units_Z 1 2');
    expectProblem(stray, 'syntax', lineOf(stray, '_cell_formula_units_Z'));
    const twice = edit(
      PEROVSKITE,
      '_cell_formula_units_Z 1',
      '_cell_formula_units_Z 1\n_CELL_FORMULA_UNITS_Z 1',
    );
    expectProblem(twice, 'syntax', lineOf(twice, '_CELL_FORMULA'));
    const emptyLoop = edit(
      PEROVSKITE,
      '_cell_formula_units_Z 1',
      'loop_\n_cell_formula_units_Z\n_exptl_crystal_density_diffrn 5.1',
    );
    expectProblem(emptyLoop, 'syntax', lineOf(emptyLoop, '_cell_formula_units_Z') - 1);
    const two = `${PEROVSKITE}data_2-ICSD\n_cell_length_a 1\n`;
    expectProblem(two, 'syntax', lineOf(two, 'data_2-ICSD'));
  });

  it('a text without a data block', () => {
    expectProblem('\n# nothing here\n', 'no_block', null, null);
    expectProblem('', 'no_block', null, null);
    expect(failure('_cell_length_a 4', { source: 'x.cif' })).toMatchObject({
      problem: 'no_block',
      entry: 'x.cif',
    });
  });

  it('no symmetry operations, or bad ones', () => {
    const start = PEROVSKITE.indexOf('loop_\n_space_group_symop_id');
    const end = PEROVSKITE.indexOf('loop_\n_atom_site_label');
    expectProblem(PEROVSKITE.slice(0, start) + PEROVSKITE.slice(end), 'no_symmetry', null);
    for (const bad of ["'x, y'", "'x, x, z'", "'0.5x, y, z'", "'x, y, w'", '?']) {
      const text = edit(PEROVSKITE, "2 'z, x, y'", `2 ${bad}`);
      expectProblem(text, 'bad_operation', lineOf(text, `2 ${bad}`));
    }
    const noIdentity = edit(PEROVSKITE, "1 'x, y, z'", "1 'x+1/2, y, z'");
    expectProblem(noIdentity, 'bad_operation', lineOf(noIdentity, '_space_group_symop_id') - 1);
    const extra = Array.from({ length: 150 }, (_, i) => `${100 + i} 'x, y, z'`).join('\n');
    const tooMany = edit(PEROVSKITE, "2 'z, x, y'", `2 'z, x, y'\n${extra}`);
    expectProblem(tooMany, 'bad_operation', lineOf(tooMany, '_space_group_symop_id') - 1);
  });

  it('an unknown element symbol', () => {
    for (const symbol of ['Xx2+', 'Q', '2+']) {
      const text = edit(PEROVSKITE, 'Sr1 Sr2+ 1 b', `Sr1 ${symbol} 1 b`);
      expectProblem(text, 'unknown_element', lineOf(text, `Sr1 ${symbol}`));
    }
  });

  it('zero, negative or missing cell lengths and impossible angles', () => {
    for (const bad of ['0', '-3.905', '0.0(1)']) {
      const text = edit(PEROVSKITE, '_cell_length_b 3.905', `_cell_length_b ${bad}`);
      expectProblem(text, 'bad_cell', lineOf(text, '_cell_length_b'));
    }
    const missing = edit(PEROVSKITE, '_cell_length_c 3.905\n', '');
    expectProblem(missing, 'missing_tag', null);
    const unknown = edit(PEROVSKITE, '_cell_length_c 3.905', '_cell_length_c ?');
    expectProblem(unknown, 'missing_tag', lineOf(unknown, '_cell_length_c'));
    const flat = edit(
      edit(
        edit(PEROVSKITE, '_cell_angle_alpha 90.', '_cell_angle_alpha 120'),
        '_cell_angle_beta 90.',
        '_cell_angle_beta 120',
      ),
      '_cell_angle_gamma 90.',
      '_cell_angle_gamma 120',
    );
    expectProblem(flat, 'bad_cell', lineOf(flat, '_cell_angle_alpha'));
    const straight = edit(PEROVSKITE, '_cell_angle_beta 90.', '_cell_angle_beta 180');
    expectProblem(straight, 'bad_cell', lineOf(straight, '_cell_angle_beta'));
  });

  it('numbers that are not numbers', () => {
    const cell = edit(PEROVSKITE, '_cell_length_a 3.905', '_cell_length_a 3.9O5');
    expectProblem(cell, 'bad_number', lineOf(cell, '_cell_length_a'));
    const coordinate = edit(PEROVSKITE, 'O1 O2- 3 d 0.5 0 0', 'O1 O2- 3 d 0.5 0 0.0.1');
    expectProblem(coordinate, 'bad_number', lineOf(coordinate, 'O1 O2-'));
    const unknown = edit(PEROVSKITE, 'O1 O2- 3 d 0.5 0 0', 'O1 O2- 3 d 0.5 ? 0');
    expectProblem(unknown, 'bad_number', lineOf(unknown, 'O1 O2-'));
    const multiplicity = edit(PEROVSKITE, 'O1 O2- 3 d', 'O1 O2- 2.5 d');
    expectProblem(multiplicity, 'bad_number', lineOf(multiplicity, 'O1 O2-'));
    const z = edit(PEROVSKITE, '_cell_formula_units_Z 1', '_cell_formula_units_Z 0');
    expectProblem(z, 'bad_number', lineOf(z, '_cell_formula_units_Z'));
    const sg = edit(PEROVSKITE, '_space_group_IT_number 221', '_space_group_IT_number 231');
    expectProblem(sg, 'bad_number', lineOf(sg, '_space_group_IT_number'));
  });

  it('occupancies out of range, on a site or summed over a shared position', () => {
    for (const occ of ['1.2', '0', '-0.5']) {
      const text = edit(PEROVSKITE, 'Ti1 Ti4+ 1 a 0 0 0 0.30 1.', `Ti1 Ti4+ 1 a 0 0 0 0.30 ${occ}`);
      expectProblem(text, 'occupancy', lineOf(text, 'Ti1 Ti4+'));
    }
    const crowded = edit(MGNIO, 'Ni1 Ni2+ 4 a 0 0 0 0.40 0.3', 'Ni1 Ni2+ 4 a 0 0 0 0.40 0.5');
    expectProblem(crowded, 'occupancy', lineOf(crowded, 'Ni1 Ni2+'), '900009');
  });

  it('a multiplicity that does not match the distinct images', () => {
    const text = edit(PEROVSKITE, 'O1 O2- 3 d', 'O1 O2- 6 d');
    const error = failure(text);
    expect(error).toMatchObject({ problem: 'multiplicity', line: lineOf(text, 'O1 O2-'), entry: '900004' });
    expect(error.message).toContain('O1');
    // A general position given on a special one makes 3 images where 6 are stated, too:
    const moved = edit(PEROVSKITE, 'O1 O2- 3 d 0.5 0 0', 'O1 O2- 3 d 0.5 0.1 0');
    expectProblem(moved, 'multiplicity', lineOf(moved, 'O1 O2-'));
  });

  it('a cell content that differs from Z × _chemical_formula_sum, unless the check is off', () => {
    const text = edit(PEROVSKITE, "_chemical_formula_sum 'O3 Sr1 Ti1'", "_chemical_formula_sum 'O2 Sr1 Ti1'");
    expectProblem(text, 'composition', lineOf(text, '_chemical_formula_sum'));
    expect(parseCif(text, { checkComposition: false }).atoms).toHaveLength(5);
    const z = edit(PEROVSKITE, '_cell_formula_units_Z 1', '_cell_formula_units_Z 2');
    expectProblem(z, 'composition', lineOf(z, '_chemical_formula_sum'));
    const missing = edit(PEROVSKITE, "_chemical_formula_sum 'O3 Sr1 Ti1'", "_chemical_formula_sum 'O3 Sr1'");
    expectProblem(missing, 'composition', lineOf(missing, '_chemical_formula_sum'));
    // Without Z there is nothing to check.
    expect(parseCif(edit(text, '_cell_formula_units_Z 1\n', '')).z).toBeNull();
  });

  it('names the source when the CIF has no collection code, and keeps lines for CRLF text', () => {
    const anonymous = edit(
      edit(PEROVSKITE, '_database_code_ICSD 900004\n', ''),
      '\ndata_900004-ICSD\n',
      '\ndata_mine\n',
    );
    const text = edit(anonymous, 'Sr1 Sr2+', 'Sr1 Xx');
    expect(failure(text, { source: 'mine.cif' })).toMatchObject({
      entry: 'mine.cif',
      line: lineOf(text, 'Sr1 Xx'),
    });
    expect(failure(text)).toMatchObject({ entry: null });
    const crlf = edit(PEROVSKITE, 'Sr1 Sr2+', 'Sr1 Xx').replace(/\n/g, '\r\n');
    expect(failure(crlf)).toMatchObject({ problem: 'unknown_element', line: lineOf(crlf, 'Sr1 Xx') });
  });

  it('never crashes or returns NaN on damaged documents (deterministic fuzz)', () => {
    let seed = 12;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const sources = [
      'perovskite-srtio3.cif',
      'rutile-tio2.cif',
      'wurtzite-zno.cif',
      'sphalerite-zns-2018.cif',
    ].map(fixture);
    const problems = new Set<string>();
    for (let round = 0; round < 400; round++) {
      const base = sources[round % sources.length]!;
      let text: string;
      const lines = base.split('\n');
      switch (round % 4) {
        case 0: // cut short
          text = base.slice(0, random(base.length));
          break;
        case 1: // a line dropped
          lines.splice(random(lines.length), 1);
          text = lines.join('\n');
          break;
        case 2: {
          // a character replaced by one that matters to CIF
          const i = random(base.length);
          text = base.slice(0, i) + '\'";#_ ?.-9x\n'[random(13)] + base.slice(i + 1);
          break;
        }
        default: {
          // two lines swapped
          const i = random(lines.length);
          const j = random(lines.length);
          [lines[i], lines[j]] = [lines[j]!, lines[i]!];
          text = lines.join('\n');
        }
      }
      try {
        const s = parseCif(text);
        for (const atom of s.atoms) {
          for (const v of [...atom.fract, ...atom.cartesian, atom.occupancy])
            expect(Number.isFinite(v)).toBe(true);
        }
        for (const v of s.lattice.flat()) expect(Number.isFinite(v)).toBe(true);
      } catch (error) {
        expect(CifStructureError.isInstance(error), String(error)).toBe(true);
        const e = error as CifStructureError;
        problems.add(e.problem);
        expect(
          e.line === null ||
            (Number.isInteger(e.line) && e.line >= 1 && e.line <= text.split('\n').length + 1),
        ).toBe(true);
      }
    }
    expect(problems.size).toBeGreaterThan(4);
  });
});
