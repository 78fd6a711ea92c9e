import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UsageError } from '@sciport/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getParser, parseLammps, parserNames } from '../src/node/parsers.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-lammps-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const DATA = `LAMMPS data file for NaCl

8 atoms
2 atom types

0.0 5.64 xlo xhi
0.0 5.64 ylo yhi
0.0 5.64 zlo zhi

Masses

1 22.98977
2 35.453

Atoms # charge

1 1 1.0 0.0 0.0 0.0
`;

describe('the LAMMPS parser', () => {
  it('reads variables, the data file, logs, dumps, atoms, volume, elements and the version', async () => {
    await writeFile(
      path.join(dir, 'in.nacl'),
      [
        '# NaCl melt',
        'variable T equal 1200',
        'variable name string nacl',
        // LAMMPS variables (`${name}`), not JavaScript placeholders:
        `log $\{name}.log`,
        `read_data $\{name}.data`,
        `dump d1 all custom 100 traj_$\{T}.dump id type x y z`,
        'dump',
        'run 1000',
      ].join('\n'),
    );
    await writeFile(path.join(dir, 'nacl.data'), DATA);
    await writeFile(path.join(dir, 'nacl.log'), 'LAMMPS (2 Aug 2023 - Update 3)\nmore\n');
    const parsed = await parseLammps(path.join(dir, 'in.nacl'));
    expect(parsed.scientificMetadata).toMatchObject({
      input_file: 'in.nacl',
      data_file: 'nacl.data',
      log_files: ['nacl.log'],
      dump_files: ['traj_1200.dump'],
      natoms: 8,
      elements: ['Na', 'Cl'],
      lammps_version: 'LAMMPS (2 Aug 2023 - Update 3)',
    });
    expect(parsed.scientificMetadata.volume).toBeCloseTo(5.64 ** 3, 6);
    expect(parsed.keywords).toEqual(['LAMMPS', 'molecular dynamics', 'Na', 'Cl']);
    expect(parsed.files).toEqual([path.join(dir, 'in.nacl'), path.join(dir, 'nacl.data')]);
    expect(parsed.dataset.measurement).toBe('LAMMPS');
  });

  it('does not crash on short lines, undefined variables or a missing data file', async () => {
    await writeFile(path.join(dir, 'in.x'), `variable\nread_data $\{missing}.data\ndump a b\n`);
    const parsed = await parseLammps(path.join(dir, 'in.x'));
    expect(parsed.scientificMetadata.data_file).toBe(`$\{missing}.data`);
    expect(parsed.scientificMetadata.log_files).toEqual(['log.lammps']);
    expect(parsed.scientificMetadata.natoms).toBeUndefined();
  });

  it('is found by name, and unknown names list the available ones', () => {
    expect(parserNames()).toEqual(expect.arrayContaining(['generic', 'lammps', 'md']));
    expect(getParser('LAMMPS')).toBe(getParser('md'));
    expect(() => getParser('vasp')).toThrow(UsageError);
    expect(() => getParser('vasp')).toThrow(/available: /);
  });
});
