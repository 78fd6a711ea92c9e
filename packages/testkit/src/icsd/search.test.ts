import { beforeAll, describe, expect, it } from 'vitest';
import type { IcsdSimEntry } from './icsd-dataset.js';
import { codesOf, serve } from './icsd-serve.js';
import type { IcsdSimulator } from './icsd-simulator.js';
import { get, login, searchIds } from './icsd-test-helpers.js';

describe('searches', () => {
  let sim: IcsdSimulator;
  let base: string;
  let url: string;
  let token: string;
  beforeAll(async () => {
    ({ sim, base, url } = await serve());
    token = await login(base);
  });

  const expert = (query: string, extra: [string, string][] = [], headers: Record<string, string> = {}) =>
    get(base, '/search/expert', token, [['query', query], ...extra], headers);
  const expected = (predicate: (e: IcsdSimEntry) => boolean): number[] =>
    sim.entries.filter(predicate).map((e) => e.id);

  it('answers single-line XML by default and JSON (strings) for Accept: application/json', async () => {
    const xml = await expert('COLLECTIONCODE : 1-200', [], { accept: 'application/xml' });
    expect(xml.status).toBe(200);
    expect(xml.headers.get('content-type')).toBe('application/xml');
    const body = await xml.text();
    expect(body).toMatch(
      /^<\?xml version="1\.0" encoding="UTF-8" standalone="yes"\?><hits><idnums>\d+( \d+)*<\/idnums><\/hits>$/,
    );
    const ids = expected((e) => e.collectionCode <= 200);
    expect(body).toContain(`<idnums>${ids.join(' ')}</idnums>`);

    const json = await expert('COLLECTIONCODE : 1-200', [], { accept: 'application/json, text/plain' });
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(await json.json()).toEqual({ idnums: ids.map(String) });

    const any = await expert('COLLECTIONCODE : 1-200', [], { accept: '*/*' });
    expect(await any.text()).toBe(body);
  });

  it('lists internal ids (not codes) in ascending collection-code order', async () => {
    const ids = await searchIds(await expert('COLLECTIONCODE : 1-1000'));
    expect(ids.length).toBeGreaterThan(50);
    const codes = codesOf(sim, ids);
    expect(codes).toEqual([...codes].sort((a, b) => a - b));
    expect(ids).not.toEqual([...ids].sort((a, b) => a - b));
    for (const [i, id] of ids.entries()) expect(id).not.toBe(codes[i]);
  });

  it('answers an empty result as <idnums></idnums>', async () => {
    const res = await expert('COLLECTIONCODE : 999999');
    expect(await res.text()).toBe(
      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><hits><idnums></idnums></hits>',
    );
    const json = await expert('COLLECTIONCODE : 999999', [], { accept: 'application/json' });
    expect(await json.json()).toEqual({ idnums: [] });
  });

  it('filters by content type, sent as content+type or content%20type; absent means all subsets', async () => {
    const all = await searchIds(await expert('PUBLICATIONYEAR : 1900-2100'));
    expect(all).toEqual(sim.entries.map((e) => e.id));
    const union: number[] = [];
    for (const type of [
      'EXPERIMENTAL_INORGANIC',
      'EXPERIMENTAL_METALORGANIC',
      'THERORETICAL_STRUCTURES',
    ] as const) {
      const ids = await searchIds(await expert('PUBLICATIONYEAR : 1900-2100', [['content type', type]]));
      expect(ids).toEqual(expected((e) => e.contentType === type));
      expect(ids.length).toBeGreaterThan(0);
      union.push(...ids);
    }
    expect(union.sort()).toEqual([...all].sort());
    // URLSearchParams writes content+type=…; the %20 form is equivalent.
    const q = encodeURIComponent('PUBLICATIONYEAR : 1900-2100');
    const plus = await fetch(`${base}/search/expert?query=${q}&content+type=EXPERIMENTAL_METALORGANIC`, {
      headers: { 'ICSD-Auth-Token': token },
    });
    const percent = await fetch(`${base}/search/expert?query=${q}&content%20type=EXPERIMENTAL_METALORGANIC`, {
      headers: { 'ICSD-Auth-Token': token },
    });
    const plusIds = await searchIds(plus);
    expect(plusIds).toEqual(await searchIds(percent));
    expect(plusIds).toEqual(expected((e) => e.contentType === 'EXPERIMENTAL_METALORGANIC'));
  });

  it('accepts the alias THEORETICAL_STRUCTURES and refuses other content types with 400', async () => {
    const misspelled = await searchIds(
      await expert('COLLECTIONCODE : 1-1600', [['content type', 'THERORETICAL_STRUCTURES']]),
    );
    const alias = await searchIds(
      await expert('COLLECTIONCODE : 1-1600', [['content type', 'THEORETICAL_STRUCTURES']]),
    );
    expect(alias).toEqual(misspelled);
    for (const bad of ['experimental_inorganic', 'ALL', '']) {
      const res = await expert('COLLECTIONCODE : 1', [['content type', bad]]);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
    }
  });

  it('answers 400 when the query is missing or blank', async () => {
    expect((await get(base, '/search/expert', token)).status).toBe(400);
    expect((await get(base, '/search/simple', token, [['query', '  ']])).status).toBe(400);
  });

  it('evaluates numbers, inclusive ranges and comma lists', async () => {
    const some = sim.entries[10]!;
    expect(await searchIds(await expert(`COLLECTIONCODE:${some.collectionCode}`))).toEqual([some.id]);
    expect(await searchIds(await expert(`collectioncode : 10-40`))).toEqual(
      expected((e) => e.collectionCode >= 10 && e.collectionCode <= 40),
    );
    expect(await searchIds(await expert('SpaceGroupNumber: 14, 62,225-230'))).toEqual(
      expected((e) => [14, 62].includes(e.spaceGroupNumber) || e.spaceGroupNumber >= 225),
    );
    expect(await searchIds(await expert('NUMBEROFELEMENTS : 1'))).toEqual(
      expected((e) => e.elements.length === 1),
    );
    expect(await searchIds(await expert('publicationyear : 2000-2010'))).toEqual(
      expected((e) => e.publicationYear >= 2000 && e.publicationYear <= 2010),
    );
    const volume = Number.parseFloat(some.cellVolume);
    const low = Math.floor(volume);
    expect(await searchIds(await expert(`CELLVOLUME : ${low}-${low + 1}`))).toEqual(
      expected((e) => Number.parseFloat(e.cellVolume) >= low && Number.parseFloat(e.cellVolume) <= low + 1),
    );
    expect(await searchIds(await expert(`CELLVOLUME : ${Number.parseFloat(some.cellVolume)}`))).toContain(
      some.id,
    );
  });

  it('binds and tighter than or, with operators in any case', async () => {
    const query =
      'COLLECTIONCODE : 1-100 OR spacegroupnumber : 225 and NUMBEROFELEMENTS : 2 or publicationyear: 1950';
    expect(await searchIds(await expert(query))).toEqual(
      expected(
        (e) =>
          e.collectionCode <= 100 ||
          (e.spaceGroupNumber === 225 && e.elements.length === 2) ||
          e.publicationYear === 1950,
      ),
    );
    expect(await searchIds(await expert('numberofelements: 2 AND composition: O'))).toEqual(
      expected((e) => e.elements.length === 2 && e.elements.includes('O')),
    );
  });

  it('matches COMPOSITION by every element, with optional coefficient bounds', async () => {
    expect(await searchIds(await expert('COMPOSITION : O Li'))).toEqual(
      expected((e) => e.elements.includes('O') && e.elements.includes('Li')),
    );
    const count = (e: IcsdSimEntry, el: string): number => e.elementCounts[e.elements.indexOf(el)] ?? -1;
    const ids = await searchIds(await expert('composition : o:3:4'));
    expect(ids).toEqual(expected((e) => count(e, 'O') >= 3 && count(e, 'O') <= 4));
    expect(ids.length).toBeGreaterThan(0);
    expect(await searchIds(await expert('COMPOSITION : O:3: Fe'))).toEqual(
      expected((e) => count(e, 'O') >= 3 && e.elements.includes('Fe')),
    );
  });

  it('matches the text fields case-insensitively and the space group symbol ignoring spaces', async () => {
    expect(await searchIds(await expert('AUTHORS : müller'))).toEqual(
      expected((e) => e.authors.some((a) => a.startsWith('Müller'))),
    );
    expect(await searchIds(await expert('authors : ÅNGSTRÖM or chemicalname : nickel'))).toEqual(
      expected((e) => e.authors.includes('Ångström, A.') || e.chemicalName.toLowerCase().includes('nickel')),
    );
    expect(await searchIds(await expert('JOURNAL : solid state'))).toEqual(
      expected((e) => e.journal === 'Journal of Solid State Chemistry'),
    );
    expect(await searchIds(await expert('CRYSTALSYSTEM : CUBIC'))).toEqual(
      expected((e) => e.crystalSystem === 'cubic'),
    );
    expect(await searchIds(await expert('MINERALNAME : spinel'))).toEqual(
      expected((e) => e.mineralName === 'Spinel'),
    );
    expect(await searchIds(await expert('SPACEGROUPSYMBOL : Fm-3m'))).toEqual(
      expected((e) => e.spaceGroupSymbol === 'F m -3 m'),
    );
    expect(await searchIds(await expert('SPACEGROUPSYMBOL : P 1 21/c 1'))).toEqual(
      await searchIds(await expert('SPACEGROUPSYMBOL : P21/c')),
    );
  });

  it('matches STRUCTUREDFORMULA by element and formula parts', async () => {
    const entry = sim.entries.find((e) => e.structuredFormula.includes('O2') && e.elements.length === 3)!;
    const [first] = entry.elements;
    const ids = await searchIds(await expert(`STRUCTUREDFORMULA : ${first} O2`));
    expect(ids).toContain(entry.id);
    for (const id of ids) {
      const e = sim.entryById(id)!;
      expect(e.elements).toContain(first);
      expect(e.structuredFormula).toMatch(/O2(?![\d.])/);
    }
  });

  it('matches the dates of the record (years, ISO dates, ranges)', async () => {
    expect(await searchIds(await expert('RECORDINGDATE : 2020-2021'))).toEqual(
      expected((e) => e.recordingDate >= '2020-01-01' && e.recordingDate <= '2021-12-31'),
    );
    expect(await searchIds(await expert('modificationdate: 2019-03-01-2022-06-30'))).toEqual(
      expected((e) => e.modificationDate >= '2019-03-01' && e.modificationDate <= '2022-06-30'),
    );
  });

  it('answers 400 naming an unknown field, a known but unsimulated field, and bad values', async () => {
    const cases: [string, RegExp][] = [
      ['COLOUR : red', /Unknown field.*COLOUR/],
      ['abstract : perovskite', /ABSTRACT is known to ICSD but not supported/],
      ['LAUECLASS : m-3m', /LAUECLASS is known to ICSD but not supported/],
      ['COLLECTIONCODE : 1-x', /COLLECTIONCODE/],
      ['COLLECTIONCODE : 1.5', /COLLECTIONCODE/],
      ['CELLVOLUME : big', /CELLVOLUME/],
      ['PUBLICATIONYEAR : ', /PUBLICATIONYEAR/],
      ['COMPOSITION : Xq', /not an element/],
      ['COMPOSITION : Fe:1:2:2:3', /oxidation/],
      ['COMPOSITION : Fe:x:2', /not a number/],
      ['collectioncode 1-100', /FIELD : value/],
      ['COLLECTIONCODE : 1 and', /FIELD : value/],
    ];
    for (const [query, message] of cases) {
      const res = await expert(query);
      expect(res.status, query).toBe(400);
      expect(res.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
      expect(await res.text(), query).toMatch(message);
    }
  });

  it('simple search: every token as element, collection code, spaceless formula or 3+ character text', async () => {
    const simple = async (query: string): Promise<number[]> =>
      searchIds(await get(base, '/search/simple', token, [['query', query]]));
    expect(await simple('Li O')).toEqual(
      expected((e) => e.elements.includes('Li') && e.elements.includes('O')),
    );
    expect(await simple('fe')).toEqual(expected((e) => e.elements.includes('Fe')));
    const entry = sim.entries.find(
      (e) => e.contentType === 'EXPERIMENTAL_INORGANIC' && e.elements.length === 2,
    )!;
    expect(await simple(String(entry.collectionCode))).toContain(entry.id);
    const spaceless = entry.structuredFormula.replace(/ /g, '');
    const byFormula = await simple(spaceless);
    expect(byFormula).toContain(entry.id);
    for (const id of byFormula) {
      const e = sim.entryById(id)!;
      expect(
        e.sumFormula === entry.sumFormula ||
          e.title.includes(spaceless) ||
          e.collectionCode === Number(spaceless),
      ).toBe(true);
    }
    expect(await simple('Müller')).toEqual(expected((e) => e.authors.includes('Müller, K.')));
    expect(await simple('ller O')).toEqual(
      expected((e) => e.authors.some((a) => a.includes('ller')) && e.elements.includes('O')),
    );
    expect(await simple('oxide')).toEqual(
      expected((e) => e.chemicalName.includes('oxide') || e.title.toLowerCase().includes('oxide')),
    );
  });

  it('serves the same answers under /api/ws', async () => {
    const apiToken = await login(`${url}/api/ws`);
    const ws = await searchIds(await expert('COLLECTIONCODE : 1-300'));
    const api = await searchIds(
      await get(`${url}/api/ws`, '/search/expert', apiToken, [['query', 'COLLECTIONCODE : 1-300']]),
    );
    expect(api).toEqual(ws);
    const id = ws[0]!;
    const cif = await get(`${url}/api/ws`, `/cif/${id}`, token);
    expect(await cif.text()).toBe(sim.cif(id));
    expect((await get(`${url}/api/ws`, '/auth/logout', apiToken)).status).toBe(200);
  });
});
