import {
  AbortError,
  ApiError,
  ConnectionError,
  NotFoundError,
  SciportError,
  sleep,
  UsageError,
} from '@sciport/core';
import { z } from 'zod';
import { body, type CallOptions, type Context, call, clean, getRecord, id } from '../context.js';
import {
  type CrucibleFile,
  type CrucibleRequest,
  downloadLinkSchema,
  fileSchema,
  PENDING_STATUSES,
  requestSchema,
  SUCCESS_STATUSES,
} from '../schemas.js';

export interface WaitForRequestOptions extends CallOptions {
  /** Give up after this long (default 30 minutes). */
  maxWaitTime?: number;
  /** First delay between polls (default 1 s); it grows to `maxDelay`. */
  minDelay?: number;
  /** Longest delay between polls (default 10 s). */
  maxDelay?: number;
  onStatus?: (request: CrucibleRequest) => void;
}

/** How a request ended. */
export interface RequestOutcome {
  request: CrucibleRequest;
  /** `complete` (or `completed`). */
  succeeded: boolean;
  /** The terminal status, lower-cased. */
  status: string;
}

/** A request still pending when the deadline came. */
export class RequestTimeoutError extends SciportError {
  static override readonly kind: string = 'RequestTimeoutError';
  override readonly code: string = 'request_timeout';
  readonly request: CrucibleRequest;

  constructor(request: CrucibleRequest, waitedMs: number) {
    super(
      `Crucible request ${request.id} is still "${request.status}" after ${Math.round(waitedMs / 1000)} s` +
        (request.status === 'requested' ? ' (no worker has picked it up)' : ''),
      { retryable: true, hint: `Check later with \`sciport crucible wait ${request.id}\`` },
    );
    this.request = request;
  }
}

/** A request that ended in a status other than `complete`. */
export class RequestFailedError extends SciportError {
  static override readonly kind: string = 'RequestFailedError';
  override readonly code: string = 'request_failed';
  readonly request: CrucibleRequest;

  constructor(request: CrucibleRequest) {
    super(
      `Crucible request ${request.id} ended "${request.status}"${request.error_message ? `: ${request.error_message}` : ''}`,
    );
    this.request = request;
  }
}

/** Processing requests: ingestion (per dataset on v1, per file on v2) and, on v1, SciCat updates. */
export class Requests {
  constructor(private readonly ctx: Context) {}

  /**
   * Asks the server to ingest an uploaded file. v2: by file MFID; v1: by dataset id and the bucket-relative
   * `fileToUpload` (`api-uploads/<name>`).
   */
  async ingest(
    target: { fileId: string } | { datasetId: string; fileToUpload?: string },
    options: CallOptions & { ingestionClass?: string } = {},
  ): Promise<CrucibleRequest> {
    const query = { ingestion_class: options.ingestionClass };
    if ('fileId' in target) {
      if (this.ctx.version !== 'v2')
        throw new UsageError('Ingestion by file needs API v2; on v1 give the dataset');
      return call(this.ctx, `files/${id(target.fileId, 'file id')}/ingest`, requestSchema, {
        method: 'POST',
        query: clean(query),
        signal: options.signal,
      });
    }
    if (this.ctx.version === 'v2') throw new UsageError('On API v2, ingestion is per file: give the file id');
    const dsPath = `datasets/${id(target.datasetId, 'dataset id')}`;
    // Without a file, the dataset's own `file_to_upload` (set at creation) is what the worker should read.
    let fileToUpload = target.fileToUpload;
    if (fileToUpload === undefined) {
      const dataset = await getRecord(
        this.ctx,
        dsPath,
        z.looseObject({ file_to_upload: z.string().nullable().optional() }),
        `dataset ${target.datasetId}`,
        { signal: options.signal },
      );
      fileToUpload = dataset.file_to_upload ?? undefined;
    }
    return call(this.ctx, `${dsPath}/ingest`, requestSchema, {
      method: 'POST',
      query: clean({ ...query, file_to_upload: fileToUpload }),
      signal: options.signal,
    });
  }

