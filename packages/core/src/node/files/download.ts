import { createHash, type Hash } from 'node:crypto';
import { open, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { throwIfAborted } from '../../async.js';
import {
  AbortError,
  ConnectionError,
  createApiError,
  IntegrityError,
  SciportError,
  TimeoutError,
  UsageError,
} from '../../errors.js';
import { extractDetail } from '../../http/error-body.js';
import type { RawBody } from '../../http/raw-body.js';
import { checkTimeout } from '../../options.js';
import { AtomicFile } from './atomic.js';
import { pump } from './download-pump.js';

/** What `downloadToFile` reads: a sciport `StreamResponse`, a fetch `Response`, or anything shaped alike. */
export interface DownloadResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly url?: string;
  readonly body: ReadableStream<Uint8Array> | null;
  /** The body without copies (a sciport `StreamResponse` over `nodeDownloadFetch`): used when present. */
  readonly raw?: RawBody | undefined;
}

/**
 * Fetches (again) from a byte offset. Called with `offset` 0 for a fresh start, or with the number of bytes
 * already on disk to resume; it should then send `Range: bytes=<offset>-` (see `rangeHeader`).
 */
export type DownloadSource = (request: {
  offset: number;
  signal: AbortSignal | undefined;
}) => Promise<DownloadResponse>;

export interface DownloadProgress {
  /** Bytes of the file on disk so far (including resumed ones). */
  bytes: number;
  /** Total size, when known. */
  total: number | undefined;
  /**
   * Set when the bytes now arriving continue a partial file (a kept `.part` file, or a transfer cut short and
   * resumed with `Range`): the offset they started at. Those bytes were not transferred now (for a rate).
   */
  resumedFrom?: number;
}

export interface DownloadOptions {
  /** The exact size the file must have. */
  expectedSize?: number | undefined;
  /** The SHA-256 (hex) the file must have. */
  sha256?: string | undefined;
  /**
   * Compute the SHA-256 of the file as it arrives (default true; needed when `sha256` is given). Without a
   * checksum to compare with, `false` saves about a third of the transfer's CPU time; `sha256` in the result
   * is then undefined.
   */
  hash?: boolean;
  onProgress?: ((progress: DownloadProgress) => void) | undefined;
  signal?: AbortSignal | undefined;
  /** How many times a cut-short transfer is resumed or restarted (default 5). Needs a `DownloadSource`. */
  maxResumes?: number;
  /**
   * Keep the partial file (`.<name>.part` next to the target) when the download fails, and resume from it
   * on the next call with a `DownloadSource`. Default false: a failure leaves nothing behind.
   */
  keepPartial?: boolean;
  /** File mode of the result (default 0o644). */
  mode?: number;
  /** Service name for errors (default `download`). */
  service?: string;
  /**
   * Milliseconds the body may go without a byte before the transfer counts as stalled: a `TimeoutError`,
   * resumed like a cut-short transfer when a `DownloadSource` is given. Default none: a response of a sciport
   * client (`http.stream()`) carries that client's `timeout` already; give one for a response from elsewhere.
   */
  timeout?: number | false | undefined;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  /** SHA-256 of the file, hex (undefined with `hash: false`). */
  sha256: string;
  /** How many times the transfer was resumed with `Range`. */
  resumes: number;
  /** How many times it had to start again from byte 0. */
  restarts: number;
}

/** The `Range` header value to resume at `offset`, or undefined for a fresh start. */
export function rangeHeader(offset: number): string | undefined {
  return offset > 0 ? `bytes=${offset}-` : undefined;
}

