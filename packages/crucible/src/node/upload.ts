import { createHash } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import {
  AbortError,
  ApiError,
  backoffDelay,
  ConnectionError,
  type HttpClient,
  IntegrityError,
  type RequestOptions,
  registerSecret,
  requestOptions,
  resolveRetryOptions,
  SciportError,
  sleep,
  UsageError,
} from '@sciport/core';
import { sha256File, writeFileAtomic } from '@sciport/core/node';
import { z } from 'zod';
import { UploadStalledError } from '../crucible-error.js';
import { type Context, call, id } from '../internal/context.js';
import { listFiles } from '../resources/files.js';
import { type CrucibleFile, fileSchema, initiateUploadSchema } from '../schemas/files.js';

/** GCS resumable uploads take chunks in multiples of 256 KiB (all but the last). */
export const CHUNK_QUANTUM = 256 * 1024;
const DEFAULT_CHUNK = 8 * 1024 * 1024;
const MAX_CHUNK = 32 * 1024 * 1024;
/** Rounds in a row that storage may answer 308 without persisting anything new before the upload stops. */
export const MAX_STALLED_ROUNDS = 5;
/** The waits between such rounds: full jitter up to 250 ms, 500 ms, 1 s, 2 s (core's backoff). */
const STALL_BACKOFF = resolveRetryOptions({ baseDelayMs: 250, maxDelayMs: 4000 });
/** The v1 direct upload's practical ceiling (the reference switches path at 1e8 bytes). */
export const V1_UPLOAD_LIMIT = 100_000_000;

export interface UploadProgress {
  file: string;
  /** Bytes the server has persisted. */
  bytes: number;
  total: number;
  /** Set when an interrupted upload is being resumed: the bytes storage already held when it went on. */
  resumedFrom?: number;
}

export interface UploadOptions extends RequestOptions {
  /** Chunk size in bytes (a multiple of 256 KiB; default: the server's hint, else 8 MiB; at most 32 MiB). */
  chunkSize?: number;
  /** Folder keeping interrupted upload sessions, so a killed process resumes (default `~/.cache/sciport/uploads`). */
  stateDir?: string;
  onProgress?: (progress: UploadProgress) => void;
  /** Attempts per chunk before giving up (default 6). */
  maxAttempts?: number;
  /** API v1 only: files of this size or more are refused before sending (default 100 MB, the server's limit). */
  v1Limit?: number;
  /**
   * v2: upload even when the dataset already has a file of this name with other bytes. The server then keeps
   * both records but, after ingestion, one stored object: the older record would serve the new bytes (spec
   * §17.1), so by default such an upload is refused.
   */
  replace?: boolean;
  /** v2, files of `multipartThreshold` bytes or more (default 32 MiB): parts in flight at once (default 4). */
  parallel?: number;
  /** v2: the size from which the multipart upload is tried, when the server offers it (default 32 MiB). */
  multipartThreshold?: number;
  /** v2: `false` always uses the single-stream upload. */
  multipart?: boolean;
  /** Storage host of multipart uploads (default `STORAGE_EMULATOR_HOST`, else `https://storage.googleapis.com`). */
  storageHost?: string;
}

export interface UploadResult {
  file: CrucibleFile;
  /** The server already had these bytes (same SHA-256): nothing was sent. */
  skipped: boolean;
  /** Bytes this call sent. */
  sent: number;
  /** Whether an earlier interrupted session was resumed. */
  resumed: boolean;
  sha256: string;
}

const sessionSchema = z.object({
  datasetId: z.string(),
  file: z.string(),
  size: z.number(),
  mtimeMs: z.number(),
  sha256: z.string(),
  uploadId: z.string(),
  uri: z.string(),
  chunkSize: z.number(),
});
type Session = z.infer<typeof sessionSchema>;

export function defaultStateDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(base, 'sciport', 'uploads');
}

function alignChunk(wanted: number): number {
  const clamped = Math.min(MAX_CHUNK, Math.max(CHUNK_QUANTUM, wanted));
  return Math.floor(clamped / CHUNK_QUANTUM) * CHUNK_QUANTUM;
}

/** `Range: bytes=0-n` → n + 1; absent → 0 (nothing persisted yet). */
export function persistedFrom(range: string | null): number {
  if (!range) return 0;
  const m = /bytes=(\d+)-(\d+)/.exec(range);
  return m ? Number(m[2]) + 1 : 0;
}

class SessionGone extends Error {}

