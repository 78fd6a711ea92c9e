import {
  ApiError,
  AuthenticationError,
  ConnectionError,
  createBufferPool,
  createHttpClient,
  extractDetail,
  type HttpClient,
  type HttpEvent,
  type HttpResponse,
  MissingCredentialsError,
  mapConcurrent,
  NotFoundError,
  ResponseValidationError,
  readSetting,
  redactUrl,
  registerSecret,
  ServerError,
  type SessionAuth,
  sessionAuth,
  UsageError,
} from '@sciport/core';
import { DEFAULT_ICSD_BASE_URL, ICSD_SETTINGS } from './credentials.js';
import {
  type CellType,
  CONTENT_TYPES,
  type ContentType,
  type ContentTypeName,
  type CsvProperty,
  resolveCsvProperties,
} from './fields.js';
import { type HistoryEntry, RequestHistory } from './history.js';
import { IcsdLoginRefusedError } from './icsd-error.js';
import { type ExpertQuery, toExpertQueryText } from './query.js';
import { type CifPiece, checkDocument, findCifPieces } from './schemas/cif.js';
import { type IcsdRow, parseCsv } from './schemas/csv.js';
import { parseSearchBody } from './schemas/search.js';
import { QuotaSplit, type SessionEvent, SessionManager } from './session.js';

declare const __SCIPORT_ICSD_VERSION__: string | undefined;
export const ICSD_VERSION: string =
  typeof __SCIPORT_ICSD_VERSION__ === 'string' ? __SCIPORT_ICSD_VERSION__ : '0.0.0-dev';

/** The three subsets, by short name. */
export const CONTENT_TYPE_NAMES: readonly ContentTypeName[] = ['inorganic', 'metalorganic', 'theoretical'];
/** ids per `/csv` or `/cif/multiple` request (spec §9). */
export const MAX_IDS_PER_REQUEST = 500;

export interface IcsdClientOptions {
  /** Default `ICSD_BASE_URL`, else `https://icsd.fiz-karlsruhe.de/ws` (`…/api/ws` works too). */
  baseUrl?: string;
  /** Default `ICSD_USERNAME`. */
  username?: string;
  /** Default `ICSD_PASSWORD`. Never printed, logged or sent anywhere but the login form. */
  password?: string;
  /** Milliseconds per attempt (default 120 s: a batch of 500 CIFs is several MB). */
  timeout?: number;
  /** Retries of transient failures per request (default 3). */
  maxRetries?: number;
  fetch?: typeof globalThis.fetch;
  userAgent?: string;
  /** Requests in flight at once for bulk calls (default 4). They share one session. */
  concurrency?: number;
  /** CIFs one session may fetch before a fresh login (default 1000); null when unlimited. */
  cifsPerSession?: number | null;
  /** Token lifetime (default one hour); the session is renewed 5 minutes before. */
  sessionLifetimeMs?: number;
  /**
   * When ICSD refuses CIFs even on a fresh session (throttling), wait with growing delays (1, 2, 4 … minutes,
   * up to 30 minutes in all) instead of failing. Default false.
   */
  waitOnQuota?: boolean | { initialDelayMs?: number; maxDelayMs?: number; maxTotalMs?: number };
  /** How many requests `history()` keeps (default 100; 0 keeps none). */
  historySize?: number;
  /** Every request, response, retry, login, rotation and warning. URLs are redacted. */
  onEvent?: (event: IcsdEvent) => void;
}

export type IcsdEvent = HttpEvent | SessionEvent | { type: 'warning'; message: string };

export interface CallOptions {
  signal?: AbortSignal | undefined;
}

export interface SearchOptions extends CallOptions {
  /**
   * The subset(s) to search: `inorganic`, `metalorganic`, `theoretical` (or the API names). Default: no
   * `content type` parameter (the server's default subset set).
   */
  contentType?: ContentType | readonly ContentType[] | undefined;
}

export interface ExpertSearchOptions extends SearchOptions {
  /** How the terms of a typed query are joined (default `and`). */
  operator?: 'and' | 'or';
}

export interface CifOptions extends CallOptions {
  /** `experimental` (default) or `standardized`. */
  cellType?: CellType;
}

