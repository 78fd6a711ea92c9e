import { HttpResponse, http, type RequestHandler } from 'msw';
import { createRandom, type Random } from '../random.js';
import type { SimRoutes } from '../routes.js';
import { type IcsdCellType, renderCif } from './icsd-cif.js';
import { ICSD_SIM_ENDPOINTS, type IcsdSimEndpoint } from './icsd-constants.js';
import { generateDataset, type IcsdSimEntry } from './icsd-dataset.js';
import { dayOf, isIsoDate, modifyEntries, revisionCounts } from './icsd-revisions.js';
import type { IcsdSimulatorOptions } from './icsd-simulator.js';
import { mixSeed } from './icsd-structure.js';

/** Where the routes are served: both `/ws` and `/api/ws`, on any origin. */
export interface IcsdMount {
  /** The msw path the route paths are appended to (`*\/ws`). */
  readonly base: string;
}

export const ICSD_MOUNTS: readonly IcsdMount[] = [{ base: '*/ws' }, { base: '*/api/ws' }];

/** A route module of the ICSD simulator. */
export type IcsdRoutes = SimRoutes<IcsdSim, IcsdMount>;

export interface Session {
  readonly loginid: string;
  readonly expiresAt: number;
  cifs: number;
}

export interface MutableStats {
  logins: number;
  failedLogins: number;
  refusedLogins: number;
  logouts: number;
  cifsServed: number;
  quotaRefusals: number;
  unauthorized: number;
  requests: Record<IcsdSimEndpoint, number>;
}

/** The simulated service's data and mutable state (seeded), with the helpers the routes share. */
export interface IcsdSim {
  /** The normalised seed. */
  readonly seed: number;
  readonly credentials: Readonly<Record<string, string>>;
  readonly tokenLifetimeMs: number;
  readonly cifsPerSession: number | null;
  readonly sessionLimit: number | null;
  readonly maxIds: number;
  readonly overLimit: 'reject' | 'truncate';
  readonly now: () => number;
  readonly dataset: ReturnType<typeof generateDataset>;
  readonly entries: readonly IcsdSimEntry[];
  /** Live sessions by token. */
  readonly sessions: Map<string, Session>;
  /** The token sequence (restarts on reset). */
  tokenRandom: Random;
  stats: MutableStats;
  renderEntry(entry: IcsdSimEntry, cellType: IcsdCellType, windows: boolean): string;
  purgeExpired(): void;
  /** The session of the request's token, or the 401 answer. */
  authenticate(request: Request): Session | Response;
  /** Parses the repeated `idnum` parameters, applying `maxIds`; returns the ids or a 400 answer. */
  readIds(params: URLSearchParams): number[] | Response;
  readCellType(params: URLSearchParams): IcsdCellType | Response;
  isWindows(params: URLSearchParams): boolean;
  /** Refuses with 403 (counting nothing) when `count` CIFs would exceed the session's quota. */
  consumeQuota(session: Session, count: number): Response | undefined;
  /** Forgets every session and zeroes the counters; the token sequence restarts. */
  reset(): void;
  /** Collection codes changed by the `revision` option, ascending. */
  readonly revisedCodes: readonly number[];
  /** Changes entries upstream now (or on `date`); returns the changed codes, ascending. */
  modify(codes: Iterable<number>, date?: string): number[];
}

export const TEXT = 'text/plain;charset=UTF-8';
export const encoder = new TextEncoder();

