import {
  bearerAuth,
  type ClientOptions,
  cookieCsrfAuth,
  createHttpClient,
  EventEmitter,
  type HttpEvent,
  logEvents,
  readSetting,
  registerSecret,
  registerSecretName,
  type Transport,
  UsageError,
} from '@sciport/core';
import { FRAGALYSIS_SETTINGS, resolveStack, stackUrl } from './credentials.js';
import type { Context } from './internal/context.js';
import { Session } from './internal/session.js';
import { Archives } from './resources/archives.js';
import { CompoundSets } from './resources/compound-sets.js';
import { Observations } from './resources/observations.js';
import { Projects } from './resources/projects.js';
import { Targets } from './resources/targets.js';
import { Uploads } from './resources/uploads.js';
import { Users } from './resources/users.js';

declare const __SCIPORT_FRAGALYSIS_VERSION__: string | undefined;
export const FRAGALYSIS_VERSION: string =
  typeof __SCIPORT_FRAGALYSIS_VERSION__ === 'string' ? __SCIPORT_FRAGALYSIS_VERSION__ : '0.0.0-dev';

/** The steps of an archive build, as `archive` events report them. */
export type TaskPhase = 'queued' | 'waiting' | 'running' | 'done';

/**
 * An archive build's progress: `queued` (the build queue is full; asked again in `delayMs`), `waiting` (not
 * started yet), `running` (with the server's progress line as `message`), `done` (the archive is ready).
 */
export interface ArchiveEvent {
  type: 'archive';
  phase: TaskPhase;
  message?: string | undefined;
  /** The target being built (title and TAS), when known. */
  target?: string | undefined;
  tas?: string | undefined;
  /** The task's state as the server names it (`UNKNOWN`, `RUNNING`, `SUCCESS`), when the event comes from a poll. */
  status?: string | undefined;
  delayMs?: number | undefined;
}

/** Something worth knowing that did not stop the call (also written to `logger.warn`). */
export interface WarningEvent {
  type: 'warning';
  message: string;
}

/** What a Fragalysis client reports: its HTTP traffic, archive builds and warnings. */
export type FragalysisEvent = HttpEvent | ArchiveEvent | WarningEvent;

export interface FragalysisClientOptions extends ClientOptions {
  /**
   * The name of a known stack (`production`, `staging`, `legacy`) or its URL, resolved to `baseUrl`. Default
   * `FRAGALYSIS_STACK`, else `production`.
   */
  stack?: string | undefined;
  /** The stack's URL itself (`https://host[:port]`); the same as a `stack` given as a URL. */
  baseUrl?: string | undefined;
  /**
   * The session token: the value of the `sessionid` cookie (from `<stack>/api/token/` while logged in).
   * Default `FRAGALYSIS_TOKEN`. Without one, only public (open) proposals are visible.
   */
  token?: string | undefined;
  /**
   * A Keycloak (OIDC) access token of the stack's realm, sent as `Authorization: Bearer …` (spec §11.2): no
   * CSRF, no session. Default `FRAGALYSIS_ACCESS_TOKEN`. Give either this or `token`, not both (a `UsageError`).
   * Access tokens are short-lived: an expired one is reported as an `AuthenticationError`, never refreshed.
   */
  accessToken?: string | undefined;
  /** Items per page when listing (default 1000). */
  pageSize?: number | undefined;
  /** Receives every event of the client (requests, retries, archive builds, warnings). */
  onEvent?: ((event: FragalysisEvent) => void) | undefined;
}

/** The base URL the options name: `baseUrl`, or `stack`, or `FRAGALYSIS_STACK`, or production. */
function baseUrlOf(options: FragalysisClientOptions): string {
  const fromStack = options.stack !== undefined ? resolveStack(options.stack) : undefined;
  const fromUrl = options.baseUrl !== undefined ? stackUrl(options.baseUrl) : undefined;
  if (fromStack !== undefined && fromUrl !== undefined && fromStack !== fromUrl) {
    throw new UsageError(
      `Both stack (${fromStack}) and baseUrl (${fromUrl}) are given and they differ: give one of them`,
    );
  }
  return fromUrl ?? fromStack ?? resolveStack(readSetting(FRAGALYSIS_SETTINGS.stack) ?? 'production');
}

/**
 * The credential the options name (issue 14: xca): the session token or the access token, each from its option,
 * else (when neither option is given) from its environment variable. Both at once is a `UsageError`.
 */
