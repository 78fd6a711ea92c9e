import {
  type ClientOptions,
  createBufferPool,
  createHttpClient,
  EventEmitter,
  type HttpClient,
  type HttpEvent,
  logEvents,
  type RequestOptions,
  readSetting,
  registerSecret,
  type Transport,
  UsageError,
} from '@sciport/core';
import { DEFAULT_ICSD_BASE_URL, ICSD_SETTINGS } from './credentials.js';
import { type IcsdLogoutResult, icsdAuth } from './internal/auth.js';
import { checkIcsdUrl } from './internal/base-url.js';
import type { IcsdContext } from './internal/context.js';
import { type HistoryEntry, RequestHistory } from './internal/history.js';
import { SessionKeeper } from './internal/kept-session.js';
import { LOGIN_WINDOW_MS, LOGINS_PER_WINDOW, LoginLimiter } from './internal/login-limiter.js';
import { type SessionEvent, SessionManager } from './internal/session.js';
import { Cifs } from './resources/cifs.js';
import { Entries } from './resources/entries.js';
import { type IcsdTokenStore, KEPT_SESSION_MAX_AGE_MS } from './token-store.js';

declare const __SCIPORT_ICSD_VERSION__: string | undefined;
export const ICSD_VERSION: string =
  typeof __SCIPORT_ICSD_VERSION__ === 'string' ? __SCIPORT_ICSD_VERSION__ : '0.0.0-dev';

export interface IcsdClientOptions extends ClientOptions {
  /** Default `ICSD_BASE_URL`, else `https://icsd.fiz-karlsruhe.de/ws` (`…/api/ws` works too). */
  baseUrl?: string | undefined;
  /** Default `ICSD_USERNAME`. */
  username?: string | undefined;
  /** Default `ICSD_PASSWORD`. Never printed, logged or sent anywhere but the login form. */
  password?: string | undefined;
  /** Milliseconds per request, body included (default 120 s: a batch of 500 CIFs is several MB). */
  timeout?: number | false | undefined;
  /** Retries of transient failures per request (default 3). */
  maxRetries?: number | undefined;
  /** Every request, response, retry, login, rotation and warning, as typed events. URLs are redacted. */
  onEvent?: ((event: IcsdEvent) => void) | undefined;
  /** Requests in flight at once for bulk calls (default 4). They share one session. */
  concurrency?: number | undefined;
  /** CIFs one session may fetch before a fresh login (default 1000); null when unlimited. */
  cifsPerSession?: number | null | undefined;
  /** Token lifetime (default one hour); the session is renewed 5 minutes before. */
  sessionLifetimeMs?: number | undefined;
  /**
   * When ICSD refuses CIFs even on a fresh session (throttling), wait with growing delays (1, 2, 4 … minutes,
   * up to 30 minutes in all) instead of failing. Default false.
   */
  waitOnQuota?: boolean | { initialDelayMs?: number; maxDelayMs?: number; maxTotalMs?: number } | undefined;
  /** How many requests `history()` keeps (default 100; 0 keeps none). */
  historySize?: number | undefined;
  /**
   * Keep the session between clients and runs (spec §14.6): a valid kept token (checked with `GET /cif/0`, and
   * younger than 55 minutes) is used instead of a login, and every new token is kept. Keyed by server and
   * username. Ending the client does not log such a session out; `logout()` does, and forgets it. Without a
   * store (the default) each client logs in and out. On Node: `configTokenStore()`.
   */
  tokenStore?: IcsdTokenStore | undefined;
  /** The clock (ms since the epoch), for tests. Default `Date.now`. */
  now?: (() => number) | undefined;
}

/** What an ICSD client reports: HTTP requests and auth steps, session rotations and quota, warnings. */
export type IcsdEvent = HttpEvent | SessionEvent | { type: 'warning'; message: string };

/**
 * A client for the ICSD web service (FIZ Karlsruhe).
 *
 * - `entries`: searches (internal ids in the server's order) and typed properties from `/csv`;
 * - `cifs`: CIF documents exactly as sent, one or 500 a request (on Node, `download` and `mirror` too).
 *
 * One session is shared by every call and renewed as needed (spec §3); `dispose()` logs out (on Node 24+,
 * `await using` does it at the end of the block).
 */
export class IcsdClient implements AsyncDisposable {
  readonly baseUrl: string;
  /** Searches and properties. */
  readonly entries: Entries;
  /** CIF documents. */
  readonly cifs: Cifs;
  protected readonly ctx: IcsdContext;
  readonly #http: HttpClient;
  readonly #history: RequestHistory;
  readonly #auth: ReturnType<typeof icsdAuth>;
  readonly #relay: (event: HttpEvent) => void;
  #closed = false;

  /** `transport` is for the Node entry point's client: core's `nodeTransport()`. */
  constructor(options: IcsdClientOptions = {}, transport: Transport = {}) {
    this.baseUrl = options.baseUrl ?? readSetting(ICSD_SETTINGS.baseUrl) ?? DEFAULT_ICSD_BASE_URL;
    checkIcsdUrl(this.baseUrl);
    const username = options.username ?? readSetting(ICSD_SETTINGS.username);
    const password = options.password ?? readSetting(ICSD_SETTINGS.password);
    registerSecret(password);
    const concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new UsageError(`concurrency must be a whole number of at least 1, got ${options.concurrency}`);
    }
    const lifetimeMs = options.sessionLifetimeMs ?? 3_600_000;
    const renewBeforeMs = Math.min(5 * 60_000, lifetimeMs / 4);

