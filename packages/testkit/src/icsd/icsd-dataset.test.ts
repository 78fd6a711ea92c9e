import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../http-server.js';
import { closeGroup, crystalSystemOf, SPACE_GROUPS } from './icsd-chemistry.js';
import { ICSD_CONTENT_TYPES } from './icsd-constants.js';
import { createIcsdSimulator } from './icsd-simulator.js';
import { get, login, searchIds } from './icsd-test-helpers.js';

let server: TestServer | undefined;

afterAll(async () => {
  await server?.close();
});

describe('the space group table', () => {
  it('closes every set of generators into a group of the tabulated order', () => {
    for (const group of SPACE_GROUPS) {
      const ops = closeGroup(group);
      expect(ops.length, group.symbol).toBe(group.order);
    }
  });
});

describe('the generated dataset', () => {
  const sim = createIcsdSimulator({ seed: 4, entries: 2000 });

  it('has internal ids distinct from collection codes, in another order', () => {
    const codes = sim.entries.map((e) => e.collectionCode);
    const ids = sim.entries.map((e) => e.id);
    const codeSet = new Set(codes);
    expect(ids.some((id) => codeSet.has(id))).toBe(false);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).not.toEqual([...ids].sort((a, b) => a - b));
    for (let i = 1; i < codes.length; i++) expect(codes[i]).toBeGreaterThan(codes[i - 1]!);
    expect(codes[0]).toBeGreaterThanOrEqual(1);
    expect(codes.at(-1)).toBeLessThanOrEqual(2000 * 4);
    expect(codes.at(-1)).toBeGreaterThan(2000 * 4 - 4);
    const gaps = codes.slice(1).filter((c, i) => c - codes[i]! > 1).length;
    expect(gaps).toBeGreaterThan(1000);
  });

  it('looks entries up by id and by collection code', () => {
    for (const entry of sim.entries.slice(0, 50)) {
      expect(sim.entryById(entry.id)).toBe(entry);
      expect(sim.entryByCode(entry.collectionCode)).toBe(entry);
    }
    expect(sim.entryById(0)).toBeUndefined();
    expect(sim.entryById(1.5)).toBeUndefined();
    expect(sim.entryByCode(0)).toBeUndefined();
    expect(() => sim.cif(0)).toThrow(RangeError);
  });

  it('covers the three subsets, mostly inorganic', () => {
    const counts = new Map<string, number>();
    for (const e of sim.entries) counts.set(e.contentType, (counts.get(e.contentType) ?? 0) + 1);
    for (const type of ICSD_CONTENT_TYPES) expect(counts.get(type)).toBeGreaterThan(100);
    expect(counts.get('EXPERIMENTAL_INORGANIC')).toBeGreaterThan(1400);
  });

  it('has consistent, realistic fields', () => {
    for (const e of sim.entries) {
      expect(e.elements.length).toBe(e.elementCounts.length);
      expect(e.sumFormula.split(' ').map((p) => p.replace(/[\d.]+$/, ''))).toEqual([...e.elements].sort());
      expect(e.spaceGroupNumber).toBeGreaterThanOrEqual(1);
      expect(e.spaceGroupNumber).toBeLessThanOrEqual(230);
      expect(e.crystalSystem).toBe(crystalSystemOf(e.spaceGroupNumber));
      expect(e.cellParameters.split(' ')).toHaveLength(6);
      expect(e.cellVolume).toMatch(/^\d+\.\d{2}(\(\d\))?$/);
      expect(e.authors.length).toBeGreaterThan(0);
      expect(e.authors.join(';')).not.toMatch(/[\t\r\n]/);
      expect(e.title).not.toMatch(/[\t\r\n]/);
      expect(e.modificationDate >= e.recordingDate).toBe(true);
      expect(e.pearsonSymbol).toMatch(/^[amothc][PCIFR]\d+$/);
      if (e.contentType === 'THERORETICAL_STRUCTURES') expect(e.rValue).toBe('');
      else expect(e.rValue).toMatch(/^0\.\d{3}$/);
    }
    const lif = sim.entries.find((e) => e.structuredFormula === 'Li F' || e.structuredFormula === 'Li Fe O2');
    if (lif !== undefined) expect(lif.sumFormula).toMatch(/^(F1 Li1|Fe1 Li1 O2)$/);
    const all = sim.entries.flatMap((e) => e.authors);
    for (const name of ['Müller, K.', 'Ångström, A.', 'Żółć, P.']) expect(all).toContain(name);
    expect(sim.entries.some((e) => e.mineralName === '')).toBe(true);
    expect(sim.entries.some((e) => e.mineralName !== '')).toBe(true);
    expect(sim.entries.some((e) => e.measuredDensity !== '')).toBe(true);
    expect(sim.entries.some((e) => e.pressure !== '')).toBe(true);
    expect(new Set(sim.entries.map((e) => e.cifDialect))).toEqual(new Set([2018, 2025]));
    expect(new Set(sim.entries.map((e) => e.spaceGroupNumber)).size).toBeGreaterThan(25);
  });

  it('is deterministic per seed: dataset, CIFs and token sequence', async () => {
    const a = createIcsdSimulator({ seed: 99, entries: 300, copyrightYear: 2025 });
    const b = createIcsdSimulator({ seed: 99, entries: 300, copyrightYear: 2025 });
    const c = createIcsdSimulator({ seed: 100, entries: 300, copyrightYear: 2025 });
    expect(b.entries).toEqual(a.entries);
    expect(c.entries).not.toEqual(a.entries);
    const id = a.entries[17]!.id;
    expect(b.cif(id)).toBe(a.cif(id));

    const tokens = async (sim: typeof a): Promise<string[]> => {
      const s = await startTestServer({ handlers: sim.handlers });
      try {
        const base = `${s.url}/ws`;
        const list = [await login(base), await login(base)];
        const ids = await searchIds(await get(base, '/search/simple', list[0], [['query', 'O']]));
        expect(ids.length).toBeGreaterThan(0);
        return list;
      } finally {
        await s.close();
      }
    };
    const first = await tokens(a);
    expect(await tokens(b)).toEqual(first);
    expect(await tokens(c)).not.toEqual(first);
    expect(first[0]).not.toBe(first[1]);
    // reset() restarts the sequence.
    a.reset();
    expect(await tokens(a)).toEqual(first);
  });

  it('validates its options', () => {
    expect(() => createIcsdSimulator({ entries: -1 })).toThrow(RangeError);
    expect(() => createIcsdSimulator({ entries: 1.5 })).toThrow(RangeError);
    expect(() => createIcsdSimulator({ seed: Number.NaN })).toThrow(RangeError);
    expect(() => createIcsdSimulator({ maxIds: 0 })).toThrow(RangeError);
    expect(() => createIcsdSimulator({ sessionLimit: 0 })).toThrow(RangeError);
    expect(() => createIcsdSimulator({ tokenLifetimeMs: 0 })).toThrow(RangeError);
    expect(() => createIcsdSimulator({ overLimit: 'drop' as 'reject' })).toThrow(RangeError);
    expect(createIcsdSimulator({ entries: 0 }).entries).toEqual([]);
    expect(createIcsdSimulator({ entries: 1 }).entries).toHaveLength(1);
  });
});

