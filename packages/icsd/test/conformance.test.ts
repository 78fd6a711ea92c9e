import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  PermissionDeniedError,
  ResponseValidationError,
} from '@sciport/core';
import { startTestServer } from '@sciport/testkit';
import { HttpResponse, http, passthrough } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  IcsdClient,
  type IcsdClientOptions,
  type IcsdEvent,
  IcsdLoginRefusedError,
  IcsdQuotaError,
} from '../src/index.js';

/**
 * Conformance with the ICSD wire protocol (/work/shared/specs/icsd.md), against a server written here from the
 * spec alone (§3, §4, §8, §10, Appendix A), not the testkit simulator. Each test names the section it checks.
 * Where the spec leaves a behaviour open ([I], [U]) the server here takes the less convenient reading: it
 * ignores `Accept`, reverses row and document order, changes the copyright wording and year, refuses logins
 * beyond one live session, and serves fewer CIFs a session than a batch holds.
 */

const ORIGIN = 'https://icsd.test';
const OTHER = 'https://elsewhere.test';
const USER = 'alice';
/** `&` and a space: the form must encode them (`s3cr%26t+pass`). */
const PASSWORD = 's3cr&t pass';
const LOGIN_FAILED =
  'Authentication failed: the login id or the password is incorrect, or the account cannot use the ICSD API';

type Subset = 'EXPERIMENTAL_INORGANIC' | 'EXPERIMENTAL_METALORGANIC' | 'THERORETICAL_STRUCTURES';
const SUBSETS: readonly Subset[] = [
  'EXPERIMENTAL_INORGANIC',
  'EXPERIMENTAL_METALORGANIC',
  'THERORETICAL_STRUCTURES',
];

interface Entry {
  id: number;
  cc: number;
  subset: Subset;
  formula: string;
  name: string;
  authors: string[];
  year: number;
}

const N = 1300;
/** Internal ids are a permutation unrelated to the collection codes (spec §5). */
const ENTRIES: Entry[] = Array.from({ length: N }, (_, i) => ({
  id: 700_000 + ((i * 7919) % N),
  cc: 10 + 3 * i,
  subset: SUBSETS[i % 10 === 9 ? 2 : i % 10 === 8 ? 1 : 0] as Subset,
  formula: i % 2 === 1 ? 'Li Fe O2' : 'Na Cl',
  name: i % 3 === 0 ? 'Lithium iron oxide, Ångström phase' : 'Sodium chloride',
  authors: ['Müller, K.', 'Smith, J.'],
  year: 1950 + (i % 70),
}));
const BY_ID = new Map(ENTRIES.map((e) => [e.id, e]));
const BY_CC = new Map(ENTRIES.map((e) => [e.cc, e]));
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

interface Logged {
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

interface MockOptions {
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

const text = (status: number, body: string, headers: Record<string, string> = {}) =>
  new HttpResponse(body, { status, headers: { 'content-type': 'text/plain;charset=UTF-8', ...headers } });

function createMock(options: MockOptions = {}, origin = ORIGIN) {
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

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());

let dir: string;
const clients: IcsdClient[] = [];
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-icsd-conf-'));
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose().catch(() => undefined)));
  server.resetHandlers();
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

function setup(options: MockOptions = {}, clientOptions: IcsdClientOptions = {}) {
  const mock = createMock(options);
  server.use(...mock.handlers);
  const events: IcsdEvent[] = [];
  const client = new IcsdClient({
    baseUrl: `${ORIGIN}/ws`,
    username: USER,
    password: PASSWORD,
    maxRetries: 3,
    onEvent: (e) => events.push(e),
    ...clientOptions,
  });
  clients.push(client);
  return { mock, client, events };
}

const warnings = (events: IcsdEvent[]) =>
  events.filter((e): e is { type: 'warning'; message: string } => e.type === 'warning').map((e) => e.message);
const ccIds = (lo: number, hi: number, subset?: Subset) =>
  ENTRIES.filter((e) => e.cc >= lo && e.cc <= hi && (!subset || e.subset === subset)).map((e) => e.id);
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );

describe('§3 login, token, logout', () => {
  it('logs in with a form POST of loginid and password, then authenticates by the ICSD-Auth-Token header alone', async () => {
    const { mock, client } = setup();
    await client.search('Na');
    const [login, search] = mock.log;
    expect(login).toMatchObject({
      method: 'POST',
      path: '/ws/auth/login',
      body: 'loginid=alice&password=s3cr%26t+pass',
    });
    expect(login?.headers.get('content-type')).toMatch(/^application\/x-www-form-urlencoded/);
    expect(login?.headers.get('accept')).toBe('text/plain');
    expect(search?.headers.get('icsd-auth-token')).toBe('tok1-6a0f3c9e1b7d42e8');
  });

  it('never sends back the cookies the login sets (real sockets: msw in-process would add its own)', async () => {
    const mock = createMock({}, '*');
    await using real = await startTestServer({ handlers: mock.handlers });
    server.use(http.all(`${real.url}/*`, () => passthrough()));
    const client = new IcsdClient({ baseUrl: `${real.url}/ws`, username: USER, password: PASSWORD });
    clients.push(client);
    await client.search('Na');
    await client.search('Li');
    expect(mock.log.map((r) => [r.path, r.status])).toEqual([
      ['/ws/auth/login', 200],
      ['/ws/search/simple', 200],
      ['/ws/search/simple', 200],
    ]);
    for (const r of mock.log.slice(1)) {
      expect(r.headers.get('cookie')).toBeNull();
      expect(r.headers.get('icsd-auth-token')).toMatch(/^tok1-/);
    }
    await client.dispose();
  });

  it.each([
    ['401 with the 104-byte text', 401, LOGIN_FAILED, {}],
    ['400 (the status is unknown, §3.1)', 400, 'Bad credentials', {}],
    ['200 without a token header', 200, 'Authentication failed', {}],
    [
      'an HTML page',
      404,
      '<html><head><title>Login page</title></head><body><h1>Sign in</h1></body></html>',
      { 'content-type': 'text/html' },
    ],
  ])(
    'a failed login (%s) is an AuthenticationError quoting the body, never the password',
    async (_, status, body, headers) => {
      const { mock, client } = setup();
      server.use(
        http.post(
          `${ORIGIN}/ws/auth/login`,
          () => new HttpResponse(body, { status, headers: { 'content-type': 'text/plain', ...headers } }),
        ),
      );
      const error = await failure(client.search('Na'));
      expect(AuthenticationError.isInstance(error)).toBe(true);
      const shown = `${error?.message} ${JSON.stringify(error)}`;
      expect(shown).toContain(String(status));
      expect(shown).not.toMatch(/<html|<title/);
      expect(error?.message).toContain(status === 404 ? 'Login page' : body.slice(0, 40));
      for (const secret of [PASSWORD, 's3cr%26t+pass', 's3cr%26t%20pass'])
        expect(shown).not.toContain(secret);
      expect(mock.calls('/search/simple')).toHaveLength(0);
    },
  );

  it('a login refused with 403 (session limit) is reported as such, not mistaken for a CIF quota', async () => {
    const { mock, client } = setup();
    let logins = 0;
    server.use(
      http.post(`${ORIGIN}/ws/auth/login`, () => {
        logins += 1;
        return text(403, 'Forbidden: make sure all other sessions are closed');
      }),
    );
    const error = await failure(client.cif(ENTRIES[0]!.id));
    expect(IcsdLoginRefusedError.isInstance(error)).toBe(true);
    expect(PermissionDeniedError.isInstance(error)).toBe(true);
    expect(IcsdQuotaError.isInstance(error)).toBe(false);
    expect(error?.message).toMatch(/sessions/);
    // One login attempt: a refused login is not retried as if the download quota had run out.
    expect(logins).toBe(1);
    expect(mock.log).toHaveLength(0);
  });

  it('renews the token at about 55 minutes of its hour, logging out first (one live session at a time)', async () => {
    const { mock, client } = setup({ sessionLimit: 1 });
    const realNow = Date.now.bind(Date);
    let offset = 0;
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
    await client.search('Na');
    offset = 50 * 60_000;
    await client.search('Na');
    expect(mock.stats.logins).toBe(1);
    offset = 56 * 60_000;
    await client.search('Na');
    expect(mock.stats).toMatchObject({ logins: 2, logouts: 1, refusedLogins: 0, maxLive: 1 });
    const paths = mock.log.map((l) => l.path.replace('/ws/', ''));
    expect(paths).toEqual([
      'auth/login',
      'search/simple',
      'search/simple',
      'auth/logout',
      'auth/login',
      'search/simple',
    ]);
    expect(mock.log.at(-1)?.headers.get('icsd-auth-token')).toMatch(/^tok2-/);
    // No request ever went out with the token of the first hour after it was renewed.
    expect(mock.log.slice(4).some((l) => l.headers.get('icsd-auth-token')?.startsWith('tok1-'))).toBe(false);
  });

  it('logs in again once on a 401 and goes on; a second 401 is an authentication error, not a loop', async () => {
    const { mock, client } = setup();
    await client.search('Na');
    mock.killTokens();
    expect(await client.expertSearch('COLLECTIONCODE : 10-40')).toEqual(ccIds(10, 40));
    expect(mock.stats.logins).toBe(2);
    server.use(http.get(`${ORIGIN}/ws/search/expert`, () => text(401, 'Unauthorized')));
    const error = await failure(client.expertSearch('COLLECTIONCODE : 10-40'));
    expect(AuthenticationError.isInstance(error)).toBe(true);
    expect(mock.stats.logins).toBe(3);
  });

  it('logs out with GET and the token, forgets the token, and never sends it again', async () => {
    const { mock, client } = setup();
    await client.search('Na');
    await client.logout();
    const logout = mock.calls('/auth/logout')[0];
    expect(logout?.method).toBe('GET');
    expect(logout?.headers.get('accept')).toBe('text/plain');
    expect(logout?.headers.get('icsd-auth-token')).toMatch(/^tok1-/);
    await client.search('Na');
    expect(mock.stats.logins).toBe(2);
    const afterLogout = mock.log.slice(mock.log.indexOf(logout as Logged) + 1);
    expect(afterLogout.some((l) => l.headers.get('icsd-auth-token')?.startsWith('tok1-'))).toBe(false);
    await client.dispose();
    await client.dispose();
    expect(mock.stats.logouts).toBe(2);
    expect(mock.log.filter((l) => l.status === 401)).toHaveLength(0);
  });

  it('works under /api/ws too', async () => {
    const { mock, client } = setup({}, { baseUrl: `${ORIGIN}/api/ws` });
    expect(await client.expertSearch('COLLECTIONCODE : 10-20')).toEqual(ccIds(10, 20));
    expect(mock.log.map((l) => l.path)).toEqual(['/api/ws/auth/login', '/api/ws/search/expert']);
  });
});

