import type { NetworkFailureKind } from './http/network-failure.js';
import { redactText, redactUrl, redactValue } from './redact.js';

/**
 * The sciport error hierarchy.
 *
 * ```
 * SciportError
 * ├── ApiError {status, method, url, service, requestId?, body?}
 * │   ├── BadRequestError (400, 422)      ├── ConflictError (409)
 * │   ├── AuthenticationError (401)       ├── RateLimitError (429) {retryAfterMs}
 * │   ├── PermissionDeniedError (403)     └── ServerError (5xx)
 * │   └── NotFoundError (404, 410, or a 200 that answers `null`)
 * ├── ConnectionError (network failures; status 0) └── TimeoutError
 * ├── AbortError
 * ├── ResponseValidationError {issues}
 * ├── IntegrityError (size or checksum mismatch, truncated data, more bytes than announced)
 * ├── ResponseTooLargeError {url, limit} (a buffered answer over `maxBodyBytes`)
 * ├── FileWriteError {folder, path, errno} (a full disk, a quota, an I/O error while saving)
 * ├── UnsafeArchiveError (archive entries that escape, or limits exceeded)
 * ├── MissingCredentialsError
 * └── UsageError (bad arguments: the caller's mistake, never retried)
 * ```
 *
 * Every instance carries a `Symbol.for('@sciport/core.error')` marker listing its kinds, so `instanceof` and
 * `XError.isInstance()` work across two copies of this package (a dual install, a bundled CLI). Messages,
 * URLs and serialised forms are redacted of secrets when the error is created.
 */

const ERROR_MARK = Symbol.for('@sciport/core.error');

type Marked = { [ERROR_MARK]: readonly string[] };

function isMarked(value: unknown): value is Marked {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as Partial<Marked>)[ERROR_MARK as keyof Marked])
  );
}

export interface SciportErrorOptions {
  cause?: unknown;
  /** Whether repeating the same call may succeed. Defaults per error class. */
  retryable?: boolean;
  /** One sentence telling the user what to do next. */
  hint?: string;
}

type ErrorClass = abstract new (...args: never[]) => SciportError;

/**
 * The base of every sciport error. `C` is the type of `code`: classes that other classes extend (with codes of
 * their own) take it as a parameter, so that `X.isInstance(e)` narrows `e.code` to a literal for classes nobody
 * extends (`NotFoundError` → `'not_found'`, `IcsdQuotaError` → `'icsd_quota'`) and to `string` for the others.
 */
export class SciportError<C extends string = string> extends Error {
  static readonly kind: string = 'SciportError';
  /** Stable machine-readable code, for `--json` output and switch statements. */
  readonly code: C = 'sciport_error' as C;
  /** Whether repeating the same call may succeed. */
  readonly retryable: boolean;
  /** What to do next, when there is something to say. */
  readonly hint: string | undefined;
  declare readonly [ERROR_MARK]: readonly string[];

  constructor(message: string, options: SciportErrorOptions = {}) {
    const hint = options.hint === undefined ? undefined : redactText(options.hint);
    super(redactText(hint ? `${message}. ${hint}` : message));
    if (options.cause !== undefined) {
      Object.defineProperty(this, 'cause', {
        value: options.cause,
        enumerable: false,
        writable: true,
        configurable: true,
      });
    }
    this.retryable = options.retryable ?? false;
    this.hint = hint;
    const kinds: string[] = [];
    for (
      let c: unknown = new.target;
      typeof c === 'function' && typeof (c as { kind?: unknown }).kind === 'string';
      c = Object.getPrototypeOf(c)
    ) {
      const kind = (c as unknown as { kind: string }).kind;
      if (!kinds.includes(kind)) kinds.push(kind);
    }
    Object.defineProperty(this, ERROR_MARK, { value: Object.freeze(kinds), enumerable: false });
    Object.defineProperty(this, 'name', {
      value: kinds[0] ?? 'SciportError',
      enumerable: false,
      configurable: true,
      writable: true,
    });
  }