export function credentialOf(
  options: Pick<FragalysisClientOptions, 'token' | 'accessToken'>,
): { kind: 'session' | 'access'; value: string } | undefined {
  const explicit = options.token !== undefined || options.accessToken !== undefined;
  // Pasted tokens come with stray whitespace, the whole `sessionid=…` cookie pair, or the `Bearer ` prefix.
  const session =
    (explicit ? options.token : readSetting(FRAGALYSIS_SETTINGS.token))?.trim().replace(/^sessionid=/i, '') ||
    undefined;
  const access =
    (explicit ? options.accessToken : readSetting(FRAGALYSIS_SETTINGS.accessToken))
      ?.trim()
      .replace(/^bearer\s+/i, '') || undefined;
  registerSecret(session);
  registerSecret(access);
  if (session && access) {
    const { token, accessToken } = FRAGALYSIS_SETTINGS;
    throw new UsageError(
      explicit
        ? 'Both token (a session id) and accessToken (an OIDC access token) are given: give one of them'
        : `Both ${token.env} and ${accessToken.env} are set: set one of them`,
      { hint: 'Fragalysis takes a session cookie or a bearer token, and the session would win' },
    );
  }
  if (access && /\s/.test(access)) {
    throw new UsageError('The Fragalysis access token contains spaces: paste the token alone');
  }
  if (session) return { kind: 'session', value: session };
  if (access) return { kind: 'access', value: access };
  return undefined;
}

/**
 * A client for a Fragalysis stack (Diamond/XChem fragment screening). This is the client of the browser entry
 * point; on Node, `archives` has `download` and `sync` too.
 *
 * The token (the `sessionid` cookie) goes only to the stack's own host, with the CSRF header on writes; a
 * redirect to another host (a Keycloak login page for a stale session) is refused, not followed. A token the
 * server does not accept is reported as an authentication error, never silently downgraded to public data.
 */
export class FragalysisClient {
  /** The stack's URL, without a trailing slash. */
  readonly baseUrl: string;
  readonly users: Users;
  readonly projects: Projects;
  readonly targets: Targets;
  readonly observations: Observations;
  readonly compoundSets: CompoundSets;
  readonly uploads: Uploads;
  readonly archives: Archives;
  protected readonly ctx: Context;
  readonly #events = new EventEmitter<FragalysisEvent>();

  constructor(options: FragalysisClientOptions = {}, transport: Transport = {}) {
    this.baseUrl = baseUrlOf(options);
    const credential = credentialOf(options);
    const token = credential?.kind === 'session' ? credential.value : undefined;
    // The archive path is a capability URL: keep it out of logs and errors.
    registerSecretName('file_url');
    if (options.onEvent) this.#events.on(options.onEvent);
    if (options.logger) this.#events.on(logEvents(options.logger));
    const http = createHttpClient({
      baseUrl: this.baseUrl,
      service: 'fragalysis',
      // A connection failure names the host and points at the setting that chose it.
      baseUrlSetting: FRAGALYSIS_SETTINGS.stack.env,
      // An access token is a bearer header, without CSRF (DRF checks CSRF only for session users, spec §11.2).
      auth:
        credential?.kind === 'access'
          ? bearerAuth(credential.value)
          : cookieCsrfAuth({
              ...(token ? { cookies: { sessionid: token } } : {}),
              // Django checks CSRF only on session-authenticated writes: anonymous ones skip the landing page.
              csrf: { bootstrapPath: '/viewer/react/landing/', sessionCookie: 'sessionid' },
            }),
      headers: { accept: 'application/json' },
      crossOriginRedirects: 'error',
      client: { name: '@sciport/fragalysis', version: FRAGALYSIS_VERSION },
      onEvent: (event) => this.#events.emit(event),
      ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
      maxRetries: Math.max(0, options.maxRetries ?? 3),
      fetch: options.fetch,
      ...transport,
      ...(options.userAgent ? { userAgent: options.userAgent } : {}),
    });
    this.ctx = {
      http,
      events: this.#events,
      baseUrl: this.baseUrl,
      authenticated: credential !== undefined,
      pageSize: Math.max(1, options.pageSize ?? 1000),
      session: new Session({
        http,
        events: this.#events,
        baseUrl: this.baseUrl,
        token: credential?.value,
        credential: credential?.kind ?? 'session',
      }),
    };
    this.users = new Users(this.ctx);
    this.projects = new Projects(this.ctx);
    this.targets = new Targets(this.ctx);
    this.observations = new Observations(this.ctx);
    this.compoundSets = this.createCompoundSets(this.ctx);
    this.uploads = this.createUploads(this.ctx);
    this.archives = this.createArchives(this.ctx);
  }

  /** The resource of archives (the Node client's has `download` and `sync`). */
  protected createArchives(ctx: Context): Archives {
    return new Archives(ctx);
  }

  /** The resource of uploads (the Node client's has `upload`, which reads a file). */
  protected createUploads(ctx: Context): Uploads {
    return new Uploads(ctx);
  }

  /** The resource of compound sets (the Node client's has `download` and `uploadFile`). */
  protected createCompoundSets(ctx: Context): CompoundSets {
    return new CompoundSets(ctx);
  }

  /** Whether a token was configured. */
  get authenticated(): boolean {
    return this.ctx.authenticated;
  }

  /** Subscribes to the client's events; returns the function that unsubscribes. */
  onEvent(listener: (event: FragalysisEvent) => void): () => void {
    return this.#events.on(listener);
  }

  /** Releases the client (a Fragalysis token is not a session this client opened: nothing to log out of). */
  async dispose(): Promise<void> {
    await this.ctx.http.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