describe('§1 redirects never carry credentials to another host', () => {
  it('does not send the login form across origins, and follows a same-origin redirect with the form', async () => {
    const { mock, client } = setup();
    const elsewhere: Logged[] = [];
    server.use(
      http.all(`${OTHER}/*`, ({ request }) => {
        elsewhere.push({ where: request.url, headers: request.headers } as unknown as Logged);
        return text(200, 'Authentication successful', { 'ICSD-Auth-Token': 'stolen-token-000' });
      }),
      http.post(
        `${ORIGIN}/ws/auth/login`,
        () => new HttpResponse(null, { status: 307, headers: { location: `${OTHER}/ws/auth/login` } }),
      ),
    );
    const error = await failure(client.search('Na'));
    expect(error).toBeInstanceOf(Error);
    expect(elsewhere).toHaveLength(0);

    server.resetHandlers(...mock.handlers);
    server.use(
      http.post(
        `${ORIGIN}/ws/auth/login`,
        () => new HttpResponse(null, { status: 307, headers: { location: `${ORIGIN}/api/ws/auth/login` } }),
      ),
    );
    await client.search('Na');
    expect(mock.calls('/api/ws/auth/login')[0]?.body).toBe('loginid=alice&password=s3cr%26t+pass');
  });

  it('does not send the token to the host a search is redirected to', async () => {
    const { client } = setup();
    const seen: Headers[] = [];
    server.use(
      http.get(
        `${ORIGIN}/ws/search/simple`,
        () => new HttpResponse(null, { status: 302, headers: { location: `${OTHER}/mirror/search` } }),
      ),
      http.get(`${OTHER}/mirror/search`, ({ request }) => {
        seen.push(request.headers);
        return HttpResponse.json({ idnums: ['5'] });
      }),
    );
    expect(await client.search('Na')).toEqual([5]);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.get('icsd-auth-token')).toBeNull();
  });
});