  /** True when `value` is an error of this class (or a subclass), from any copy of `@sciport/core`. */
  static isInstance<T extends ErrorClass>(this: T, value: unknown): value is InstanceType<T> {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass the check is called on.
    const kind = (this as unknown as { kind: string }).kind;
    return isMarked(value) && value[ERROR_MARK].includes(kind);
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass on the right of `instanceof`.
    return isMarked(value) && value[ERROR_MARK].includes((this as unknown as { kind: string }).kind);
  }

  /** A redacted, JSON-safe description of the error (what `--json` prints). */
  toJSON(): Record<string, unknown> {
    const own: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(this)) {
      if (value !== undefined) own[key] = value;
    }
    const cause = (this as { cause?: unknown }).cause;
    return redactValue({
      name: this.name,
      message: this.message,
      ...own,
      ...(cause === undefined ? {} : { cause: describeCause(cause) }),
    }) as Record<string, unknown>;
  }
}

function describeCause(cause: unknown): unknown {
  if (cause instanceof SciportError) return cause.toJSON();
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return {
      name: cause.name,
      message: redactText(cause.message),
      ...(typeof code === 'string' ? { code } : {}),
    };
  }
  return redactText(String(cause));
}

export interface ApiErrorInit extends SciportErrorOptions {
  status: number;
  method: string;
  url: string | URL;
  service: string;
  statusText?: string;
  requestId?: string | undefined;
  /** The response body (or its start). Stored redacted, cut to `BODY_EXCERPT_LENGTH` characters. */
  body?: string | undefined;
  /** The server's own message, when it sent one (`detail`, `message`, `error`). */
  detail?: string | undefined;
}

export const BODY_EXCERPT_LENGTH = 300;

/** Cuts a body to a short, single-line, redacted excerpt. */
export function bodyExcerpt(body: string | undefined, length = BODY_EXCERPT_LENGTH): string | undefined {
  if (body === undefined) return undefined;
  const flat = redactText(body).replace(/\s+/g, ' ').trim();
  if (flat.length === 0) return undefined;
  return flat.length > length ? `${flat.slice(0, length)}…` : flat;
}

export class ApiError<C extends string = string> extends SciportError<C> {
  static override readonly kind: string = 'ApiError';
  override readonly code: C = 'api_error' as C;
  readonly status: number;
  readonly method: string;
  /** The request URL, redacted. */
  readonly url: string;
  readonly service: string;
  readonly requestId: string | undefined;
  /** A short, redacted excerpt of the response body. */
  readonly body: string | undefined;
  /** The server's message, when it sent one. */
  readonly detail: string | undefined;

  constructor(init: ApiErrorInit, message?: string) {
    const url = redactUrl(init.url);
    const detail = init.detail === undefined ? undefined : bodyExcerpt(init.detail, 500);
    const body = bodyExcerpt(init.body);
    const what = detail ?? body;
    const status = `${init.status}${init.statusText ? ` ${init.statusText}` : ''}`;
    super(
      message ??
        `${init.service}: ${init.method} ${pathOf(url)} failed with ${status}${what ? `: ${what}` : ''}`,
      { ...init, retryable: init.retryable ?? isRetryableStatus(init.status) },
    );
    this.status = init.status;
    this.method = init.method;
    this.url = url;
    this.service = init.service;
    this.requestId = init.requestId;
    this.body = body;
    this.detail = detail;
  }
}

/** Longest query string quoted in a message; the full (redacted) URL stays in `url`. */
const MESSAGE_QUERY_LIMIT = 120;

function pathOf(url: string): string {
  try {
    const u = new URL(url);
    // A batch request can carry thousands of ids in its query: a one-line message quotes its start only.
    const search =
      u.search.length > MESSAGE_QUERY_LIMIT
        ? `${u.search.slice(0, MESSAGE_QUERY_LIMIT)}… (${u.search.length} characters)`
        : u.search;
    return `${u.pathname}${search}`;
  } catch {
    return url;
  }
}

function isRetryableStatus(status: number): boolean {
  return (
    status === 408 || status === 429 || status === 500 || status === 502 || status === 503 || status === 504
  );
}

