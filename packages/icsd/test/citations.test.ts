import { UsageError } from '@sciport/core';
import { createIcsdSimulator, type IcsdSimEntry, startTestServer, type TestServer } from '@sciport/testkit';
import { HttpResponse, http } from 'msw';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Citation,
  formatBibtex,
  formatRis,
  IcsdClient,
  type IcsdEvent,
  normalizeDoi,
  parseAuthors,
  parseReference,
  toCslJson,
} from '../src/browser.js';

/** `entries.cite` against the simulator over real sockets, and the pure writers. */

let server: TestServer | undefined;
const clients: IcsdClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose().catch(() => undefined)));
  await server?.close();
  server = undefined;
});

async function setup() {
  const sim = createIcsdSimulator({ entries: 400, seed: 12 });
  server = await startTestServer({ handlers: sim.handlers });
  const events: IcsdEvent[] = [];
  const client = new IcsdClient({
    baseUrl: `${server.url}/ws`,
    username: 'demo',
    password: 'demo-password',
    onEvent: (e) => events.push(e),
  });
  clients.push(client);
  return { sim, server, client, events };
}

const warnings = (events: IcsdEvent[]) =>
  events.flatMap((e) => (e.type === 'warning' ? [(e as { message: string }).message] : []));

/** What the simulator's entry should cite as (its Reference is `<journal> (<year>), <volume>, <first>-<last>`). */
function expected(e: IcsdSimEntry) {
  const last = String(Number(e.page) + 1 + (e.collectionCode % 12));
  return {
    collectionCode: e.collectionCode,
    key: `icsd${e.collectionCode}`,
    authors: e.authors.map((a) => {
      const [family, given] = a.split(/,\s*/);
      return { family, given };
    }),
    title: e.title,
    journal: e.journal,
    year: e.publicationYear,
    volume: String(e.volume),
    pageFirst: e.page,
    pageLast: last,
    doi: e.doi === '' ? null : e.doi,
  };
}

