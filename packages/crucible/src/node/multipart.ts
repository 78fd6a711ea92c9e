import { createHash } from 'node:crypto';
import { type FileHandle, open, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import {
  AbortError,
  ApiError,
  backoffDelay,
  ConnectionError,
  type HttpResponse,
  IntegrityError,
  ResponseValidationError,
  registerSecret,
  requestOptions,
  resolveRetryOptions,
  SciportError,
  sleep,
  UsageError,
} from '@sciport/core';
import { sha256File } from '@sciport/core/node';
import { XMLParser } from 'fast-xml-parser';
import pMap from 'p-map';
import { z } from 'zod';
import { type Context, call, id } from '../internal/context.js';
import type { CrucibleFile } from '../schemas/files.js';
import {
  initiateMultipartSchema,
  type StoragePart,
  storageObjectSchema,
  xmlInitiateSchema,
  xmlListPartsSchema,
} from '../schemas/multipart.js';
import {
  complete,
  defaultStateDir,
  loadKeptState,
  refuseNameClash,
  saveKeptState,
  type UploadOptions,
  type UploadResult,
  uploadResumable,
} from './upload.js';

const MiB = 1024 * 1024;
/** Files of this size or more try the multipart upload (§19.9, sciport's choice). */
export const MULTIPART_THRESHOLD = 32 * MiB;
/** GCS: every part but the last is at least 5 MiB; at most 10,000 parts. */
export const MIN_PART_SIZE = 5 * MiB;
export const DEFAULT_PART_SIZE = 8 * MiB;
export const MAX_PARTS = 10_000;
export const DEFAULT_PARALLEL = 4;
export const DEFAULT_STORAGE_HOST = 'https://storage.googleapis.com';
/** Initiation statuses that mean "this server does not offer multipart uploads". */
const NOT_OFFERED = [404, 405, 501];
const PART_BACKOFF = resolveRetryOptions({ baseDelayMs: 500, maxDelayMs: 15_000 });

/** Contexts (clients) whose server answered "not offered": single stream for the rest of their life. */
const notOffered = new WeakSet<Context>();

const stateSchema = z.object({
  kind: z.literal('multipart'),
  datasetId: z.string(),
  file: z.string(),
  size: z.number(),
  mtimeMs: z.number(),
  sha256: z.string(),
  uploadId: z.string(),
  token: z.string(),
  host: z.string(),
  bucket: z.string(),
  object: z.string(),
  xmlUploadId: z.string(),
  partSize: z.number().int().positive(),
});
type State = z.infer<typeof stateSchema>;

/** The server does not offer multipart uploads; carries the file's SHA-256 so the fallback does not hash again. */
class NotOffered extends Error {
  constructor(readonly sha256: string) {
    super('multipart upload not offered');
  }
}
/** Storage no longer knows the upload or the token (401/403/404): start over with a new initiation. */
class StorageGone extends Error {}

/** The storage host: the option, else `STORAGE_EMULATOR_HOST` (scheme optional, as Google's SDKs take it). */
export function storageHost(option?: string): string {
  const raw = option ?? (process.env.STORAGE_EMULATOR_HOST || DEFAULT_STORAGE_HOST);
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  return withScheme.replace(/\/+$/, '');
}

/** The part size: the server's hint (at least 5 MiB) else 8 MiB, grown so that the file fits 10,000 parts. */
export function partSizeFor(size: number, hint: number | null | undefined): number {
  const wanted = Math.max(MIN_PART_SIZE, hint ?? DEFAULT_PART_SIZE);
  return Math.max(wanted, Math.ceil(size / MAX_PARTS));
}

/**
 * A v2 upload: parallel multipart (§19.9) for files of `multipartThreshold` bytes or more when the server offers
 * it, else (and for the rest of the client's life once the server said "not offered") the single stream of
 * §17.1.
 */
export async function uploadV2(
  ctx: Context,
  datasetId: string,
  file: string,
  options: UploadOptions = {},
): Promise<UploadResult> {
  const abs = path.resolve(file);
  const info = await stat(abs).catch(() => {
    throw new UsageError(`No such file: ${abs}`);
  });
  const threshold = options.multipartThreshold ?? MULTIPART_THRESHOLD;
  if (!info.isFile() || info.size < threshold || options.multipart === false || notOffered.has(ctx))
    return uploadResumable(ctx, datasetId, file, options);
  const parallel = options.parallel ?? DEFAULT_PARALLEL;
  if (!Number.isSafeInteger(parallel) || parallel < 1 || parallel > 64)
    throw new UsageError(`parallel must be an integer from 1 to 64, got ${String(options.parallel)}`);
  try {
    return await uploadParallel(ctx, datasetId, abs, info, parallel, options);
  } catch (error) {
    if (!(error instanceof NotOffered)) throw error;
    notOffered.add(ctx);
    ctx.events.emit({
      type: 'warning',
      message: 'The server does not offer multipart uploads: using the single-stream upload',
    });
    return uploadResumable(ctx, datasetId, file, options, error.sha256);
  }
}

async function uploadParallel(
  ctx: Context,
  datasetId: string,
  abs: string,
  info: { size: number; mtimeMs: number },
  parallel: number,
  options: UploadOptions,
): Promise<UploadResult> {
  const { signal } = options;
  const { size } = info;
  const sha256 = await sha256File(abs, signal);
  const dsPath = `datasets/${id(datasetId, 'dataset id')}`;
  const stateFile = path.join(
    options.stateDir ?? defaultStateDir(),
    `${createHash('sha256').update(`multipart\0${datasetId}\0${abs}\0${sha256}`).digest('hex').slice(0, 32)}.json`,
  );
  const expect = { datasetId, file: abs, size, mtimeMs: info.mtimeMs, sha256 };
  let state = await loadState(stateFile, expect);
  let resumed = state !== undefined;
  if (!state && !options.replace) await refuseNameClash(ctx, datasetId, path.basename(abs), sha256, options);
  let sent = 0;
  let restarts = 0;
  const startOver = async (why: string) => {
    restarts += 1;
    ctx.events.emit({
      type: 'warning',
      message: `Upload of ${path.basename(abs)}: ${why}; starting it again`,
    });
    await unlink(stateFile).catch(() => undefined);
    state = undefined;
    resumed = false;
  };
  const handle = await open(abs, 'r');
  try {
    for (;;) {
      if (!state) {
        const init = await call(ctx, `${dsPath}/upload/initiate/multipart`, initiateMultipartSchema, {
          method: 'POST',
          json: { filename: path.basename(abs), size, sha256_hash: sha256 },
          ...requestOptions(options),
          idempotent: true,
        }).catch((error: unknown) => {
          if (ApiError.isInstance(error) && NOT_OFFERED.includes(error.status)) throw new NotOffered(sha256);
          throw error;
        });
        if (init.existing_file) {
          await unlink(stateFile).catch(() => undefined);
          return { file: init.existing_file, skipped: true, sent, resumed: false, sha256 };
        }
        const { upload_id: uploadId, access_token: token, bucket, object_prefix: prefix } = init;
        if (!uploadId || !token || !bucket || typeof prefix !== 'string') {
          throw new SciportError(
            'crucible: the multipart initiation answered neither an existing file nor storage credentials',
          );
        }
        registerSecret(token);
        registerSecret(uploadId);
        const host = storageHost(options.storageHost);
        const object = `${prefix}${path.basename(abs)}`;
        const xmlUploadId = await xmlInitiate(ctx, host, bucket, object, token, options);
        registerSecret(xmlUploadId);
        state = {
          kind: 'multipart',
          ...expect,
          uploadId,
          token,
          host,
          bucket,
          object,
          xmlUploadId,
          partSize: partSizeFor(size, init.chunk_size_hint),
        };
        await saveState(stateFile, state);
      } else {
        registerSecret(state.token);
        registerSecret(state.uploadId);
        registerSecret(state.xmlUploadId);
      }
      try {
        sent += await sendParts(ctx, handle, state, parallel, resumed, options);
      } catch (error) {
        if (!(error instanceof StorageGone) || restarts >= 2) throw unwrap(error);
        await startOver('storage refused the upload or its token (expired?)');
        continue;
      }
      try {
        const record: CrucibleFile = await complete(ctx, datasetId, state.uploadId, sha256, options);
        await unlink(stateFile).catch(() => undefined);
        return { file: record, skipped: false, sent, resumed, sha256 };
      } catch (error) {
        const startAgain =
          ApiError.isInstance(error) &&
          error.status >= 400 &&
          error.status < 500 &&
          ![401, 403, 429].includes(error.status);
        if (!startAgain || restarts >= 2) throw error;
        await startOver(`the server did not complete it (${(error as ApiError).status})`);
      }
    }
  } finally {
    await handle.close();
  }
}

function unwrap(error: unknown): unknown {
  return error instanceof StorageGone && error.cause !== undefined ? error.cause : error;
}

const objectUrl = (s: Pick<State, 'host' | 'bucket' | 'object'>) =>
  `${s.host}/${encodeURIComponent(s.bucket)}/${s.object.split('/').map(encodeURIComponent).join('/')}`;

/**
 * One storage call with the vended token (never the Crucible key: the storage client has no credentials),
 * retried alone on 429/5xx and dropped connections with core's backoff; 401/403/404 end the upload's session.
 */
async function storageCall(
  ctx: Context,
  url: string,
  token: string,
  init: { method: 'GET' | 'PUT' | 'POST' | 'DELETE'; body?: Uint8Array | string; contentType?: string },
  options: UploadOptions,
  acceptStatus?: readonly number[],
): Promise<HttpResponse> {
  const maxAttempts = options.maxAttempts ?? 6;
  for (let attempt = 0; ; attempt++) {
    try {
      return await ctx.storage.request(url, {
        method: init.method,
        ...(init.body !== undefined ? { body: init.body } : {}),
        headers: {
          authorization: `Bearer ${token}`,
          ...(init.contentType ? { 'content-type': init.contentType } : {}),
        },
        auth: false,
        maxRetries: 0,
        ...(acceptStatus ? { acceptStatus } : {}),
        timeout: options.timeout,
        signal: options.signal,
      });
    } catch (error) {
      if (options.signal?.aborted) throw new AbortError(undefined, { cause: error });
      if (ApiError.isInstance(error) && [401, 403, 404].includes(error.status))
        throw new StorageGone(undefined, { cause: error });
      const transient =
        ConnectionError.isInstance(error) ||
        (ApiError.isInstance(error) && (error.status === 429 || error.status >= 500));
      if (!transient || attempt + 1 >= maxAttempts) throw error;
      await sleep(backoffDelay(attempt, PART_BACKOFF), options.signal);
    }
  }
}

async function xmlInitiate(
  ctx: Context,
  host: string,
  bucket: string,
  object: string,
  token: string,
  options: UploadOptions,
): Promise<string> {
  const url = `${objectUrl({ host, bucket, object })}?uploads`;
  const response = await storageCall(ctx, url, token, { method: 'POST' }, options).catch((error) => {
    throw unwrap(error);
  });
  return parseXml(xmlInitiateSchema, response.text(), 'POST ?uploads').InitiateMultipartUploadResult.UploadId;
}

/** The parts storage holds (`GET ?uploadId=`, every page). */
async function listParts(
  ctx: Context,
  state: State,
  options: UploadOptions,
): Promise<Map<number, StoragePart>> {
  const parts = new Map<number, StoragePart>();
  let marker = 0;
  for (;;) {
    const url = `${objectUrl(state)}?uploadId=${encodeURIComponent(state.xmlUploadId)}${marker ? `&part-number-marker=${marker}` : ''}`;
    const text = (await storageCall(ctx, url, state.token, { method: 'GET' }, options)).text();
    const result = parseXml(xmlListPartsSchema, text, 'GET ?uploadId').ListPartsResult;
    for (const part of result.Part) parts.set(part.partNumber, part);
    const next = result.NextPartNumberMarker ?? 0;
    if (result.IsTruncated?.trim() !== 'true' || !(next > marker)) return parts;
    marker = next;
  }
}

/**
 * Sends the parts storage does not hold yet (all on a fresh upload; after listing on a resumed one), `parallel`
 * at a time, each read from disk by range into one of `parallel` reused buffers, then completes the XML upload.
 */
async function sendParts(
  ctx: Context,
  handle: FileHandle,
  state: State,
  parallel: number,
  resumed: boolean,
  options: UploadOptions,
): Promise<number> {
  const { size, partSize } = state;
  const count = Math.max(1, Math.ceil(size / partSize));
  const lengthOf = (n: number) => Math.min(partSize, size - (n - 1) * partSize);
  const etags = new Map<number, string>();
  if (resumed) {
    const listed = await listParts(ctx, state, options).catch((e: unknown) => e);
    // The upload gone but the object whole: an earlier process completed it (only Crucible's step is left).
    if (listed instanceof StorageGone && (await objectSize(ctx, state, options)) === size) return 0;
    if (!(listed instanceof Map)) throw listed;
    for (const [n, p] of listed as Map<number, StoragePart>)
      if (n <= count && p.size === lengthOf(n)) etags.set(n, p.etag);
  }
  let done = [...etags.keys()].reduce((sum, n) => sum + lengthOf(n), 0);
  const resumedFrom = done;
  const report = () =>
    options.onProgress?.(
      resumedFrom > 0
        ? { file: state.file, bytes: done, total: size, resumedFrom }
        : { file: state.file, bytes: done, total: size },
    );
  report();
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((n) => !etags.has(n));
  const free: Buffer[] = [];
  let sent = 0;
  await pMap(
    missing,
    async (n) => {
      const length = lengthOf(n);
      const buffer = free.pop() ?? Buffer.allocUnsafe(Math.min(partSize, size));
      try {
        await readRange(handle, buffer, length, (n - 1) * partSize, state.file);
        const url = `${objectUrl(state)}?partNumber=${n}&uploadId=${encodeURIComponent(state.xmlUploadId)}`;
        const response = await storageCall(
          ctx,
          url,
          state.token,
          { method: 'PUT', body: buffer.subarray(0, length), contentType: 'application/octet-stream' },
          options,
        );
        const etag = response.headers.get('etag');
        if (!etag) throw invalid(`PUT part ${n}`, 'ETag header: missing', '');
        etags.set(n, etag);
        sent += length;
        done += length;
        report();
      } finally {
        free.push(buffer);
      }
    },
    { concurrency: parallel, ...(options.signal ? { signal: options.signal } : {}) },
  );
  await completeXml(ctx, state, count, etags, options);
  return sent;
}

async function readRange(handle: FileHandle, buffer: Buffer, length: number, position: number, file: string) {
  let read = 0;
  while (read < length) {
    const { bytesRead } = await handle.read(buffer, read, length - read, position + read);
    if (bytesRead === 0) throw new IntegrityError(`${file} changed while it was being uploaded`);
    read += bytesRead;
  }
}

/**
 * `POST ?uploadId=` with the parts in ascending order. A 5xx or a dropped connection may hide a completion that
 * happened: the parts are listed (the upload gone means completed) and the object read before asking again.
 * The object's size is checked against the file's (its content is checked by Crucible's `complete`).
 */
async function completeXml(
  ctx: Context,
  state: State,
  count: number,
  etags: Map<number, string>,
  options: UploadOptions,
): Promise<void> {
  const body = `<CompleteMultipartUpload>${Array.from(
    { length: count },
    (_, i) =>
      `<Part><PartNumber>${i + 1}</PartNumber><ETag>${escapeXml(etags.get(i + 1) ?? '')}</ETag></Part>`,
  ).join('')}</CompleteMultipartUpload>`;
  const url = `${objectUrl(state)}?uploadId=${encodeURIComponent(state.xmlUploadId)}`;
  for (let attempt = 0; ; attempt++) {
    try {
      await storageCall(
        ctx,
        url,
        state.token,
        { method: 'POST', body, contentType: 'application/xml' },
        {
          ...options,
          maxAttempts: 1,
        },
      );
      break;
    } catch (error) {
      const lost = ConnectionError.isInstance(error) || (ApiError.isInstance(error) && error.status >= 500);
      if (!lost || attempt >= 3) throw error;
      // Completed after all? The upload is then gone (404 on the list) and the object is there.
      const listed = await listParts(ctx, state, options).then(
        () => 'open' as const,
        (e: unknown) => e,
      );
      if (listed instanceof StorageGone) {
        if ((await objectSize(ctx, state, options)) === state.size) return;
        throw listed;
      }
      if (listed !== 'open') throw listed;
      await sleep(backoffDelay(attempt, PART_BACKOFF), options.signal);
    }
  }
  const stored = await objectSize(ctx, state, options);
  if (stored !== state.size) {
    throw new IntegrityError(
      `Storage holds ${String(stored)} bytes of ${path.basename(state.file)}, the file has ${state.size}`,
      { expected: String(state.size), actual: String(stored), retryable: true },
    );
  }
}

/** The object's size from its JSON metadata, or undefined when there is no object. */
async function objectSize(ctx: Context, state: State, options: UploadOptions): Promise<number | undefined> {
  const url = `${state.host}/storage/v1/b/${encodeURIComponent(state.bucket)}/o/${encodeURIComponent(state.object)}`;
  try {
    const response = await storageCall(ctx, url, state.token, { method: 'GET' }, options);
    const parsed = storageObjectSchema.safeParse(response.json());
    if (!parsed.success) throw invalid('GET object metadata', parsed.error.message, response.text());
    return parsed.data.size;
  } catch (error) {
    if (error instanceof StorageGone) return undefined;
    throw error;
  }
}

function invalid(endpoint: string, message: string, body: string): ResponseValidationError {
  return new ResponseValidationError({
    service: 'storage',
    endpoint,
    issues: [{ path: '', message }],
    body,
  });
}

/**
 * The parser of the storage's XML answers. A well-kept library (fast-xml-parser) rather than tag extraction by
 * hand: it copes with what GCS, its emulators and proxies may send and a regex would not (XML declarations,
 * namespaces, CDATA, entities named or numeric — ETags come quoted as `"`, `&quot;` or `&#34;` —, attributes,
 * whitespace, nesting), and it ignores elements we do not read. Tolerant on purpose: tag values stay strings
 * (an upload id or ETag is never turned into a number), a single `<Part>` is still a list, and the shape is
 * then checked with zod (schemas/multipart.ts), so a wrong answer is a {@link ResponseValidationError}.
 */
const xmlParser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  removeNSPrefix: true,
  htmlEntities: true,
  isArray: (_name, jpath) => jpath === 'ListPartsResult.Part',
});

/** Parses and validates one XML answer (exported for the tests); a wrong one is a ResponseValidationError. */
export function parseXml<T>(schema: z.ZodType<T>, text: string, endpoint: string): T {
  let tree: unknown;
  try {
    tree = xmlParser.parse(text);
  } catch (error) {
    throw invalid(endpoint, `not XML: ${error instanceof Error ? error.message : String(error)}`, text);
  }
  const parsed = schema.safeParse(tree);
  if (!parsed.success) throw invalid(endpoint, parsed.error.message, text);
  return parsed.data;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const loadState = (
  file: string,
  expect: Pick<State, 'datasetId' | 'file' | 'size' | 'mtimeMs' | 'sha256'>,
): Promise<State | undefined> => loadKeptState(file, stateSchema, expect);

const saveState = (file: string, state: State): Promise<void> => saveKeptState(file, state);
