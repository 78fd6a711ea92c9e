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
} from '../../src/index.js';
import {
  BY_CC,
  BY_ID,
  createMock,
  ENTRIES,
  type Entry,
  LOGIN_FAILED,
  type Logged,
  type MockOptions,
  N,
  ORIGIN,
  OTHER,
  PASSWORD,
  SUBSETS,
  type Subset,
  text,
  USER,
} from './server.js';

/**
 * Conformance with the ICSD wire protocol (/work/shared/specs/icsd.md), against the strict server of
 * `server.ts`, written from the spec alone. Each test names the section it checks.
 */

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
    await client.entries.search('Na').toArray();
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
    await client.entries.search('Na').toArray();
    await client.entries.search('Li').toArray();
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
      const error = await failure(client.entries.search('Na').toArray());
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
    const error = await failure(client.cifs.get(ENTRIES[0]!.id));
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
    await client.entries.search('Na').toArray();
    offset = 50 * 60_000;
    await client.entries.search('Na').toArray();
    expect(mock.stats.logins).toBe(1);
    offset = 56 * 60_000;
    await client.entries.search('Na').toArray();
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
    await client.entries.search('Na').toArray();
    mock.killTokens();
    expect(await client.entries.expertSearch('COLLECTIONCODE : 10-40').toArray()).toEqual(ccIds(10, 40));
    expect(mock.stats.logins).toBe(2);
    server.use(http.get(`${ORIGIN}/ws/search/expert`, () => text(401, 'Unauthorized')));
    const error = await failure(client.entries.expertSearch('COLLECTIONCODE : 10-40').toArray());
    expect(AuthenticationError.isInstance(error)).toBe(true);
    expect(mock.stats.logins).toBe(3);
  });

  it('logs out with GET and the token, forgets the token, and never sends it again', async () => {
    const { mock, client } = setup();
    await client.entries.search('Na').toArray();
    await client.logout();
    const logout = mock.calls('/auth/logout')[0];
    expect(logout?.method).toBe('GET');
    expect(logout?.headers.get('accept')).toBe('text/plain');
    expect(logout?.headers.get('icsd-auth-token')).toMatch(/^tok1-/);
    await client.entries.search('Na').toArray();
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
    expect(await client.entries.expertSearch('COLLECTIONCODE : 10-20').toArray()).toEqual(ccIds(10, 20));
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
    const error = await failure(client.entries.search('Na').toArray());
    expect(error).toBeInstanceOf(Error);
    expect(elsewhere).toHaveLength(0);

    server.resetHandlers(...mock.handlers);
    server.use(
      http.post(
        `${ORIGIN}/ws/auth/login`,
        () => new HttpResponse(null, { status: 307, headers: { location: `${ORIGIN}/api/ws/auth/login` } }),
      ),
    );
    await client.entries.search('Na').toArray();
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
    expect(await client.entries.search('Na').toArray()).toEqual([5]);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.get('icsd-auth-token')).toBeNull();
  });
});