export interface CifsOptions extends CifOptions {
  concurrency?: number;
  /** ids per `/cif/multiple` request (default 500, capped by the session quota). */
  batchSize?: number;
  /** Called with ids the server cannot serve (each isolated by bisection). */
  onBadIds?: (ids: number[]) => void;
}

export interface PropertiesOptions extends CallOptions {
  concurrency?: number;
  /**
   * Establish each row's internal id (one extra search per batch of 500, by the collection codes the rows
   * carry). Default true. Rows are never paired with ids by position.
   */
  resolveIds?: boolean;
}

/** One `/cif/multiple` answer (or several, after a bisection): the bytes received and where each document is. */
export interface CifBatch {
  /** Each part's `release()` gives its body buffer back for reuse once it has been used. */
  parts: Array<{ body: Uint8Array; pieces: CifPiece[]; release(): void }>;
  /** ids served, in the order asked. */
  served: number[];
  /** ids the server could not serve. */
  bad: number[];
}

/** One CIF: the internal id asked for, its collection code, and the document exactly as sent. */
export interface IcsdCif {
  id: number;
  collectionCode: number;
  text: string;
}

/** A stream of results with what went wrong on the way. */
export interface ResultStream<T> extends AsyncIterable<T> {
  /** Collects every item (mind the memory on big requests). */
  toArray(): Promise<T[]>;
}

export interface CifStream extends ResultStream<IcsdCif> {
  /** ids the server could not serve, isolated by bisection (filled as the stream is read). */
  readonly badIds: readonly number[];
}

export interface RowStream<P extends CsvProperty> extends ResultStream<IcsdRow<P>> {
  /** ids asked for that produced no row (known when ids could be resolved). */
  readonly missingIds: readonly number[];
}

const NO_500 = [408, 429, 502, 503, 504] as const;
const strictUtf8 = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });

/**
 * Decodes a text body. The spec says UTF-8 (§2, [I]): valid UTF-8 is read as such whatever the label; bytes
 * that are not UTF-8 are read in the charset the `Content-Type` names, else as Windows-1252 (what a Java
 * servlet without a charset writes), rather than turning every accented letter into U+FFFD.
 */
export function decodeText(bytes: Uint8Array, contentType: string | null = null): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    const label = /charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1];
    if (label && !/^utf-?8$/i.test(label)) {
      try {
        return new TextDecoder(label).decode(bytes);
      } catch {
        // not a charset TextDecoder knows
      }
    }
    return new TextDecoder('windows-1252').decode(bytes);
  }
}

/** The first ~200 characters of an error body, as text (an HTML page is reduced to its message). */
function bodyQuote(text: string, contentType: string | null): string {
  return (extractDetail(text, contentType) ?? '').replace(/\s+/g, ' ').trim().slice(0, 200);
}

function contentTypeValues(input: SearchOptions['contentType']): Array<string | undefined> {
  if (input === undefined) return [undefined];
  const list = (Array.isArray(input) ? input : [input]) as ContentType[];
  if (list.length === 0) return [undefined];
  const out: string[] = [];
  for (const c of list) {
    const value =
      c in CONTENT_TYPES
        ? CONTENT_TYPES[c as keyof typeof CONTENT_TYPES]
        : c === 'THEORETICAL_STRUCTURES'
          ? CONTENT_TYPES.theoretical
          : c;
    if (!Object.values(CONTENT_TYPES).includes(value as (typeof CONTENT_TYPES)[keyof typeof CONTENT_TYPES])) {
      throw new UsageError(
        `Unknown ICSD content type ${JSON.stringify(c)}; use inorganic, metalorganic or theoretical`,
      );
    }
    if (!out.includes(value)) out.push(value);
  }
  return out;
}

function checkIds(ids: readonly number[]): void {
  for (const id of ids) {
    if (!Number.isSafeInteger(id) || id <= 0) {
      throw new UsageError(`ICSD ids are positive whole numbers; got ${JSON.stringify(id)}`);
    }
  }
}

