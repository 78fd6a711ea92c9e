import { abortError } from '../async.js';
import { ConnectionError, SciportError, TimeoutError } from '../errors.js';
import { redactText } from '../redact.js';
import { describeNetworkFailure } from './network-failure.js';

/** A failure while reading a body (not while connecting): reported as a body cut short. */
export class BodyReadError extends Error {
  constructor(cause: unknown) {
    super('body read failed', { cause });
    this.name = 'BodyReadError';
  }
}

/** How an attempt went wrong, for `mapAttemptError`. */
export interface AttemptFailure {
  service: string;
  timedOut: boolean;
  userSignal: AbortSignal | undefined;
  method: string;
  url: URL;
  timeoutMs: number | false;
  whileReading?: boolean;
  /** Where the base URL comes from (`ICSD_BASE_URL`), for the hint of a failure to connect. */
  baseUrlSetting?: string | undefined;
}

/**
 * The error an attempt ends with: the caller's abort, the attempt's timeout, a `SciportError` as it is, or a
 * `ConnectionError` naming what failed (connecting, or reading the body) and the network's own reason.
 */
export function mapAttemptError(error: unknown, ctx: AttemptFailure): SciportError {
  if (ctx.userSignal?.aborted) return abortError(ctx.userSignal);
  if (ctx.timedOut) {
    return new TimeoutError(
      `${ctx.service}: ${ctx.method} ${ctx.url.pathname} timed out after ${ctx.timeoutMs} ms` +
        (ctx.whileReading ? ' without receiving data' : ''),
      {
        method: ctx.method,
        url: ctx.url,
        service: ctx.service,
        ...(ctx.timeoutMs === false ? {} : { timeoutMs: ctx.timeoutMs }),
        cause: error,
      },
    );
  }
  if (SciportError.isInstance(error)) return error;
  const detail = describeNetworkError(error);
  const reading = ctx.whileReading === true || error instanceof BodyReadError;
  const failure = reading ? undefined : describeNetworkFailure(error, ctx.url, ctx.baseUrlSetting);
  if (failure) {
    return new ConnectionError(`${ctx.service}: ${ctx.method} ${ctx.url.pathname}: ${failure.message}`, {
      method: ctx.method,
      url: ctx.url,
      service: ctx.service,
      cause: error,
      hint: failure.hint,
      failure: failure.kind,
      host: failure.host,
    });
  }
  const what = reading ? 'the response body was cut short' : 'the connection failed';
  return new ConnectionError(
    `${ctx.service}: ${ctx.method} ${ctx.url.pathname}: ${what}${detail ? ` (${detail})` : ''}`,
    { method: ctx.method, url: ctx.url, service: ctx.service, cause: error },
  );
}

export function describeNetworkError(error: unknown): string | undefined {
  const parts: string[] = [];
  let e: unknown = error instanceof BodyReadError ? error.cause : error;
  for (let depth = 0; e instanceof Error && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && !parts.includes(code)) parts.push(code);
    else if (e.message && e.message !== 'fetch failed' && !parts.includes(e.message)) parts.push(e.message);
    e = (e as { cause?: unknown }).cause;
  }
  return parts.length ? redactText(parts.join(': ')) : undefined;
}

export function requestIdOf(headers: Headers): string | undefined {
  return (
    headers.get('x-request-id') ??
    headers.get('x-correlation-id') ??
    headers.get('x-amzn-requestid') ??
    headers.get('cf-ray') ??
    undefined
  );
}

/**
 * Pulls the server's own message out of an error body: FastAPI/DRF `detail` (string or list), `message`,
 * `error`, DRF per-field arrays, a Google Cloud Storage XML `<Error>`, or the text of an HTML page.
 */
export function extractDetail(text: string, contentType: string | null): string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (trimmed.startsWith('{') || trimmed.startsWith('[') || contentType?.includes('json')) {
    try {
      return detailFromJson(JSON.parse(trimmed));
    } catch {
      // not JSON after all
    }
  }
  if (trimmed.startsWith('<')) {
    const code = /<Code>([^<]*)<\/Code>/i.exec(trimmed)?.[1];
    const message = /<Message>([^<]*)<\/Message>/i.exec(trimmed)?.[1];
    if (code || message) return [code, message].filter(Boolean).join(': ');
    const title = /<title>([^<]*)<\/title>/i.exec(trimmed)?.[1] ?? /<h1>([^<]*)<\/h1>/i.exec(trimmed)?.[1];
    const stripped = trimmed
      .replace(/<script[\s\S]*?<\/script>|<style[\s\S]*?<\/style>/gi, ' ')
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    return title?.trim() || stripped || undefined;
  }
  return trimmed;
}

function detailFromJson(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const parts = value.map(detailFromJson).filter((x): x is string => Boolean(x));
    return parts.length ? parts.join('; ') : undefined;
  }
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    for (const key of ['detail', 'message', 'error', 'error_description', 'msg']) {
      if (o[key] !== undefined && o[key] !== null) {
        const inner = detailFromJson(o[key]);
        if (inner) {
          const loc = Array.isArray(o.loc) ? o.loc.join('.') : undefined;
          return loc && key === 'msg' ? `${loc}: ${inner}` : inner;
        }
      }
    }
    const fields = Object.entries(o)
      .filter(([, v]) => Array.isArray(v) && v.every((x) => typeof x === 'string'))
      .map(([k, v]) => `${k}: ${(v as string[]).join(' ')}`);
    if (fields.length) return fields.join('; ');
  }
  return undefined;
}