describe('§4.1–4.3, §6 searches', () => {
  it('sends `query` and `content type` (encoded content+type, the misspelled theoretical value), ids in order', async () => {
    const { mock, client } = setup();
    await client.entries.search('Li O', { contentType: 'inorganic' }).toArray();
    expect(mock.calls('/search/simple')[0]?.search).toBe('?query=Li+O&content+type=EXPERIMENTAL_INORGANIC');
    const ids = await client.entries
      .expertSearch('collectioncode : 1-100', { contentType: 'theoretical' })
      .toArray();
    expect(mock.calls('/search/expert')[0]?.search).toBe(
      '?query=collectioncode+%3A+1-100&content+type=THERORETICAL_STRUCTURES',
    );
    expect(ids).toEqual(ccIds(1, 100, 'THERORETICAL_STRUCTURES'));
    expect(ids.length).toBeGreaterThan(0);
    await client.entries.expertSearch({ composition: 'Li Fe', collectionCode: [1, 400] }).toArray();
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
    const ids = await client.entries
      .expertSearch('COLLECTIONCODE : 1-200', {
        contentType: ['metalorganic', 'THEORETICAL_STRUCTURES'],
      })
      .toArray();
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
    expect(await client.entries.expertSearch('COLLECTIONCODE : 10-30').toArray()).toEqual(ccIds(10, 30));
    expect(await client.entries.expertSearch('COLLECTIONCODE : 2').toArray()).toEqual([]);
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
    expect(await client.entries.expertSearch('COLLECTIONCODE : 1').toArray()).toEqual(expected);
  });

  it('never reads an error as "no hits": 400 text, an HTML page, a 200 that is not a search answer', async () => {
    const { client } = setup();
    server.use(http.get(`${ORIGIN}/ws/search/expert`, () => text(400, 'Bad Request: unknown field FOO')));
    const bad = await failure(client.entries.expertSearch('COLLECTIONCODE : 1').toArray());
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
    const page = await failure(client.entries.expertSearch('COLLECTIONCODE : 1').toArray());
    expect(ResponseValidationError.isInstance(page)).toBe(true);
  });

  it('refuses unknown fields and empty searches before sending anything', async () => {
    const { mock, client } = setup();
    expect(() => client.entries.expertSearch('SPACEGRUPNUMBER : 225')).toThrow(/Unknown ICSD search field/);
    expect(() => client.entries.search('   ')).toThrow(/empty/);
    expect(mock.log).toHaveLength(0);
  });
});

describe('§4.4 /csv', () => {
  it('sends repeated idnum and listSelection in order, 500 ids a request, and keys rows by collection code', async () => {
    const { mock, client } = setup({ reverse: true });
    const ids = ENTRIES.slice(0, 1200).map((e) => e.id);
    const rows = await client.entries
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
      expect(row.structuredFormula).toBe(e.formula);
      expect(row.chemicalName).toBe(e.name);
      expect(row.authors).toEqual(e.authors);
      expect(row.cellParameter?.a).toMatchObject({ value: 5.5385, uncertainty: 0.0002 });
      expect(row.cellParameter?.alpha.value).toBe(90);
    }
    expect(rows.some((r) => r.chemicalName?.includes('Ångström'))).toBe(true);
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
    const stream = client.entries.properties(ids, ['PublicationYear']);
    const rows = await stream.toArray();
    expect(rows.map((r) => [r.id, r.publicationYear])).toEqual([
      [ENTRIES[3]!.id, ENTRIES[3]!.year],
      [ENTRIES[4]!.id, ENTRIES[4]!.year],
    ]);
    expect(stream.missingIds).toEqual([999_999_991]);
    expect(warnings(events).join('\n')).toMatch(/1 of 3 ids produced no row/);
    const before = mock.log.length;
    expect(await client.entries.properties([], ['PublicationYear']).toArray()).toEqual([]);
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
    const rows = await client.entries.properties([e.id], ['ChemicalName']).toArray();
    expect(rows).toEqual([expect.objectContaining({ id: e.id, collectionCode: e.cc, chemicalName: e.name })]);
    // `raw`: the cells as sent, under the header as sent.
    expect(rows[0]?.raw).toEqual({ 'Collection Code': String(e.cc), 'Chemical Name': e.name });
    expect(warnings(events)).toEqual([]);
  });

  it('reads columns by request position when the header does not echo the names, and says so', async () => {
    const { client, events } = setup({ csvHeader: (names) => names.map((_, i) => `Column ${i + 1}`) });
    const rows = await client.entries
      .properties([ENTRIES[7]!.id], ['StructuredFormula', 'PublicationYear'])
      .toArray();
    expect(rows).toEqual([
      expect.objectContaining({
        collectionCode: ENTRIES[7]!.cc,
        structuredFormula: ENTRIES[7]!.formula,
        publicationYear: ENTRIES[7]!.year,
      }),
    ]);
    expect(rows[0]?.raw).toEqual({
      'Column 1': String(ENTRIES[7]!.cc),
      'Column 2': ENTRIES[7]!.formula,
      'Column 3': String(ENTRIES[7]!.year),
    });
    expect(warnings(events).join('\n')).toMatch(/read by request position/);
  });
});

