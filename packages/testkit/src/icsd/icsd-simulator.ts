import { HttpResponse, http, type RequestHandler } from 'msw';
import { createRandom, type Random } from '../random.js';
import { type IcsdCellType, renderCif } from './icsd-cif.js';
import {
  ICSD_CONTENT_TYPE_ALIASES,
  ICSD_CONTENT_TYPES,
  ICSD_CSV_PROPERTIES,
  ICSD_SIM_ENDPOINTS,
  type IcsdContentType,
  type IcsdCsvProperty,
  type IcsdSimEndpoint,
} from './icsd-constants.js';
import {
  abFormulaOf,
  anxFormulaOf,
  formatStandardisedCell,
  generateDataset,
  type IcsdSimEntry,
  mixSeed,
  reducedCellOf,
  referenceOf,
  standardisedCellOf,
} from './icsd-dataset.js';
import {
  compileExpertQuery,
  compileSimpleQuery,
  type EntryPredicate,
  IcsdQueryError,
} from './icsd-search.js';
import { writeZip } from './icsd-zip.js';

/** Options of {@link createIcsdSimulator}. All are optional. */
export interface IcsdSimulatorOptions {
  /** Seed of the dataset and of the token sequence. Defaults to 1. */
  seed?: number;
  /** Number of generated entries. Defaults to 2000; 50,000 generate in well under a second. */
  entries?: number;
  /** Accounts: login id → password. Defaults to `{ demo: 'demo-password' }`. */
  credentials?: Readonly<Record<string, string>>;
  /** A token dies this long after its login (activity does not extend it). Defaults to 3,600,000 (one hour). */
  tokenLifetimeMs?: number;
  /** CIFs one session (token) may download; `null` = unlimited. Defaults to 1000. */
  cifsPerSession?: number | null;
  /** Live tokens an account may hold; a login beyond it gets 403. `null` (the default) = unlimited. */
  sessionLimit?: number | null;
  /** Most `idnum` values per `/csv` or `/cif/multiple` request. Defaults to 500. */
  maxIds?: number;
  /**
   * What happens beyond `maxIds`: `'reject'` (the default) answers 400 `text/plain`; `'truncate'` silently serves
   * only the first `maxIds` ids.
   */
  overLimit?: 'reject' | 'truncate';
  /** The year in the CIF copyright line. Defaults to the current UTC year (of {@link IcsdSimulatorOptions.now}). */
  copyrightYear?: number;
  /** The clock, in milliseconds since the epoch. Defaults to `Date.now`. */
  now?: () => number;
}

/** Counters of a simulator since it was created or last {@link IcsdSimulator.reset}. */
export interface IcsdSimStats {
  /** Successful logins. */
  readonly logins: number;
  /** Logins refused with 401 (wrong or missing credentials). */
  readonly failedLogins: number;
  /** Logins refused with 403 because the account's session limit was reached. */
  readonly refusedLogins: number;
  /** Successful logouts. */
  readonly logouts: number;
  /** Tokens alive now (not expired, not logged out). */
  readonly liveTokens: number;
  /** CIF documents served by `/cif/{id}` and `/cif/multiple`. */
  readonly cifsServed: number;
  /** CIF requests refused with 403 because the session's quota would be exceeded. */
  readonly quotaRefusals: number;
  /** Requests answered 401 because of a missing, unknown, expired or logged-out token. */
  readonly unauthorized: number;
  /** Requests received per endpoint, whatever their answer. */
  readonly requests: Readonly<Record<IcsdSimEndpoint, number>>;
}

/** Options of {@link IcsdSimulator.cif}. */
export interface IcsdCifOptions {
  /** `celltype`; defaults to `'experimental'`. */
  cellType?: IcsdCellType;
  /** `windowsclient=true`: CRLF line ends. Defaults to `false` (LF). */
  windows?: boolean;
}

