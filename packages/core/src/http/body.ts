import {
  ConnectionError,
  IntegrityError,
  ResponseTooLargeError,
  ResponseValidationError,
  SciportError,
} from '../errors.js';
import type { BufferPool } from './buffer-pool.js';
import { BodyReadError } from './error-body.js';
import type { HttpRequestOptions, HttpResponse, RequestBody } from './types.js';

/** The most of an error body that is read (for its message), the rest is dropped. */
export const ERROR_BODY_LIMIT = 64 * 1024;

/** A request body as sent: the bytes or text, its content type, and whether it can be sent again. */
export interface PreparedBody {
  body: RequestBody | undefined;
  contentType: string | undefined;
  replayable: boolean;
}

export function prepareBody(options: HttpRequestOptions): PreparedBody {
  if (options.json !== undefined) {
    return { body: JSON.stringify(options.json), contentType: 'application/json', replayable: true };
  }
  if (options.form !== undefined) {
    const params =
      options.form instanceof URLSearchParams ? options.form : new URLSearchParams({ ...options.form });
    return { body: params.toString(), contentType: 'application/x-www-form-urlencoded', replayable: true };
  }
  if (options.body === undefined) return { body: undefined, contentType: undefined, replayable: true };
  const replayable = !(typeof ReadableStream !== 'undefined' && options.body instanceof ReadableStream);
  return { body: options.body, contentType: undefined, replayable };
}

export const decoder = new TextDecoder('utf-8');

export class BufferedResponse implements HttpResponse {
  private decoded: string | undefined;
  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly headers: Headers,
    readonly url: string,
    readonly bytes: Uint8Array,
    private readonly context: { service: string; endpoint: string },
    private readonly pool: BufferPool | undefined,
  ) {}

  release(): void {
    this.pool?.release(this.bytes);
  }

  text(): string {
    if (this.decoded === undefined) this.decoded = decoder.decode(this.bytes);
    return this.decoded;
  }

  json(): unknown {
    const text = this.text();
    if (text.trim() === '') return null;
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new ResponseValidationError({
        service: this.context.service,
        endpoint: this.context.endpoint,
        issues: [{ path: '', message: `the body is not JSON (${(error as Error).message})` }],
        body: text,
      });
    }
  }
}

/**
 * Reads a whole body into memory, to `limit` bytes (decoded bytes: fetch has already decoded a compressed
 * body). `truncate` (error bodies) keeps the first `limit` bytes and drops the rest; otherwise a larger body is
 * a `ResponseTooLargeError`, refused before reading when its `Content-Length` says so already. A body longer
 * than its `Content-Length` is refused at the first byte too many. `signal` (the attempt's own: its timeout
 * and the caller's abort) cancels the read directly, whatever fetch does with the signal it was given (see
 * `untilAborted` in attempt.ts): a body that stalls after its headers ends with the attempt's timeout.
 */
export async function readAll(
  response: Response,
  limit: number,
  ctx: { method: string; url: URL; service: string },
  options: { pool?: BufferPool | undefined; signal?: AbortSignal | undefined; truncate?: boolean } = {},
): Promise<Uint8Array> {
  const { pool, signal } = options;
  if (!response.body) return new Uint8Array();
  const length = response.headers.get('content-length');
  const declared =
    length !== null && /^\d+$/.test(length) && !response.headers.get('content-encoding')
      ? Number(length)
      : undefined;
  const tooLarge = (announced?: number) =>
    new ResponseTooLargeError({
      service: ctx.service,
      method: ctx.method,
      url: ctx.url,
      limit,
      declared: announced,
    });
  if (declared !== undefined && declared > limit && !options.truncate) {
    await response.body.cancel().catch(() => undefined);
    throw tooLarge(declared);
  }
  const reader = response.body.getReader();
  const onAbort = () => {
    reader.cancel(signal?.reason).catch(() => undefined);
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  // With a declared length, one buffer is filled as chunks arrive (no list of chunks, no second copy).
  let out: Uint8Array | undefined =
    declared !== undefined && declared <= limit
      ? (pool?.acquire(declared) ?? new Uint8Array(declared))
      : undefined;
  const chunks: Uint8Array[] = [];
  let total = 0;
  let truncated = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      // A cancelled read (timeout, abort) ends like a finished body: tell them apart.
      if (signal?.aborted) throw signal.reason;
      if (done) break;
      if (declared !== undefined && total + value.byteLength > declared) {
        await reader.cancel().catch(() => undefined);
        throw new IntegrityError(
          `${ctx.service}: ${ctx.method} ${ctx.url.pathname}: the server sent more than the ${declared} bytes ` +
            'it announced',
          { expected: declared, actual: total + value.byteLength, retryable: false },
        );
      }
      if (total + value.byteLength > limit) {
        if (!options.truncate) {
          await reader.cancel().catch(() => undefined);
          throw tooLarge();
        }
        chunks.push(value.subarray(0, limit - total));
        total = limit;
        truncated = true;
        out = undefined;
        await reader.cancel().catch(() => undefined);
        break;
      }
      if (out && total + value.byteLength <= out.byteLength) out.set(value, total);
      else {
        if (out) chunks.push(out.subarray(0, total));
        out = undefined;
        chunks.push(value);
      }
      total += value.byteLength;
    }
  } catch (error) {
    if (out) pool?.release(out);
    if (signal?.aborted) throw signal.reason;
    if (SciportError.isInstance(error)) throw error;
    // Reported by mapError as a cut-short body.
    throw new BodyReadError(error);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (!truncated && declared !== undefined && declared !== total) {
    if (out) pool?.release(out);
    throw new ConnectionError(
      `${ctx.service}: ${ctx.method} ${ctx.url.pathname}: the response body was cut short ` +
        `(${total} of ${declared} bytes)`,
      { method: ctx.method, url: ctx.url, service: ctx.service },
    );
  }
  if (out) return out;
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    joined.set(c, offset);
    offset += c.byteLength;
  }
  return joined;
}

/** A byte body big enough that an extra copy matters (an upload chunk), sent by fetch without ky's clone. */
export function isLargeBinary(body: unknown): body is Uint8Array | ArrayBuffer {
  if (body instanceof Uint8Array) return body.byteLength >= 64 * 1024;
  if (body instanceof ArrayBuffer) return body.byteLength >= 64 * 1024;
  return false;
}