describe('§4.5 /cif/{id}', () => {
  it('asks with celltype and windowsclient and returns the document exactly as sent', async () => {
    const { mock, client } = setup();
    const e = ENTRIES[11] as Entry;
    const got = await client.cifs.get(e.id);
    expect(got).toEqual({ id: e.id, collectionCode: e.cc, text: mock.cif(e), raw: mock.cif(e) });
    const call = mock.calls(`/cif/${e.id}`)[0];
    expect(call?.search).toBe('?celltype=experimental&windowsclient=false');
    expect(call?.headers.get('accept')).toBe('application/cif');
    await client.cifs.get(e.id, { cellType: 'standardized' });
    expect(mock.calls(`/cif/${e.id}`)[1]?.params.get('celltype')).toBe('standardized');
  });

  it('maps 404 to NotFoundError and refuses a 200 that is not a CIF', async () => {
    const { client } = setup();
    const missing = await failure(client.cifs.get(999_999_999));
    expect(NotFoundError.isInstance(missing)).toBe(true);
    expect(missing?.message).toMatch(/internal id 999999999/);
    server.use(http.get(`${ORIGIN}/ws/cif/:id`, () => text(200, 'Error: no such entry')));
    expect(ResponseValidationError.isInstance(await failure(client.cifs.get(ENTRIES[0]!.id)))).toBe(true);
  });
});