export class BadRequestError extends ApiError<'bad_request'> {
  static override readonly kind: string = 'BadRequestError';
  override readonly code = 'bad_request' as const;
}

export class AuthenticationError<C extends string = string> extends ApiError<C> {
  static override readonly kind: string = 'AuthenticationError';
  override readonly code: C = 'authentication_failed' as C;
}

export class PermissionDeniedError<C extends string = string> extends ApiError<C> {
  static override readonly kind: string = 'PermissionDeniedError';
  override readonly code: C = 'permission_denied' as C;
}

export class NotFoundError extends ApiError<'not_found'> {
  static override readonly kind: string = 'NotFoundError';
  override readonly code = 'not_found' as const;
}

export class ConflictError extends ApiError<'conflict'> {
  static override readonly kind: string = 'ConflictError';
  override readonly code = 'conflict' as const;
}

export interface RateLimitErrorInit extends ApiErrorInit {
  retryAfterMs?: number | undefined;
}

export class RateLimitError<C extends string = string> extends ApiError<C> {
  static override readonly kind: string = 'RateLimitError';
  override readonly code: C = 'rate_limited' as C;
  /** How long the server asked to wait, when it said. */
  readonly retryAfterMs: number | undefined;

  constructor(init: RateLimitErrorInit, message?: string) {
    super(init, message);
    this.retryAfterMs = init.retryAfterMs;
  }
}

export class ServerError extends ApiError<'server_error'> {
  static override readonly kind: string = 'ServerError';
  override readonly code = 'server_error' as const;
}

export interface ConnectionErrorInit extends SciportErrorOptions {
  method?: string;
  url?: string | URL;
  service?: string;
  /** What failed, when known: `dns`, `refused`, `certificate`, `proxy`, … (see `describeNetworkFailure`). */
  failure?: NetworkFailureKind | undefined;
  /** The host that could not be reached (the service's, or a proxy's). */
  host?: string | undefined;
}

/** The request never got an HTTP answer: DNS, refused or reset connections, a body cut short. Status 0. */
export class ConnectionError<C extends string = string> extends SciportError<C> {
  static override readonly kind: string = 'ConnectionError';
  override readonly code: C = 'connection_error' as C;
  readonly status = 0;
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly service: string | undefined;
  /** What failed, when known: `dns`, `refused`, `certificate`, `proxy`, `reset`, … */
  readonly failure: NetworkFailureKind | undefined;
  /** The host that could not be reached (the service's, or a proxy's), when known. */
  readonly host: string | undefined;

  constructor(message: string, init: ConnectionErrorInit = {}) {
    super(message, { ...init, retryable: init.retryable ?? true });
    this.method = init.method;
    this.url = init.url === undefined ? undefined : redactUrl(init.url);
    this.service = init.service;
    this.failure = init.failure;
    this.host = init.host;
  }
}

export class TimeoutError extends ConnectionError<'timeout'> {
  static override readonly kind: string = 'TimeoutError';
  override readonly code = 'timeout' as const;
  readonly timeoutMs: number | undefined;

  constructor(message: string, init: ConnectionErrorInit & { timeoutMs?: number } = {}) {
    super(message, init);
    this.timeoutMs = init.timeoutMs;
  }
}

/** The caller cancelled (an `AbortSignal`, Ctrl-C). */
export class AbortError extends SciportError<'aborted'> {
  static override readonly kind: string = 'AbortError';
  override readonly code = 'aborted' as const;

  constructor(message = 'The operation was aborted', options: SciportErrorOptions = {}) {
    super(message, options);
  }
}

export interface ValidationIssue {
  /** Dotted path into the response, e.g. `results[3].title`. */
  path: string;
  message: string;
}

export interface ResponseValidationErrorInit extends SciportErrorOptions {
  service: string;
  endpoint: string;
  issues: ValidationIssue[];
  body?: string | undefined;
}

/** The server answered, but not with what the protocol says. */
export class ResponseValidationError extends SciportError<'invalid_response'> {
  static override readonly kind: string = 'ResponseValidationError';
  override readonly code = 'invalid_response' as const;
  readonly service: string;
  readonly endpoint: string;
  readonly issues: ValidationIssue[];
  readonly body: string | undefined;

