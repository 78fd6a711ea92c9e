import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../http-server.js';
import type { IcsdSimEntry } from './icsd-dataset.js';
import { createIcsdSimulator, type IcsdSimulator, type IcsdSimulatorOptions } from './icsd-simulator.js';
import { DEMO, get, login, searchIds, unzip } from './icsd-test-helpers.js';

const servers: TestServer[] = [];

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** A simulator served over HTTP; `base` is `http://127.0.0.1:PORT/ws`. */
async function serve(
  options: IcsdSimulatorOptions = {},
): Promise<{ sim: IcsdSimulator; base: string; url: string }> {
  const sim = createIcsdSimulator({ entries: 400, seed: 11, ...options });
  const server = await startTestServer({ handlers: sim.handlers });
  servers.push(server);
  return { sim, base: `${server.url}/ws`, url: server.url };
}

const codesOf = (sim: IcsdSimulator, ids: readonly number[]): number[] =>
  ids.map((id) => sim.entryById(id)!.collectionCode);

describe('login and logout', () => {
  let sim: IcsdSimulator;
  let base: string;
  beforeAll(async () => {
    ({ sim, base } = await serve());
  });
  afterEach(() => sim.reset());

  it('answers 200 with a token header, cookies and the exact body', async () => {
    const res = await fetch(`${base}/auth/login`, { method: 'POST', body: new URLSearchParams(DEMO) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
    expect(res.headers.get('content-language')).toBe('en');
    expect(res.headers.get('content-length')).toBe('25');
    expect(await res.text()).toBe('Authentication successful');
    const token = res.headers.get('icsd-auth-token');
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const cookies = res.headers.getSetCookie().map((c) => c.split('=')[0]);
    expect(cookies).toEqual(['JSESSIONID', 'ICSDCHECK', 'FIZ-Cookie']);
    expect(sim.stats).toMatchObject({ logins: 1, liveTokens: 1 });
  });

  it('answers 401 text/plain of about 104 bytes without a token for wrong credentials', async () => {
    for (const form of [
      { loginid: 'demo', password: 'wrong' },
      { loginid: 'nobody', password: 'demo-password' },
      { loginid: 'constructor', password: '' },
      { loginid: 'demo' },
    ]) {
      const res = await fetch(`${base}/auth/login`, { method: 'POST', body: new URLSearchParams(form) });
      const body = await res.text();
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
      expect(res.headers.get('icsd-auth-token')).toBeNull();
      expect(Buffer.byteLength(body)).toBe(104);
      expect(body).not.toBe('Authentication successful');
    }
    expect(sim.stats).toMatchObject({ logins: 0, failedLogins: 4, liveTokens: 0 });
  });

  it('accepts a multipart form and a password with special characters', async () => {
    const { base: other } = await serve({ credentials: { 'al ice': 's3cr&t=é' } });
    const form = new FormData();
    form.append('loginid', 'al ice');
    form.append('password', 's3cr&t=é');
    const res = await fetch(`${other}/auth/login`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    await expect(login(other, { loginid: 'al ice', password: 's3cr&t=é' })).resolves.toBeTypeOf('string');
  });

  it('answers 405 to GET /auth/login', async () => {
    const res = await fetch(`${base}/auth/login`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(res.headers.get('content-language')).toBe('en');
  });

  it('logs out once; the token is dead afterwards (401), and a second logout is 401', async () => {
    const token = await login(base);
    const out = await get(base, '/auth/logout', token);
    expect(out.status).toBe(200);
    expect(await out.text()).toBe('Logout successful');
    const search = await get(base, '/search/simple', token, [['query', 'O']]);
    expect(search.status).toBe(401);
    expect(search.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
    expect((await get(base, '/auth/logout', token)).status).toBe(401);
    expect((await get(base, '/auth/logout', undefined)).status).toBe(401);
    expect(sim.stats).toMatchObject({ logins: 1, logouts: 1, liveTokens: 0, unauthorized: 3 });
  });

  it('answers 401 for a missing or unknown token on every endpoint', async () => {
    const paths = ['/search/simple', '/search/expert', '/csv', '/cif/1', '/cif/multiple', '/reference/1'];
    for (const path of paths) {
      expect((await get(base, path, undefined, [['query', 'O']])).status).toBe(401);
      expect((await get(base, path, 'not-a-token', [['query', 'O']])).status).toBe(401);
    }
  });

  it('kills every token with expireTokens()', async () => {
    const token = await login(base);
    expect((await get(base, '/cif/0', token)).status).toBe(404);
    sim.expireTokens();
    expect((await get(base, '/cif/0', token)).status).toBe(401);
    expect(sim.stats.liveTokens).toBe(0);
  });
});

describe('token lifetime and session limit', () => {
  let clock = Date.UTC(2025, 5, 1);
  let sim: IcsdSimulator;
  let base: string;
  beforeAll(async () => {
    ({ sim, base } = await serve({ now: () => clock, tokenLifetimeMs: 60_000, sessionLimit: 2 }));
  });
  afterEach(() => sim.reset());

  it('expires a token a fixed time after login, whatever the activity', async () => {
    const token = await login(base);
    clock += 59_999;
    expect((await get(base, '/cif/0', token)).status).toBe(404);
    clock += 1;
    const res = await get(base, '/cif/0', token);
    expect(res.status).toBe(401);
    expect(await res.text()).toMatch(/expired/);
    expect((await get(base, '/auth/logout', token)).status).toBe(401);
  });

  it('refuses with 403 a login while K tokens of the account are live', async () => {
    const first = await login(base);
    await login(base);
    const refused = await fetch(`${base}/auth/login`, { method: 'POST', body: new URLSearchParams(DEMO) });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
    expect(refused.headers.get('icsd-auth-token')).toBeNull();
    expect(await refused.text()).toMatch(/session/);
    // A logout frees a slot.
    expect((await get(base, '/auth/logout', first)).status).toBe(200);
    const third = await login(base);
    expect(sim.stats).toMatchObject({ logins: 3, refusedLogins: 1, liveTokens: 2 });
    // Expiry frees every slot.
    clock += 60_000;
    await login(base);
    expect((await get(base, '/cif/0', third)).status).toBe(401);
  });
});

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

describe('/cif', () => {
  let sim: IcsdSimulator;
  let base: string;
  let token: string;
  beforeAll(async () => {
    ({ sim, base } = await serve({ copyrightYear: 2031, cifsPerSession: null }));
    token = await login(base);
  });

  it('serves one CIF in the layout of the spec', async () => {
    const entry = sim.entries[12]!;
    const res = await get(
      base,
      `/cif/${entry.id}`,
      token,
      [
        ['celltype', 'experimental'],
        ['windowsclient', 'false'],
      ],
      {
        accept: 'application/cif',
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/cif;charset=UTF-8');
    const body = await res.text();
    expect(body).toBe(sim.cif(entry.id));
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    const lines = body.split('\n');
    expect(lines[0]).toBe('');
    expect(lines[1]).toBe(
      '#(C) 2031 by FIZ Karlsruhe - Leibniz Institute for Information Infrastructure.  All rights reserved.',
    );
    expect(lines[2]).toBe(`data_${entry.collectionCode}-ICSD`);
    expect(lines[3]).toBe(`_database_code_ICSD ${entry.collectionCode}`);
    expect(lines.at(-2)).toBe(`#End of TTdata_${entry.collectionCode}-ICSD`);
    expect(lines.at(-1)).toBe('');
    expect(body).not.toContain('\r');
    expect(body).toContain(`_chemical_formula_sum '${entry.sumFormula}'`);
    expect(body).toContain(`_cell_formula_units_Z ${entry.formulaUnitsPerCell}`);
  });

  it('uses the current UTC year by default', async () => {
    const plain = createIcsdSimulator({ entries: 3, now: () => Date.UTC(2027, 0, 1, 0, 0, 1) });
    expect(plain.cif(plain.entries[0]!.id).split('\n')[1]).toMatch(/^#\(C\) 2027 by FIZ Karlsruhe/);
  });

  it('uses CRLF for windowsclient=true', async () => {
    const entry = sim.entries[13]!;
    const body = await (await get(base, `/cif/${entry.id}`, token, [['windowsclient', 'TRUE']])).text();
    expect(body).toBe(sim.cif(entry.id, { windows: true }));
    expect(body.startsWith('\r\n#(C) ')).toBe(true);
    expect(body.endsWith(`#End of TTdata_${entry.collectionCode}-ICSD\r\n`)).toBe(true);
    expect(body.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  });

  it('writes both tag dialects, wrapped loop rows, uncertainties and non-ASCII text', () => {
    const old = sim.entries.find((e) => e.cifDialect === 2018 && e.contentType === 'EXPERIMENTAL_INORGANIC')!;
    const modern = sim.entries.find(
      (e) => e.cifDialect === 2025 && e.contentType === 'EXPERIMENTAL_INORGANIC',
    )!;
    const a = sim.cif(old.id);
    expect(a).toMatch(/^_symmetry_space_group_name_H-M '.+'$/m);
    expect(a).toMatch(/^_symmetry_Int_Tables_number \d+$/m);
    expect(a).toMatch(/^_symmetry_equiv_pos_as_xyz$/m);
    expect(a).toMatch(/^_publ_author_name$/m);
    expect(a).toMatch(/^_publ_section_title/m);
    expect(a).toMatch(/^_cell_length_a \d+\.\d{4}\(\d\)$/m);
    const b = sim.cif(modern.id);
    expect(b).toMatch(/^_space_group_name_H-M_alt '.+'$/m);
    expect(b).toMatch(/^_space_group_IT_number \d+$/m);
    expect(b).toMatch(/^_space_group_symop_operation_xyz$/m);
    expect(b).toMatch(/^_citation_author_name$/m);
    expect(b).toContain(`_citation_title\n;\n${modern.title}\n;\n`);
    // The citation row is wrapped after the year.
    expect(b).toMatch(/^primary (?:'[^']+'|"[^"]+") \d{4}\n\d+ \S+ \S+ [A-Z0-9?]+$/m);
    const nonAscii = sim.entries.filter((e) => /[^\p{ASCII}]/u.test(sim.cif(e.id)));
    expect(nonAscii.length).toBeGreaterThan(sim.entries.length / 4);
    const quoted = sim.entries.find((e) => e.authors.includes("O'Keeffe, M."))!;
    expect(sim.cif(quoted.id)).toContain(`"O'Keeffe, M."`);
  });

  it('serves a slightly different standardised cell for celltype=standardized, 400 for other cell types', async () => {
    const entry = sim.entries.find((e) => e.crystalSystem === 'monoclinic')!;
    const res = await get(base, `/cif/${entry.id}`, token, [['celltype', 'standardized']]);
    const body = await res.text();
    expect(body).toBe(sim.cif(entry.id, { cellType: 'standardized' }));
    expect(body).not.toBe(sim.cif(entry.id));
    expect(body).toMatch(/^_cell_length_a \d+\.\d{5}$/m);
    for (const bad of ['standardised', 'reduced', 'EXPERIMENTAL']) {
      expect((await get(base, `/cif/${entry.id}`, token, [['celltype', bad]])).status).toBe(400);
    }
  });

  it('answers 404 for unknown ids, for a collection code used as an id, and for the /cif/0 probe', async () => {
    for (const id of ['0', String(sim.entries[0]!.collectionCode), '99999999', 'abc']) {
      const res = await get(base, `/cif/${id}`, token);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
    }
  });

  it('concatenates the single documents exactly, in idnum order, for filetype cif and single', async () => {
    const entries = [sim.entries[30]!, sim.entries[3]!, sim.entries[77]!];
    const ids = entries.map((e) => ['idnum', String(e.id)] as [string, string]);
    for (const filetype of ['cif', 'single']) {
      const res = await get(base, '/cif/multiple', token, [
        ...ids,
        ['celltype', 'experimental'],
        ['filetype', filetype],
      ]);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/cif;charset=UTF-8');
      const body = await res.text();
      expect(body).toBe(entries.map((e) => sim.cif(e.id)).join(''));
      expect(body).toContain(
        `#End of TTdata_${entries[0]!.collectionCode}-ICSD\n\n#(C) 2031 by FIZ Karlsruhe`,
      );
    }
    const crlf = await get(base, '/cif/multiple', token, [
      ...ids,
      ['windowsclient', 'true'],
      ['celltype', 'standardized'],
    ]);
    expect(await crlf.text()).toBe(
      entries.map((e) => sim.cif(e.id, { windows: true, cellType: 'standardized' })).join(''),
    );
  });

  it('fails the whole batch with 500 when one id is unknown', async () => {
    const before = sim.stats.cifsServed;
    const res = await get(base, '/cif/multiple', token, [
      ['idnum', String(sim.entries[0]!.id)],
      ['idnum', '7'],
      ['filetype', 'cif'],
    ]);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('Internal Server Error');
    expect(sim.stats.cifsServed).toBe(before);
  });

  it('answers 400 for a bad idnum, no idnum, a bad filetype, and more than 500 ids', async () => {
    const id = String(sim.entries[0]!.id);
    expect((await get(base, '/cif/multiple', token, [['idnum', `${id},${id}`]])).status).toBe(400);
    expect((await get(base, '/cif/multiple', token, [['idnum', ` ${id}`]])).status).toBe(400);
    expect((await get(base, '/cif/multiple', token, [['idnum', '-3']])).status).toBe(400);
    expect((await get(base, '/cif/multiple', token, [['filetype', 'cif']])).status).toBe(400);
    expect(
      (
        await get(base, '/cif/multiple', token, [
          ['idnum', id],
          ['filetype', 'tar'],
        ])
      ).status,
    ).toBe(400);
    const ids = Array.from(
      { length: 501 },
      (_, i) => ['idnum', String(sim.entries[i % 400]!.id)] as [string, string],
    );
    const res = await get(base, '/cif/multiple', token, ids);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/501/);
  });

  it('serves a ZIP with one ICSD_CollCode<cc>.cif per entry and a Content-Disposition', async () => {
    const entries = [sim.entries[8]!, sim.entries[9]!, sim.entries[150]!];
    const ids = entries.map((e) => ['idnum', String(e.id)] as [string, string]);
    const res = await get(
      base,
      '/cif/multiple',
      token,
      [...ids, ['filetype', 'zip'], ['filename', 'my export']],
      {
        accept: 'application/cif',
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="my export.zip"');
    const archive = Buffer.from(await res.arrayBuffer());
    expect(res.headers.get('content-length')).toBe(String(archive.length));
    const files = unzip(archive);
    expect(files.map((f) => f.name)).toEqual(entries.map((e) => `ICSD_CollCode${e.collectionCode}.cif`));
    expect(files.map((f) => f.data.toString('utf8'))).toEqual(entries.map((e) => sim.cif(e.id)));
    expect(files.some((f) => f.method === 8)).toBe(true);

    const unnamed = await get(base, '/cif/multiple', token, [...ids.slice(0, 1), ['filetype', 'zip']]);
    expect(unnamed.headers.get('content-disposition')).toBe('attachment; filename="ICSD_export.zip"');
    expect(unzip(Buffer.from(await unnamed.arrayBuffer()))).toHaveLength(1);
  });

  it('serves the reference of an entry', async () => {
    const entry = sim.entries[4]!;
    const res = await get(base, `/reference/${entry.id}`, token);
    expect(await res.text()).toContain(`${entry.journal} (${entry.publicationYear})`);
    expect((await get(base, '/reference/1', token)).status).toBe(404);
  });
});

describe('over-limit truncate mode', () => {
  it('serves only the first maxIds ids without saying so', async () => {
    const { sim, base } = await serve({
      overLimit: 'truncate',
      maxIds: 500,
      entries: 700,
      cifsPerSession: null,
    });
    const token = await login(base);
    const ids = sim.entries.slice(0, 620).map((e) => ['idnum', String(e.id)] as [string, string]);
    const res = await get(base, '/cif/multiple', token, ids);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body.match(/^#End of TTdata_/gm)).toHaveLength(500);
    expect(body).toBe(
      sim.entries
        .slice(0, 500)
        .map((e) => sim.cif(e.id))
        .join(''),
    );
    const csv = await get(base, '/csv', token, [...ids, ['listSelection', 'CollectionCode']]);
    expect((await csv.text()).split('\n')).toHaveLength(502);
    expect(sim.stats.cifsServed).toBe(500);
  });
});

describe('per-session CIF quota', () => {
  it('refuses with 403 a request that would exceed the quota, counting nothing; a new login gives a fresh quota', async () => {
    const { sim, base } = await serve({ cifsPerSession: 5 });
    const token = await login(base);
    const ids = sim.entries.slice(0, 6).map((e) => ['idnum', String(e.id)] as [string, string]);
    expect((await get(base, '/cif/multiple', token, ids.slice(0, 4))).status).toBe(200);
    // Searches and CSV do not count.
    await get(base, '/search/expert', token, [['query', 'COLLECTIONCODE : 1-100']]);
    await get(base, '/csv', token, [...ids, ['listSelection', 'Title']]);
    const refused = await get(base, '/cif/multiple', token, ids.slice(0, 2));
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
    expect(sim.stats).toMatchObject({ cifsServed: 4, quotaRefusals: 1 });
    expect((await get(base, `/cif/${sim.entries[5]!.id}`, token)).status).toBe(200);
    expect((await get(base, `/cif/${sim.entries[5]!.id}`, token)).status).toBe(403);
    expect(
      (await get(base, '/cif/multiple', token, ids.slice(0, 1), { accept: 'application/cif' })).status,
    ).toBe(403);
    // A 404 costs nothing and still answers 404.
    expect((await get(base, '/cif/0', token)).status).toBe(404);
    expect(sim.stats).toMatchObject({ cifsServed: 5, quotaRefusals: 3 });

    const fresh = await login(base);
    expect(
      (await get(base, '/cif/multiple', fresh, ids.slice(0, 5), { accept: 'application/cif' })).status,
    ).toBe(200);
    expect((await get(base, '/cif/multiple', token, ids.slice(0, 1))).status).toBe(403);
    expect(sim.stats.cifsServed).toBe(10);
  });
});

describe('testkit integration', () => {
  it('sets Content-Length so that the truncation fault cuts CIF bodies', async () => {
    const sim = createIcsdSimulator({ entries: 50 });
    const server = await startTestServer({
      handlers: sim.handlers,
      faults: { match: { path: '/ws/cif/multiple' }, truncateRate: 1 },
    });
    servers.push(server);
    const base = `${server.url}/ws`;
    const token = await login(base);
    const res = await get(
      base,
      '/cif/multiple',
      token,
      sim.entries.slice(0, 20).map((e) => ['idnum', String(e.id)]),
    );
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    expect(server.requests.at(-1)).toMatchObject({ fault: 'truncate', status: 200 });
  });

  it('counts requests per endpoint', async () => {
    const { sim, base } = await serve();
    const token = await login(base);
    await get(base, '/search/simple', token, [['query', 'O']]);
    await get(base, '/search/simple', token, [['query', 'O']]);
    await get(base, '/cif/0', token);
    expect(sim.stats.requests).toEqual({
      'auth/login': 1,
      'auth/logout': 0,
      'search/simple': 2,
      'search/expert': 0,
      csv: 0,
      cif: 1,
      'cif/multiple': 0,
      reference: 0,
    });
  });
});
