import { HttpResponse, http } from 'msw';

/**
 * A strict ICSD server for the conformance tests (`conformance.test.ts`): msw handlers written from the wire
 * protocol (/work/shared/specs/icsd.md: §3, §4, §8, §10, Appendix A) alone, not the testkit simulator. Where
 * the spec leaves a behaviour open ([I], [U]) it takes the less convenient reading: it ignores `Accept`,
 * reverses row and document order, changes the copyright wording and year, refuses logins beyond one live
 * session, and serves fewer CIFs a session than a batch holds.
 */

export const ORIGIN = 'https://icsd.test';
export const OTHER = 'https://elsewhere.test';
export const USER = 'alice';
/** `&` and a space: the form must encode them (`s3cr%26t+pass`). */
export const PASSWORD = 's3cr&t pass';
export const LOGIN_FAILED =
  'Authentication failed: the login id or the password is incorrect, or the account cannot use the ICSD API';

export type Subset = 'EXPERIMENTAL_INORGANIC' | 'EXPERIMENTAL_METALORGANIC' | 'THERORETICAL_STRUCTURES';
export const SUBSETS: readonly Subset[] = [
  'EXPERIMENTAL_INORGANIC',
  'EXPERIMENTAL_METALORGANIC',
  'THERORETICAL_STRUCTURES',
];

export interface Entry {
  id: number;
  cc: number;
  subset: Subset;
  formula: string;
  name: string;
  authors: string[];
  year: number;
}

export const N = 1300;
/** Internal ids are a permutation unrelated to the collection codes (spec §5). */
export const ENTRIES: Entry[] = Array.from({ length: N }, (_, i) => ({
  id: 700_000 + ((i * 7919) % N),
  cc: 10 + 3 * i,
  subset: SUBSETS[i % 10 === 9 ? 2 : i % 10 === 8 ? 1 : 0] as Subset,
  formula: i % 2 === 1 ? 'Li Fe O2' : 'Na Cl',
  name: i % 3 === 0 ? 'Lithium iron oxide, Ångström phase' : 'Sodium chloride',
  authors: ['Müller, K.', 'Smith, J.'],
  year: 1950 + (i % 70),
}));
export const BY_ID = new Map(ENTRIES.map((e) => [e.id, e]));
export const BY_CC = new Map(ENTRIES.map((e) => [e.cc, e]));
const elementsOf = (e: Entry) => e.formula.split(' ').map((p) => p.replace(/\d+$/, ''));

/** A CIF as §8 lays it out: a blank first line, the copyright comment, one block, the end line. */
function cifOf(
  e: Entry,
  year: number,
  eol = '\n',
  wording = 'Leibniz Institute for Information Infrastructure',
): string {
  return [
    '',
    `#(C) ${year} by FIZ Karlsruhe - ${wording}.  All rights reserved.`,
    `data_${e.cc}-ICSD`,
    `_database_code_ICSD ${e.cc}`,
    '_audit_creation_date 2019-04-01',
    `_chemical_name_systematic '${e.name}'`,
    `_chemical_formula_structural '${e.formula}'`,
    '_cell_length_a 4.0512(3)',
    '_cell_angle_alpha 90.',
    "_space_group_name_H-M_alt 'F m -3 m'",
    '_space_group_IT_number 225',
    'loop_',
    '_citation_author_citation_id',
    '_citation_author_name',
    ...e.authors.map((a) => `primary '${a}'`),
    `#End of TTdata_${e.cc}-ICSD`,
    '',
  ].join(eol);
}

const CSV_VALUES: Record<string, (e: Entry) => string> = {
  collectioncode: (e) => String(e.cc),
  structuredformula: (e) => e.formula,
  chemicalname: (e) => e.name,
  authors: (e) => e.authors.join(';'),
  cellparameter: () => '5.5385(2) 5.5385(2) 13.5(1) 90. 90. 120.',
  publicationyear: (e) => String(e.year),
  mineralname: () => '',
};

export interface Logged {
  method: string;
  /** Origin and path, e.g. `https://icsd.test/ws/csv`. */
  where: string;
  path: string;
  /** The query exactly as sent (`?query=Li+O&content+type=…`). */
  search: string;
  params: URLSearchParams;
  headers: Headers;
  body: string;
  status: number;
}

export interface MockOptions {
  /** Token lifetime from login (Appendix A: fixed, one hour by default). */
  tokenLifetimeMs?: number;
  /** Live tokens an account may hold; a login beyond it is answered 403 (Appendix A). */
  sessionLimit?: number;
  /** CIFs per session (Appendix A: 1000 by default); the whole request is refused, nothing counted. */
  quota?: number | null;
  /** Every CIF request is refused with 403 (throttled account, §9). */
  throttled?: boolean;
  /** Only the first this many CIF requests are refused (throttling that passes). */
  throttleFirst?: number;
  /** The copyright year (the year of download, §8), and wording after `FIZ Karlsruhe`. */
  year?: number;
  wording?: string;
  /** Answer searches with XML whatever `Accept` says (S5 gets XML with `*\/*`). */
  xmlOnly?: boolean;
  /** Rows and documents in reverse order of the ids (their order is [I]/[U]: §4.4, §4.6). */
  reverse?: boolean;
  /** Header cells of `/csv` (default: the requested names, §4.4 [I]). */
  csvHeader?: (names: string[]) => string[];
}