/** A simulated ICSD web service: msw handlers plus inspection and control for tests and benchmarks. */
export interface IcsdSimulator {
  /** The request handlers, for `/ws/…` and `/api/ws/…` on any origin (`setupServer(...sim.handlers)`). */
  readonly handlers: RequestHandler[];
  /** The dataset, sorted by collection code. */
  readonly entries: readonly IcsdSimEntry[];
  /** The seed the dataset and tokens were generated from. */
  readonly seed: number;
  /** The entry with this internal id (`idnum`). */
  entryById(id: number): IcsdSimEntry | undefined;
  /** The entry with this collection code. */
  entryByCode(collectionCode: number): IcsdSimEntry | undefined;
  /**
   * The exact CIF text the service sends for an entry (what `/cif/{id}` answers, and each document of
   * `/cif/multiple`).
   *
   * @throws RangeError when no entry has this id.
   */
  cif(id: number, options?: IcsdCifOptions): string;
  /** A snapshot of the counters. */
  readonly stats: IcsdSimStats;
  /** Kills every live token: its next use is answered 401. */
  expireTokens(): void;
  /** Forgets every session and zeroes the counters; the token sequence restarts. The dataset is unchanged. */
  reset(): void;
}

interface Session {
  readonly loginid: string;
  readonly expiresAt: number;
  cifs: number;
}

interface MutableStats {
  logins: number;
  failedLogins: number;
  refusedLogins: number;
  logouts: number;
  cifsServed: number;
  quotaRefusals: number;
  unauthorized: number;
  requests: Record<IcsdSimEndpoint, number>;
}

const TEXT = 'text/plain;charset=UTF-8';
const BASES = ['*/ws', '*/api/ws'] as const;
const encoder = new TextEncoder();

function respond(
  status: number,
  body: string | Uint8Array<ArrayBuffer>,
  contentType: string,
  extra: readonly (readonly [string, string])[] = [],
): Response {
  const bytes = typeof body === 'string' ? encoder.encode(body) : body;
  const headers = new Headers({
    'content-type': contentType,
    'content-length': String(bytes.byteLength),
    'content-language': 'en',
  });
  for (const [name, value] of extra) headers.append(name, value);
  return new HttpResponse(bytes, { status, headers });
}

function text(status: number, message: string, extra: readonly (readonly [string, string])[] = []): Response {
  return respond(status, message, TEXT, extra);
}

/** A 401 refusal of a login: a 104-byte message, like the real service's (spec §3.1). */
const LOGIN_FAILED =
  'Authentication failed: the login id or the password is incorrect, or the account cannot use the ICSD API';

const CSV_VALUES: Readonly<Record<IcsdCsvProperty, (entry: IcsdSimEntry) => string>> = {
  CollectionCode: (e) => String(e.collectionCode),
  HMS: (e) => e.spaceGroupSymbol,
  StructuredFormula: (e) => e.structuredFormula,
  SumFormula: (e) => e.sumFormula,
  StructureType: (e) => e.structureType,
  Title: (e) => e.title,
  Authors: (e) => e.authors.join(';'),
  Reference: referenceOf,
  CellParameter: (e) => e.cellParameters,
  ReducedCellParameter: reducedCellOf,
  StandardisedCellParameter: (e) => formatStandardisedCell(standardisedCellOf(e)),
  CellVolume: (e) => e.cellVolume,
  FormulaUnitsPerCell: (e) => String(e.formulaUnitsPerCell),
  FormulaWeight: (e) => e.formulaWeight,
  Temperature: (e) => e.temperature,
  Pressure: (e) => e.pressure,
  RValue: (e) => e.rValue,
  ANXFormula: anxFormulaOf,
  ABFormula: abFormulaOf,
  ChemicalName: (e) => e.chemicalName,
  MineralName: (e) => e.mineralName,
  MineralGroup: (e) => e.mineralGroup,
  CalculatedDensity: (e) => e.calculatedDensity,
  MeasuredDensity: (e) => e.measuredDensity,
  PearsonSymbol: (e) => e.pearsonSymbol,
  WyckoffSequence: (e) => e.wyckoffSequence,
  Journal: (e) => e.journal,
  Volume: (e) => String(e.volume),
  PublicationYear: (e) => String(e.publicationYear),
  Page: (e) => e.page,
  Quality: (e) => String(e.quality),
  CcdcNo: () => '',
  Ccdc: () => '',
  Pdf: () => '',
  Keywords: () => '',
  MineralNameIma: (e) => e.mineralName,
  MineralSeries: () => '',
  MineralRootGroup: () => '',
  MineralSubGroup: () => '',
  MineralSuperGroup: () => '',
  MineralSubClass: () => '',
  MineralClass: () => '',
};

/** Property getters by lower-cased name, with the American spelling of the standardised cell. */
const CSV_BY_NAME: ReadonlyMap<string, (entry: IcsdSimEntry) => string> = new Map([
  ...ICSD_CSV_PROPERTIES.map((name) => [name.toLowerCase(), CSV_VALUES[name]] as const),
  ['standardizedcellparameter', CSV_VALUES.StandardisedCellParameter] as const,
]);

function checkInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `createIcsdSimulator: ${name} must be an integer from ${min} to ${max}, got ${String(value)}`,
    );
  }
}

function zeroRequests(): Record<IcsdSimEndpoint, number> {
  return Object.fromEntries(ICSD_SIM_ENDPOINTS.map((endpoint) => [endpoint, 0])) as Record<
    IcsdSimEndpoint,
    number
  >;
}

function base64url(random: Random, bytes: number): string {
  const buffer = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) buffer[i] = random.int(0, 255);
  return buffer.toString('base64url');
}

function hex(random: Random, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += random.int(0, 15).toString(16);
  return out.toUpperCase();
}

/** `"x.zip"` for `Content-Disposition`: printable ASCII only, no quotes or backslashes. */
function zipFilename(requested: string | null): string {
  const base = (requested ?? '').replace(/[^\x20-\x7e]|["\\]/g, '_').trim() || 'ICSD_export';
  return /\.zip$/i.test(base) ? base : `${base}.zip`;
}

/**
 * Creates a simulated ICSD web service (spec: /work/shared/specs/icsd.md, Appendix A), stateful and deterministic
 * for a seed: same seed, same dataset, same token sequence, same answers.
 *
 * Serve `sim.handlers` in-process (`setupServer(...sim.handlers)`) or over HTTP
 * (`startTestServer({ handlers: sim.handlers })`); both `/ws` and `/api/ws` are served on any origin.
 *
 * @throws RangeError when an option is out of range.
 *
 * @example
 * ```ts
 * const sim = createIcsdSimulator({ seed: 7, entries: 500, cifsPerSession: 100 });
 * await using server = await startTestServer({ handlers: sim.handlers });
 * const login = await fetch(`${server.url}/ws/auth/login`, {
 *   method: 'POST',
 *   body: new URLSearchParams({ loginid: 'demo', password: 'demo-password' }),
 * });
 * const token = login.headers.get('icsd-auth-token');
 * ```
 */
export function createIcsdSimulator(options: IcsdSimulatorOptions = {}): IcsdSimulator {
  const {
    seed = 1,
    entries: entryCount = 2000,
    credentials = { demo: 'demo-password' },
    tokenLifetimeMs = 3_600_000,
    cifsPerSession = 1000,
    sessionLimit = null,
    maxIds = 500,
    overLimit = 'reject',
    copyrightYear,
    now = Date.now,
  } = options;
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new RangeError(`createIcsdSimulator: seed must be a finite number, got ${String(seed)}`);
  }
  checkInteger('entries', entryCount, 0, 1_000_000);
  if (!(typeof tokenLifetimeMs === 'number' && tokenLifetimeMs > 0)) {
    throw new RangeError(
      `createIcsdSimulator: tokenLifetimeMs must be a positive number, got ${String(tokenLifetimeMs)}`,
    );
  }
  if (cifsPerSession !== null) checkInteger('cifsPerSession', cifsPerSession, 0);
  if (sessionLimit !== null) checkInteger('sessionLimit', sessionLimit, 1);
  checkInteger('maxIds', maxIds, 1);
  if (overLimit !== 'reject' && overLimit !== 'truncate') {
    throw new RangeError(
      `createIcsdSimulator: overLimit must be 'reject' or 'truncate', got ${String(overLimit)}`,
    );
  }
  if (copyrightYear !== undefined) checkInteger('copyrightYear', copyrightYear, 1000, 9999);
  if (typeof credentials !== 'object' || credentials === null) {
    throw new TypeError('createIcsdSimulator: credentials must be a record of login id → password');
  }

  const normalizedSeed = Math.trunc(seed) >>> 0;
  const dataset = generateDataset(normalizedSeed, entryCount);
  const { entries } = dataset;
  const sessions = new Map<string, Session>();
  let tokenRandom = createRandom(mixSeed(normalizedSeed, 0x70c3));
  const freshStats = (): MutableStats => ({
    logins: 0,
    failedLogins: 0,
    refusedLogins: 0,
    logouts: 0,
    cifsServed: 0,
    quotaRefusals: 0,
    unauthorized: 0,
    requests: zeroRequests(),
  });
  let stats = freshStats();

  const yearNow = (): number => copyrightYear ?? new Date(now()).getUTCFullYear();

  const renderEntry = (entry: IcsdSimEntry, cellType: IcsdCellType, windows: boolean): string =>
    renderCif(entry, {
      seed: normalizedSeed,
      cellType,
      lineEnd: windows ? '\r\n' : '\n',
      copyrightYear: yearNow(),
    });

  const purgeExpired = (): void => {
    const t = now();
    for (const [token, session] of sessions) if (session.expiresAt <= t) sessions.delete(token);
  };

  const unauthorized = (message: string): Response => {
    stats.unauthorized += 1;
    return text(401, message);
  };

  /** The session of the request's token, or the 401 answer. */
  const authenticate = (request: Request): Session | Response => {
    const token = request.headers.get('icsd-auth-token');
    if (token === null || token.trim() === '') {
      return unauthorized('Unauthorized: the ICSD-Auth-Token header is missing. Log in first.');
    }
    const session = sessions.get(token.trim());
    if (session === undefined) {
      return unauthorized('Unauthorized: the token is invalid or was logged out. Log in again.');
    }
    if (session.expiresAt <= now()) {
      sessions.delete(token.trim());
      return unauthorized('Unauthorized: the token has expired. Log in again.');
    }
    return session;
  };

  const methodNotAllowed = (allowed: string): Response =>
    text(405, `Method Not Allowed: use ${allowed}`, [['allow', allowed]]);

  /** Parses the repeated `idnum` parameters, applying `maxIds`; returns the ids or a 400 answer. */
  const readIds = (params: URLSearchParams): number[] | Response => {
    const values = params.getAll('idnum');
    const ids: number[] = [];
    for (const value of values) {
      if (!/^\d+$/.test(value)) {
        return text(
          400,
          `Bad Request: idnum must be one decimal integer per parameter, got "${value.slice(0, 40)}"`,
        );
      }
      ids.push(Number(value));
    }
    if (ids.length > maxIds) {
      if (overLimit === 'truncate') return ids.slice(0, maxIds);
      return text(
        400,
        `Bad Request: too many idnum parameters (${ids.length}); at most ${maxIds} per request`,
      );
    }
    return ids;
  };

  const readCellType = (params: URLSearchParams): IcsdCellType | Response => {
    const value = params.get('celltype') ?? 'experimental';
    if (value === 'experimental' || value === 'standardized') return value;
    return text(
      400,
      `Bad Request: celltype must be experimental or standardized, got "${value.slice(0, 40)}"`,
    );
  };

  const isWindows = (params: URLSearchParams): boolean =>
    (params.get('windowsclient') ?? '').trim().toLowerCase() === 'true';

  /** Refuses with 403 (counting nothing) when `count` CIFs would exceed the session's quota. */
  const consumeQuota = (session: Session, count: number): Response | undefined => {
    if (cifsPerSession !== null && session.cifs + count > cifsPerSession) {
      stats.quotaRefusals += 1;
      return text(
        403,
        `Forbidden: download limit reached. This session may download ${cifsPerSession} CIFs and has ` +
          `downloaded ${session.cifs}; the request asks for ${count}. Log out and log in again.`,
      );
    }
    session.cifs += count;
    stats.cifsServed += count;
    return undefined;
  };

  // ------------------------------------------------------------------------------------------------------
  // Endpoints
  // ------------------------------------------------------------------------------------------------------

  const login = async (request: Request): Promise<Response> => {
    if (request.method !== 'POST') return methodNotAllowed('POST');
    let form: URLSearchParams;
    try {
      const type = request.headers.get('content-type') ?? '';
      if (type.toLowerCase().includes('multipart/form-data')) {
        const data = await request.formData();
        form = new URLSearchParams();
        for (const [name, value] of data) if (typeof value === 'string') form.append(name, value);
      } else {
        form = new URLSearchParams(await request.text());
      }
    } catch {
      form = new URLSearchParams();
    }
    const loginid = form.get('loginid') ?? '';
    const password = form.get('password');
    if (!Object.hasOwn(credentials, loginid) || password === null || credentials[loginid] !== password) {
      stats.failedLogins += 1;
      return text(401, LOGIN_FAILED);
    }
    purgeExpired();
    if (sessionLimit !== null) {
      let live = 0;
      for (const session of sessions.values()) if (session.loginid === loginid) live += 1;
      if (live >= sessionLimit) {
        stats.refusedLogins += 1;
        return text(
          403,
          `Forbidden: the account already has ${live} open session${live === 1 ? '' : 's'}. ` +
            'Close all other sessions (log out) or wait until they expire.',
        );
      }
    }
    const token = base64url(tokenRandom, 24);
    const jsessionid = hex(tokenRandom, 32);
    sessions.set(token, { loginid, expiresAt: now() + tokenLifetimeMs, cifs: 0 });
    stats.logins += 1;
    return text(200, 'Authentication successful', [
      ['icsd-auth-token', token],
      ['set-cookie', `JSESSIONID=${jsessionid}; Path=/; HttpOnly`],
      ['set-cookie', 'ICSDCHECK=1; Path=/'],
      ['set-cookie', `FIZ-Cookie=${hex(tokenRandom, 16).toLowerCase()}; Path=/`],
    ]);
  };

  const logout = (request: Request): Response => {
    if (request.method !== 'GET') return methodNotAllowed('GET');
    const session = authenticate(request);
    if (session instanceof Response) return session;
    sessions.delete(request.headers.get('icsd-auth-token')!.trim());
    stats.logouts += 1;
    return text(200, 'Logout successful');
  };

  const search = (request: Request, compile: (query: string) => EntryPredicate): Response => {
    if (request.method !== 'GET') return methodNotAllowed('GET');
    const session = authenticate(request);
    if (session instanceof Response) return session;
    const params = new URL(request.url).searchParams;
    const query = params.get('query');
    if (query === null || query.trim() === '')
      return text(400, 'Bad Request: the query parameter is missing');
    const requestedType = params.get('content type');
    let contentType: IcsdContentType | undefined;
    if (requestedType !== null) {
      const value = requestedType.trim();
      contentType = (ICSD_CONTENT_TYPES as readonly string[]).includes(value)
        ? (value as IcsdContentType)
        : ICSD_CONTENT_TYPE_ALIASES[value];
      if (contentType === undefined) {
        return text(
          400,
          `Bad Request: unknown content type "${value.slice(0, 40)}"; expected one of ${ICSD_CONTENT_TYPES.join(', ')}`,
        );
      }
    }
    let predicate: EntryPredicate;
    try {
      predicate = compile(query);
    } catch (error) {
      if (error instanceof IcsdQueryError) return text(400, `Bad Request: ${error.message}`);
      throw error;
    }
    const ids: string[] = [];
    for (const entry of entries) {
      if (contentType !== undefined && entry.contentType !== contentType) continue;
      if (predicate(entry)) ids.push(String(entry.id));
    }
    const accept = (request.headers.get('accept') ?? '').toLowerCase();
    if (accept.includes('application/json')) {
      return respond(200, JSON.stringify({ idnums: ids }), 'application/json');
    }
    return respond(
      200,
      `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><hits><idnums>${ids.join(' ')}</idnums></hits>`,
      'application/xml',
    );
  };

  const csv = (request: Request): Response => {
    if (request.method !== 'GET') return methodNotAllowed('GET');
    const session = authenticate(request);
    if (session instanceof Response) return session;
    const params = new URL(request.url).searchParams;
    const ids = readIds(params);
    if (ids instanceof Response) return ids;
    const names = params.getAll('listSelection');
    if (names.length === 0)
      return text(400, 'Bad Request: listSelection is missing (name at least one property)');
    const getters: ((entry: IcsdSimEntry) => string)[] = [];
    for (const name of names) {
      const getter = CSV_BY_NAME.get(name.trim().toLowerCase());
      if (getter === undefined)
        return text(400, `Bad Request: unknown property in listSelection: ${name.slice(0, 60)}`);
      getters.push(getter);
    }
    const eol = isWindows(params) ? '\r\n' : '\n';
    let body = '';
    for (const name of names) body += `${name}\t`;
    body += eol;
    for (const id of ids) {
      const entry = dataset.entryById(id);
      if (entry === undefined) continue;
      for (const getter of getters) body += `${getter(entry)}\t`;
      body += eol;
    }
    return respond(200, body, 'application/csv;charset=UTF-8');
  };

  const cifSingle = (request: Request, idText: string): Response => {
    if (request.method !== 'GET') return methodNotAllowed('GET');
    const session = authenticate(request);
    if (session instanceof Response) return session;
    const params = new URL(request.url).searchParams;
    const cellType = readCellType(params);
    if (cellType instanceof Response) return cellType;
    const entry = /^\d+$/.test(idText) ? dataset.entryById(Number(idText)) : undefined;
    if (entry === undefined) return text(404, `Not Found: no entry with id ${idText.slice(0, 40)}`);
    const refused = consumeQuota(session, 1);
    if (refused !== undefined) return refused;
    return respond(200, renderEntry(entry, cellType, isWindows(params)), 'application/cif;charset=UTF-8');
  };

  const cifMultiple = (request: Request): Response => {
    if (request.method !== 'GET') return methodNotAllowed('GET');
    const session = authenticate(request);
    if (session instanceof Response) return session;
    const params = new URL(request.url).searchParams;
    const ids = readIds(params);
    if (ids instanceof Response) return ids;
    if (ids.length === 0) return text(400, 'Bad Request: idnum is missing (name at least one entry)');
    const filetype = params.get('filetype') ?? 'cif';
    if (filetype !== 'cif' && filetype !== 'single' && filetype !== 'zip') {
      return text(400, `Bad Request: filetype must be cif or zip, got "${filetype.slice(0, 40)}"`);
    }
    const cellType = readCellType(params);
    if (cellType instanceof Response) return cellType;
    const selected: IcsdSimEntry[] = [];
    for (const id of ids) {
      const entry = dataset.entryById(id);
      if (entry === undefined) return text(500, 'Internal Server Error');
      selected.push(entry);
    }
    const refused = consumeQuota(session, selected.length);
    if (refused !== undefined) return refused;
    const windows = isWindows(params);
    if (filetype === 'zip') {
      const files = selected.map((entry) => ({
        name: `ICSD_CollCode${entry.collectionCode}.cif`,
        data: encoder.encode(renderEntry(entry, cellType, windows)),
      }));
      return respond(200, writeZip(files, new Date(now())), 'application/zip', [
        ['content-disposition', `attachment; filename="${zipFilename(params.get('filename'))}"`],
      ]);
    }
    let body = '';
    for (const entry of selected) body += renderEntry(entry, cellType, windows);
    return respond(200, body, 'application/cif;charset=UTF-8');
  };

  const reference = (request: Request, idText: string): Response => {
    if (request.method !== 'GET') return methodNotAllowed('GET');
    const session = authenticate(request);
    if (session instanceof Response) return session;
    const entry = /^\d+$/.test(idText) ? dataset.entryById(Number(idText)) : undefined;
    if (entry === undefined) return text(404, `Not Found: no entry with id ${idText.slice(0, 40)}`);
    return text(200, referenceOf(entry));
  };

  // ------------------------------------------------------------------------------------------------------
  // Handlers
  // ------------------------------------------------------------------------------------------------------

  type Resolve = (request: Request, id: string) => Response | Promise<Response>;
  const routes: readonly (readonly [string, IcsdSimEndpoint, Resolve])[] = [
    ['/auth/login', 'auth/login', login],
    ['/auth/logout', 'auth/logout', logout],
    ['/search/simple', 'search/simple', (request) => search(request, compileSimpleQuery)],
    ['/search/expert', 'search/expert', (request) => search(request, compileExpertQuery)],
    ['/csv', 'csv', csv],
    // Before `/cif/:id`, which would match `multiple` too.
    ['/cif/multiple', 'cif/multiple', cifMultiple],
    ['/cif/:id', 'cif', cifSingle],
    ['/reference/:id', 'reference', reference],
  ];
  const handlers: RequestHandler[] = [];
  for (const [path, endpoint, resolve] of routes) {
    for (const base of BASES) {
      handlers.push(
        http.all(`${base}${path}`, ({ request, params }) => {
          stats.requests[endpoint] += 1;
          const id = params.id;
          return resolve(request, typeof id === 'string' ? id : '');
        }),
      );
    }
  }

  return {
    handlers,
    entries,
    seed: normalizedSeed,
    entryById: (id) => dataset.entryById(id),
    entryByCode: (collectionCode) => dataset.entryByCode(collectionCode),
    cif(id, cifOptions = {}) {
      const entry = dataset.entryById(id);
      if (entry === undefined) throw new RangeError(`IcsdSimulator.cif: no entry with id ${id}`);
      return renderEntry(entry, cifOptions.cellType ?? 'experimental', cifOptions.windows ?? false);
    },
    get stats(): IcsdSimStats {
      purgeExpired();
      return { ...stats, requests: { ...stats.requests }, liveTokens: sessions.size };
    },
    expireTokens() {
      sessions.clear();
    },
    reset() {
      sessions.clear();
      tokenRandom = createRandom(mixSeed(normalizedSeed, 0x70c3));
      stats = freshStats();
    },
  };
}