describe('entries.cite', () => {
  it('builds a citation per code from the CSV properties, non-ASCII intact, and reports unknown codes', async () => {
    const { sim, client, events } = await setup();
    const nonAscii = sim.entries.find((e) => e.authors.some((a) => /[^ -~]/.test(a)))!;
    const withDoi = sim.entries.find((e) => e.doi !== '' && e !== nonAscii)!;
    const withoutDoi = sim.entries.find((e) => e.doi === '' && e !== nonAscii)!;
    expect(nonAscii && withDoi && withoutDoi).toBeTruthy();
    const unknown = 99_999_998;
    const result = await client.entries.cite([
      nonAscii.collectionCode,
      unknown,
      withDoi.collectionCode,
      withoutDoi.collectionCode,
    ]);
    expect(result.missingCodes).toEqual([unknown]);
    expect(result.doiAvailable).toBe(true);
    expect(result.citations.map(({ raw: _r, ...c }) => c)).toEqual(
      [nonAscii, withDoi, withoutDoi].map(expected),
    );
    expect(result.citations[0]!.raw.Authors).toBe(nonAscii.authors.join(';'));
    expect(warnings(events).some((m) => m.includes(String(unknown)))).toBe(true);
  });

  it('with no code that exists: no citation, every code reported, no error', async () => {
    const { client } = await setup();
    const result = await client.entries.cite([99_999_991, 99_999_992]);
    expect(result).toMatchObject({ citations: [], missingCodes: [99_999_991, 99_999_992] });
  });

  it('refuses codes that are no positive whole numbers before any request', async () => {
    const { sim, client } = await setup();
    await expect(client.entries.cite([5, -1])).rejects.toThrow(UsageError);
    expect(sim.stats.logins).toBe(0);
  });

  it('asks again without Doi when the service refuses the property (400): doi null, a warning', async () => {
    const { sim, server, client, events } = await setup();
    let refused = 0;
    server.use(
      http.get('*/ws/csv', ({ request }) => {
        const names = new URL(request.url).searchParams.getAll('listSelection');
        if (!names.some((n) => n.toLowerCase() === 'doi')) return undefined;
        refused += 1;
        return new HttpResponse('Unknown property Doi', {
          status: 400,
          headers: { 'content-type': 'text/plain' },
        });
      }),
    );
    const entries = sim.entries.filter((e) => e.doi !== '').slice(0, 3);
    const result = await client.entries.cite(entries.map((e) => e.collectionCode));
    expect(refused).toBe(1);
    expect(result.doiAvailable).toBe(false);
    expect(result.citations.map((c) => c.doi)).toEqual([null, null, null]);
    expect(result.citations.map((c) => c.title)).toEqual(entries.map((e) => e.title));
    expect(warnings(events).some((m) => /refused the Doi property/.test(m))).toBe(true);
  });

  it('accepts a DOI the service writes as a URL, and an unexpected Reference shape', async () => {
    const { sim, server, client } = await setup();
    const e = sim.entries[7]!;
    server.use(
      http.get('*/ws/csv', () => {
        const header =
          'CollectionCode\tAuthors\tTitle\tJournal\tPublicationYear\tVolume\tPage\tReference\tDoi\t';
        const row = `${e.collectionCode}\tÅström, B.;Nguyễn, V. A.\tA title\t\t\t\t\tZ. Kristallogr. 212 (1997) 45–51\thttps://doi.org/10.1524%2Fzkri.1997.212.1.45\t`;
        return new HttpResponse(`${header}\n${row}\n`, { headers: { 'content-type': 'application/csv' } });
      }),
    );
    const [c] = (await client.entries.cite([e.collectionCode])).citations;
    expect(c).toMatchObject({
      authors: [
        { family: 'Åström', given: 'B.' },
        { family: 'Nguyễn', given: 'V. A.' },
      ],
      doi: '10.1524/zkri.1997.212.1.45',
      year: 1997,
      // The Journal, Volume and Page cells are empty: the reference fills them.
      journal: 'Z. Kristallogr.',
      volume: '212',
      pageFirst: '45',
      pageLast: '51',
    });
  });
});

describe('parsers', () => {
  it('reads the documented Reference shape and tolerates others', () => {
    expect(parseReference('Journal of Solid State Chemistry (1998), 140, 123-130')).toEqual({
      journal: 'Journal of Solid State Chemistry',
      year: 1998,
      volume: '140',
      pageFirst: '123',
      pageLast: '130',
    });
    expect(parseReference('Acta Crystallographica B (2001), 57, e1234')).toMatchObject({
      volume: '57',
      pageFirst: 'e1234',
      pageLast: null,
    });
    expect(parseReference('Zeitschrift für Kristallographie (1930), 75')).toMatchObject({
      journal: 'Zeitschrift für Kristallographie',
      volume: '75',
      pageFirst: null,
    });
    expect(parseReference('Nature (1990), 12A, 5 – 9')).toMatchObject({ volume: '12A', pageLast: '9' });
    expect(parseReference('something else entirely')).toEqual({
      journal: null,
      year: null,
      volume: null,
      pageFirst: null,
      pageLast: null,
    });
  });

  it('splits authors on ";" into family and given names', () => {
    expect(parseAuthors('Müller, K.;  Smith, J. R. ;Ng')).toEqual([
      { family: 'Müller', given: 'K.' },
      { family: 'Smith', given: 'J. R.' },
      { family: 'Ng', given: '' },
    ]);
  });

  it('normalises DOIs written as URLs or with a doi: prefix, and rejects non-DOIs', () => {
    expect(normalizeDoi('10.1021/ic.2016.00865')).toBe('10.1021/ic.2016.00865');
    expect(normalizeDoi(' https://doi.org/10.1021/ic.2016.00865 ')).toBe('10.1021/ic.2016.00865');
    expect(normalizeDoi('http://dx.doi.org/10.1000/a%2Fb')).toBe('10.1000/a/b');
    expect(normalizeDoi('doi:10.1103/PhysRevB.1.1')).toBe('10.1103/PhysRevB.1.1');
    expect(normalizeDoi('n/a')).toBeNull();
  });
});