/**
 * Uploads one file into a dataset with API v2's signed, resumable upload (spec §17.1): hash (streamed), initiate
 * (skipped when the server already has a file with this SHA-256), chunks of a multiple of 256 KiB with
 * `Content-Range`, each continuing from what the server says it *persisted* (the `Range` of its 308), a probe
 * and a resume after any failure, and `complete`, whose SHA-256 check the server makes. The session is kept on
 * disk (mode 0600) until completion, so a killed process resumes from the committed offset. Memory stays at
 * one chunk.
 */
export async function uploadResumable(
  ctx: Context,
  datasetId: string,
  file: string,
  options: UploadOptions = {},
  /** The file's SHA-256 when the caller computed it already (the multipart fallback): not hashed twice. */
  knownSha256?: string,
): Promise<UploadResult> {
  const signal = options.signal;
  const abs = path.resolve(file);
  const info = await stat(abs).catch(() => {
    throw new UsageError(`No such file: ${abs}`);
  });
  if (!info.isFile()) throw new UsageError(`Not a file: ${abs}`);
  const size = info.size;
  const sha256 = knownSha256 ?? (await sha256File(abs, signal));
  const dsPath = `datasets/${id(datasetId, 'dataset id')}`;
  const stateDir = options.stateDir ?? defaultStateDir();
  const stateFile = path.join(
    stateDir,
    `${createHash('sha256').update(`${datasetId}\0${abs}\0${sha256}`).digest('hex').slice(0, 32)}.json`,
  );

  let session = await loadSession(stateFile, { datasetId, file: abs, size, mtimeMs: info.mtimeMs, sha256 });
  let resumed = session !== undefined;
  if (!session && !options.replace)
    await refuseNameClash(ctx, datasetId, path.basename(abs), sha256, options);
  let sent = 0;
  let restarts = 0;
  let record: CrucibleFile;
  const startOver = async (why: string) => {
    restarts += 1;
    ctx.events.emit({
      type: 'warning',
      message: `Upload of ${path.basename(abs)}: ${why}; starting it again`,
    });
    await unlink(stateFile).catch(() => undefined);
    session = undefined;
    resumed = false;
  };
  const handle = await open(abs, 'r');
  try {
    for (;;) {
      if (!session) {
        const init = await call(ctx, `${dsPath}/upload/initiate`, initiateUploadSchema, {
          method: 'POST',
          json: { filename: path.basename(abs), size, sha256_hash: sha256 },
          ...requestOptions(options),
          // Initiating twice for the same bytes yields the same dedup answer or a fresh session: harmless.
          idempotent: true,
        });
        if (init.existing_file) {
          await unlink(stateFile).catch(() => undefined);
          return { file: init.existing_file, skipped: true, sent, resumed: false, sha256 };
        }
        if (!init.upload_id || !init.resumable_uri) {
          throw new SciportError(
            'crucible: the upload initiation answered neither an existing file nor an upload session',
          );
        }
        registerSecret(init.resumable_uri);
        registerSecret(init.upload_id);
        session = {
          datasetId,
          file: abs,
          size,
          mtimeMs: info.mtimeMs,
          sha256,
          uploadId: init.upload_id,
          uri: init.resumable_uri,
          chunkSize: alignChunk(options.chunkSize ?? init.chunk_size_hint ?? DEFAULT_CHUNK),
        };
        await saveSession(stateFile, session);
      } else {
        registerSecret(session.uri);
        registerSecret(session.uploadId);
      }
      try {
        sent += await sendChunks(ctx.storage, handle, session, options, resumed);
      } catch (error) {
        if (!(error instanceof SessionGone) || restarts >= 2) throw error;
        await startOver('the upload session expired or was cancelled');
        continue;
      }
      try {
        record = await complete(ctx, datasetId, session.uploadId, sha256, options);
        break;
      } catch (error) {
        // A 4xx from `complete` (unknown upload, not finished, hash mismatch) means: start over (spec §17.1).
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
  await unlink(stateFile).catch(() => undefined);
  return { file: record, skipped: false, sent, resumed, sha256 };
}

/**
 * Refuses to upload `name` with other bytes than a file of the same name the dataset already has: after
 * ingestion both records would point at one stored object (spec §17.1). Same bytes are fine (de-duplicated).
 */
export async function refuseNameClash(
  ctx: Context,
  datasetId: string,
  name: string,
  sha256: string,
  options: RequestOptions,
): Promise<void> {
  const list = await listFiles(ctx, datasetId, options);
  const clash = list.find(
    (f) =>
      path.posix.basename(f.filename.replace(/\\/g, '/')) === name &&
      typeof f.sha256Hash === 'string' &&
      f.sha256Hash.toLowerCase() !== sha256,
  );
  if (clash) {
    throw new UsageError(
      `The dataset already has a file named ${name} with other content${clash.mfid ? ` (${clash.mfid})` : ''}`,
      {
        hint: 'Rename the file, or upload it with `replace` (CLI: --replace) knowing that the older record will then serve the new bytes',
      },
    );
  }
}

async function sendChunks(
  storage: HttpClient,
  handle: FileHandle,
  session: Session,
  options: UploadOptions,
  resumed: boolean,
): Promise<number> {
  const { size, uri } = session;
  const signal = options.signal;
  const maxAttempts = options.maxAttempts ?? 6;
  let sent = 0;
  let offset = 0;
  if (resumed) {
    const probed = await probe(storage, uri, size, options);
    if (probed === 'done') return 0;
    offset = probed;
  }
  const resumedFrom = offset;
  const progress = (bytes: number) =>
    options.onProgress?.(
      resumedFrom > 0
        ? { file: session.file, bytes, total: size, resumedFrom }
        : { file: session.file, bytes, total: size },
    );
  const buffer = Buffer.allocUnsafe(Math.min(session.chunkSize, Math.max(size, 1)));
  let failures = 0;
  // Rounds in a row in which storage answered 308 without persisting more than before: bounded, with backoff.
  let best = offset;
  let stalled = 0;
  while (offset < size || size === 0) {
    const length = Math.min(session.chunkSize, size - offset);
    let read = 0;
    while (read < length) {
      const { bytesRead } = await handle.read(buffer, read, length - read, offset + read);
      if (bytesRead === 0) throw new IntegrityError(`${session.file} changed while it was being uploaded`);
      read += bytesRead;
    }
    const last = offset + length - 1;
    try {
      const response = await storage.request(uri, {
        method: 'PUT',
        body: buffer.subarray(0, length),
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': size === 0 ? 'bytes */0' : `bytes ${offset}-${last}/${size}`,
        },
        acceptStatus: [308],
        auth: false,
        // A chunk is not blindly resent: the probe below says where to go on from.
        maxRetries: 0,
        timeout: options.timeout,
        signal,
      });
      sent += length;
      failures = 0;
      if (response.status === 308) {
        offset = persistedFrom(response.headers.get('range'));
        progress(offset);
        if (offset > best) {
          best = offset;
          stalled = 0;
        } else {
          stalled += 1;
          if (stalled >= MAX_STALLED_ROUNDS) {
            throw new UploadStalledError({
              file: path.basename(session.file),
              persisted: offset,
              size,
              rounds: stalled,
            });
          }
          await sleep(backoffDelay(stalled - 1, STALL_BACKOFF), signal);
        }
        continue;
      }
      progress(size);
      return sent;
    } catch (error) {
      if (signal?.aborted) throw new AbortError(undefined, { cause: error });
      if (ApiError.isInstance(error) && (error.status === 404 || error.status === 410))
        throw new SessionGone();
      const transient =
        ConnectionError.isInstance(error) ||
        (ApiError.isInstance(error) && (error.status === 429 || error.status >= 500));
      failures += 1;
      if (!transient || failures >= maxAttempts) throw error;
      await sleep(Math.min(30_000, 500 * 2 ** failures), signal);
      const probed = await probe(storage, uri, size, options);
      if (probed === 'done') return sent;
      offset = probed;
      progress(offset);
    }
  }
  return sent;
}

/** `PUT` with `Content-Range: bytes *\/size`: how much the server holds, or `done`. */
async function probe(
  storage: HttpClient,
  uri: string,
  size: number,
  options: RequestOptions,
): Promise<number | 'done'> {
  const signal = options.signal;
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await storage.request(uri, {
        method: 'PUT',
        body: new Uint8Array(),
        headers: { 'content-range': `bytes */${size}` },
        acceptStatus: [308],
        auth: false,
        maxRetries: 2,
        timeout: options.timeout,
        signal,
      });
      return response.status === 308 ? persistedFrom(response.headers.get('range')) : 'done';
    } catch (error) {
      if (ApiError.isInstance(error) && (error.status === 404 || error.status === 410))
        throw new SessionGone();
      if (signal?.aborted || attempt >= 4) throw error;
      await sleep(1000 * 2 ** attempt, signal);
    }
  }
}

