import {
  AbortError,
  ApiError,
  AuthenticationError,
  cookieCsrfAuth,
  createHttpClient,
  type HttpClient,
  type HttpEvent,
  NotFoundError,
  type PageIterable,
  paginate,
  parseResponse,
  ResponseValidationError,
  readEnv,
  registerSecret,
  registerSecretName,
  SciportError,
  sleep,
  UsageError,
} from '@sciport/core';
import type { z } from 'zod';
import { type ArchiveOptions, archiveRequestBody } from './download-options.js';
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
  if (name in STACKS) return STACKS[name as StackName];
  let url: URL;
  try {
    url = new URL(name);
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
  private checked: Promise<FragalysisUser> | undefined;

  constructor(options: FragalysisClientOptions = {}) {
    this.baseUrl = resolveStack(options.stack ?? readEnv('FRAGALYSIS_STACK') ?? 'production');
    this.token = options.token ?? readEnv('FRAGALYSIS_TOKEN');
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
        csrf: { bootstrapPath: '/viewer/react/landing/' },
      }),
      headers: { accept: 'application/json' },
      crossOriginRedirects: 'error',
      client: { name: '@sciport/fragalysis', version: FRAGALYSIS_VERSION },
      onEvent: (event) => this.emit(event),
      ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
      maxRetries: options.maxRetries ?? 3,
      ...(options.fetch ? { fetch: options.fetch } : {}),
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
    options: CallOptions & { query?: Record<string, string | number | undefined> } = {},
  ): Promise<z.infer<S>> {
    try {
      return await this.http.json(path, schema, {
        ...(options.query ? { query: options.query } : {}),
        signal: options.signal,
      });
    } catch (error) {
      throw this.explain(error);
    }
  }

  /** A redirect to another host means the session must be renewed (spec §3.1). */
  private explain(error: unknown): unknown {
    if (ApiError.isInstance(error) && error.status >= 300 && error.status < 400) {
      return new AuthenticationError(
        { status: error.status, method: error.method, url: error.url, service: 'fragalysis' },
        'Fragalysis redirected to a login page on another host: the session behind the token needs renewal. ' +
          this.tokenHint(),
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
        const user = await this.whoami(options);
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
    const origin = new URL(this.baseUrl).origin;
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
      nextCursor: (p) => {
        if (!p.next) return null;
        const next = new URL(p.next, this.baseUrl);
        return `${origin}${next.pathname}${next.search}`;
      },
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

  /** Compound sets (read-only), optionally of one target. */
  compoundSets(
    options: CallOptions & { targetId?: number; name?: string } = {},
  ): PageIterable<FragalysisCompoundSet, unknown> {
    return this.list('/api/compound-sets/', compoundSetSchema, {
      ...options,
      query: { target: options.targetId, name: options.name },
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
        const base = 2 * (request.pollInterval ?? 1000);
        const delayMs = Math.round(Math.min(60_000, base * 2 ** attempt) * (0.5 + Math.random() / 2));
        if (Date.now() + delayMs > deadline) {
          throw new FragalysisTaskError(
            'Fragalysis is serving too many download requests and the deadline came before a place freed up',
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
      if ('file_url' in answer) {
        this.emit({ type: 'archive', phase: 'done', message: 'archive ready at once' });
        return { fileUrl: answer.file_url as string, immediate: true };
      }
      taskUrl = answer.task_status_url as string;
    }
    const fileUrl = await this.waitForTask(taskUrl, {
      ...request,
      maxWaitTime: Math.max(0, deadline - Date.now()),
    });
    return { fileUrl, immediate: false };
  }

  /**
   * Polls a build (`GET /viewer/task_status/<uuid>/`) until it ends: first after about a second, then with
   * growing, jittered delays up to 15 s, never past the deadline. Returns the archive's server path.
   *
   * @throws FragalysisTaskError for a failed task, a task still unknown after `unknownTimeout`, or the deadline.
   */
  async waitForTask(taskUrl: string, options: WaitOptions = {}): Promise<string> {
    const signal = options.signal;
    const started = Date.now();
    const deadline = started + (options.maxWaitTime ?? 30 * 60_000);
    const unknownTimeout = options.unknownTimeout ?? 5 * 60_000;
    let unknownSince = started;
    let delay = options.pollInterval ?? 1000;
    const url = new URL(taskUrl, `${this.baseUrl}/`).href;
    for (;;) {
      const status = await this.getJson(url, taskStatusSchema, { signal });
      options.onStatus?.(status);
      const text = typeof status.messages === 'string' ? status.messages : undefined;
      const list = Array.isArray(status.messages) ? status.messages.map(String) : text ? [text] : [];
      if (status.finished) {
        if (status.status.toUpperCase() === 'SUCCESS' && text && isArchivePath(text)) {
          this.emit({ type: 'archive', phase: 'done' });
          return text;
        }
        if (status.status.toUpperCase() === 'SUCCESS') {
          throw new ResponseValidationError({
            service: 'fragalysis',
            endpoint: 'GET /viewer/task_status/',
            issues: [{ path: 'messages', message: 'a finished build names no .tar.gz or .zip archive' }],
            body: JSON.stringify(status),
          });
        }
        throw new FragalysisTaskError(
          `The Fragalysis archive build failed: ${list.join('; ') || status.status}`,
          {
            reason: 'failed',
            messages: list,
          },
        );
      }
      const now = Date.now();
      if (!status.started && status.status.toUpperCase() === 'UNKNOWN') {
        if (now - unknownSince >= unknownTimeout) {
          throw new FragalysisTaskError(
            `The Fragalysis archive build never started (still UNKNOWN after ${Math.round((now - unknownSince) / 1000)} s): the task was lost`,
            { reason: 'lost', messages: list },
          );
        }
        this.emit({ type: 'archive', phase: 'waiting' });
      } else {
        unknownSince = now;
        this.emit({ type: 'archive', phase: 'running', message: text });
      }
      if (now >= deadline) {
        throw new FragalysisTaskError(
          `The Fragalysis archive was not ready within ${Math.round((now - started) / 1000)} s`,
          { reason: 'timeout', messages: list },
        );
      }
      const pause = Math.min(delay * (0.75 + Math.random() / 2), deadline - now);
      await wait(pause, signal);
      delay = Math.min(delay * 1.6, 15_000);
    }
  }

  /** Size of a built archive in bytes (HEAD), when the server says. */
  async archiveSize(fileUrl: string, options: CallOptions = {}): Promise<number | undefined> {
    const response = await this.http.request('/api/download_structures/', {
      method: 'HEAD',
      query: { file_url: fileUrl },
      signal: options.signal,
    });
    const length = response.headers.get('content-length');
    return length && /^\d+$/.test(length) ? Number(length) : undefined;
  }
}

function isArchivePath(path: string): boolean {
  return path.startsWith('/') && /\.(tar\.gz|tgz|zip)$/i.test(path);
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
