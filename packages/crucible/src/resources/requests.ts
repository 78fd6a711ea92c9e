import {
  ApiError,
  ConnectionError,
  type ListOptions,
  type PageIterable,
  type RequestOptions,
  requestOptions,
  singlePage,
  UsageError,
  type WaitOptions,
  WaitTimeoutError,
  waitFor,
} from '@sciport/core';
import { z } from 'zod';
import { RequestTimeoutError } from '../crucible-error.js';
import { type Context, call, clean, getRecord, id } from '../internal/context.js';

import { itemsOf } from '../schemas/common.js';
import {
  type CrucibleRequest,
  PENDING_STATUSES,
  requestSchema,
  SUCCESS_STATUSES,
} from '../schemas/requests.js';

/** Which request, on v1 (where requests are found through their dataset). */
export interface RequestLookup {
  /** v1: the request's dataset. */
  datasetId?: string;
  /** v1: an ingestion (default) or a SciCat update. */
  kind?: 'ingest' | 'scicat';
}

/** Options of `requests.wait`: core's `WaitOptions` (and per-poll `RequestOptions`), plus what to report. */
export interface WaitForRequestOptions extends WaitOptions, RequestOptions, RequestLookup {
  /** Give up after this long, in ms (default 30 minutes). */
  maxWaitTime?: number | undefined;
  /** The first pause between polls, in ms (default 1000); it grows to `maxPollInterval`. */
  pollInterval?: number | undefined;
  /** The longest pause between polls, in ms (default 10 000). */
  maxPollInterval?: number | undefined;
  /** Called with every state polled. */
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

/** Processing requests: ingestion (per dataset on v1, per file on v2) and, on v1, SciCat updates. */
export class Requests {
  constructor(protected readonly ctx: Context) {}

  /**
   * Asks the server to ingest an uploaded file. v2: by file MFID; v1: by dataset id and the bucket-relative
   * `fileToUpload` (`api-uploads/<name>`).
   */
  async ingest(
    target: { fileId: string } | { datasetId: string; fileToUpload?: string },
    options: RequestOptions & { ingestionClass?: string } = {},
  ): Promise<CrucibleRequest> {
    const query = { ingestion_class: options.ingestionClass };
    if ('fileId' in target) {
      if (this.ctx.version !== 'v2')
        throw new UsageError('Ingestion by file needs API v2; on v1 give the dataset');
      return call(this.ctx, `files/${id(target.fileId, 'file id')}/ingest`, requestSchema, {
        method: 'POST',
        query: clean(query),
        ...requestOptions(options),
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
        requestOptions(options),
      );
      fileToUpload = dataset.file_to_upload ?? undefined;
    }
    return call(this.ctx, `${dsPath}/ingest`, requestSchema, {
      method: 'POST',
      query: clean({ ...query, file_to_upload: fileToUpload }),
      ...requestOptions(options),
    });
  }

  /** Asks for a SciCat update (API v1 only: SciCat is gone from v2). */
  async scicatUpdate(
    datasetId: string,
    options: RequestOptions & { overwrite?: boolean } = {},
  ): Promise<CrucibleRequest> {
    if (this.ctx.version === 'v2')
      throw new UsageError('SciCat updates were removed from the Crucible API in v2');
    return call(this.ctx, `datasets/${id(datasetId, 'dataset id')}/scicat_update`, requestSchema, {
      method: 'POST',
      query: options.overwrite ? { overwrite_data: true } : {},
      ...requestOptions(options),
    });
  }

  /** One request's state. v1 needs the dataset (and the kind) to find it. */
  async get(requestId: number, options: RequestOptions & RequestLookup = {}): Promise<CrucibleRequest> {
    if (!Number.isSafeInteger(requestId) || requestId < 0)
      throw new UsageError(`Not a request id: ${requestId}`);
    const path =
      this.ctx.version === 'v2'
        ? `ingestion_requests/${requestId}`
        : options.datasetId
          ? `datasets/${id(options.datasetId, 'dataset id')}/${options.kind === 'scicat' ? 'scicat_update' : 'ingest'}/${requestId}`
          : undefined;
    if (!path) throw new UsageError('On API v1, waiting for a request needs its dataset id');
    return getRecord(this.ctx, path, requestSchema, `request ${requestId}`, requestOptions(options));
  }

  /**
   * Waits until a request leaves the pending states (`requested`, `started`, `in_progress`) with core's
   * `waitFor`: polls with growing, jittered pauses (1 s growing to 10 s), rides out polls that fail for a
   * passing reason (network, 5xx, 429, after the client's own retries) with a `warning` event each, and returns
   * the terminal state. Every status that is not pending is terminal, including ones this client does not know.
   * Each state polled is reported to `onStatus` and as a `request-status` event. On v1 pass the request's
   * `datasetId` (and `kind: 'scicat'` for SciCat requests).
   *
   * @throws RequestTimeoutError when the deadline comes first (a poll's own error when none ever succeeded).
   */
  async wait(requestId: number, options: WaitForRequestOptions = {}): Promise<RequestOutcome> {
    let last: CrucibleRequest | undefined;
    const lookup = {
      ...requestOptions(options),
      ...(options.datasetId ? { datasetId: options.datasetId } : {}),
      ...(options.kind ? { kind: options.kind } : {}),
    };
    return waitFor<RequestOutcome>(
      async () => {
        const request = await this.get(requestId, lookup);
        last = request;
        options.onStatus?.(request);
        this.ctx.events.emit({ type: 'request-status', id: request.id, status: request.status });
        const status = request.status.trim().toLowerCase();
        if (PENDING_STATUSES.has(status)) return { done: false };
        return { done: true, value: { request, succeeded: SUCCESS_STATUSES.has(status), status } };
      },
      {
        maxWaitTime: options.maxWaitTime,
        pollInterval: options.pollInterval,
        maxPollInterval: options.maxPollInterval ?? 10_000,
        signal: options.signal,
        jitter: 0.2,
        // The request goes on on the server: a poll that fails for a passing reason never ends the wait before
        // its deadline. Anything else (404, 403, abort) does.
        maxFailures: Number.POSITIVE_INFINITY,
        isTransient: (error) =>
          ConnectionError.isInstance(error) || (ApiError.isInstance(error) && error.retryable),
        onPollError: (error) =>
          this.ctx.events.emit({
            type: 'warning',
            message: `Polling request ${requestId} failed (${(error as Error).message}); trying again`,
          }),
        timeoutError: (info) => {
          if (last) return new RequestTimeoutError(last, info);
          return info.lastError instanceof Error ? info.lastError : new WaitTimeoutError(info);
        },
      },
    );
  }

  /** Names of the server's ingestion classes (v2). */
  ingestors(options: ListOptions = {}): PageIterable<string, unknown> {
    return singlePage(
      (signal) => call(this.ctx, 'ingestors', itemsOf(z.string()), { ...requestOptions(options), signal }),
      options,
    );
  }
}