const sample: Citation[] = [
  {
    collectionCode: 1975,
    key: 'icsd1975',
    authors: [
      { family: 'Müller', given: 'K.' },
      { family: 'O_Brien & Co', given: 'J.' },
    ],
    title: 'Über LiFePO4: 50% {cubic} $x^2$ #1 ~ a\\b\nsecond line',
    journal: 'Zeitschrift für Kristallographie',
    year: 1998,
    volume: '140',
    pageFirst: '123',
    pageLast: '130',
    doi: '10.1000/x_y',
    raw: {},
  },
  {
    collectionCode: 8,
    key: 'icsd8',
    authors: [],
    title: null,
    journal: null,
    year: null,
    volume: null,
    pageFirst: 'e1',
    pageLast: null,
    doi: null,
    raw: {},
  },
];

describe('formatters', () => {
  it('BibTeX: @article keyed icsd<code>, special characters escaped, non-ASCII kept as UTF-8', () => {
    expect(formatBibtex(sample)).toBe(
      [
        '@article{icsd1975,',
        '  author = {Müller, K. and O\\_Brien \\& Co, J.},',
        '  title = {{Über LiFePO4: 50\\% \\{cubic\\} \\$x\\textasciicircum{}2\\$ \\#1 \\textasciitilde{} a\\textbackslash{}b second line}},',
        '  journal = {Zeitschrift für Kristallographie},',
        '  year = {1998},',
        '  volume = {140},',
        '  pages = {123--130},',
        '  doi = {10.1000/x_y},',
        '  note = {ICSD collection code 1975}',
        '}',
        '',
        '@article{icsd8,',
        '  pages = {e1},',
        '  note = {ICSD collection code 8}',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('RIS: TY JOUR … ER, one AU per author, SP/EP, DO, values on one line', () => {
    const ris = formatRis(sample);
    expect(ris.split('\n\n')[0]).toBe(
      [
        'TY  - JOUR',
        'ID  - icsd1975',
        'AU  - Müller, K.',
        'AU  - O_Brien & Co, J.',
        'TI  - Über LiFePO4: 50% {cubic} $x^2$ #1 ~ a\\b second line',
        'T2  - Zeitschrift für Kristallographie',
        'JF  - Zeitschrift für Kristallographie',
        'PY  - 1998',
        'VL  - 140',
        'SP  - 123',
        'EP  - 130',
        'DO  - 10.1000/x_y',
        'N1  - ICSD collection code 1975',
        'ER  - ',
      ].join('\n'),
    );
    // Every line is a tag line: a line break in a value never starts a line of its own.
    for (const line of ris.split('\n').filter(Boolean)) expect(line).toMatch(/^[A-Z][A-Z0-9] {2}- /);
  });

  it('CSL-JSON: article-journal items with family/given authors, issued date-parts, page first-last, DOI', () => {
    const items = toCslJson(sample);
    expect(items[0]).toEqual({
      id: 'icsd1975',
      type: 'article-journal',
      author: [
        { family: 'Müller', given: 'K.' },
        { family: 'O_Brien & Co', given: 'J.' },
      ],
      title: 'Über LiFePO4: 50% {cubic} $x^2$ #1 ~ a\\b second line',
      'container-title': 'Zeitschrift für Kristallographie',
      issued: { 'date-parts': [[1998]] },
      volume: '140',
      page: '123-130',
      DOI: '10.1000/x_y',
      note: 'ICSD collection code 1975',
    });
    expect(items[1]).toEqual({
      id: 'icsd8',
      type: 'article-journal',
      page: 'e1',
      note: 'ICSD collection code 8',
    });
    expect(JSON.parse(JSON.stringify(items))).toEqual(items);
  });
});