async function* batches(
  ids: Iterable<number> | AsyncIterable<number>,
  size: number,
): AsyncGenerator<number[]> {
  let batch: number[] = [];
  for await (const id of ids) {
    checkIds([id]);
    batch.push(id);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

function stream<T, E extends object>(source: () => AsyncIterable<T>, extra: E): ResultStream<T> & E {
  const s = {
    [Symbol.asyncIterator]: () => source()[Symbol.asyncIterator](),
    async toArray() {
      const out: T[] = [];
      for await (const x of source()) out.push(x);
      return out;
    },
  };
  // Copy the extra properties as they are (getters stay getters: they report what the stream found so far).
  return Object.defineProperties(s, Object.getOwnPropertyDescriptors(extra)) as ResultStream<T> & E;
}

/**
 * A client for the ICSD web service (FIZ Karlsruhe).
 *
 * One session is shared by every call and renewed as needed (spec §3); it logs out on `dispose()` or at the
 * end of an `await using` block. Searches return internal ids in the server's order; `properties` gives typed
 * rows from `/csv`; `cif`/`cifs` give CIF documents exactly as sent.
 */
export class IcsdClient implements AsyncDisposable {
  readonly baseUrl: string;
  protected readonly http: HttpClient;
  protected readonly session: SessionManager;
  private readonly auth: SessionAuth;
  private readonly historyLog: RequestHistory;
  private readonly listeners = new Set<(event: IcsdEvent) => void>();
  protected readonly concurrency: number;
  /** Body buffers reused across CIF batches. */
  private readonly bodies = createBufferPool();
  private readonly username: string | undefined;
  private readonly password: string | undefined;

  constructor(options: IcsdClientOptions = {}) {
    this.baseUrl = options.baseUrl ?? readSetting(ICSD_SETTINGS.baseUrl) ?? DEFAULT_ICSD_BASE_URL;
    this.username = options.username ?? readSetting(ICSD_SETTINGS.username);
    this.password = options.password ?? readSetting(ICSD_SETTINGS.password);
    registerSecret(this.password);
    this.concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new UsageError(`concurrency must be a whole number of at least 1, got ${options.concurrency}`);
    }
    const lifetimeMs = options.sessionLifetimeMs ?? 3_600_000;
    this.historyLog = new RequestHistory(options.historySize ?? 100);
    if (options.onEvent) this.listeners.add(options.onEvent);

    this.auth = sessionAuth({
      login: async (ctx) => this.doLogin(ctx.http, ctx.signal, lifetimeMs),
      logout: async (ctx, token) => {
        await ctx.http.request('auth/logout', {
          headers: { 'icsd-auth-token': token, accept: 'text/plain' },
          maxRetries: 1,
          timeout: 15_000,
        });
      },
      apply: (headers, token) => headers.set('ICSD-Auth-Token', token),
      // The session manager renews first (5 minutes before); this is the safety net.
      renewBeforeMs: 60_000,
    });
    this.http = createHttpClient({
      baseUrl: this.baseUrl,
      service: 'icsd',
      auth: this.auth,
      timeout: options.timeout ?? 120_000,
      maxRetries: options.maxRetries ?? 3,
      client: { name: '@sciport/icsd', version: ICSD_VERSION },
      onEvent: (event) => {
        this.historyLog.record(event);
        this.emit(event);
      },
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.userAgent ? { userAgent: options.userAgent } : {}),
    });
    const wait = options.waitOnQuota;
    const waitOptions = typeof wait === 'object' ? wait : {};
    this.session = new SessionManager({
      http: this.http,
      auth: this.auth,
      cifsPerSession: options.cifsPerSession === undefined ? 1000 : options.cifsPerSession,
      lifetimeMs,
      renewBeforeMs: Math.min(5 * 60_000, lifetimeMs / 4),
      quotaWait: {
        enabled: wait !== undefined && wait !== false,
        initialDelayMs: waitOptions.initialDelayMs ?? 60_000,
        maxDelayMs: waitOptions.maxDelayMs ?? 8 * 60_000,
        maxTotalMs: waitOptions.maxTotalMs ?? 30 * 60_000,
      },
      emit: (event) => this.emit(event),
    });
  }

  protected emit(event: IcsdEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // listeners never break a call
      }
    }
  }

  /** Subscribes to events (requests, retries, logins, rotations, warnings); returns the unsubscribe function. */
  onEvent(listener: (event: IcsdEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The last requests (method, redacted URL, status, timing, size): never bodies or secrets. */
  history(): HistoryEntry[] {
    return this.historyLog.list();
  }

  /** CIFs fetched by this client so far. */
  get cifsFetched(): number {
    return this.session.cifsFetched;
  }

  private async doLogin(http: HttpClient, signal: AbortSignal | undefined, lifetimeMs: number) {
    if (!this.username || !this.password) {
      throw new MissingCredentialsError('No ICSD username and password', {
        hint: 'Set ICSD_USERNAME and ICSD_PASSWORD, or run `sciport config set icsd.username` and `sciport config set icsd.password`',
      });
    }
    const started = Date.now();
    const base = new URL(this.baseUrl);
    if (base.protocol === 'http:' && !/^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(base.hostname)) {
      this.emit({
        type: 'warning',
        message: `logging in to ${base.host} over plain http: the password travels unencrypted`,
      });
    }
    // The form carries the password: it follows a redirect on the same host only (spec §1).
    const response = await http.withOptions({ crossOriginRedirects: 'error' }).request('auth/login', {
      method: 'POST',
      form: { loginid: this.username, password: this.password },
      headers: { accept: 'text/plain' },
      signal,
      // Sending the form again after a 503 or a reset is harmless.
      idempotent: true,
      // How a refusal looks is unknown (spec §3.1): every 4xx is the login's answer (408 and 429 are retried).
      acceptStatus: (status) => status >= 400 && status < 500 && status !== 408 && status !== 429,
    });
    // Success iff 200 and a non-empty token header (spec §3.1), whatever the body says.
    const token = response.headers.get('icsd-auth-token')?.trim();
    if (response.status === 200 && token) return { token, expiresAt: started + lifetimeMs };
    const body = bodyQuote(decodeText(response.bytes), response.headers.get('content-type'));
    const init = {
      status: response.status,
      method: 'POST',
      url: response.url,
      service: 'icsd',
      detail: body || undefined,
      retryable: false,
    };
    if (response.status === 403) {
      throw new IcsdLoginRefusedError(
        init,
        `ICSD refused the login (403${body ? `: ${body}` : ''}). The account may have too many open sessions: ` +
          'close them, or wait for their tokens to expire (up to an hour)',
      );
    }
    const where =
      response.status === 404 || response.status === 405
        ? `; is ${redactUrl(this.baseUrl)} the API base (…/ws or …/api/ws)?`
        : '';
    throw new AuthenticationError(
      init,
      `ICSD login failed (${response.status}${body ? `: ${body}` : ''}${response.status === 200 ? '; no token in the answer' : ''})${where}`,
    );
  }

  /** Logs in now, checking the credentials (calls log in lazily anyway). */
  async login(options: CallOptions = {}): Promise<void> {
    await this.session.run(0, options.signal, () => this.http.authenticate({ signal: options.signal }));
  }

  /** Ends the session (if any). The client logs in again on its next call. */
  async logout(): Promise<void> {
    await this.http.dispose();
  }

  /** Logs out. Safe to call more than once. */
  async dispose(): Promise<void> {
    await this.logout();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  private async searchOnce(
    path: 'search/simple' | 'search/expert',
    query: string,
    contentType: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<number[]> {
    const response = await this.session.run(0, signal, () =>
      this.http.request(path, {
        query: { query, 'content type': contentType },
        headers: { accept: 'application/json' },
        signal,
      }),
    );
    return parseSearchBody(decodeText(response.bytes, response.headers.get('content-type')), `GET /${path}`);
  }

  private async searchAll(
    path: 'search/simple' | 'search/expert',
    query: string,
    options: SearchOptions,
  ): Promise<number[]> {
    const out: number[] = [];
    const seen = new Set<number>();
    for (const contentType of contentTypeValues(options.contentType)) {
      for (const id of await this.searchOnce(path, query, contentType, options.signal)) {
        if (!seen.has(id)) {
          seen.add(id);
          out.push(id);
        }
      }
    }
    return out;
  }

  /** Free-text search ("Li O", "LiCl", "Na"); internal ids in the server's order. */
  async search(text: string, options: SearchOptions = {}): Promise<number[]> {
    const query = text.trim();
    if (query === '') throw new UsageError('The search text is empty');
    return this.searchAll('search/simple', query, options);
  }

  /**
   * Expert search: a query string (`COMPOSITION : Li O and SPACEGROUPNUMBER : 225`) or a typed object
   * (`{ composition: 'Li O', spaceGroupNumber: 225, collectionCode: [1, 5000] }`). Unknown fields are refused
   * before anything is sent. Internal ids in the server's order.
   */
  async expertSearch(query: string | ExpertQuery, options: ExpertSearchOptions = {}): Promise<number[]> {
    const text = toExpertQueryText(query, options.operator ? { operator: options.operator } : {});
    return this.searchAll('search/expert', text, options);
  }

  /**
   * The internal ids of the given collection codes, paired (one search by the codes). Returns undefined when
   * the answer cannot be paired with certainty.
   */
  protected async idsForCodes(
    codes: readonly number[],
    candidates: ReadonlySet<number>,
    signal: AbortSignal | undefined,
  ): Promise<Map<number, number> | undefined> {
    if (codes.length === 0) return new Map();
    const sorted = [...new Set(codes)].sort((a, b) => a - b);
    let ids: number[];
    try {
      ids = await this.searchOnce('search/expert', `COLLECTIONCODE : ${sorted.join(',')}`, undefined, signal);
    } catch (error) {
      if (ConnectionError.isInstance(error) || ResponseValidationError.isInstance(error)) throw error;
      this.emit({
        type: 'warning',
        message: `could not resolve ids by collection code: ${(error as Error).message}`,
      });
      return undefined;
    }
    // The answer lists ids in ascending collection-code order: pair only if it is exactly the ids asked for.
    if (
      ids.length !== sorted.length ||
      ids.some((id) => !candidates.has(id)) ||
      new Set(ids).size !== ids.length
    ) {
      this.emit({
        type: 'warning',
        message: `the search by ${sorted.length} collection codes returned ${ids.length} ids that do not match the batch; ids left unresolved`,
      });
      return undefined;
    }
    return new Map(sorted.map((cc, i) => [cc, ids[i] as number]));
  }

  /**
   * Typed properties of entries from `/csv`, 500 ids a request. Columns are read by header name; each row
   * carries its collection code, and its internal id is established from that code (never by position).
   */
  properties<const P extends CsvProperty>(
    ids: Iterable<number> | AsyncIterable<number>,
    fields: readonly P[],
    options: PropertiesOptions = {},
  ): RowStream<P> {
    const selection = resolveCsvProperties(fields);
    if (!selection.includes('CollectionCode')) selection.unshift('CollectionCode');
    const missing: number[] = [];
    const signal = options.signal;
    const resolve = options.resolveIds !== false;
    const self = this;
    async function* rows(): AsyncGenerator<IcsdRow<P>> {
      const results = mapConcurrent(
        batches(ids, MAX_IDS_PER_REQUEST),
        async (batch) => {
          const response = await self.session.run(0, signal, () =>
            self.http.request('csv', {
              query: { idnum: batch, windowsclient: 'false', listSelection: selection },
              headers: { accept: 'application/csv' },
              signal,
            }),
          );
          const parsed = parseCsv(
            decodeText(response.bytes, response.headers.get('content-type')),
            'GET /csv',
            selection,
          );
          if (parsed.positional.length > 0) {
            self.emit({
              type: 'warning',
              message: `the /csv header did not name ${parsed.positional.join(', ')}; read by request position`,
            });
          }
          if (parsed.rows.length < batch.length) {
            self.emit({
              type: 'warning',
              message: `${batch.length - parsed.rows.length} of ${batch.length} ids produced no row in the /csv answer`,
            });
          }
          if (parsed.rows.length > batch.length) {
            throw new ResponseValidationError({
              service: 'icsd',
              endpoint: 'GET /csv',
              issues: [{ path: '', message: `${parsed.rows.length} rows for ${batch.length} ids` }],
            });
          }
          const pairs = resolve
            ? await self.idsForCodes(
                parsed.rows.map((r) => r.collectionCode),
                new Set(batch),
                signal,
              )
            : undefined;
          if (pairs) {
            const found = new Set(pairs.values());
            for (const id of batch) if (!found.has(id)) missing.push(id);
          }
          return parsed.rows.map(
            (row) => ({ ...row, id: pairs?.get(row.collectionCode) }) as unknown as IcsdRow<P>,
          );
        },
        { concurrency: options.concurrency ?? self.concurrency, signal },
      );
      for await (const batchRows of results) yield* batchRows;
    }
    return stream(rows, {
      get missingIds() {
        return missing.slice();
      },
    });
  }

  /** One CIF by internal id, exactly as sent. Unknown ids raise `NotFoundError`. */
  async cif(id: number, options: CifOptions = {}): Promise<IcsdCif> {
    checkIds([id]);
    const signal = options.signal;
    let response: HttpResponse;
    try {
      response = await this.session.run(1, signal, () =>
        this.http.request(`cif/${id}`, {
          query: { celltype: options.cellType ?? 'experimental', windowsclient: 'false' },
          headers: { accept: 'application/cif' },
          signal,
        }),
      );
    } catch (error) {
      if (NotFoundError.isInstance(error)) {
        throw new NotFoundError(
          { status: error.status, method: error.method, url: error.url, service: 'icsd', body: error.body },
          `No ICSD entry with internal id ${id} (ids come from searches; they are not collection codes)`,
        );
      }
      throw error;
    }
    const doc = checkDocument(
      decodeText(response.bytes, response.headers.get('content-type')),
      `GET /cif/${id}`,
    );
    return { id, collectionCode: doc.collectionCode, text: doc.text };
  }

  /**
   * Fetches one batch of CIFs (≤ 500 ids) with `/cif/multiple`. A batch refused with 500 (an id the server
   * cannot serve, spec §4.6) is bisected until the bad ids are isolated; the others still arrive. A single id
   * left over is asked of `/cif/{id}`, whose 404 says for certain that the entry does not exist (and whose
   * 200 shows that the 500 was passing). A batch larger than a session is now known to serve is split.
   */
  protected async fetchCifBatch(
    ids: readonly number[],
    cellType: CellType,
    signal: AbortSignal | undefined,
  ): Promise<CifBatch> {
    const limit = this.session.maxUnits;
    if (ids.length > limit) return this.fetchInParts(ids, Math.ceil(ids.length / limit), cellType, signal);
    try {
      const response = await this.session.run(ids.length, signal, () =>
        this.http.request('cif/multiple', {
          query: { idnum: ids, celltype: cellType, windowsclient: 'false', filetype: 'cif' },
          headers: { accept: 'application/cif' },
          signal,
          retryStatuses: NO_500,
          bufferPool: this.bodies,
        }),
      );
      // Split without decoding: the documents stay views of the bytes received.
      let pieces: CifPiece[];
      try {
        pieces = findCifPieces(response.bytes, 'GET /cif/multiple');
      } catch (error) {
        response.release();
        throw error;
      }
      if (pieces.length !== ids.length) {
        response.release();
        throw new ResponseValidationError({
          service: 'icsd',
          endpoint: 'GET /cif/multiple',
          issues: [{ path: '', message: `asked for ${ids.length} CIFs, received ${pieces.length}` }],
        });
      }
      if (new Set(pieces.map((p) => p.collectionCode)).size !== pieces.length) {
        this.emit({
          type: 'warning',
          message: `a batch of ${ids.length} CIFs holds duplicate collection codes`,
        });
      }
      return {
        parts: [{ body: response.bytes, pieces, release: () => response.release() }],
        served: [...ids],
        bad: [],
      };
    } catch (error) {
      // The session serves fewer CIFs than this batch: smaller requests.
      if (error instanceof QuotaSplit) return this.fetchCifBatch(ids, cellType, signal);
      const status = ApiError.isInstance(error) ? error.status : 0;
      // 413 (spec §10: too many ids): the same ids in two requests.
      if (status === 413 && ids.length > 1) return this.fetchInParts(ids, 2, cellType, signal);
      if (!(ServerError.isInstance(error) && status === 500)) throw error;
      if (ids.length === 1) return this.fetchOneAsBatch(ids[0] as number, cellType, signal);
      return this.fetchInParts(ids, 2, cellType, signal);
    }
  }

  /** `ids` in `parts` requests one after the other (bisection stays within the caller's concurrency). */
  private async fetchInParts(
    ids: readonly number[],
    parts: number,
    cellType: CellType,
    signal: AbortSignal | undefined,
  ): Promise<CifBatch> {
    const size = Math.ceil(ids.length / parts);
    const out: CifBatch = { parts: [], served: [], bad: [] };
    try {
      for (let i = 0; i < ids.length; i += size) {
        const got = await this.fetchCifBatch(ids.slice(i, i + size), cellType, signal);
        out.parts.push(...got.parts);
        out.served.push(...got.served);
        out.bad.push(...got.bad);
      }
    } catch (error) {
      for (const part of out.parts) part.release();
      throw error;
    }
    return out;
  }

  /** One id that failed in a batch, asked of `/cif/{id}`: a 404 (or a lasting 500) makes it a bad id. */
  private async fetchOneAsBatch(
    id: number,
    cellType: CellType,
    signal: AbortSignal | undefined,
  ): Promise<CifBatch> {
    let response: HttpResponse;
    try {
      response = await this.session.run(1, signal, () =>
        this.http.request(`cif/${id}`, {
          query: { celltype: cellType, windowsclient: 'false' },
          headers: { accept: 'application/cif' },
          signal,
        }),
      );
    } catch (error) {
      if (NotFoundError.isInstance(error) || (ServerError.isInstance(error) && error.status === 500)) {
        return { parts: [], served: [], bad: [id] };
      }
      throw error;
    }
    const pieces = findCifPieces(response.bytes, `GET /cif/${id}`);
    if (pieces.length !== 1) {
      throw new ResponseValidationError({
        service: 'icsd',
        endpoint: `GET /cif/${id}`,
        issues: [{ path: '', message: `${pieces.length} CIF documents where one was expected` }],
      });
    }
    return { parts: [{ body: response.bytes, pieces, release: () => undefined }], served: [id], bad: [] };
  }

  /** The batch size for CIF requests: 500, or less when the session quota is smaller. */
  protected cifBatchSize(requested?: number): number {
    const size = Math.min(requested ?? MAX_IDS_PER_REQUEST, MAX_IDS_PER_REQUEST, this.session.maxUnits);
    if (!Number.isInteger(size) || size < 1)
      throw new UsageError(`batchSize must be 1 to 500, got ${requested}`);
    return size;
  }

  /**
   * CIFs for many ids: 500 per `/cif/multiple` request, `concurrency` requests at once on one session, each
   * document split by its own structure and exactly as sent. Ids the server cannot serve are isolated and
   * reported (`badIds`, `onBadIds`); the rest still arrive.
   */
  cifs(ids: Iterable<number> | AsyncIterable<number>, options: CifsOptions = {}): CifStream {
    const bad: number[] = [];
    const signal = options.signal;
    const cellType = options.cellType ?? 'experimental';
    const size = this.cifBatchSize(options.batchSize);
    const self = this;
    async function* run(): AsyncGenerator<IcsdCif> {
      const results = mapConcurrent(
        batches(ids, size),
        async (batch) => {
          const got = await self.fetchCifBatch(batch, cellType, signal);
          if (got.bad.length > 0) {
            bad.push(...got.bad);
            options.onBadIds?.(got.bad);
            self.emit({ type: 'warning', message: `ICSD could not serve ids ${got.bad.join(', ')}` });
          }
          const docs = got.parts.flatMap((part) => {
            const decoded = part.pieces.map((p) => ({
              collectionCode: p.collectionCode,
              text: decodeText(part.body.subarray(p.start, p.end)),
            }));
            part.release();
            return decoded;
          });
          const pairs = await self.idsForCodes(
            docs.map((d) => d.collectionCode),
            new Set(got.served),
            signal,
          );
          return docs.map((doc, i) => ({
            // Without a certain pairing, the server's order (the order asked) is the best evidence left.
            id: pairs?.get(doc.collectionCode) ?? (got.served[i] as number),
            collectionCode: doc.collectionCode,
            text: doc.text,
          }));
        },
        { concurrency: options.concurrency ?? self.concurrency, signal },
      );
      for await (const docs of results) yield* docs;
    }
    return stream(run, {
      get badIds() {
        return bad.slice();
      },
    });
  }
}
