import {
  AbortError,
  ApiError,
  AuthenticationError,
  ConnectionError,
  cookieCsrfAuth,
  createHttpClient,
  type HttpClient,
  type HttpEvent,
  NotFoundError,
  type PageIterable,
  paginate,
  parseResponse,
  parseRetryAfter,
  ResponseValidationError,
  readSetting,
  registerSecret,
  registerSecretName,
  SciportError,
  sleep,
  TimeoutError,
  UsageError,
} from '@sciport/core';
import type { z } from 'zod';
import { FRAGALYSIS_SETTINGS } from './credentials.js';
import { type ArchiveOptions, archiveRequestBody, legacyFieldNames } from './download-options.js';
import {
  compoundSetSchema,
  downloadResponseSchema,
  type FragalysisCompoundSet,
  type FragalysisObservation,
  type FragalysisProject,
  type FragalysisTarget,
  type FragalysisUser,
  observationSchema,
  page,
  projectSchema,
  type RawUpload,
  type TaskStatus,
  targetSchema,
  taskStatusSchema,
  uploadSchema,
  userSchema,
} from './schemas.js';

declare const __SCIPORT_FRAGALYSIS_VERSION__: string | undefined;
export const FRAGALYSIS_VERSION: string =
  typeof __SCIPORT_FRAGALYSIS_VERSION__ === 'string' ? __SCIPORT_FRAGALYSIS_VERSION__ : '0.0.0-dev';

/** The known stacks (spec §1). Any other `http(s)://host[:port]` works too. */
export const STACKS = {
  production: 'https://fragalysis.diamond.ac.uk',
  staging: 'https://fragalysis.xchem.diamond.ac.uk',
  legacy: 'https://fragalysis-legacy.xchem.diamond.ac.uk',
} as const;
export type StackName = keyof typeof STACKS;

/** A stack name or URL → its base URL, without a trailing slash. */
export function resolveStack(stack: string): string {
  const name = stack.trim();
  const known = name.toLowerCase();
  if (Object.hasOwn(STACKS, known)) return STACKS[known as StackName];
  let url: URL;
  try {
    // A bare host name (`fragalysis-me-dev.xchem-dev.diamond.ac.uk`) means HTTPS.
    url = new URL(/^[a-z0-9-]+(\.[a-z0-9-]+)+(:\d+)?(\/.*)?$/i.test(name) ? `https://${name}` : name);
  } catch {
    throw new UsageError(
      `Unknown Fragalysis stack ${JSON.stringify(stack)}: use production, staging, legacy or a URL (https://host)`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`A Fragalysis stack URL must be http(s), got ${url.protocol}`);
  }
  url.search = '';
  url.hash = '';
  return url.toString().replace(/\/+$/, '');
}

export interface FragalysisClientOptions {
  /** `production` (default), `staging`, `legacy` or a URL. Default `FRAGALYSIS_STACK`. */
  stack?: string;
  /**
   * The session token: the value of the `sessionid` cookie (from `<stack>/api/token/` while logged in).
   * Default `FRAGALYSIS_TOKEN`. Without one, only public (open) proposals are visible.
   */
  token?: string;
  timeout?: number;
  maxRetries?: number;
  fetch?: typeof globalThis.fetch;
  userAgent?: string;
  /** Items per page when listing (default 1000). */
  pageSize?: number;
  onEvent?: (event: FragalysisEvent) => void;
}

export type TaskPhase = 'queued' | 'waiting' | 'running' | 'done';
export type FragalysisEvent =
  | HttpEvent
  | { type: 'archive'; phase: TaskPhase; message?: string | undefined; delayMs?: number | undefined }
  | { type: 'warning'; message: string };

export interface CallOptions {
  signal?: AbortSignal | undefined;
}