  constructor(init: ResponseValidationErrorInit) {
    const shown = init.issues
      .slice(0, 5)
      .map((i) => `${i.path || '(root)'}: ${i.message}`)
      .join('; ');
    const more = init.issues.length > 5 ? ` (and ${init.issues.length - 5} more)` : '';
    const body = bodyExcerpt(init.body, 200);
    super(
      `${init.service}: unexpected response from ${init.endpoint}: ${shown}${more}${body ? `; body: ${body}` : ''}`,
      init,
    );
    this.service = init.service;
    this.endpoint = init.endpoint;
    this.issues = init.issues;
    this.body = body;
  }
}

export interface IntegrityErrorInit extends SciportErrorOptions {
  path?: string;
  expected?: string | number;
  actual?: string | number;
}

/** Data arrived, but not whole or not the bytes announced (size or checksum mismatch). */
export class IntegrityError<C extends string = string> extends SciportError<C> {
  static override readonly kind: string = 'IntegrityError';
  override readonly code: C = 'integrity_error' as C;
  readonly path: string | undefined;
  readonly expected: string | number | undefined;
  readonly actual: string | number | undefined;

  constructor(message: string, init: IntegrityErrorInit = {}) {
    super(message, { ...init, retryable: init.retryable ?? true });
    this.path = init.path;
    this.expected = init.expected;
    this.actual = init.actual;
  }
}

export interface UnsafeArchiveErrorInit extends SciportErrorOptions {
  archive?: string;
  entry?: string;
  reason: 'path' | 'link' | 'type' | 'size' | 'entries' | 'ratio' | 'format' | 'destination';
}

/** An archive that tries to write outside its destination, or exceeds a size, count or ratio limit. */
export class UnsafeArchiveError extends SciportError<'unsafe_archive'> {
  static override readonly kind: string = 'UnsafeArchiveError';
  override readonly code = 'unsafe_archive' as const;
  readonly archive: string | undefined;
  readonly entry: string | undefined;
  readonly reason: UnsafeArchiveErrorInit['reason'];

  constructor(message: string, init: UnsafeArchiveErrorInit) {
    super(message, init);
    this.archive = init.archive;
    this.entry = init.entry;
    this.reason = init.reason;
  }
}

export interface ResponseTooLargeErrorInit extends SciportErrorOptions {
  service: string;
  method: string;
  url: string | URL;
  /** The largest body read into memory, in bytes (`maxBodyBytes`). */
  limit: number;
  /** What the server announced (`Content-Length`), when it did. */
  declared?: number | undefined;
}

/**
 * The server's answer was larger than the client reads into memory (`maxBodyBytes`, 256 MiB by default;
 * decoded bytes count, so a compressed answer cannot slip past). Never retried.
 */
export class ResponseTooLargeError extends SciportError<'response_too_large'> {
  static override readonly kind: string = 'ResponseTooLargeError';
  override readonly code = 'response_too_large' as const;
  readonly service: string;
  readonly method: string;
  /** The request URL, redacted. */
  readonly url: string;
  readonly limit: number;
  readonly declared: number | undefined;

  constructor(init: ResponseTooLargeErrorInit) {
    const url = redactUrl(init.url);
    const size =
      init.declared === undefined ? `more than ${formatBytes(init.limit)}` : formatBytes(init.declared);
    super(
      `${init.service}: the server's answer to ${init.method} ${url} is too large (${size}; ` +
        `the limit is ${formatBytes(init.limit)})`,
      {
        ...init,
        retryable: false,
        hint:
          init.hint ??
          'Raise the limit with the client option `maxBodyBytes` if this answer is expected, or ask for less at once',
      },
    );
    this.service = init.service;
    this.method = init.method;
    this.url = url;
    this.limit = init.limit;
    this.declared = init.declared;
  }
}

/** `1048576` → `1 MiB (1048576 bytes)`; small sizes in bytes only. */
function formatBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = '';
  for (const u of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  if (unit === '') return `${bytes} bytes`;
  const shown = Number.isInteger(value) ? String(value) : value.toFixed(1);
  return `${shown} ${unit} (${bytes} bytes)`;
}