  /** Asks for a SciCat update (API v1 only: SciCat is gone from v2). */
  async scicatUpdate(
    datasetId: string,
    options: CallOptions & { overwrite?: boolean } = {},
  ): Promise<CrucibleRequest> {
    if (this.ctx.version === 'v2')
      throw new UsageError('SciCat updates were removed from the Crucible API in v2');
    return call(this.ctx, `datasets/${id(datasetId, 'dataset id')}/scicat_update`, requestSchema, {
      method: 'POST',
      query: options.overwrite ? { overwrite_data: true } : {},
      signal: options.signal,
    });
  }

  /** One request's state. v1 needs the dataset (and the kind) to find it. */
  async get(
    requestId: number,
    options: CallOptions & { datasetId?: string; kind?: 'ingest' | 'scicat' } = {},
  ): Promise<CrucibleRequest> {
    if (!Number.isSafeInteger(requestId) || requestId < 0)
      throw new UsageError(`Not a request id: ${requestId}`);
    const path =
      this.ctx.version === 'v2'
        ? `ingestion_requests/${requestId}`
        : options.datasetId
          ? `datasets/${id(options.datasetId, 'dataset id')}/${options.kind === 'scicat' ? 'scicat_update' : 'ingest'}/${requestId}`
          : undefined;
    if (!path) throw new UsageError('On API v1, waiting for a request needs its dataset id');
    return getRecord(this.ctx, path, requestSchema, `request ${requestId}`, options);
  }

  /**
   * Waits until a request leaves the pending states (`requested`, `started`, `in_progress`): polls with
   * backoff (1 s growing to 10 s, jittered), retries transient failures, and returns the terminal state.
   * Every status that is not pending is terminal, including ones this client does not know.
   *
   * @throws RequestTimeoutError when the deadline comes first.
   */
  async wait(
    requestId: number,
    options: WaitForRequestOptions & { datasetId?: string; kind?: 'ingest' | 'scicat' } = {},
  ): Promise<RequestOutcome> {
    const started = Date.now();
    const deadline = started + (options.maxWaitTime ?? 30 * 60_000);
    let delay = options.minDelay ?? 1000;
    const maxDelay = options.maxDelay ?? 10_000;
    let last: CrucibleRequest | undefined;
    for (;;) {
      let request: CrucibleRequest;
      try {
        request = await this.get(requestId, options);
      } catch (error) {
        // A poll that fails for a passing reason (network, 5xx, 429, after the client's own retries) does not
        // end the wait: the request goes on on the server. Anything else (404, 403, abort) does.
        const transient =
          ConnectionError.isInstance(error) || (ApiError.isInstance(error) && error.retryable);
        if (!transient || signalAborted(options.signal)) throw error;
        const now = Date.now();
        if (now >= deadline) {
          if (last) throw new RequestTimeoutError(last, now - started);
          throw error;
        }
        this.ctx.emit({
          type: 'warning',
          message: `Polling request ${requestId} failed (${(error as Error).message}); trying again`,
        });
        await pauseFor(Math.min(delay, deadline - now), options.signal);
        delay = Math.min(maxDelay, delay * 1.6);
        continue;
      }
      last = request;
      options.onStatus?.(request);
      this.ctx.emit({ type: 'request-status', id: request.id, status: request.status });
      const status = request.status.trim().toLowerCase();
      if (!PENDING_STATUSES.has(status)) return { request, succeeded: SUCCESS_STATUSES.has(status), status };
      const now = Date.now();
      if (now >= deadline) throw new RequestTimeoutError(request, now - started);
      await pauseFor(Math.min(delay * (0.8 + Math.random() * 0.4), deadline - now), options.signal);
      delay = Math.min(maxDelay, delay * 1.6);
    }
  }

  /** Names of the server's ingestion classes (v2). */
  async ingestors(options: CallOptions = {}): Promise<string[]> {
    return (await call(this.ctx, 'ingestors', z.array(z.string()).nullable(), options)) ?? [];
  }
}

/** File records and download links. */
export class Files {
  constructor(private readonly ctx: Context) {}