export interface WaitOptions extends CallOptions {
  /** Give up after this long in all (default 30 minutes: large targets with maps take many minutes). */
  maxWaitTime?: number;
  /**
   * A task still "UNKNOWN" (not started) after this long is lost: a crashed build reports UNKNOWN until
   * housekeeping runs, and an unknown task id never errors (default 5 minutes).
   */
  unknownTimeout?: number;
  /**
   * The first pause between status polls, in ms (default 1000); later pauses grow by 1.6x with jitter up to
   * 15 s. A full build queue is retried after twice this, doubling up to a minute.
   */
  pollInterval?: number;
  /** Each status seen while waiting. */
  onStatus?: (status: TaskStatus) => void;
}

export interface ArchiveRequest extends WaitOptions {
  target: string;
  tas: string;
  options?: ArchiveOptions;
}

export interface ArchiveLocation {
  /** The server path of the archive (a capability: anyone holding it can fetch the file). */
  fileUrl: string;
  /** Whether the server answered with a finished archive at once (a cached or legacy build). */
  immediate: boolean;
}

/** A build that failed, was lost, or did not finish in time. */
export class FragalysisTaskError extends SciportError {
  static override readonly kind: string = 'FragalysisTaskError';
  override readonly code: string = 'task_failed';
  readonly reason: 'failed' | 'lost' | 'timeout' | 'queue';
  readonly messages: string[];

  constructor(
    message: string,
    init: { reason: FragalysisTaskError['reason']; messages?: string[]; retryable?: boolean },
  ) {
    super(message, { retryable: init.retryable ?? init.reason !== 'failed' });
    this.reason = init.reason;
    this.messages = init.messages ?? [];
  }
}

export interface UploadRecord {
  uploadIndex: number;
  timestamp: Date;
  committerId: number | undefined;
  committerName: string | undefined;
  /** `"<major>.<minor>"`, the XCA data format. */
  dataFormat: string | undefined;
  /** Original upload tarball (no access check on the server: a capability). */
  tarballUrl: string | undefined;
}

/** Upload statistics of one target (spec §4.8). */
export interface UploadStats {
  targetId: number;
  targetName: string;
  tas: string;
  projectId: number | undefined;
  lastUploadIndex: number;
  lastUploadTimestamp: Date;
  uploads: UploadRecord[];
}

const ANONYMOUS_USER_ID = 1;
/**
 * `Accept` of the archive fetch: the archive comes as `application/zip` whatever its format, and the errors of
 * that DRF view as JSON.
 */
export const ARCHIVE_ACCEPT = 'application/json, */*';
/** Task states that mean the build ended badly, whatever `finished` says. */
const FAILED_STATES = new Set(['FAILED', 'FAILURE', 'REVOKED', 'ERROR']);
/** Task states of a build that has not been picked up (or was lost before it ran). */
const WAITING_STATES = new Set(['UNKNOWN', 'PENDING', 'QUEUED', 'RECEIVED']);
/** Status polls that may fail in a row (5xx, 408, timeouts, a proxy's HTML page) before the wait gives up. */
const MAX_POLL_FAILURES = 10;

export function targetKey(title: string, tas: string): string {
  return `${title}|${tas}`;
}

/**
 * A client for a Fragalysis stack (Diamond/XChem fragment screening).
 *
 * The token (the `sessionid` cookie) goes only to the stack's own host, with the CSRF header on writes; a
 * redirect to another host (a Keycloak login page for a stale session) is refused, not followed. A token the
 * server does not accept is reported as an authentication error, never silently downgraded to public data.
 */
export class FragalysisClient {
  readonly baseUrl: string;
  protected readonly http: HttpClient;
  protected readonly pageSize: number;
  private readonly token: string | undefined;
  private readonly listeners = new Set<(event: FragalysisEvent) => void>();
  private checked: Promise<FragalysisUser | undefined> | undefined;