describe('§4.1–4.3, §6 searches', () => {
  it('sends `query` and `content type` (encoded content+type, the misspelled theoretical value), ids in order', async () => {
    const { mock, client } = setup();
    await client.search('Li O', { contentType: 'inorganic' });
    expect(mock.calls('/search/simple')[0]?.search).toBe('?query=Li+O&content+type=EXPERIMENTAL_INORGANIC');
    const ids = await client.expertSearch('collectioncode : 1-100', { contentType: 'theoretical' });
    expect(mock.calls('/search/expert')[0]?.search).toBe(
      '?query=collectioncode+%3A+1-100&content+type=THERORETICAL_STRUCTURES',
    );
    expect(ids).toEqual(ccIds(1, 100, 'THERORETICAL_STRUCTURES'));
    expect(ids.length).toBeGreaterThan(0);
    await client.expertSearch({ composition: 'Li Fe', collectionCode: [1, 400] });
    const typed = mock.calls('/search/expert')[1];
    expect(typed?.params.get('query')).toBe('COMPOSITION : Li Fe and COLLECTIONCODE : 1-400');
    // No subset given: no `content type` parameter at all (§4.3).
    expect(typed?.params.has('content type')).toBe(false);
    for (const s of mock.log.filter((l) => l.path.includes('/search/'))) {
      expect(s.headers.get('accept')).toMatch(/application\/(json|xml)/);
    }
  });

  it('searches every subset given, one request each, without repeating ids', async () => {
    const { mock, client } = setup();
    const ids = await client.expertSearch('COLLECTIONCODE : 1-200', {
      contentType: ['metalorganic', 'THEORETICAL_STRUCTURES'],
    });
    expect(mock.calls('/search/expert').map((l) => l.params.get('content type'))).toEqual([
      'EXPERIMENTAL_METALORGANIC',
      'THERORETICAL_STRUCTURES',
    ]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(
      [...ccIds(1, 200, 'EXPERIMENTAL_METALORGANIC'), ...ccIds(1, 200, 'THERORETICAL_STRUCTURES')].sort(),
    );
  });

  it('reads the single-line XML when the server ignores Accept', async () => {
    const { client } = setup({ xmlOnly: true });
    expect(await client.expertSearch('COLLECTIONCODE : 10-30')).toEqual(ccIds(10, 30));
    expect(await client.expertSearch('COLLECTIONCODE : 2')).toEqual([]);
  });

  it.each([
    ['<idnums/>', '<?xml version="1.0"?><hits><idnums/></hits>', [], 'application/xml'],
    [
      'ids across lines',
      '<?xml version="1.0"?>\n<hits>\n  <idnums>\n 1975\n3153  1396 </idnums>\n  <count>3</count>\n</hits>\n',
      [1975, 3153, 1396],
      'application/xml',
    ],
    ['JSON numbers', '{"idnums":[1975,3153]}', [1975, 3153], 'application/json'],
    ['JSON strings', '{"idnums":["1975","3153","1396"]}', [1975, 3153, 1396], 'application/json'],
    ['JSON, no hits', '{"idnums":[]}', [], 'application/json'],
  ])('accepts %s', async (_, body, expected, type) => {
    const { client } = setup();
    server.use(
      http.get(
        `${ORIGIN}/ws/search/expert`,
        () => new HttpResponse(body, { headers: { 'content-type': type } }),
      ),
    );
    expect(await client.expertSearch('COLLECTIONCODE : 1')).toEqual(expected);
  });

  it('never reads an error as "no hits": 400 text, an HTML page, a 200 that is not a search answer', async () => {
    const { client } = setup();
    server.use(http.get(`${ORIGIN}/ws/search/expert`, () => text(400, 'Bad Request: unknown field FOO')));
    const bad = await failure(client.expertSearch('COLLECTIONCODE : 1'));
    expect(BadRequestError.isInstance(bad)).toBe(true);
    expect(bad?.message).toContain('unknown field FOO');

    server.use(
      http.get(
        `${ORIGIN}/ws/search/expert`,
        () =>
          new HttpResponse('<html><body><h1>Service temporarily down</h1></body></html>', {
            status: 200,
            headers: { 'content-type': 'text/html' },
          }),
      ),
    );
    const page = await failure(client.expertSearch('COLLECTIONCODE : 1'));
    expect(ResponseValidationError.isInstance(page)).toBe(true);
  });

  it('refuses unknown fields and empty searches before sending anything', async () => {
    const { mock, client } = setup();
    await expect(client.expertSearch('SPACEGRUPNUMBER : 225')).rejects.toThrow(/Unknown ICSD search field/);
    await expect(client.search('   ')).rejects.toThrow(/empty/);
    expect(mock.log).toHaveLength(0);
  });
});

describe('§4.4 /csv', () => {
  it('sends repeated idnum and listSelection in order, 500 ids a request, and keys rows by collection code', async () => {
    const { mock, client } = setup({ reverse: true });
    const ids = ENTRIES.slice(0, 1200).map((e) => e.id);
    const rows = await client
      .properties(ids, ['StructuredFormula', 'ChemicalName', 'Authors', 'CellParameter'])
      .toArray();
    const csv = mock.calls('/csv');
    expect(csv.map((l) => l.params.getAll('idnum').length)).toEqual([500, 500, 200]);
    expect(csv.flatMap((l) => l.params.getAll('idnum'))).toEqual(ids.map(String));
    for (const l of csv) {
      expect(l.params.getAll('listSelection')).toEqual([
        'CollectionCode',
        'StructuredFormula',
        'ChemicalName',
        'Authors',
        'CellParameter',
      ]);
      expect(l.params.get('windowsclient')).toBe('false');
      expect(l.headers.get('accept')).toBe('application/csv');
    }
    expect(rows).toHaveLength(1200);
    for (const row of rows) {
      const e = BY_CC.get(row.collectionCode) as Entry;
      // Rows came back in reverse order: the pairing is by collection code, never by position.
      expect(row.id).toBe(e.id);
      expect(row.StructuredFormula).toBe(e.formula);
      expect(row.ChemicalName).toBe(e.name);
      expect(row.Authors).toEqual(e.authors);
      expect(row.CellParameter?.a).toMatchObject({ value: 5.5385, uncertainty: 0.0002 });
      expect(row.CellParameter?.alpha.value).toBe(90);
    }
    expect(rows.some((r) => r.ChemicalName?.includes('Ångström'))).toBe(true);
  });

  it('reads CRLF answers, reports ids without a row, and sends nothing for no ids', async () => {
    const { mock, client, events } = setup();
    server.use(
      http.get(`${ORIGIN}/ws/csv`, ({ request }) => {
        const ids = new URL(request.url).searchParams.getAll('idnum').map(Number);
        const known = ids.map((id) => BY_ID.get(id)).filter((e): e is Entry => e !== undefined);
        const body = ['CollectionCode\tPublicationYear\t', ...known.map((e) => `${e.cc}\t${e.year}\t`)]
          .map((l) => `${l}\r\n`)
          .join('');
        return new HttpResponse(body, { headers: { 'content-type': 'application/csv' } });
      }),
    );
    const ids = [ENTRIES[3]!.id, 999_999_991, ENTRIES[4]!.id];
    const stream = client.properties(ids, ['PublicationYear']);
    const rows = await stream.toArray();
    expect(rows.map((r) => [r.id, r.PublicationYear])).toEqual([
      [ENTRIES[3]!.id, ENTRIES[3]!.year],
      [ENTRIES[4]!.id, ENTRIES[4]!.year],
    ]);
    expect(stream.missingIds).toEqual([999_999_991]);
    expect(warnings(events).join('\n')).toMatch(/1 of 3 ids produced no row/);
    const before = mock.log.length;
    expect(await client.properties([], ['PublicationYear']).toArray()).toEqual([]);
    expect(mock.log).toHaveLength(before);
  });

  it('reads a header of display names by name, and a body in the Latin-1 its Content-Type names', async () => {
    const { client, events } = setup();
    server.use(
      http.get(`${ORIGIN}/ws/csv`, ({ request }) => {
        const ids = new URL(request.url).searchParams.getAll('idnum').map(Number);
        const lines = ['Collection Code\tChemical Name\t'];
        for (const id of ids) lines.push(`${BY_ID.get(id)?.cc}\t${BY_ID.get(id)?.name}\t`);
        const latin1 = Uint8Array.from(`${lines.join('\n')}\n`, (c) => c.charCodeAt(0));
        return new HttpResponse(latin1, {
          headers: { 'content-type': 'application/csv;charset=ISO-8859-1' },
        });
      }),
    );
    const e = ENTRIES[0] as Entry;
    expect(e.name).toContain('Ångström');
    const rows = await client.properties([e.id], ['ChemicalName']).toArray();
    expect(rows).toEqual([expect.objectContaining({ id: e.id, collectionCode: e.cc, ChemicalName: e.name })]);
    expect(warnings(events)).toEqual([]);
  });

  it('reads columns by request position when the header does not echo the names, and says so', async () => {
    const { client, events } = setup({ csvHeader: (names) => names.map((_, i) => `Column ${i + 1}`) });
    const rows = await client
      .properties([ENTRIES[7]!.id], ['StructuredFormula', 'PublicationYear'])
      .toArray();
    expect(rows).toEqual([
      expect.objectContaining({
        collectionCode: ENTRIES[7]!.cc,
        StructuredFormula: ENTRIES[7]!.formula,
        PublicationYear: ENTRIES[7]!.year,
      }),
    ]);
    expect(warnings(events).join('\n')).toMatch(/read by request position/);
  });
});

describe('§4.5 /cif/{id}', () => {
  it('asks with celltype and windowsclient and returns the document exactly as sent', async () => {
    const { mock, client } = setup();
    const e = ENTRIES[11] as Entry;
    const got = await client.cif(e.id);
    expect(got).toEqual({ id: e.id, collectionCode: e.cc, text: mock.cif(e) });
    const call = mock.calls(`/cif/${e.id}`)[0];
    expect(call?.search).toBe('?celltype=experimental&windowsclient=false');
    expect(call?.headers.get('accept')).toBe('application/cif');
    await client.cif(e.id, { cellType: 'standardized' });
    expect(mock.calls(`/cif/${e.id}`)[1]?.params.get('celltype')).toBe('standardized');
  });

  it('maps 404 to NotFoundError and refuses a 200 that is not a CIF', async () => {
    const { client } = setup();
    const missing = await failure(client.cif(999_999_999));
    expect(NotFoundError.isInstance(missing)).toBe(true);
    expect(missing?.message).toMatch(/internal id 999999999/);
    server.use(http.get(`${ORIGIN}/ws/cif/:id`, () => text(200, 'Error: no such entry')));
    expect(ResponseValidationError.isInstance(await failure(client.cif(ENTRIES[0]!.id)))).toBe(true);
  });
});

describe('§4.6, §8 /cif/multiple', () => {
  it('fetches 500 a request and splits by document structure, whatever the year, wording or order', async () => {
    const { mock, client } = setup({ reverse: true, year: 2031, wording: 'FIZ Karlsruhe GmbH, a new name' });
    const ids = ENTRIES.slice(0, 1200).map((e) => e.id);
    const got = await client.cifs(ids).toArray();
    const calls = mock.calls('/cif/multiple');
    expect(calls.map((l) => l.params.getAll('idnum').length)).toEqual([500, 500, 200]);
    for (const l of calls) {
      expect(l.params.get('celltype')).toBe('experimental');
      expect(l.params.get('windowsclient')).toBe('false');
      expect(l.params.get('filetype')).toBe('cif');
      expect(l.headers.get('accept')).toBe('application/cif');
    }
    expect(got).toHaveLength(1200);
    for (const c of got) {
      const e = BY_CC.get(c.collectionCode) as Entry;
      expect(c.id).toBe(e.id);
      expect(c.text).toBe(mock.cif(e));
      expect(c.text.split('\n')[1]).toMatch(/^#\(C\) 2031 by FIZ Karlsruhe/);
      expect(c.text.match(/#\(C\)/g)).toHaveLength(1);
      expect(c.text.endsWith(`#End of TTdata_${e.cc}-ICSD\n`)).toBe(true);
    }
  });

  it('isolates an id the server cannot serve (500 for the whole batch), confirmed by /cif/{id} 404', async () => {
    const { mock, client } = setup();
    const good = ENTRIES.slice(20, 83).map((e) => e.id);
    const ids = [...good.slice(0, 40), 999_999_977, ...good.slice(40)];
    const stream = client.cifs(ids);
    const got = await stream.toArray();
    expect(got.map((c) => c.id).sort()).toEqual([...good].sort());
    expect(stream.badIds).toEqual([999_999_977]);
    expect(mock.calls('/cif/999999977').map((l) => l.status)).toEqual([404]);
    // Bisection: about two requests per halving, not one per id.
    expect(mock.calls('/cif/multiple').length).toBeLessThanOrEqual(16);
  });

  it('refuses a 200 with fewer documents than ids', async () => {
    const { mock, client } = setup();
    server.use(
      http.get(`${ORIGIN}/ws/cif/multiple`, ({ request }) => {
        const ids = new URL(request.url).searchParams.getAll('idnum').map(Number);
        const docs = ids.slice(1).map((id) => mock.cif(BY_ID.get(id) as Entry));
        return new HttpResponse(docs.join(''), { headers: { 'content-type': 'application/cif' } });
      }),
    );
    const error = await failure(client.cifs(ENTRIES.slice(0, 5).map((e) => e.id)).toArray());
    expect(ResponseValidationError.isInstance(error)).toBe(true);
    expect(error?.message).toMatch(/asked for 5 CIFs, received 4/);
  });

  it('retries a 200 cut short (fewer bytes than Content-Length) and still returns every document whole', async () => {
    const { mock, client, events } = setup();
    let cut = 0;
    server.use(
      http.get(`${ORIGIN}/ws/cif/multiple`, ({ request }) => {
        const ids = new URL(request.url).searchParams.getAll('idnum').map(Number);
        const bytes = new TextEncoder().encode(ids.map((id) => mock.cif(BY_ID.get(id) as Entry)).join(''));
        if (cut > 0) return undefined;
        cut += 1;
        return new HttpResponse(bytes.slice(0, bytes.length >> 1), {
          headers: { 'content-type': 'application/cif', 'content-length': String(bytes.length) },
        });
      }),
    );
    const ids = ENTRIES.slice(0, 30).map((e) => e.id);
    const got = await client.cifs(ids).toArray();
    expect(got.map((c) => c.text)).toEqual(ids.map((id) => mock.cif(BY_ID.get(id) as Entry)));
    expect(events.some((e) => e.type === 'retry')).toBe(true);
  });
});

describe('§9, §10 quotas, throttling and transient errors', () => {
  async function cifFiles() {
    return (await readdir(dir)).filter((f) => f.endsWith('.cif')).sort();
  }

  it('rotates the session before the 1000-CIF quota runs out: no 403 needed', async () => {
    const { mock, client } = setup({ sessionLimit: 1 });
    const ids = ENTRIES.slice(0, 1200).map((e) => e.id);
    const report = await client.download(ids, dir);
    expect(report.downloaded).toBe(1200);
    expect(mock.stats).toMatchObject({ quota403: 0, refusedLogins: 0, maxLive: 1, logins: 2 });
  });

  it('learns a quota smaller than a batch from the 403s and downloads everything, one session at a time', async () => {
    const { mock, client } = setup({ quota: 120, sessionLimit: 1 });
    const ids = ENTRIES.slice(0, 400).map((e) => e.id);
    const report = await client.download(ids, dir);
    expect(report.downloaded).toBe(400);
    expect(await cifFiles()).toHaveLength(400);
    expect(mock.stats.refusedLogins).toBe(0);
    expect(mock.stats.maxLive).toBe(1);
    // A handful of refusals to learn the size, then none.
    expect(mock.stats.quota403).toBeLessThanOrEqual(6);
    const file = await readFile(
      path.join(dir, `icsd_${String(ENTRIES[0]!.cc).padStart(6, '0')}.cif`),
      'utf8',
    );
    expect(file).toBe(mock.cif(ENTRIES[0] as Entry));
  });

  it('stops with IcsdQuotaError when even a fresh session is refused, after few requests, writing nothing', async () => {
    const { mock, client } = setup({ throttled: true });
    const error = await failure(
      client.download(
        ENTRIES.slice(0, 30).map((e) => e.id),
        dir,
      ),
    );
    expect(IcsdQuotaError.isInstance(error)).toBe(true);
    expect(error?.message).toMatch(/after 0 /);
    expect(mock.calls('/cif/multiple').length).toBeLessThanOrEqual(10);
    expect(mock.stats.logins).toBeLessThanOrEqual(2);
    expect((await readdir(dir)).filter((f) => !f.startsWith('.sciport-icsd'))).toEqual([]);
  });

  it('never takes a 200 HTML page for data (§10: a 200 can still be wrong)', async () => {
    const { client } = setup();
    const page = () =>
      new HttpResponse('<!DOCTYPE html><html><body><h1>Scheduled maintenance</h1></body></html>', {
        headers: { 'content-type': 'text/html' },
      });
    server.use(http.get(`${ORIGIN}/ws/cif/multiple`, page), http.get(`${ORIGIN}/ws/csv`, page));
    const cifs = await failure(client.cifs([ENTRIES[0]!.id, ENTRIES[1]!.id]).toArray());
    expect(ResponseValidationError.isInstance(cifs)).toBe(true);
    expect(cifs?.message).toMatch(/holds no CIF document/);
    const rows = await failure(client.properties([ENTRIES[0]!.id], []).toArray());
    expect(ResponseValidationError.isInstance(rows)).toBe(true);
    expect(rows?.message).toMatch(/not tab-separated/);
  });

  it('with waitOnQuota, waits with growing delays through throttling and then goes on', async () => {
    const { mock, client, events } = setup(
      { throttleFirst: 6 },
      { waitOnQuota: { initialDelayMs: 10, maxDelayMs: 40, maxTotalMs: 5_000 } },
    );
    const ids = ENTRIES.slice(0, 10).map((e) => e.id);
    const report = await client.download(ids, dir);
    expect(report.downloaded).toBe(10);
    const waits = events.filter((e) => e.type === 'quota' && e.action === 'wait');
    expect(waits.map((e) => (e as { delayMs: number }).delayMs)).toEqual([10, 20]);
    expect(mock.stats.quota403).toBe(6);
    // Throttling taught nothing about the quota: after it, whole batches again.
    expect(mock.calls('/cif/multiple').at(-1)?.params.getAll('idnum').length).toBeGreaterThan(1);
  });

  it('honours Retry-After on 429 and 503, and retries a 500 with a short text body on a search', async () => {
    const { client, events } = setup();
    const replies = [
      text(429, 'Too Many Requests', { 'retry-after': '1' }),
      text(503, 'Service Unavailable', { 'retry-after': '1' }),
      text(500, 'Internal Server Error'),
    ];
    server.use(http.get(`${ORIGIN}/ws/search/expert`, () => replies.shift()));
    expect(await client.expertSearch('COLLECTIONCODE : 10-13')).toEqual(ccIds(10, 13));
    const retries = events.filter((e) => e.type === 'retry');
    expect(retries.map((e) => (e as { status?: number }).status)).toEqual([429, 503, 500]);
    expect(retries.slice(0, 2).map((e) => (e as { delayMs: number }).delayMs)).toEqual([1000, 1000]);
  });

  it('keeps the token and the password out of events, history and errors', async () => {
    const { mock, client, events } = setup();
    await client.cifs(ENTRIES.slice(0, 3).map((e) => e.id)).toArray();
    server.use(
      http.get(`${ORIGIN}/ws/search/expert`, ({ request }) =>
        text(400, `Bad Request: echo ${request.headers.get('icsd-auth-token')}`),
      ),
    );
    const error = await failure(client.expertSearch('COLLECTIONCODE : 1'));
    const token = mock.log[1]?.headers.get('icsd-auth-token') as string;
    expect(token).toMatch(/^tok1-/);
    const everything = JSON.stringify([events, client.history(), error?.message, error]);
    for (const secret of [token, PASSWORD, 's3cr%26t+pass']) expect(everything).not.toContain(secret);
  });
});

describe('mirror', () => {
  it('finds ids per subset by collection-code search, writes icsd_<cc>.cif atomically, and resumes without fetching again', async () => {
    const { mock, client } = setup();
    const report = await client.mirror(dir);
    const searches = mock.calls('/search/expert').filter((l) => l.params.get('query')?.includes('-'));
    expect(searches.map((l) => l.params.get('content type')).sort()).toEqual([...SUBSETS].sort());
    for (const s of searches) expect(s.params.get('query')).toMatch(/^COLLECTIONCODE : 1-\d+$/);
    expect(report.downloaded).toBe(N);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.cif'));
    expect(files).toHaveLength(N);
    expect((await readdir(dir)).some((f) => f.endsWith('.tmp'))).toBe(false);
    const sample = ENTRIES[123] as Entry;
    expect(await readFile(path.join(dir, `icsd_${String(sample.cc).padStart(6, '0')}.cif`), 'utf8')).toBe(
      mock.cif(sample),
    );
    const before = mock.calls('/cif/multiple').length;
    const again = await client.mirror(dir);
    expect(again).toMatchObject({ downloaded: 0, skipped: N });
    expect(mock.calls('/cif/multiple').length).toBe(before);
  });
});