/**
 * `POST …/upload/complete`. Its answer can be lost after the server acted: then the file is looked up by its
 * SHA-256 before asking again.
 */
export async function complete(
  ctx: Context,
  datasetId: string,
  uploadId: string,
  sha256: string,
  options: RequestOptions,
): Promise<CrucibleFile> {
  const signal = options.signal;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call(ctx, `datasets/${id(datasetId, 'dataset id')}/upload/complete`, fileSchema, {
        method: 'POST',
        json: { upload_id: uploadId, sha256_hash: sha256 },
        ...requestOptions(options),
        maxRetries: 0,
      });
    } catch (error) {
      if (!ConnectionError.isInstance(error) && !(ApiError.isInstance(error) && error.status >= 500))
        throw error;
      const files = await listFiles(ctx, datasetId, options).catch(() => null);
      const found = files?.find((f) => f.sha256Hash?.toLowerCase() === sha256);
      if (found) return found;
      if (attempt >= 3) throw error;
      await sleep(1000 * 2 ** attempt, signal);
    }
  }
}

/** What a kept upload state must match to be resumed: the same dataset, file, size, mtime and content. */
export type KeptStateKey = { datasetId: string; file: string; size: number; mtimeMs: number; sha256: string };

/** A kept upload state (single stream or multipart) when it is readable, valid and for this very file. */
export async function loadKeptState<T extends KeptStateKey>(
  file: string,
  schema: z.ZodType<T>,
  expect: KeptStateKey,
): Promise<T | undefined> {
  try {
    const kept = schema.parse(JSON.parse(await readFile(file, 'utf8')));
    const same =
      kept.datasetId === expect.datasetId &&
      kept.file === expect.file &&
      kept.size === expect.size &&
      kept.mtimeMs === expect.mtimeMs &&
      kept.sha256 === expect.sha256;
    return same ? kept : undefined;
  } catch {
    return undefined;
  }
}