    const events = new EventEmitter<IcsdEvent>();
    if (options.onEvent) events.on(options.onEvent);
    if (options.logger) events.on(logEvents(options.logger));
    this.#history = new RequestHistory(options.historySize ?? 100);
    this.#relay = (event) => {
      this.#history.record(event);
      events.emit(event);
    };

    const timeout = options.timeout ?? 120_000;
    const warn = (message: string) => events.emit({ type: 'warning', message });
    const now = options.now ?? (() => Date.now());
    const keeper = options.tokenStore
      ? new SessionKeeper({
          store: options.tokenStore,
          baseUrl: this.baseUrl,
          username,
          now,
          maxAgeMs: Math.min(KEPT_SESSION_MAX_AGE_MS, lifetimeMs - renewBeforeMs),
          warn,
          onKept: (event) => events.emit({ type: 'keptSession', ...event }),
        })
      : undefined;
    // The session manager is made below; the auth strategy tells it how each session began.
    let session: SessionManager | undefined;
    const auth = icsdAuth({
      baseUrl: this.baseUrl,
      username,
      password,
      lifetimeMs,
      warn,
      limiter: new LoginLimiter({
        onWait: (delayMs) =>
          warn(
            `${LOGINS_PER_WINDOW} ICSD logins in the last ${LOGIN_WINDOW_MS / 1000} s: waiting ` +
              `${Math.ceil(delayMs / 1000)} s before the next one`,
          ),
      }),
      isClosed: () => this.#closed,
      logoutTimeoutMs: timeout === false ? 15_000 : Math.min(15_000, timeout),
      keeper,
      onSession: (info) => session?.noteSession(info),
      now,
    });
    this.#auth = auth;
    this.#http = createHttpClient({
      baseUrl: this.baseUrl,
      service: 'icsd',
      baseUrlSetting: ICSD_SETTINGS.baseUrl.env,
      auth,
      timeout,
      maxRetries: options.maxRetries ?? 3,
      client: { name: '@sciport/icsd', version: ICSD_VERSION },
      onEvent: (event) => this.#relay(event),
      fetch: options.fetch,
      ...transport,
      ...(options.userAgent ? { userAgent: options.userAgent } : {}),
    });
    const wait = options.waitOnQuota;
    const waitOptions = typeof wait === 'object' ? wait : {};
    session = new SessionManager({
      http: this.#http,
      auth,
      cifsPerSession: options.cifsPerSession === undefined ? 1000 : options.cifsPerSession,
      lifetimeMs,
      renewBeforeMs,
      quotaWait: {
        enabled: wait !== undefined && wait !== false,
        initialDelayMs: waitOptions.initialDelayMs ?? 60_000,
        maxDelayMs: waitOptions.maxDelayMs ?? 8 * 60_000,
        maxTotalMs: waitOptions.maxTotalMs ?? 30 * 60_000,
      },
      emit: (event) => events.emit(event),
      now,
    });
    this.ctx = { http: this.#http, session, events, concurrency, bodies: createBufferPool() };
    this.entries = this.createEntries(this.ctx);
    this.cifs = this.createCifs(this.ctx);
  }

  /** Builds `entries` (a subclass may return its own). */
  protected createEntries(ctx: IcsdContext): Entries {
    return new Entries(ctx);
  }

  /** Builds `cifs` (the Node entry point's client returns the resource with `download` and `mirror`). */
  protected createCifs(ctx: IcsdContext): Cifs {
    return new Cifs(ctx);
  }

  /** Subscribes to events (requests, retries, logins, rotations, warnings); returns the unsubscribe function. */
  onEvent(listener: (event: IcsdEvent) => void): () => void {
    return this.ctx.events.on(listener);
  }

  /** The last requests (method, redacted URL, status, timing, size): never bodies or secrets. */
  history(): HistoryEntry[] {
    return this.#history.list();
  }

  /** CIFs fetched by this client so far. */
  get cifsFetched(): number {
    return this.ctx.session.cifsFetched;
  }

  /** Logs in now, checking the credentials (calls log in lazily anyway). */
  async login(options: RequestOptions = {}): Promise<void> {
    await this.ctx.session.run(0, options.signal, () => this.#http.authenticate({ signal: options.signal }));
  }

  /**
   * Ends the session (if any) and, with a `tokenStore`, the kept one, which is forgotten whatever the service
   * answers (a 401 means it had died already). The client logs in again on its next call.
   */
  async logout(): Promise<IcsdLogoutResult> {
    return this.#auth.logout({ http: this.#http.withOptions({ auth: null }), emit: this.#relay });
  }

  /**
   * Ends the client, for good: it makes no login afterwards (calls fail with a `UsageError`), so that a request
   * still in flight cannot open a session behind it. Logs the session out, unless it is kept in the
   * `tokenStore` (then only `logout()` ends it). Safe to call more than once.
   */
  async dispose(): Promise<void> {
    this.#closed = true;
    await this.#http.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