describe('scale', () => {
  // How fast it builds is measured by bench/icsd-mirror.mjs, not here.
  it('builds 50,000 entries and serves a 500-id /cif/multiple from the end of the range', async () => {
    const sim = createIcsdSimulator({ seed: 2, entries: 50_000 });
    expect(sim.entries).toHaveLength(50_000);

    server = await startTestServer({ handlers: sim.handlers });
    const base = `${server.url}/ws`;
    const token = await login(base);
    const last = sim.entries[49_999]!.collectionCode;
    const ids = await searchIds(
      await get(base, '/search/expert', token, [['query', `COLLECTIONCODE : ${last - 3000}-${last}`]]),
    );
    expect(ids.length).toBeGreaterThan(500);
    const batch = ids.slice(0, 500);
    const res = await get(base, '/cif/multiple', token, [
      ...batch.map((id) => ['idnum', String(id)] as [string, string]),
      ['filetype', 'cif'],
    ]);
    expect(res.status).toBe(200);
    const body = await res.text();
    const codes = [...body.matchAll(/^_database_code_ICSD (\d+)$/gm)].map((m) => Number(m[1]));
    expect(codes).toEqual(batch.map((id) => sim.entryById(id)!.collectionCode));
    expect(body.match(/^#End of TTdata_\d+-ICSD$/gm)).toHaveLength(500);
    expect(sim.stats.cifsServed).toBe(500);
  });
});