export function respond(
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

export function text(
  status: number,
  message: string,
  extra: readonly (readonly [string, string])[] = [],
): Response {
  return respond(status, message, TEXT, extra);
}

export function methodNotAllowed(allowed: string): Response {
  return text(405, `Method Not Allowed: use ${allowed}`, [['allow', allowed]]);
}

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

/** Validates the options and builds the seeded state. */
export function createIcsdState(options: IcsdSimulatorOptions): IcsdSim {
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
    revision = 0,
    revisionDate,
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
  checkInteger('revision', revision, 0, 1000);
  if (revisionDate !== undefined && (typeof revisionDate !== 'string' || !isIsoDate(revisionDate))) {
    throw new RangeError(
      `createIcsdSimulator: revisionDate must be a real YYYY-MM-DD date, got ${String(revisionDate)}`,
    );
  }
  if (typeof credentials !== 'object' || credentials === null) {
    throw new TypeError('createIcsdSimulator: credentials must be a record of login id → password');
  }

  const normalizedSeed = Math.trunc(seed) >>> 0;
  const dataset = generateDataset(normalizedSeed, entryCount);
  const { entries } = dataset;
  const revisedCodes =
    revision === 0
      ? []
      : modifyEntries(
          dataset,
          revisionCounts(normalizedSeed, entries, revision),
          revisionDate ?? dayOf(now()),
          'createIcsdSimulator: revisionDate',
        );
  const sessions = new Map<string, Session>();
  const tokenRandom = createRandom(mixSeed(normalizedSeed, 0x70c3));
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

  const yearNow = (): number => copyrightYear ?? new Date(now()).getUTCFullYear();

  const sim: IcsdSim = {
    seed: normalizedSeed,
    credentials,
    tokenLifetimeMs,
    cifsPerSession,
    sessionLimit,
    maxIds,
    overLimit,
    now,
    dataset,
    entries,
    sessions,
    tokenRandom,
    stats: freshStats(),
    renderEntry: (entry, cellType, windows) =>
      renderCif(entry, {
        sites: dataset.sitesOf(entry),
        cellType,
        lineEnd: windows ? '\r\n' : '\n',
        copyrightYear: yearNow(),
      }),
    purgeExpired() {
      const t = now();
      for (const [token, session] of sessions) if (session.expiresAt <= t) sessions.delete(token);
    },
    authenticate(request) {
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
    },
    readIds(params) {
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
    },
    readCellType(params) {
      const value = params.get('celltype') ?? 'experimental';
      if (value === 'experimental' || value === 'standardized') return value;
      return text(
        400,
        `Bad Request: celltype must be experimental or standardized, got "${value.slice(0, 40)}"`,
      );
    },
    isWindows: (params) => (params.get('windowsclient') ?? '').trim().toLowerCase() === 'true',
    consumeQuota(session, count) {
      if (cifsPerSession !== null && session.cifs + count > cifsPerSession) {
        sim.stats.quotaRefusals += 1;
        return text(
          403,
          `Forbidden: download limit reached. This session may download ${cifsPerSession} CIFs and has ` +
            `downloaded ${session.cifs}; the request asks for ${count}. Log out and log in again.`,
        );
      }
      session.cifs += count;
      sim.stats.cifsServed += count;
      return undefined;
    },
    revisedCodes,
    modify(codes, date) {
      const changes = new Map<number, number>();
      for (const code of codes) changes.set(code, 1);
      return modifyEntries(dataset, changes, date ?? dayOf(now()));
    },
    reset() {
      sessions.clear();
      sim.tokenRandom = createRandom(mixSeed(normalizedSeed, 0x70c3));
      sim.stats = freshStats();
    },
  };

  function unauthorized(message: string): Response {
    sim.stats.unauthorized += 1;
    return text(401, message);
  }

  return sim;
}

/** One endpoint under a mount: counts the request, then resolves it (`id`: the `:id` path parameter or ''). */
export function endpoint(
  sim: IcsdSim,
  mount: IcsdMount,
  path: string,
  name: IcsdSimEndpoint,
  resolve: (request: Request, id: string) => Response | Promise<Response>,
): RequestHandler {
  return http.all(`${mount.base}${path}`, ({ request, params }) => {
    sim.stats.requests[name] += 1;
    const id = params.id;
    return resolve(request, typeof id === 'string' ? id : '');
  });
}