  /** `transport` is for the Node entry point: the `fetch` for archive downloads (see `nodeDownloadFetch`). */
  constructor(
    options: FragalysisClientOptions = {},
    transport: { downloadFetch?: typeof globalThis.fetch } = {},
  ) {
    this.baseUrl = resolveStack(options.stack ?? readSetting(FRAGALYSIS_SETTINGS.stack) ?? 'production');
    // Pasted tokens come with stray whitespace, or as the whole `sessionid=…` cookie pair.
    this.token =
      (options.token ?? readSetting(FRAGALYSIS_SETTINGS.token))?.trim().replace(/^sessionid=/i, '') ||
      undefined;
    registerSecret(this.token);
    // The archive path is a capability URL: keep it out of logs and errors.
    registerSecretName('file_url');
    this.pageSize = options.pageSize ?? 1000;
    if (options.onEvent) this.listeners.add(options.onEvent);
    this.http = createHttpClient({
      baseUrl: this.baseUrl,
      service: 'fragalysis',
      auth: cookieCsrfAuth({
        ...(this.token ? { cookies: { sessionid: this.token } } : {}),
        // Django checks CSRF only on session-authenticated writes: anonymous ones skip the landing page.
        csrf: { bootstrapPath: '/viewer/react/landing/', sessionCookie: 'sessionid' },
      }),
      headers: { accept: 'application/json' },
      crossOriginRedirects: 'error',
      client: { name: '@sciport/fragalysis', version: FRAGALYSIS_VERSION },
      onEvent: (event) => this.emit(event),
      ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
      maxRetries: options.maxRetries ?? 3,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      // A caller's own fetch carries everything; otherwise archives go through the transport's.
      ...(!options.fetch && transport.downloadFetch ? { downloadFetch: transport.downloadFetch } : {}),
      ...(options.userAgent ? { userAgent: options.userAgent } : {}),
    });
  }

  /** Whether a token was configured. */
  get authenticated(): boolean {
    return this.token !== undefined;
  }