export interface FileWriteErrorInit extends SciportErrorOptions {
  /** The file being written (a temporary file next to the target). */
  path: string;
  /** The system's error code (`ENOSPC`, `EDQUOT`, `EIO`, …), when there was one. */
  errno?: string | undefined;
}

const WRITE_FAILURES: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
  EROFS: 'read-only file system',
  EFBIG: 'file too large for the file system',
};

/**
 * Saving a file failed: the disk is full (`ENOSPC`), a quota is reached (`EDQUOT`), the device failed (`EIO`),
 * …. The message names the folder; the temporary file is removed, nothing is left under the final name. Never
 * retried.
 */
export class FileWriteError extends SciportError<'file_write_failed'> {
  static override readonly kind: string = 'FileWriteError';
  override readonly code = 'file_write_failed' as const;
  /** The folder written into. */
  readonly folder: string;
  readonly path: string;
  readonly errno: string | undefined;

  constructor(init: FileWriteErrorInit) {
    const folder = dirnameOf(init.path);
    const what = (init.errno && WRITE_FAILURES[init.errno]) ?? 'the write failed';
    const detail = init.errno && !WRITE_FAILURES[init.errno] ? ` (${init.errno})` : '';
    const hint =
      init.hint ??
      (init.errno === 'ENOSPC' || init.errno === 'EDQUOT'
        ? 'Free some space there or choose another folder, then run again'
        : undefined);
    super(`${what}${detail} while writing into ${folder}`, {
      ...init,
      retryable: false,
      ...(hint === undefined ? {} : { hint }),
    });
    this.folder = folder;
    this.path = init.path;
    this.errno = init.errno;
  }

  /** The `FileWriteError` for a failed write of `file` (kept as it is when it is one already). */
  static from(error: unknown, file: string): SciportError {
    if (SciportError.isInstance(error)) return error;
    const code = (error as { code?: unknown } | undefined)?.code;
    return new FileWriteError({
      path: file,
      errno: typeof code === 'string' ? code : undefined,
      cause: error,
    });
  }
}

/** The folder of a path, without `node:path` (this entry point runs in browsers too). */
function dirnameOf(file: string): string {
  const cut = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  if (cut < 0) return '.';
  return cut === 0 ? file.slice(0, 1) : file.slice(0, cut);
}

/** No credentials were found in options, environment or config file. */
export class MissingCredentialsError extends SciportError<'missing_credentials'> {
  static override readonly kind: string = 'MissingCredentialsError';
  override readonly code = 'missing_credentials' as const;
}

/** The caller passed something that cannot work (a bad argument, an unknown field). */
export class UsageError extends SciportError<'usage_error'> {
  static override readonly kind: string = 'UsageError';
  override readonly code = 'usage_error' as const;
}

/** Builds the `ApiError` subclass that matches an HTTP status. */
export function createApiError(init: RateLimitErrorInit, message?: string): ApiError {
  const s = init.status;
  if (s === 400 || s === 422) return new BadRequestError(init, message);
  if (s === 401) return new AuthenticationError(init, message);
  if (s === 403) return new PermissionDeniedError(init, message);
  if (s === 404 || s === 410) return new NotFoundError(init, message);
  if (s === 409) return new ConflictError(init, message);
  if (s === 429) return new RateLimitError(init, message);
  if (s >= 500) return new ServerError(init, message);
  return new ApiError(init, message);
}

/** Converts anything thrown into a `SciportError`, keeping sciport errors as they are. */
export function toSciportError(error: unknown): SciportError {
  if (SciportError.isInstance(error)) return error;
  if (isAbortLike(error)) return new AbortError(undefined, { cause: error });
  if (error instanceof Error) return new SciportError(error.message, { cause: error });
  return new SciportError(String(error));
}

/** True for DOM `AbortError`s and sciport `AbortError`s (not for timeouts). */
export function isAbortLike(error: unknown): boolean {
  if (AbortError.isInstance(error)) return true;
  return error instanceof Error && error.name === 'AbortError';
}