export const text = (status: number, body: string, headers: Record<string, string> = {}) =>
  new HttpResponse(body, { status, headers: { 'content-type': 'text/plain;charset=UTF-8', ...headers } });

export function createMock(options: MockOptions = {}, origin = ORIGIN) {
  const lifetime = options.tokenLifetimeMs ?? 3_600_000;
  const quota = options.quota === undefined ? 1000 : options.quota;
  const year = options.year ?? 2031;
  const tokens = new Map<string, { expires: number; cifs: number }>();
  const log: Logged[] = [];
  const stats = { logins: 0, logouts: 0, maxLive: 0, refusedLogins: 0, quota403: 0 };
  let counter = 0;
  let throttledSoFar = 0;
  const purge = () => {
    for (const [t, s] of tokens) if (s.expires <= Date.now()) tokens.delete(t);
  };

  function numbers(value: string): Array<[number, number]> {
    return value.split(',').map((item) => {
      const m = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(item);
      if (!m) throw new Error(`bad number "${item}"`);
      return [Number(m[1]), Number(m[2] ?? m[1])];
    });
  }
  function term(t: string): (e: Entry) => boolean {
    const m = /^\s*([A-Za-z]+)\s*:\s*(.+?)\s*$/.exec(t);
    if (!m) throw new Error(`expected FIELD : value, got "${t}"`);
    const field = (m[1] as string).toUpperCase();
    const value = m[2] as string;
    if (field === 'COLLECTIONCODE' || field === 'PUBLICATIONYEAR') {
      const ranges = numbers(value);
      return (e) => {
        const v = field === 'COLLECTIONCODE' ? e.cc : e.year;
        return ranges.some(([lo, hi]) => v >= lo && v <= hi);
      };
    }
    if (field === 'COMPOSITION') {
      const els = value.split(/\s+/).map((x) => x.split(':')[0] as string);
      return (e) => els.every((el) => elementsOf(e).includes(el));
    }
    if (field === 'NUMBEROFELEMENTS') {
      const ranges = numbers(value);
      return (e) => ranges.some(([lo, hi]) => elementsOf(e).length >= lo && elementsOf(e).length <= hi);
    }
    throw new Error(`unknown field ${m[1]}`);
  }
  const expert = (q: string) => {
    const alternatives = q
      .trim()
      .split(/\s+or\s+/i)
      .map((part) => part.split(/\s+and\s+/i).map(term));
    return (e: Entry) => alternatives.some((all) => all.every((p) => p(e)));
  };
  const simple = (q: string) => {
    const words = q.trim().split(/\s+/);
    return (e: Entry) =>
      words.every((w) => elementsOf(e).includes(w) || e.name.toLowerCase().includes(w.toLowerCase()));
  };

  const readIds = (params: URLSearchParams): number[] | Response => {
    const raw = params.getAll('idnum');
    if (raw.length > 500) return text(400, 'Bad Request: at most 500 idnum values');
    if (raw.some((v) => !/^\d+$/.test(v))) return text(400, 'Bad Request: idnum must be one decimal integer');
    return raw.map(Number);
  };
  const eolOf = (params: URLSearchParams) =>
    (params.get('windowsclient') ?? '').toLowerCase() === 'true' ? '\r\n' : '\n';
  const badCellType = (params: URLSearchParams) => {
    const c = params.get('celltype') ?? 'experimental';
    return c !== 'experimental' && c !== 'standardized';
  };
  const refuseCifs = (session: { cifs: number }, n: number): Response | undefined => {
    throttledSoFar += 1;
    const throttled = options.throttled || throttledSoFar <= (options.throttleFirst ?? 0);
    if (throttled || (quota !== null && session.cifs + n > quota)) {
      stats.quota403 += 1;
      return text(403, 'Forbidden: download limit reached. Log out and log in again.');
    }
    session.cifs += n;
    return undefined;
  };

  function route(request: Request, url: URL, body: string): Response {
    const p = url.pathname.replace(/^\/(api\/)?ws/, '');
    if (p === '/auth/login') {
      if (request.method !== 'POST') return text(405, 'Method Not Allowed');
      const form = new URLSearchParams(body);
      if (form.get('loginid') !== USER || form.get('password') !== PASSWORD) return text(401, LOGIN_FAILED);
      purge();
      if (options.sessionLimit !== undefined && tokens.size >= options.sessionLimit) {
        stats.refusedLogins += 1;
        return text(403, 'Forbidden: make sure all other sessions are closed');
      }
      counter += 1;
      const token = `tok${counter}-6a0f3c9e1b7d42e8`;
      tokens.set(token, { expires: Date.now() + lifetime, cifs: 0 });
      stats.logins += 1;
      stats.maxLive = Math.max(stats.maxLive, tokens.size);
      return text(200, 'Authentication successful', {
        'ICSD-Auth-Token': token,
        'Set-Cookie': 'JSESSIONID=0123456789ABCDEF0123456789ABCDEF; Path=/; HttpOnly',
        'Content-Language': 'en',
      });
    }
    const token = request.headers.get('icsd-auth-token') ?? '';
    const session = tokens.get(token);
    if (!session || session.expires <= Date.now()) {
      tokens.delete(token);
      return text(401, 'Unauthorized: token invalid or expired');
    }
    if (request.method !== 'GET') return text(405, 'Method Not Allowed');
    const params = url.searchParams;
    if (p === '/auth/logout') {
      tokens.delete(token);
      stats.logouts += 1;
      return text(200, 'Logout successful');
    }
    if (p === '/search/simple' || p === '/search/expert') {
      const q = params.get('query');
      if (!q) return text(400, 'Bad Request: query is missing');
      const ct = params.get('content type');
      const subset = ct === 'THEORETICAL_STRUCTURES' ? 'THERORETICAL_STRUCTURES' : ct;
      if (subset !== null && !SUBSETS.includes(subset as Subset))
        return text(400, 'Bad Request: content type');
      let match: (e: Entry) => boolean;
      try {
        match = p === '/search/simple' ? simple(q) : expert(q);
      } catch (error) {
        return text(400, `Bad Request: ${(error as Error).message}`);
      }
      const ids = ENTRIES.filter((e) => (subset === null || e.subset === subset) && match(e))
        .sort((a, b) => a.cc - b.cc)
        .map((e) => String(e.id));
      if (!options.xmlOnly && (request.headers.get('accept') ?? '').includes('application/json')) {
        return HttpResponse.json({ idnums: ids });
      }
      return new HttpResponse(
        `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><hits><idnums>${ids.join(' ')}</idnums></hits>`,
        { headers: { 'content-type': 'application/xml' } },
      );
    }
    if (p === '/csv') {
      const ids = readIds(params);
      if (ids instanceof Response) return ids;
      const names = params.getAll('listSelection');
      if (names.some((n) => !CSV_VALUES[n.toLowerCase()])) return text(400, 'Bad Request: unknown property');
      const eol = eolOf(params);
      const rows = ids.map((id) => BY_ID.get(id)).filter((e): e is Entry => e !== undefined);
      if (options.reverse) rows.reverse();
      const lines = [
        options.csvHeader ? options.csvHeader(names) : names,
        ...rows.map((e) => names.map((n) => (CSV_VALUES[n.toLowerCase()] as (e: Entry) => string)(e))),
      ];
      return new HttpResponse(lines.map((cells) => `${cells.map((c) => `${c}\t`).join('')}${eol}`).join(''), {
        headers: { 'content-type': 'application/csv;charset=UTF-8' },
      });
    }
    if (p === '/cif/multiple') {
      const ids = readIds(params);
      if (ids instanceof Response) return ids;
      const filetype = params.get('filetype') ?? 'cif';
      if (filetype !== 'cif' && filetype !== 'single') return text(400, 'Bad Request: filetype');
      if (badCellType(params)) return text(400, 'Bad Request: celltype');
      const entries = ids.map((id) => BY_ID.get(id));
      if (entries.some((e) => e === undefined)) return text(500, 'Internal Server Error');
      const refused = refuseCifs(session, entries.length);
      if (refused) return refused;
      const docs = (entries as Entry[]).map((e) => cifOf(e, year, eolOf(params), options.wording));
      if (options.reverse) docs.reverse();
      return new HttpResponse(docs.join(''), {
        headers: { 'content-type': 'application/cif;charset=UTF-8' },
      });
    }
    const single = /^\/cif\/(\d+)$/.exec(p);
    if (single) {
      if (badCellType(params)) return text(400, 'Bad Request: celltype');
      const e = BY_ID.get(Number(single[1]));
      if (!e) return text(404, 'Not Found');
      const refused = refuseCifs(session, 1);
      if (refused) return refused;
      return new HttpResponse(cifOf(e, year, eolOf(params), options.wording), {
        headers: { 'content-type': 'application/cif;charset=UTF-8' },
      });
    }
    return text(404, 'Not Found');
  }

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const body = request.method === 'GET' ? '' : await request.text();
    const entry: Logged = {
      method: request.method,
      where: `${url.origin}${url.pathname}`,
      path: url.pathname,
      search: url.search,
      params: url.searchParams,
      headers: new Headers(request.headers),
      body,
      status: 0,
    };
    log.push(entry);
    const response = route(request, url, body);
    entry.status = response.status;
    return response;
  }

  const handlers = [
    http.all(`${origin}/ws/*`, ({ request }) => handle(request)),
    http.all(`${origin}/api/ws/*`, ({ request }) => handle(request)),
  ];
  return {
    handlers,
    log,
    stats,
    calls: (suffix: string) => log.filter((l) => l.path.endsWith(suffix)),
    killTokens: () => tokens.clear(),
    cif: (e: Entry, eol = '\n') => cifOf(e, year, eol, options.wording),
  };
}