describe('§4.6, §8 /cif/multiple', () => {
  it('fetches 500 a request and splits by document structure, whatever the year, wording or order', async () => {
    const { mock, client } = setup({ reverse: true, year: 2031, wording: 'FIZ Karlsruhe GmbH, a new name' });
    const ids = ENTRIES.slice(0, 1200).map((e) => e.id);
    const got = await client.cifs.list(ids).toArray();
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
    const stream = client.cifs.list(ids);
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
    const error = await failure(client.cifs.list(ENTRIES.slice(0, 5).map((e) => e.id)).toArray());
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
    const got = await client.cifs.list(ids).toArray();
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
    const report = await client.cifs.download(ids, dir);
    expect(report.downloaded).toBe(1200);
    expect(mock.stats).toMatchObject({ quota403: 0, refusedLogins: 0, maxLive: 1, logins: 2 });
  });

  it('learns a quota smaller than a batch from the 403s and downloads everything, one session at a time', async () => {
    const { mock, client } = setup({ quota: 120, sessionLimit: 1 });
    const ids = ENTRIES.slice(0, 400).map((e) => e.id);
    const report = await client.cifs.download(ids, dir);
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
      client.cifs.download(
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
    const cifs = await failure(client.cifs.list([ENTRIES[0]!.id, ENTRIES[1]!.id]).toArray());
    expect(ResponseValidationError.isInstance(cifs)).toBe(true);
    expect(cifs?.message).toMatch(/holds no CIF document/);
    const rows = await failure(client.entries.properties([ENTRIES[0]!.id], []).toArray());
    expect(ResponseValidationError.isInstance(rows)).toBe(true);
    expect(rows?.message).toMatch(/not tab-separated/);
  });

  /**
   * Runs `fn` under fake timers and a fake clock (msw answers in-process; `setImmediate` stays real), skipping
   * every quota wait: a wait's timer is set as its event is emitted, so the clock moves past it once the event
   * loop turns. Nothing really waits, whatever the delays.
   */
  async function skippingQuotaWaits<T>(client: IcsdClient, fn: () => Promise<T>): Promise<T> {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    // A wait announced just before `fn` settles is skipped on the next turn, when the clock may be real again.
    let faking = true;
    const unsubscribe = client.onEvent((e) => {
      if (e.type === 'quota' && (e.action === 'wait' || e.action === 'backoff'))
        setImmediate(() => {
          if (faking) vi.advanceTimersByTime(e.delayMs);
        });
    });
    try {
      return await fn();
    } finally {
      faking = false;
      unsubscribe();
      vi.useRealTimers();
    }
  }
  const quotaWaits = (events: IcsdEvent[]) =>
    events.flatMap((e) => (e.type === 'quota' && e.action === 'wait' ? [e.delayMs] : []));

  it('with waitOnQuota, waits with growing delays through throttling and then goes on', async () => {
    const { mock, client, events } = setup(
      { throttleFirst: 6 },
      { waitOnQuota: { initialDelayMs: 10, maxDelayMs: 40, maxTotalMs: 5_000 } },
    );
    const ids = ENTRIES.slice(0, 10).map((e) => e.id);
    const report = await skippingQuotaWaits(client, () => client.cifs.download(ids, dir));
    expect(report.downloaded).toBe(10);
    expect(quotaWaits(events)).toEqual([10, 20]);
    expect(mock.stats.quota403).toBe(6);
    // Throttling taught nothing about the quota: after it, whole batches again.
    expect(mock.calls('/cif/multiple').at(-1)?.params.getAll('idnum').length).toBeGreaterThan(1);
  });

  it('with waitOnQuota: true, waits 1 minute, then 2, and gives up after 30 minutes of waits', async () => {
    const ids = ENTRIES.slice(0, 10).map((e) => e.id);
    const passing = setup({ throttleFirst: 6 }, { waitOnQuota: true });
    const report = await skippingQuotaWaits(passing.client, () => passing.client.cifs.download(ids, dir));
    expect(report.downloaded).toBe(10);
    expect(quotaWaits(passing.events)).toEqual([60_000, 120_000]);
    server.resetHandlers();
    const lasting = setup({ throttled: true }, { waitOnQuota: true });
    const error = await failure(
      skippingQuotaWaits(lasting.client, () => lasting.client.cifs.list(ids).toArray()),
    );
    expect(IcsdQuotaError.isInstance(error)).toBe(true);
    // 1 + 2 + 4 + 8 + 8 minutes; another 8 would pass the 30 minutes.
    expect(quotaWaits(lasting.events)).toEqual([60_000, 120_000, 240_000, 480_000, 480_000]);
  });

  it('honours Retry-After on 429 and 503, and retries a 500 with a short text body on a search', async () => {
    const { client, events } = setup();
    const replies = [
      text(429, 'Too Many Requests', { 'retry-after': '1' }),
      text(503, 'Service Unavailable', { 'retry-after': '1' }),
      text(500, 'Internal Server Error'),
    ];
    server.use(http.get(`${ORIGIN}/ws/search/expert`, () => replies.shift()));
    expect(await client.entries.expertSearch('COLLECTIONCODE : 10-13').toArray()).toEqual(ccIds(10, 13));
    const retries = events.filter((e) => e.type === 'retry');
    expect(retries.map((e) => (e as { status?: number }).status)).toEqual([429, 503, 500]);
    expect(retries.slice(0, 2).map((e) => (e as { delayMs: number }).delayMs)).toEqual([1000, 1000]);
  });

  it('keeps the token and the password out of events, history and errors', async () => {
    const { mock, client, events } = setup();
    await client.cifs.list(ENTRIES.slice(0, 3).map((e) => e.id)).toArray();
    server.use(
      http.get(`${ORIGIN}/ws/search/expert`, ({ request }) =>
        text(400, `Bad Request: echo ${request.headers.get('icsd-auth-token')}`),
      ),
    );
    const error = await failure(client.entries.expertSearch('COLLECTIONCODE : 1').toArray());
    const token = mock.log[1]?.headers.get('icsd-auth-token') as string;
    expect(token).toMatch(/^tok1-/);
    const everything = JSON.stringify([events, client.history(), error?.message, error]);
    for (const secret of [token, PASSWORD, 's3cr%26t+pass']) expect(everything).not.toContain(secret);
  });
});

describe('mirror', () => {
  it('finds ids per subset by collection-code search, writes icsd_<cc>.cif atomically, and resumes without fetching again', async () => {
    const { mock, client } = setup();
    const report = await client.cifs.mirror(dir);
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
    const again = await client.cifs.mirror(dir);
    expect(again).toMatchObject({ downloaded: 0, skipped: N });
    expect(mock.calls('/cif/multiple').length).toBe(before);
  });
});
