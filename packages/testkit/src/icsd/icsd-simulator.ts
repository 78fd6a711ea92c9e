import type { RequestHandler } from 'msw';
import { composeRoutes } from '../routes.js';
import type { IcsdCellType } from './icsd-cif.js';
import type { IcsdSimEndpoint } from './icsd-constants.js';
import type { IcsdSimEntry } from './icsd-dataset.js';
import { authRoutes } from './routes/auth.js';
import { cifRoutes } from './routes/cif.js';
import { csvRoutes } from './routes/csv.js';
import { referenceRoutes } from './routes/reference.js';
import { searchRoutes } from './routes/search.js';
import { createIcsdState, ICSD_MOUNTS, type IcsdRoutes } from './state.js';

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
  /**
   * Upstream changes between runs (spec Appendix A): revision `k` serves the dataset after `k` rounds of
   * changes. Each round changes a deterministic subset of about 3 % of the entries (chosen by seed, round and
   * collection code); rounds are cumulative, so revision 2 contains the changes of revision 1. A changed entry
   * gets a different CIF (the last digit of its cell lengths moves, one unit per round that changed it; volume
   * and density follow) and {@link IcsdSimulatorOptions.revisionDate} as its modification date: in
   * `_audit_update_record`, in the `/csv` property `ModificationDate` and in `MODIFICATIONDATE` searches. Every
   * other entry stays byte-identical. The changed codes are in {@link IcsdSimulator.revisedCodes}.
   * Defaults to 0 (the original dataset, where no modification date is later than 2025-12-31).
   */
  revision?: number;
  /**
   * The modification date (`YYYY-MM-DD`) of the entries changed by {@link IcsdSimulatorOptions.revision}.
   * Defaults to the UTC day of {@link IcsdSimulatorOptions.now} when the simulator is created.
   */
  revisionDate?: string;
}

/** Options of {@link IcsdSimulator.modify}. */
export interface IcsdModifyOptions {
  /** The day of the change, `YYYY-MM-DD`. Defaults to the UTC day of the simulator's clock. */
  date?: string;
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
  /** CIF documents served by `/cif/{id}` and `/cif/multiple` (the `/cif/0` validity probe is not counted). */
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
  /**
   * Collection codes of the entries changed by {@link IcsdSimulatorOptions.revision}, ascending (empty for
   * revision 0).
   */
  readonly revisedCodes: readonly number[];
  /**
   * Changes entries upstream while the simulator serves, as a new revision of ICSD would: each entry with one of
   * these collection codes gets a different CIF (the last digit of its cell lengths moves by one; volume and
   * density follow) and the day of the change as modification date (CIF `_audit_update_record`, `/csv`
   * `ModificationDate`, `MODIFICATIONDATE` searches). Every other entry stays byte-identical. Calling it again
   * for an entry changes it again. Unknown codes are skipped. {@link IcsdSimulator.reset} keeps the changes.
   *
   * @returns the changed collection codes, ascending.
   * @throws RangeError when `options.date` is not a real `YYYY-MM-DD` date or is before the recording date of
   *   an entry to change (nothing is changed then).
   *
   * @example
   * ```ts
   * const changed = sim.modify([sim.entries[0].collectionCode], { date: '2026-03-01' });
   * ```
   */
  modify(collectionCodes: Iterable<number>, options?: IcsdModifyOptions): number[];
  /** A snapshot of the counters. */
  readonly stats: IcsdSimStats;
  /** Kills every live token: its next use is answered 401. */
  expireTokens(): void;
  /**
   * Forgets every session and zeroes the counters; the token sequence restarts. The dataset is unchanged (changes
   * made by {@link IcsdSimulator.modify} stay).
   */
  reset(): void;
}

/** The route modules, in the order their handlers are tried on each mount. */
const ROUTES: readonly IcsdRoutes[] = [authRoutes, searchRoutes, csvRoutes, cifRoutes, referenceRoutes];

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
 * const server = await startTestServer({ handlers: sim.handlers });
 * const login = await fetch(`${server.url}/ws/auth/login`, {
 *   method: 'POST',
 *   body: new URLSearchParams({ loginid: 'demo', password: 'demo-password' }),
 * });
 * const token = login.headers.get('icsd-auth-token');
 * await server.close();
 * ```
 */
export function createIcsdSimulator(options: IcsdSimulatorOptions = {}): IcsdSimulator {
  const sim = createIcsdState(options);
  const handlers: RequestHandler[] = composeRoutes(sim, ICSD_MOUNTS, ROUTES);
  const { dataset, entries, sessions } = sim;
  return {
    handlers,
    entries,
    seed: sim.seed,
    entryById: (id) => dataset.entryById(id),
    entryByCode: (collectionCode) => dataset.entryByCode(collectionCode),
    cif(id, cifOptions = {}) {
      const entry = dataset.entryById(id);
      if (entry === undefined) throw new RangeError(`IcsdSimulator.cif: no entry with id ${id}`);
      return sim.renderEntry(entry, cifOptions.cellType ?? 'experimental', cifOptions.windows ?? false);
    },
    revisedCodes: sim.revisedCodes,
    modify: (collectionCodes, modifyOptions = {}) => sim.modify(collectionCodes, modifyOptions.date),
    get stats(): IcsdSimStats {
      sim.purgeExpired();
      return { ...sim.stats, requests: { ...sim.stats.requests }, liveTokens: sessions.size };
    },
    expireTokens() {
      sessions.clear();
    },
    reset() {
      sim.reset();
    },
  };
}