/** Path of the partial file kept by `keepPartial` for `target`. */
export function partialPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.part`);
}

/**
 * Streams a response body to `target` atomically: into a temporary file next to it, with backpressure (one
 * chunk in memory at a time), checking the size and SHA-256 before the final rename. The file appears under
 * its final name only when it is complete and verified.
 *
 * With a `DownloadSource` instead of a response, a transfer cut short is resumed with `Range` when the
 * server honours it (206) and restarted from zero otherwise (200), up to `maxResumes` times; with
 * `keepPartial`, an interrupted run leaves the partial file for the next run to resume.
 *
 * Non-2xx responses are never saved: they raise the matching `ApiError` with an excerpt of the body
 * (an expired signed URL's XML error page does not become a data file).
 */
export async function downloadToFile(
  source: DownloadResponse | DownloadSource,
  target: string,
  options: DownloadOptions & { hash: false; sha256?: undefined },
): Promise<Omit<DownloadResult, 'sha256'> & { sha256: undefined }>;
export async function downloadToFile(
  source: DownloadResponse | DownloadSource,
  target: string,
  options?: DownloadOptions & { hash?: true },
): Promise<DownloadResult>;
export async function downloadToFile(
  source: DownloadResponse | DownloadSource,
  target: string,
  options?: DownloadOptions,
): Promise<Omit<DownloadResult, 'sha256'> & { sha256: string | undefined }>;
export async function downloadToFile(
  source: DownloadResponse | DownloadSource,
  target: string,
  options: DownloadOptions = {},
): Promise<Omit<DownloadResult, 'sha256'> & { sha256: string | undefined }> {
  const resolved = path.resolve(target);
  const service = options.service ?? 'download';
  const signal = options.signal;
  const expectedSha = options.sha256?.toLowerCase();
  if (expectedSha !== undefined && !/^[0-9a-f]{64}$/.test(expectedSha)) {
    throw new UsageError(`sha256 must be 64 hexadecimal characters, got ${JSON.stringify(options.sha256)}`);
  }
  const fetchAt: DownloadSource | undefined = typeof source === 'function' ? source : undefined;
  const maxResumes = fetchAt ? (options.maxResumes ?? 5) : 0;
  const keep = options.keepPartial === true;
  const partialPath = keep ? partialPathFor(resolved) : undefined;

  if (options.hash === false && expectedSha !== undefined) {
    throw new UsageError('downloadToFile: a sha256 to check needs hashing (hash: false was given)');
  }
  const hashing = options.hash !== false;
  const timeoutMs = checkTimeout(options.timeout, 'downloadToFile: timeout') || undefined;
  let offset = 0;
  let hash: Hash | undefined = hashing ? createHash('sha256') : undefined;
  if (partialPath && fetchAt) {
    offset = await existingSize(partialPath);
    if (offset > 0 && hashing) hash = await hashFile(partialPath, signal);
  }
  let file = await AtomicFile.create(resolved, {
    mode: options.mode ?? 0o644,
    ...(partialPath ? { tempPath: partialPath, append: offset > 0 } : {}),
  });
  if (partialPath && offset === 0 && file.bytesWritten > 0) offset = file.bytesWritten;

  let resumes = 0;
  let restarts = 0;
  let total: number | undefined = options.expectedSize;
  let firstResponse: DownloadResponse | undefined = typeof source === 'function' ? undefined : source;
  let failures = 0;

  const restartFromZero = async () => {
    await file.discard();
    file = await AtomicFile.create(resolved, {
      mode: options.mode ?? 0o644,
      ...(partialPath ? { tempPath: partialPath } : {}),
    });
    hash = hashing ? createHash('sha256') : undefined;
    offset = 0;
  };

  const tooLarge = (received: number, expected: number) =>
    new IntegrityError(
      `${service}: ${path.basename(resolved)} is larger than the ${expected} bytes expected: the server sent ` +
        `at least ${received}`,
      { path: resolved, expected, actual: received, retryable: false },
    );

  /** Reads a response's status and size headers: pump its body, stop (416 at the end), or fetch again. */
  const checkResponse = async (response: DownloadResponse): Promise<'pump' | 'done' | 'again'> => {
    const status = response.status;
    if (offset > 0 && status === 416) {
      // Nothing left to send: either the partial file is already complete, or it is wrong. Check below.
      await release(response);
      if (total === undefined || offset === total) return 'done';
      restarts += 1;
      await restartFromZero();
      return 'again';
    }
    if (status < 200 || status >= 300) {
      throw await errorFromResponse(response, service);
    }
    if (offset > 0) {
      const range = status === 206 ? parseContentRange(response.headers.get('content-range')) : undefined;
      if (status === 206 && range && range.start === offset) {
        resumes += 1;
        if (range.total !== undefined) total = checkTotal(total, range.total, resolved);
        return 'pump';
      }
      // The server ignored the Range header (or answered another range): start over.
      if (status === 206) await release(response);
      restarts += 1;
      await restartFromZero();
      if (status === 206) return 'again';
      total = totalFromHeaders(response, total, resolved);
      return 'pump';
    }
    if (status === 206) {
      const range = parseContentRange(response.headers.get('content-range'));
      if (range?.start !== 0) {
        throw new IntegrityError(`${service}: the server sent a partial range starting at ${range?.start}`, {
          path: resolved,
          retryable: false,
        });
      }
      if (range.total !== undefined) total = checkTotal(total, range.total, resolved);
    } else {
      total = totalFromHeaders(response, total, resolved);
    }
    return 'pump';
  };

  const fail = async (error: unknown): Promise<never> => {
    // Only an interruption leaves a partial file to resume; wrong data is never kept.
    const interrupted = ConnectionError.isInstance(error) || AbortError.isInstance(error);
    if (keep && interrupted) await file.close().catch(() => undefined);
    else await file.discard();
    throw error;
  };

  try {
    for (;;) {
      throwIfAborted(signal);
      let response: DownloadResponse;
      if (firstResponse) {
        response = firstResponse;
        firstResponse = undefined;
      } else if (fetchAt) {
        response = await fetchAt({ offset, signal });
      } else {
        throw new SciportError('downloadToFile: nothing to download');
      }

      let next: 'pump' | 'done' | 'again';
      try {
        next = await checkResponse(response);
      } catch (error) {
        // Whatever the reason (a wrong size, an error page), the response is released: no connection or
        // timer of it outlives the error.
        await release(response);
        throw error;
      }
      if (next === 'done') break;
      if (next === 'again') continue;

      const watch = timeoutMs === undefined ? undefined : new IdleWatch(timeoutMs, signal);
      const resumedFrom = offset;
      try {
        await pump(response, file, {
          hash,
          signal: watch?.signal ?? signal,
          onBytes: (bytes) => {
            offset = bytes;
            options.onProgress?.(resumedFrom > 0 ? { bytes, total, resumedFrom } : { bytes, total });
          },
          limit: total,
          tooLarge: (received) => tooLarge(received, total as number),
          onPiece: watch?.touch,
        });
      } catch (caught) {
        let error = caught;
        if (watch?.timedOut && !signal?.aborted) {
          error = new TimeoutError(
            `${service}: no data for ${timeoutMs} ms while downloading ${path.basename(resolved)}`,
            { service, ...(timeoutMs === undefined ? {} : { timeoutMs }), cause: caught },
          );
        }
        await release(response);
        if (error === caught && (AbortError.isInstance(error) || signal?.aborted)) {
          throw new AbortError(undefined, { cause: error });
        }
        if (ConnectionError.isInstance(error) && fetchAt && failures < maxResumes) {
          failures += 1;
          offset = file.bytesWritten;
          continue;
        }
        throw error;
      } finally {
        watch?.dispose();
      }
      offset = file.bytesWritten;
      if (total !== undefined && offset < total) {
        if (fetchAt && failures < maxResumes) {
          failures += 1;
          continue;
        }
        throw new IntegrityError(
          `${service}: ${path.basename(resolved)} is incomplete: received ${offset} of ${total} bytes`,
          { path: resolved, expected: total, actual: offset },
        );
      }
      break;
    }

    const size = file.bytesWritten;
    if (total !== undefined && size !== total) {
      throw new IntegrityError(
        `${service}: ${path.basename(resolved)} has ${size} bytes, expected ${total}`,
        {
          path: resolved,
          expected: total,
          actual: size,
          retryable: false,
        },
      );
    }
    const digest = hash?.digest('hex');
    if (expectedSha !== undefined && digest !== expectedSha) {
      throw new IntegrityError(`${service}: the SHA-256 of ${path.basename(resolved)} does not match`, {
        path: resolved,
        expected: expectedSha,
        actual: digest ?? '',
        retryable: false,
      });
    }
    await file.commit();
    return { path: resolved, bytes: size, sha256: digest, resumes, restarts };
  } catch (error) {
    return fail(error);
  }
}

function checkTotal(known: number | undefined, announced: number, target: string): number {
  if (known !== undefined && known !== announced) {
    throw new IntegrityError(
      `${path.basename(target)}: the server announces ${announced} bytes, expected ${known}`,
      { path: target, expected: known, actual: announced, retryable: false },
    );
  }
  return announced;
}

function totalFromHeaders(
  response: DownloadResponse,
  known: number | undefined,
  target: string,
): number | undefined {
  const length = response.headers.get('content-length');
  if (length === null || !/^\d+$/.test(length) || response.headers.get('content-encoding')) return known;
  return checkTotal(known, Number(length), target);
}

/** Parses `Content-Range: bytes 100-199/1000` (total may be `*`). */
export function parseContentRange(
  value: string | null,
): { start: number; end: number; total: number | undefined } | undefined {
  if (!value) return undefined;
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value);
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

/** Releases a response that will not be read (further): its connection, and its client's timer. */
async function release(response: DownloadResponse): Promise<void> {
  const cancel = (response as { cancel?: unknown }).cancel;
  if (typeof cancel === 'function') {
    await Promise.resolve(cancel.call(response)).catch(() => undefined);
    return;
  }
  if (response.body && !response.body.locked) await response.body.cancel().catch(() => undefined);
}

/**
 * An idle timer over a body: `touch` for every piece re-arms it (a refresh, no new timer); when it fires, its
 * `signal` aborts (so does it when `outer` does).
 */
class IdleWatch {
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout>;
  timedOut = false;

  constructor(
    ms: number,
    private readonly outer: AbortSignal | undefined,
  ) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new Error(`no data for ${ms} ms`));
    }, ms);
    if (outer?.aborted) this.onOuter();
    else outer?.addEventListener('abort', this.onOuter, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  private readonly onOuter = () => this.controller.abort(this.outer?.reason);

  readonly touch = () => {
    this.timer.refresh();
  };

  dispose(): void {
    clearTimeout(this.timer);
    this.outer?.removeEventListener('abort', this.onOuter);
  }
}

async function errorFromResponse(response: DownloadResponse, service: string): Promise<SciportError> {
  let text: string | undefined;
  if (response.body) {
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      while (size < 64 * 1024) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        size += value.byteLength;
      }
    } catch {
      // the excerpt is best effort
    } finally {
      await reader.cancel().catch(() => undefined);
    }
    text = Buffer.concat(chunks).toString('utf8');
  }
  return createApiError({
    status: response.status,
    method: 'GET',
    url: response.url ?? '(download)',
    service,
    body: text,
    detail: text === undefined ? undefined : extractDetail(text, response.headers.get('content-type')),
  });
}

async function existingSize(file: string): Promise<number> {
  try {
    const s = await stat(file);
    return s.isFile() ? s.size : 0;
  } catch {
    return 0;
  }
}

/** Bytes of each of {@link hashFile}'s two read buffers. */
const HASH_BLOCK = 1024 * 1024;

/**
 * SHA-256 of a file, streamed with flat memory (two reused 1 MiB buffers: a read stream would allocate a fresh
 * 64 KiB buffer per chunk, and the garbage of a gigabyte of them lifts the process's memory by tens of MB).
 * Double-buffered: the next block is read (on libuv's thread pool) while this one is hashed (on the main
 * thread), so a large file is hashed at the speed of SHA-256 rather than of SHA-256 plus the reads.
 */
export async function hashFile(file: string, signal?: AbortSignal): Promise<Hash> {
  const hash = createHash('sha256');
  const handle = await open(file, 'r');
  let current = Buffer.allocUnsafe(HASH_BLOCK);
  let spare = Buffer.allocUnsafe(HASH_BLOCK);
  let position = 0;
  const readInto = (buffer: Buffer) => {
    const at = position;
    position += buffer.length;
    return handle.read(buffer, 0, buffer.length, at);
  };
  let next: ReturnType<typeof readInto> | undefined;
  try {
    throwIfAborted(signal);
    next = readInto(current);
    for (;;) {
      const { bytesRead } = await next;
      next = undefined;
      if (bytesRead === 0) break;
      throwIfAborted(signal);
      // A short read is the end of the file (it can grow meanwhile: what was read is what is hashed).
      if (bytesRead === HASH_BLOCK) next = readInto(spare);
      hash.update(current.subarray(0, bytesRead));
      [current, spare] = [spare, current];
      if (next === undefined) break;
    }
  } finally {
    // A read still in flight (an abort part-way) must end before its handle closes.
    await next?.catch(() => undefined);
    await handle.close();
  }
  return hash;
}

/** SHA-256 (hex) of a file, streamed with flat memory. */
export async function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  return (await hashFile(file, signal)).digest('hex');
}

/** Removes a kept partial file, if any. */
export async function removePartial(target: string): Promise<void> {
  await unlink(partialPathFor(path.resolve(target))).catch(() => undefined);
}
