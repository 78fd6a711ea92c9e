import { beforeAll, describe, expect, it } from 'vitest';
import { serve } from './icsd-serve.js';
import type { IcsdSimulator } from './icsd-simulator.js';
import { get, login } from './icsd-test-helpers.js';

describe('/csv', () => {
  let sim: IcsdSimulator;
  let base: string;
  let token: string;
  beforeAll(async () => {
    ({ sim, base } = await serve());
    token = await login(base);
  });

  const csv = (params: [string, string][]) => get(base, '/csv', token, params, { accept: 'application/csv' });

  it('is tab-separated with a TAB after every cell and LF after every line', async () => {
    const entries = [sim.entries[5]!, sim.entries[2]!, sim.entries[40]!];
    const res = await csv([
      ...entries.map((e) => ['idnum', String(e.id)] as [string, string]),
      ['windowsclient', 'false'],
      ['listSelection', 'CollectionCode'],
      ['listSelection', 'StructuredFormula'],
    ]);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/csv;charset=UTF-8');
    const expectedBody =
      'CollectionCode\tStructuredFormula\t\n' +
      entries.map((e) => `${e.collectionCode}\t${e.structuredFormula}\t\n`).join('');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.toString('utf8')).toBe(expectedBody);
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
  });

  it('uses CRLF for windowsclient=true in any case, and the same layout with a single property', async () => {
    const e = sim.entries[7]!;
    for (const flag of ['true', 'True', 'TRUE']) {
      const res = await csv([
        ['idnum', String(e.id)],
        ['windowsclient', flag],
        ['listSelection', 'SumFormula'],
      ]);
      expect(await res.text()).toBe(`SumFormula\t\r\n${e.sumFormula}\t\r\n`);
    }
    const lf = await csv([
      ['idnum', String(e.id)],
      ['listSelection', 'SumFormula'],
    ]);
    expect(await lf.text()).toBe(`SumFormula\t\n${e.sumFormula}\t\n`);
  });

  it('keeps non-ASCII text intact as UTF-8', async () => {
    const e = sim.entries.find((x) => x.authors.includes('Żółć, P.'))!;
    const res = await csv([
      ['idnum', String(e.id)],
      ['listSelection', 'Authors'],
      ['listSelection', 'Title'],
    ]);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.includes(Buffer.from('Żółć, P.', 'utf8'))).toBe(true);
    expect(bytes.toString('utf8')).toBe(`Authors\tTitle\t\n${e.authors.join(';')}\t${e.title}\t\n`);
  });

  it('echoes the names as requested, matched in any case, and accepts both cell spellings', async () => {
    const e = sim.entries.find((x) => x.crystalSystem === 'monoclinic' && x.rValue !== '')!;
    const res = await csv([
      ['idnum', String(e.id)],
      ['listSelection', 'collectioncode'],
      ['listSelection', 'StandardisedCellParameter'],
      ['listSelection', 'StandardizedCellParameter'],
      ['listSelection', 'CELLPARAMETER'],
    ]);
    const [header, row] = (await res.text()).split('\n');
    expect(header).toBe(
      'collectioncode\tStandardisedCellParameter\tStandardizedCellParameter\tCELLPARAMETER\t',
    );
    const cells = row!.split('\t');
    expect(cells[0]).toBe(String(e.collectionCode));
    expect(cells[1]).toBe(cells[2]);
    expect(cells[3]).toBe(e.cellParameters);
    expect(cells[3]).toMatch(
      /^\d+\.\d{4}\(\d\) \d+\.\d{4}\(\d\) \d+\.\d{4}\(\d\) 90\. \d+\.\d{3}\(\d\) 90\.$/,
    );
    expect(cells[1]!.split(' ')).toHaveLength(6);
  });

  it('skips unknown ids, keeps the idnum order, and serves every property of the spec', async () => {
    const { ICSD_CSV_PROPERTIES } = await import('./icsd-constants.js');
    const a = sim.entries[3]!;
    const b = sim.entries[1]!;
    const res = await csv([
      ['idnum', String(a.id)],
      ['idnum', '5'],
      ['idnum', String(b.id)],
      ...ICSD_CSV_PROPERTIES.map((p) => ['listSelection', p] as [string, string]),
    ]);
    expect(res.status).toBe(200);
    const lines = (await res.text()).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('');
    expect(lines[0]).toBe(`${ICSD_CSV_PROPERTIES.join('\t')}\t`);
    const rows = lines.slice(1, 3).map((line) => line.split('\t'));
    for (const row of rows) expect(row).toHaveLength(ICSD_CSV_PROPERTIES.length + 1);
    expect(rows.map((r) => r[0])).toEqual([String(a.collectionCode), String(b.collectionCode)]);
    const column = (name: string): string[] =>
      rows.map((r) => r[ICSD_CSV_PROPERTIES.indexOf(name as never)]!);
    expect(column('HMS')).toEqual([a.spaceGroupSymbol, b.spaceGroupSymbol]);
    expect(column('Authors')).toEqual([a.authors.join(';'), b.authors.join(';')]);
    expect(column('PublicationYear')).toEqual([String(a.publicationYear), String(b.publicationYear)]);
    expect(column('Reference')[0]).toContain(a.journal);
  });

  it('answers 400 for an unknown property, a bad idnum and more than 500 ids', async () => {
    const unknown = await csv([
      ['idnum', String(sim.entries[0]!.id)],
      ['listSelection', 'Colour'],
    ]);
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toMatch(/Colour/);
    expect(
      (
        await csv([
          ['idnum', '12,13'],
          ['listSelection', 'Title'],
        ])
      ).status,
    ).toBe(400);
    expect((await csv([['idnum', String(sim.entries[0]!.id)]])).status).toBe(400);
    const many = sim.entries.slice(0, 400).map((e) => ['idnum', String(e.id)] as [string, string]);
    const tooMany = await csv([...many, ...many.slice(0, 101), ['listSelection', 'Title']]);
    expect(tooMany.status).toBe(400);
    expect(tooMany.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
  });

  it('does not count against the CIF quota', async () => {
    const before = sim.stats.cifsServed;
    await csv([
      ['idnum', String(sim.entries[0]!.id)],
      ['listSelection', 'Title'],
    ]);
    expect(sim.stats.cifsServed).toBe(before);
  });
});