  protected emit(event: FragalysisEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // listeners never break a call
      }
    }
  }

  onEvent(listener: (event: FragalysisEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The stack's web page for a target. */
  viewerUrl(title: string, tas: string): string {
    return `${this.baseUrl}/viewer/react/preview/target/${encodeURIComponent(title)}/tas/${encodeURIComponent(tas)}`;
  }

  private async getJson<S extends z.ZodType>(
    path: string,
    schema: S,
    options: CallOptions & {
      query?: Record<string, string | number | undefined>;
      maxRetries?: number;
      timeout?: number;
    } = {},
  ): Promise<z.infer<S>> {
    try {
      return await this.http.json(path, schema, {
        ...(options.query ? { query: options.query } : {}),
        ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
        ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
        signal: options.signal,
      });
    } catch (error) {
      throw this.explain(error);
    }
  }

  /**
   * A URL the server handed out (a `next` page, a `task_status_url`), re-based on this stack: Django behind
   * nginx may name its internal host or scheme, and nothing (least of all the token) goes to another host.
   */
  protected onStack(url: string): string {
    const resolved = new URL(url, `${this.baseUrl}/`);
    return `${new URL(this.baseUrl).origin}${resolved.pathname}${resolved.search}`;
  }

  /**
   * A stale OIDC session shows as a redirect to the login host or, for XHR-style requests, a 403 carrying a
   * `refresh_url` (spec §3.1): both mean the session must be renewed.
   */
  protected explain(error: unknown): unknown {
    // (`code`, not `AuthenticationError.isInstance`: the classes are alike in shape, so that narrows to never.)
    if (!ApiError.isInstance(error) || error.code === 'authentication_failed') return error;
    const redirected = error.status >= 300 && error.status < 400;
    const refresh = error.status === 403 && /refresh_url/.test(error.body ?? '');
    if (redirected || refresh) {
      return new AuthenticationError(
        { status: error.status, method: error.method, url: error.url, service: 'fragalysis' },
        `Fragalysis ${redirected ? 'redirected to a login page on another host' : 'asked for a session refresh'}: ` +
          `the session behind the token needs renewal. ${this.tokenHint()}`,
      );
    }
    return error;
  }

  private tokenHint(): string {
    return `Log in at ${this.baseUrl}, copy a fresh token from ${this.baseUrl}/api/token/ and set FRAGALYSIS_TOKEN (or run \`sciport config set fragalysis.token\`)`;
  }

  /** Who the server thinks the caller is (`GET /api/user/`). */
  async whoami(options: CallOptions = {}): Promise<FragalysisUser> {
    return this.getJson('/api/user/', userSchema, options);
  }

  /**
   * With a token: checks once that the server accepts it. An invalid or expired session id is not an error
   * for Fragalysis (the request runs as anonymous): this turns it into an `AuthenticationError`.
   */
  async verifyToken(options: CallOptions = {}): Promise<FragalysisUser | undefined> {
    if (!this.token) return undefined;
    if (!this.checked) {
      this.checked = (async () => {
        let user: FragalysisUser;
        try {
          user = await this.whoami(options);
        } catch (error) {
          if (NotFoundError.isInstance(error)) {
            // A stack without the route cannot tell; the calls themselves will show what is visible.
            this.emit({
              type: 'warning',
              message: `${this.baseUrl} has no /api/user/: the token cannot be checked`,
            });
            return undefined;
          }
          if (ResponseValidationError.isInstance(error)) {
            // A page instead of JSON: a same-host redirect to a login form.
            throw new AuthenticationError(
              { status: 200, method: 'GET', url: `${this.baseUrl}/api/user/`, service: 'fragalysis' },
              'Fragalysis answered /api/user/ with a page instead of JSON (a login page?): the session behind ' +
                `the token needs renewal. ${this.tokenHint()}`,
            );
          }
          if (ApiError.isInstance(error) && (error.status === 401 || error.status === 403)) {
            throw new AuthenticationError(
              {
                status: error.status,
                method: 'GET',
                url: error.url,
                service: 'fragalysis',
                detail: error.detail,
              },
              `Fragalysis refused the token (${error.status}${error.detail ? `: ${error.detail}` : ''}). ${this.tokenHint()}`,
            );
          }
          throw error;
        }
        const anonymousId =
          user.user_id === ANONYMOUS_USER_ID || user.user_id === null || user.user_id === undefined;
        const anonymous =
          (anonymousId && (user.target_access ?? []).length === 0) ||
          !user.user ||
          /^anonymous/i.test(user.user);
        if (anonymous) {
          throw new AuthenticationError(
            { status: 200, method: 'GET', url: `${this.baseUrl}/api/user/`, service: 'fragalysis' },
            'The Fragalysis token was not accepted: the server treats it as an anonymous visitor ' +
              `(an expired or mistyped session id). ${this.tokenHint()}`,
          );
        }
        if (user.ping !== undefined && user.ping !== 'OK') {
          this.emit({
            type: 'warning',
            message: 'Fragalysis cannot reach ISPyB just now: proposal memberships may be out of date',
          });
        }
        return user;
      })();
      // A failed check is tried again by the next call.
      this.checked.catch(() => {
        this.checked = undefined;
      });
    }
    return this.checked;
  }

  /** A DRF list, followed page by page through `next` (re-based on this stack, whatever host it names). */
  protected list<S extends z.ZodType>(
    path: string,
    item: S,
    options: CallOptions & { query?: Record<string, string | number | undefined> } = {},
  ): PageIterable<z.infer<S>, { results: z.infer<S>[]; next?: string | null | undefined }> {
    const schema = page(item);
    return paginate({
      fetchPage: async (cursor: string | undefined, { signal }) => {
        if (cursor === undefined) await this.verifyToken({ signal });
        const result = await this.getJson(cursor ?? path, schema, {
          signal,
          ...(cursor === undefined ? { query: { ...options.query, limit: this.pageSize } } : {}),
        });
        return result as { results: z.infer<S>[]; next?: string | null | undefined };
      },
      items: (p) => p.results,
      nextCursor: (p) => (p.next ? this.onStack(p.next) : null),
      signal: options.signal,
      service: 'fragalysis',
      endpoint: `GET ${path}`,
    });
  }

  /** Projects (proposals) visible to the caller. */
  projects(options: CallOptions = {}): PageIterable<FragalysisProject, unknown> {
    return this.list('/api/projects/', projectSchema, options);
  }

  /**
   * Targets visible to the caller, each with its target access string (from `project_title`, or joined with
   * the projects on older servers).
   */
  targets(options: CallOptions & { title?: string } = {}): AsyncIterable<FragalysisTarget> & {
    toArray(): Promise<FragalysisTarget[]>;
  } {
    const self = this;
    async function* run(): AsyncGenerator<FragalysisTarget> {
      let projects: Map<number, string> | undefined;
      const tasOf = async (projectId: number | null | undefined): Promise<string | undefined> => {
        if (projectId === null || projectId === undefined) return undefined;
        if (!projects) {
          projects = new Map();
          for await (const p of self.projects(options)) projects.set(p.id, p.target_access_string);
        }
        return projects.get(projectId);
      };
      for await (const raw of self.list('/api/targets/', targetSchema, {
        ...options,
        ...(options.title ? { query: { title: options.title } } : {}),
      })) {
        if (options.title && raw.title !== options.title) continue;
        const tas = raw.project_title ?? (await tasOf(raw.project));
        if (!tas) {
          self.emit({
            type: 'warning',
            message: `target ${raw.title} (id ${raw.id}) has no target access string`,
          });
          continue;
        }
        yield {
          id: raw.id,
          title: raw.title,
          tas,
          displayName: raw.display_name ?? undefined,
          projectId: raw.project ?? undefined,
          raw,
        };
      }
    }
    return {
      [Symbol.asyncIterator]: () => run(),
      async toArray() {
        const out: FragalysisTarget[] = [];
        for await (const t of run()) out.push(t);
        return out;
      },
    };
  }

  /**
   * The target with this title under this target access string. Without `tas`, the title must be unique
   * among the visible targets; otherwise a `UsageError` lists the candidates.
   */
  async findTarget(title: string, tas?: string, options: CallOptions = {}): Promise<FragalysisTarget> {
    const matches = await this.targets({ ...options, title }).toArray();
    const found = tas === undefined ? matches : matches.filter((t) => t.tas === tas);
    if (found.length === 1) return found[0] as FragalysisTarget;
    if (found.length > 1) {
      throw new UsageError(
        `Several targets are named ${title}: ${found.map((t) => t.tas).join(', ')}; give the target access string`,
      );
    }
    throw new NotFoundError(
      {
        status: 404,
        method: 'GET',
        url: `${this.baseUrl}/api/targets/?title=${encodeURIComponent(title)}`,
        service: 'fragalysis',
      },
      `No visible target ${title}${tas ? ` under ${tas}` : ''}` +
        (matches.length ? ` (it exists under ${matches.map((t) => t.tas).join(', ')})` : '') +
        (this.token ? '' : '; private proposals need FRAGALYSIS_TOKEN'),
    );
  }

  /** Site observations of a target (superseded ones excluded by the server). */
  async *observations(
    target: string,
    tas: string,
    options: CallOptions = {},
  ): AsyncGenerator<FragalysisObservation> {
    const t = await this.findTarget(target, tas, options);
    yield* this.list('/api/site_observations/', observationSchema, { ...options, query: { target: t.id } });
  }

  /**
   * The unique SMILES of a target's compounds, from its site observations, for this exact (title, TAS): two
   * targets sharing a title are never merged.
   */
  async compoundSmiles(target: string, tas: string, options: CallOptions = {}): Promise<string[]> {
    const seen = new Set<string>();
    for await (const o of this.observations(target, tas, options)) {
      const smiles = o.smiles?.trim();
      if (smiles) seen.add(smiles);
    }
    return [...seen];
  }

  /**
   * Compound sets (read-only), optionally of one target (its numeric id), by name (a case-insensitive
   * substring) or of a proposal (`tas`, a case-insensitive substring of the target access string).
   */
  compoundSets(
    options: CallOptions & { targetId?: number; name?: string; tas?: string } = {},
  ): PageIterable<FragalysisCompoundSet, unknown> {
    return this.list('/api/compound-sets/', compoundSetSchema, {
      ...options,
      query: { target: options.targetId, name: options.name, project: options.tas },
    });
  }

  /** Upload history grouped per target, keyed by title and target access string (spec §4.8). */
  async uploads(options: CallOptions = {}): Promise<UploadStats[]> {
    const groups = new Map<string, RawUpload[]>();
    for await (const u of this.list('/api/target_experiment_uploads/', uploadSchema, options)) {
      const key = targetKey(u.target_name, u.proposal_number);
      const list = groups.get(key);
      if (list) list.push(u);
      else groups.set(key, [u]);
    }
    const stats: UploadStats[] = [];
    for (const list of groups.values()) {
      list.sort((a, b) => a.upload_version - b.upload_version);
      const last = list[list.length - 1] as RawUpload;
      stats.push({
        targetId: last.target,
        targetName: last.target_name,
        tas: last.proposal_number,
        projectId: last.project ?? undefined,
        lastUploadIndex: last.upload_version,
        lastUploadTimestamp: parseTime(last.commit_datetime),
        uploads: list.map((u) => ({
          uploadIndex: u.upload_version,
          timestamp: parseTime(u.commit_datetime),
          committerId: u.committer ?? undefined,
          committerName: u.committer_name ?? undefined,
          dataFormat:
            u.data_version_major === null || u.data_version_major === undefined
              ? undefined
              : `${u.data_version_major}.${u.data_version_minor ?? 0}`,
          tarballUrl: u.tarball ?? undefined,
        })),
      });
    }
    return stats.sort((a, b) => a.targetName.localeCompare(b.targetName) || a.tas.localeCompare(b.tas));
  }

  /**
   * Asks for an archive (`POST /api/download_structures/`, JSON, every flag explicit) and waits until it is
   * built: an immediate `file_url` (a cached archive, or an old server) is used at once; otherwise the task is
   * polled with backoff under a deadline. A full build queue (429 without `Retry-After`) is waited out with
   * growing delays within the same deadline.
   */
  async requestArchive(request: ArchiveRequest): Promise<ArchiveLocation> {
    const body = archiveRequestBody(request.target, request.tas, request.options);
    // The v1 "legacy" stack knows some flags under older names; other servers ignore unknown fields.
    if (this.baseUrl === STACKS.legacy) Object.assign(body, legacyFieldNames(body));
    const signal = request.signal;
    await this.verifyToken({ signal });
    const deadline = Date.now() + (request.maxWaitTime ?? 30 * 60_000);
    let taskUrl: string | undefined;
    for (let attempt = 0; taskUrl === undefined; attempt++) {
      let response: Awaited<ReturnType<HttpClient['request']>>;
      try {
        response = await this.http.request('/api/download_structures/', {
          method: 'POST',
          json: body,
          signal,
          acceptStatus: [429],
          // Identical requests share one build on the server: repeating one after a lost answer is safe.
          idempotent: true,
        });
      } catch (error) {
        throw this.explain(error);
      }
      if (response.status === 429) {
        // The build queue is full (spec §4.4 step 8). The server sends no Retry-After; honour one if it does.
        const base = 2 * (request.pollInterval ?? 1000);
        const delayMs =
          parseRetryAfter(response.headers) ??
          Math.round(Math.min(60_000, base * 2 ** Math.min(attempt, 20)) * (0.5 + Math.random() / 2));
        if (Date.now() + delayMs > deadline) {
          throw new FragalysisTaskError(
            'Fragalysis is serving too many download requests and the deadline came before a place freed up; ' +
              'try again later',
            { reason: 'queue' },
          );
        }
        this.emit({ type: 'archive', phase: 'queued', delayMs, message: 'the build queue is full' });
        await wait(delayMs, signal);
        continue;
      }
      const answer = parseResponse(downloadResponseSchema, response.json(), {
        service: 'fragalysis',
        endpoint: 'POST /api/download_structures/',
        body: response.text(),
      });
      if (typeof answer.file_url === 'string' && answer.file_url !== '') {
        keepSecret(answer.file_url);
        this.emit({ type: 'archive', phase: 'done', message: 'archive ready at once' });
        return { fileUrl: answer.file_url, immediate: true };
      }
      taskUrl = answer.task_status_url as string;
      keepSecret(taskUrl, { whole: false });
    }
    const fileUrl = await this.waitForTask(taskUrl, {
      ...request,
      maxWaitTime: Math.max(0, deadline - Date.now()),
    });
    return { fileUrl, immediate: false };
  }

  /**
   * Polls a build (`GET /viewer/task_status/<uuid>/`, re-based on this stack) until it ends: first after about a
   * second, then with growing, jittered delays up to 15 s, never past the deadline. `messages` may be a string
   * (progress, then the archive's path), an array (failures, lost tasks) or `[]` (not started). Transient answers
   * (408, 5xx, a proxy's page, a timeout) are polled through. Returns the archive's server path.
   *
   * @throws FragalysisTaskError for a failed task, a task still unknown after `unknownTimeout`, or the deadline.
   */
  async waitForTask(taskUrl: string, options: WaitOptions = {}): Promise<string> {
    const signal = options.signal;
    const started = Date.now();
    const deadline = started + (options.maxWaitTime ?? 30 * 60_000);
    const unknownTimeout = options.unknownTimeout ?? 5 * 60_000;
    let unknownSince = started;
    let everStarted = false;
    let delay = options.pollInterval ?? 1000;
    let failures = 0;
    let noPathSince: number | undefined;
    let lastMessages: string[] = [];
    const url = this.onStack(taskUrl);
    // The build was just asked for: the first look comes after a pause, as the web front end does.
    await wait(Math.min(delay, Math.max(0, deadline - Date.now())), signal);
    delay = Math.min(delay * 1.6, 15_000);
    for (;;) {
      let status: TaskStatus | undefined;
      try {
        status = await this.getJson(url, taskStatusSchema, {
          signal,
          // The loop is the retry: one attempt per poll, never hanging past the deadline.
          maxRetries: 0,
          timeout: Math.max(1000, Math.min(60_000, deadline - Date.now())),
        });
        failures = 0;
      } catch (error) {
        if (!isTransientPollError(error)) throw error;
        failures += 1;
        if (Date.now() >= deadline) {
          throw new FragalysisTaskError(
            `The Fragalysis archive was not ready within ${Math.round((Date.now() - started) / 1000)} s ` +
              `(the task status did not answer: ${(error as Error).message})`,
            { reason: 'timeout', messages: lastMessages },
          );
        }
        if (failures > MAX_POLL_FAILURES) throw error;
        this.emit({ type: 'warning', message: `task status: ${(error as Error).message}; polling again` });
      }
      if (status) {
        options.onStatus?.(status);
        const state = status.status.toUpperCase();
        const list = messageList(status.messages);
        if (list.length) lastMessages = list;
        const archivePath = list.findLast(isArchivePath);
        if (FAILED_STATES.has(state)) {
          throw new FragalysisTaskError(
            `The Fragalysis archive build failed: ${list.join('; ') || status.status}`,
            {
              reason: 'failed',
              messages: list,
            },
          );
        }
        if ((status.finished || state === 'SUCCESS') && archivePath) {
          keepSecret(archivePath);
          this.emit({ type: 'archive', phase: 'done' });
          return archivePath;
        }
        const now = Date.now();
        if (state === 'SUCCESS') {
          // Finished without naming the archive yet (the reference client's "no tarball in download"): the
          // path follows in a later poll; give it a while.
          noPathSince ??= now;
          if (now - noPathSince >= Math.min(unknownTimeout, 60_000)) {
            throw new ResponseValidationError({
              service: 'fragalysis',
              endpoint: 'GET /viewer/task_status/',
              issues: [{ path: 'messages', message: 'a finished build names no .tar.gz or .zip archive' }],
              body: JSON.stringify(status),
            });
          }
        } else if (status.finished) {
          throw new FragalysisTaskError(
            `The Fragalysis archive build ended without an archive (${status.status}): ${list.join('; ') || 'no message'}`,
            { reason: 'failed', messages: list },
          );
        } else if (!status.started && WAITING_STATES.has(state)) {
          // Queued, or crashed / never known: both look alike until housekeeping runs (spec §4.5).
          if (now - unknownSince >= unknownTimeout) {
            throw new FragalysisTaskError(
              `The Fragalysis archive build ${everStarted ? 'stopped reporting' : 'never started'} (still ${status.status} ` +
                `after ${Math.round((now - unknownSince) / 1000)} s): the task was lost; ask for the archive again`,
              { reason: 'lost', messages: list },
            );
          }
          this.emit({ type: 'archive', phase: 'waiting' });
        }
        if (state !== 'SUCCESS' && !(WAITING_STATES.has(state) && !status.started)) {
          everStarted = true;
          unknownSince = now;
          this.emit({ type: 'archive', phase: 'running', message: list.at(-1) });
        }
      }
      const now = Date.now();
      if (now >= deadline) {
        throw new FragalysisTaskError(
          `The Fragalysis archive was not ready within ${Math.round((now - started) / 1000)} s` +
            (everStarted ? '' : ' (the build never started: the task may be lost)'),
          { reason: 'timeout', messages: lastMessages },
        );
      }
      const pause = Math.min(delay * (0.75 + Math.random() / 2), deadline - now);
      await wait(pause, signal);
      delay = Math.min(delay * 1.6, 15_000);
    }
  }

  /** Size of a built archive in bytes (HEAD), when the server says. */
  async archiveSize(fileUrl: string, options: CallOptions = {}): Promise<number | undefined> {
    let response: Awaited<ReturnType<HttpClient['request']>>;
    try {
      response = await this.http.request('/api/download_structures/', {
        method: 'HEAD',
        query: { file_url: fileUrl },
        headers: { accept: ARCHIVE_ACCEPT },
        signal: options.signal,
      });
    } catch (error) {
      throw this.explain(error);
    }
    const length = response.headers.get('content-length');
    return length && /^\d+$/.test(length) ? Number(length) : undefined;
  }
}

/**
 * The archive's server path is a capability (no access check on the fetch), and its directory is the task
 * uuid, also part of the task-status URL: both are redacted from every message, log line and error.
 */
function keepSecret(url: string, { whole = true } = {}): void {
  if (whole) registerSecret(url);
  for (const part of url.split(/[/?#]/)) {
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(part)) registerSecret(part);
  }
}

function isArchivePath(path: string): boolean {
  return path.startsWith('/') && /\.(tar\.gz|tgz|zip)$/i.test(path.trim());
}

/** `messages` as a list of strings: a string is one message, `[]` none. */
function messageList(messages: TaskStatus['messages']): string[] {
  if (typeof messages === 'string') return messages.trim() ? [messages.trim()] : [];
  if (!Array.isArray(messages)) return [];
  return messages
    .map((m) => (typeof m === 'string' ? m : JSON.stringify(m)))
    .map((m) => m.trim())
    .filter((m) => m !== '');
}

/** Answers worth polling again: a timeout, a dropped connection, 408/429/5xx, or a proxy's non-JSON page. */
function isTransientPollError(error: unknown): boolean {
  if (ConnectionError.isInstance(error) || TimeoutError.isInstance(error)) return true;
  if (ResponseValidationError.isInstance(error)) return true;
  return ApiError.isInstance(error) && (error.status === 408 || error.status === 429 || error.status >= 500);
}

function parseTime(text: string): Date {
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? new Date(0) : d;
}

async function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, signal);
  } catch {
    throw new AbortError(undefined, { cause: signal?.reason });
  }
}