  /** The dataset's files (v2: ingested and pending; v1: associated files). */
  async list(datasetId: string, options: CallOptions = {}): Promise<CrucibleFile[]> {
    const path =
      this.ctx.version === 'v2'
        ? `datasets/${id(datasetId, 'dataset id')}/files`
        : `datasets/${id(datasetId, 'dataset id')}/associated_files`;
    const files = await call(
      this.ctx,
      path,
      z.union([z.array(fileSchema), z.looseObject({ items: z.array(fileSchema) })]).nullable(),
      options,
    );
    return files === null ? [] : Array.isArray(files) ? files : files.items;
  }

  /**
   * Records a file without sending its bytes (the reference client's `add_associated_file`). v1:
   * `POST /datasets/{id}/associated_files {filename, size, sha256_hash}`; v2, only for files kept outside
   * Crucible's storage: `POST /datasets/{id}/files` with a `storageBackend` other than `gcs` (files in Crucible's
   * storage are recorded by their upload).
   */
  async addRecord(
    datasetId: string,
    record: {
      filename: string;
      size?: number;
      sha256?: string;
      storageBackend?: string;
      accessNote?: string;
    },
    options: CallOptions = {},
  ): Promise<CrucibleFile> {
    if (!record.filename?.trim()) throw new UsageError('A file record needs a filename');
    if (record.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(record.sha256))
      throw new UsageError('sha256 must be 64 hexadecimal characters');
    const dsPath = `datasets/${id(datasetId, 'dataset id')}`;
    if (this.ctx.version === 'v1') {
      return call(this.ctx, `${dsPath}/associated_files`, fileSchema, {
        method: 'POST',
        json: body({
          filename: record.filename,
          size: record.size,
          sha256_hash: record.sha256?.toLowerCase(),
        }),
        signal: options.signal,
      });
    }
    if (!record.storageBackend || record.storageBackend === 'gcs') {
      throw new UsageError(
        'On API v2 a file in Crucible storage is recorded by uploading it; a catalogue-only record needs a storageBackend other than "gcs" (e.g. "globus")',
      );
    }
    return call(this.ctx, `${dsPath}/files`, fileSchema, {
      method: 'POST',
      json: body({
        filename: record.filename,
        storage_backend: record.storageBackend,
        size: record.size,
        sha256_hash: record.sha256?.toLowerCase(),
        access_note: record.accessNote,
      }),
      signal: options.signal,
    });
  }

  async get(fileId: string, options: CallOptions = {}): Promise<CrucibleFile> {
    if (this.ctx.version !== 'v2') throw new UsageError('File records by id need API v2');
    return getRecord(this.ctx, `files/${id(fileId, 'file id')}`, fileSchema, `file ${fileId}`, options);
  }

  /**
   * Signed download links of a dataset's ingested files: v2 keys them by file MFID, v1 by
   * `<dataset id>/<path>`. Values that are not https URLs (a `{"detail": …}` some servers send with 200)
   * are left out; no ingested file at all is an empty object.
   */
  async links(datasetId: string, options: CallOptions = {}): Promise<Record<string, string>> {
    let raw: Record<string, unknown> | null;
    try {
      raw = await call(
        this.ctx,
        `datasets/${id(datasetId, 'dataset id')}/download_links`,
        z.record(z.string(), z.unknown()).nullable(),
        options,
      );
    } catch (error) {
      if (NotFoundError.isInstance(error)) {
        // v2 answers 404 when the dataset has no ingested file (and some v1 servers do); a missing dataset is
        // told apart by the callers that need to (`downloadDataset` reads the dataset then).
        return {};
      }
      throw error;
    }
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(raw ?? {})) {
      if (typeof value === 'string' && /^https?:\/\//.test(value)) out[key] = value;
    }
    return out;
  }

  /** One file's signed link (v2; 404 until the file is ingested). */
  async link(
    fileId: string,
    options: CallOptions = {},
  ): Promise<{ url: string; expiresIn: number | undefined }> {
    if (this.ctx.version !== 'v2') throw new UsageError('Links by file need API v2');
    const link = await call(
      this.ctx,
      `files/${id(fileId, 'file id')}/download_link`,
      downloadLinkSchema,
      options,
    );
    return { url: link.url, expiresIn: link.expires_in ?? undefined };
  }
}

function signalAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

async function pauseFor(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, signal);
  } catch {
    throw new AbortError(undefined, { cause: signal?.reason });
  }
}