/** Saves a kept upload state, mode 0600: it holds a capability (a session URI or a storage token). */
export async function saveKeptState(file: string, state: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, JSON.stringify(state), { mode: 0o600 });
}

const loadSession = (
  file: string,
  expect: Pick<Session, 'datasetId' | 'file' | 'size' | 'mtimeMs' | 'sha256'>,
): Promise<Session | undefined> => loadKeptState(file, sessionSchema, expect);

const saveSession = (file: string, session: Session): Promise<void> => saveKeptState(file, session);

/**
 * API v1's direct upload: `POST …/upload`, multipart, field `files`, one file per request, streamed from disk.
 * Files over the direct upload's limit are refused up front (v1 has no other path for ordinary users).
 */
export async function uploadMultipart(
  ctx: Context,
  datasetId: string,
  file: string,
  options: RequestOptions & { v1Limit?: number } = {},
): Promise<UploadResult> {
  const abs = path.resolve(file);
  const info = await stat(abs).catch(() => {
    throw new UsageError(`No such file: ${abs}`);
  });
  const limit = options.v1Limit ?? V1_UPLOAD_LIMIT;
  if (info.size >= limit) {
    throw new UsageError(
      `${path.basename(abs)} is ${info.size} bytes: API v1 takes direct uploads below ${limit} bytes`,
      { hint: 'Use the v2 API (CRUCIBLE_API_URL=…/api/v2), whose uploads are resumable and unlimited' },
    );
  }
  const sha256 = await sha256File(abs, options.signal);
  const form = new FormData();
  form.append('files', await openAsBlob(abs, { type: 'application/octet-stream' }), path.basename(abs));
  let answer: unknown;
  try {
    answer = await call(ctx, `datasets/${id(datasetId, 'dataset id')}/upload`, z.unknown(), {
      method: 'POST',
      body: form,
      ...requestOptions(options),
    });
  } catch (error) {
    if (ApiError.isInstance(error) && error.status === 413) {
      throw new UsageError(`${path.basename(abs)} is too large for the v1 direct upload (413)`, {
        hint: 'Use the v2 API, whose uploads are resumable',
      });
    }
    throw error;
  }
  const record = fileSchema.safeParse(Array.isArray(answer) ? answer[0] : answer);
  const file1: CrucibleFile = record.success
    ? record.data
    : fileSchema.parse({
        filename: `api-uploads/${path.basename(abs)}`,
        size: info.size,
        sha256_hash: sha256,
      });
  if (file1.sha256Hash && file1.sha256Hash.toLowerCase() !== sha256) {
    throw new IntegrityError(`The server's SHA-256 of ${path.basename(abs)} differs from the file's`, {
      expected: sha256,
      actual: file1.sha256Hash,
      retryable: true,
    });
  }
  return { file: file1, skipped: false, sent: info.size, resumed: false, sha256 };
}
