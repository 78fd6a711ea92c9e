import { beforeAll, describe, expect, it } from 'vitest';
import { runSimCli } from '../sim-cli.js';
import { serve } from './icsd-serve.js';
import { createIcsdSimulator, type IcsdSimulator } from './icsd-simulator.js';
import { get, login, searchIds } from './icsd-test-helpers.js';

// Spec §14 and Appendix A: dates, DOIs and citations on the wire, the /cif/0 probe, and upstream changes.

const csvRows = async (res: Response): Promise<string[][]> => {
  expect(res.status).toBe(200);
  return (await res.text())
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('\t').slice(0, -1));
};

describe('dates, DOIs and citations', () => {
  let sim: IcsdSimulator;
  let base: string;
  let token: string;
  beforeAll(async () => {
    ({ sim, base } = await serve({ entries: 600 }));
    token = await login(base);
  });
  const expert = (query: string) => get(base, '/search/expert', token, [['query', query]]);
  const expected = (keep: (e: (typeof sim.entries)[number]) => boolean): number[] =>
    sim.entries.filter(keep).map((e) => e.id);

  it('serves RecordingDate, ModificationDate and Doi (DOI too, any case) through /csv', async () => {
    const entries = sim.entries.slice(0, 60);
    const rows = await csvRows(
      await get(base, '/csv', token, [
        ...entries.map((e) => ['idnum', String(e.id)] as [string, string]),
        ['listSelection', 'CollectionCode'],
        ['listSelection', 'RecordingDate'],
        ['listSelection', 'modificationdate'],
        ['listSelection', 'Doi'],
        ['listSelection', 'DOI'],
      ]),
    );
    expect(rows[0]).toEqual(['CollectionCode', 'RecordingDate', 'modificationdate', 'Doi', 'DOI']);
    for (const [i, row] of rows.slice(1).entries()) {
      const e = entries[i]!;
      expect(row).toEqual([String(e.collectionCode), e.recordingDate, e.modificationDate, e.doi, e.doi]);
      expect(row[1]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(row[2]! >= row[1]!).toBe(true);
      expect(row[2]! <= '2025-12-31').toBe(true);
      if (row[3] !== '') expect(row[3]).toMatch(/^10\.\d{4,}\/\S+$/);
    }
    const withDoi = sim.entries.filter((e) => e.doi !== '').length;
    expect(withDoi / sim.entries.length).toBeGreaterThan(0.4);
    expect(withDoi).toBeLessThan(sim.entries.length);
  });

  it('writes Reference as "<journal> (<year>), <volume>, <first>-<last>", Page as the first page, Authors ;-joined', async () => {
    const e = sim.entries.find(
      (x) => x.authors.length >= 2 && x.authors.some((a) => /[^\x20-\x7e]/.test(a)),
    )!;
    const rows = await csvRows(
      await get(base, '/csv', token, [
        ['idnum', String(e.id)],
        ['listSelection', 'Reference'],
        ['listSelection', 'Page'],
        ['listSelection', 'Authors'],
      ]),
    );
    const row = rows[1]!;
    const [reference, page, authors] = row as [string, string, string];
    const m = /^(.+) \((\d{4})\), (\d+), (\d+)-(\d+)$/.exec(reference)!;
    expect(m).not.toBeNull();
    expect([m[1], Number(m[2]), Number(m[3]), m[4]]).toEqual([e.journal, e.publicationYear, e.volume, page]);
    expect(Number(m[5])).toBeGreaterThan(Number(page));
    expect(authors.split(';')).toEqual(e.authors);
    for (const author of e.authors) expect(author).toMatch(/^[^,;]+, [^,;]+$/);
    expect(sim.entries.some((x) => x.authors.includes('Øster, L.'))).toBe(true);
  });

  it('searches RECORDINGDATE and MODIFICATIONDATE by ISO range, day, year range and year', async () => {
    const e = sim.entries.find((x) => x.modificationDate !== x.recordingDate)!;
    const day = e.modificationDate;
    expect(await searchIds(await expert(`MODIFICATIONDATE : ${day}`))).toEqual(
      expected((x) => x.modificationDate === day),
    );
    expect(await searchIds(await expert('recordingdate:2019-03-01 - 2021-06-30'))).toEqual(
      expected((x) => x.recordingDate >= '2019-03-01' && x.recordingDate <= '2021-06-30'),
    );
    expect(await searchIds(await expert('RECORDINGDATE : 2018 - 2019'))).toEqual(
      expected((x) => x.recordingDate >= '2018-01-01' && x.recordingDate <= '2019-12-31'),
    );
    const years = await searchIds(await expert('MODIFICATIONDATE : 2024'));
    expect(years).toEqual(expected((x) => x.modificationDate.startsWith('2024-')));
    expect(years.length).toBeGreaterThan(0);
  });

  it('answers 400 for any other date value or an impossible date', async () => {
    for (const value of [
      '2021-02-29',
      '2020-13-01',
      '2020-04-31',
      '2020-01-01-2020-02-30',
      '20-01-01',
      '2020/01/01',
      '2020-01',
      '2020-2021-12-31',
      '2020,2021',
      'yesterday',
    ]) {
      const res = await expert(`MODIFICATIONDATE : ${value}`);
      expect(res.status, value).toBe(400);
      expect(await res.text(), value).toMatch(/MODIFICATIONDATE/);
    }
    expect((await expert('RECORDINGDATE : 2020-02-29')).status).toBe(200);
  });

  it('searches DOI as a case-insensitive substring', async () => {
    const e = sim.entries.find((x) => x.doi !== '' && /[A-Za-z]/.test(x.doi.split('/')[1]!))!;
    const part = e.doi.slice(3, 14);
    for (const value of [part, part.toUpperCase(), part.toLowerCase()]) {
      const ids = await searchIds(await expert(`DOI : ${value}`));
      expect(ids).toEqual(expected((x) => x.doi.toLowerCase().includes(part.toLowerCase())));
      expect(ids).toContain(e.id);
    }
    expect(await searchIds(await expert(`doi:${e.doi}`))).toContain(e.id);
  });

  it('writes the recording date, the modification date only when it differs, and _citation_doi (2025 files)', () => {
    let updates = 0;
    let dois = 0;
    for (const e of sim.entries) {
      const cif = sim.cif(e.id);
      expect(cif).toContain(`\n_audit_creation_date ${e.recordingDate}\n`);
      if (e.modificationDate === e.recordingDate) expect(cif).not.toContain('_audit_update_record');
      else {
        expect(cif).toContain(`\n_audit_update_record ${e.modificationDate}\n`);
        updates += 1;
      }
      if (e.cifDialect === 2025 && e.doi !== '') {
        expect(cif).toMatch(/^_citation_doi$/m);
        expect(cif).toContain(` ${e.doi}\n`);
        dois += 1;
      } else expect(cif).not.toContain('_citation_doi');
    }
    expect(updates).toBeGreaterThan(50);
    expect(dois).toBeGreaterThan(50);
  });
});

describe('the /cif/0 probe and /reference', () => {
  it('answers 404 to a live token without counting, 401 otherwise, and never extends a token', async () => {
    let clock = Date.UTC(2026, 0, 10);
    const { sim, base } = await serve({ cifsPerSession: 1, tokenLifetimeMs: 60_000, now: () => clock });
    const token = await login(base);
    for (let i = 0; i < 3; i++) expect((await get(base, '/cif/0', token)).status).toBe(404);
    expect(sim.stats.cifsServed).toBe(0);
    // The quota of one CIF is still whole after three probes.
    expect((await get(base, `/cif/${sim.entries[0]!.id}`, token)).status).toBe(200);
    expect(sim.stats.cifsServed).toBe(1);
    expect((await get(base, '/cif/0', token)).status).toBe(404);
    expect(sim.stats).toMatchObject({ cifsServed: 1, quotaRefusals: 0 });
    clock += 59_999;
    expect((await get(base, '/cif/0', token)).status).toBe(404);
    clock += 1;
    expect((await get(base, '/cif/0', token)).status).toBe(401);
    expect((await get(base, '/cif/0', undefined)).status).toBe(401);
    expect((await get(base, '/cif/0', 'not-a-token')).status).toBe(401);
    const fresh = await login(base);
    expect((await get(base, `/reference/${sim.entries[0]!.id}`, fresh)).status).toBe(404);
  });
});

describe('upstream changes', () => {
  const changedFields = (a: IcsdSimulator, b: IcsdSimulator): number[] =>
    a.entries.filter((e, i) => a.cif(e.id) !== b.cif(b.entries[i]!.id)).map((e) => e.collectionCode);

  it('revision k changes a deterministic, cumulative few % of the entries; the rest stay byte-identical', () => {
    const now = () => Date.UTC(2026, 2, 14, 15);
    const base = createIcsdSimulator({ entries: 2000, now });
    const first = createIcsdSimulator({ entries: 2000, now, revision: 1 });
    const second = createIcsdSimulator({ entries: 2000, now, revision: 2 });
    expect(base.revisedCodes).toEqual([]);
    expect(first.revisedCodes.length).toBeGreaterThan(20);
    expect(first.revisedCodes.length).toBeLessThan(120);
    expect(changedFields(base, first)).toEqual(first.revisedCodes);
    expect(changedFields(base, second)).toEqual(second.revisedCodes);
    for (const code of first.revisedCodes) expect(second.revisedCodes).toContain(code);
    expect(second.revisedCodes.length).toBeGreaterThan(first.revisedCodes.length);
    expect(createIcsdSimulator({ entries: 2000, now, revision: 1 }).revisedCodes).toEqual(first.revisedCodes);

    for (const code of first.revisedCodes) {
      const before = base.entryByCode(code)!;
      const after = first.entryByCode(code)!;
      expect(after.id).toBe(before.id);
      expect(after.modificationDate).toBe('2026-03-14');
      expect(after.cellParameters).not.toBe(before.cellParameters);
      const cif = first.cif(after.id);
      expect(cif).toContain('\n_audit_update_record 2026-03-14\n');
      expect(cif).toContain(`_cell_length_a ${after.cellParameters.split(' ')[0]!.replace(/\.$/, '')}`);
    }
    const dated = createIcsdSimulator({ entries: 2000, now, revision: 1, revisionDate: '2026-01-05' });
    expect(dated.revisedCodes).toEqual(first.revisedCodes);
    expect(dated.entryByCode(first.revisedCodes[0]!)!.modificationDate).toBe('2026-01-05');
    expect(() => createIcsdSimulator({ revision: -1 })).toThrow(RangeError);
    expect(() => createIcsdSimulator({ revision: 1, revisionDate: '2026-02-30' })).toThrow(RangeError);
  });

  it('modify() changes entries live: CIF, /csv and MODIFICATIONDATE searches follow; nothing else moves', async () => {
    let clock = Date.UTC(2026, 4, 2, 9);
    const { sim, base } = await serve({ entries: 300, now: () => clock });
    const reference = createIcsdSimulator({ entries: 300, seed: 11 });
    const token = await login(base);
    const codes = [sim.entries[10]!.collectionCode, sim.entries[20]!.collectionCode];
    const target = sim.entries[10]!;
    const cifBefore = await (await get(base, `/cif/${target.id}`, token)).text();

    expect(sim.modify([...codes, 999_999_999])).toEqual(codes);
    const cifAfter = await (await get(base, `/cif/${target.id}`, token)).text();
    expect(cifAfter).not.toBe(cifBefore);
    expect(cifAfter).toBe(sim.cif(target.id));
    expect(cifAfter).toContain('\n_audit_update_record 2026-05-02\n');
    const rows = await csvRows(
      await get(base, '/csv', token, [
        ['idnum', String(target.id)],
        ['listSelection', 'ModificationDate'],
        ['listSelection', 'CellParameter'],
      ]),
    );
    expect(rows[1]).toEqual(['2026-05-02', sim.entryById(target.id)!.cellParameters]);
    const hits = await searchIds(
      await get(base, '/search/expert', token, [['query', 'MODIFICATIONDATE : 2026-05-01-2026-05-31']]),
    );
    expect(hits.map((id) => sim.entryById(id)!.collectionCode)).toEqual(codes);
    expect(changedFields(reference, sim)).toEqual(codes);

    // Again, on a given day: a different CIF once more.
    clock += 86_400_000;
    expect(sim.modify([codes[0]!], { date: '2026-06-01' })).toEqual([codes[0]]);
    expect(sim.cif(target.id)).not.toBe(cifAfter);
    expect(sim.entryByCode(codes[0]!)!.modificationDate).toBe('2026-06-01');
    expect(() => sim.modify([codes[1]!], { date: '1900-01-01' })).toThrow(RangeError);
    expect(() => sim.modify([codes[1]!], { date: 'soon' })).toThrow(RangeError);
    expect(sim.entryByCode(codes[1]!)!.modificationDate).toBe('2026-05-02');
  });

  it('sciport-sim icsd --revision N serves the changed dataset', async () => {
    const controller = new AbortController();
    let info: Record<string, unknown> = {};
    const done = runSimCli(['icsd', '--entries', '400', '--revision', '2', '--revision-date', '2026-02-02'], {
      stdout: { write: () => true },
      stderr: { write: () => true },
      signal: controller.signal,
      onListening: (i) => {
        info = { ...i };
        controller.abort();
      },
    });
    expect(await done).toBe(0);
    const local = createIcsdSimulator({ entries: 400, revision: 2, revisionDate: '2026-02-02' });
    expect(info).toMatchObject({ revision: 2, revisedEntries: local.revisedCodes.length });
    const usage: string[] = [];
    const io = { stdout: { write: () => true }, stderr: { write: (t: string) => usage.push(t) } };
    expect(await runSimCli(['icsd', '--revision', 'x'], io)).toBe(2);
    expect(await runSimCli(['icsd', '--revision-date', '2026-13-01'], io)).toBe(2);
    expect(usage.join('')).toMatch(/--revision-date/);
  });
});
