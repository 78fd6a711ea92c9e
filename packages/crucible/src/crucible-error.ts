import { redactValue, SciportError, WaitTimeoutError, type WaitTimeoutInfo } from '@sciport/core';
import type { CrucibleRequest } from './schemas/requests.js';

/**
 * The errors of the Crucible client itself; everything else it throws is from `@sciport/core`'s hierarchy
 * (`AuthenticationError`, `NotFoundError`, `UsageError`, …).
 */

/** An ingestion (or SciCat) request still pending when the wait's deadline came. */
export class RequestTimeoutError extends WaitTimeoutError<'request_timeout'> {
  static override readonly kind: string = 'RequestTimeoutError';
  override readonly code = 'request_timeout' as const;
  /** The request as last seen. */
  readonly request: CrucibleRequest;

  constructor(request: CrucibleRequest, info: WaitTimeoutInfo) {
    super(
      info,
      `Crucible request ${request.id} is still "${request.status}" after ${Math.round(info.waitedMs / 1000)} s` +
        (request.status === 'requested' ? ' (no worker has picked it up)' : ''),
      { hint: `Check later with \`sciport crucible wait ${request.id}\`` },
    );
    this.request = request;
  }

  /** The request as the server sent it (what `--json` prints). */
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), request: redactValue(this.request.raw) };
  }
}

/** A request that ended in a status other than `complete`. */
export class RequestFailedError extends SciportError<'request_failed'> {
  static override readonly kind: string = 'RequestFailedError';
  override readonly code = 'request_failed' as const;
  readonly request: CrucibleRequest;

  constructor(request: CrucibleRequest) {
    super(
      `Crucible request ${request.id} ended "${request.status}"${request.errorMessage ? `: ${request.errorMessage}` : ''}`,
    );
    this.request = request;
  }

  /** The request as the server sent it (what `--json` prints). */
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), request: redactValue(this.request.raw) };
  }
}

/** One file of a dataset download that was not saved, and why. */
export interface DownloadFailure {
  /** The file's local name (relative to the output folder), as it would have been saved. */
  name: string;
  /** The file's name on the server (its path in the dataset, or its v1 link key). */
  serverName: string;
  /** The file record's id, when known. */
  mfid?: string | undefined;
  error: SciportError;
}

/**
 * A dataset download in which some files failed (each for its own reason: a size or SHA-256 mismatch, an
 * error page, a refused link, a name that clashes with another file's): the other files were downloaded and
 * verified; `failures` says what went wrong with each, `downloaded` what was saved.
 */
export class DatasetDownloadError<T = unknown> extends SciportError<'download_incomplete'> {
  static override readonly kind: string = 'DatasetDownloadError';
  override readonly code = 'download_incomplete' as const;
  readonly datasetId: string;
  readonly failures: readonly DownloadFailure[];
  /** What was downloaded (or already complete on disk). */
  readonly downloaded: readonly T[];

  constructor(datasetId: string, failures: readonly DownloadFailure[], downloaded: readonly T[]) {
    const total = failures.length + downloaded.length;
    const names = failures.slice(0, 10).map((f) => f.name);
    const more = failures.length > 10 ? ` and ${failures.length - 10} more` : '';
    const only = failures.length === 1 ? ` (${failures[0]?.error.message})` : '';
    super(
      `${failures.length} of ${total} files of dataset ${datasetId} could not be downloaded: ${names.join(', ')}${more}${only}`,
      {
        cause: failures[0]?.error,
        retryable: failures.every((f) => f.error.retryable),
        hint: 'The other files are saved and verified; run the download again to retry the failed ones',
      },
    );
    this.datasetId = datasetId;
    this.failures = failures;
    this.downloaded = downloaded;
  }

  /** Each failure with its error's description (what `--json` prints). */
  override toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      code: this.code,
      datasetId: this.datasetId,
      failures: this.failures.map((f) => ({
        name: f.name,
        serverName: f.serverName,
        ...(f.mfid ? { mfid: f.mfid } : {}),
        error: f.error.toJSON(),
      })),
      downloaded: redactValue(this.downloaded),
    };
  }
}

/**
 * A resumable upload in which storage kept answering `308 Resume Incomplete` without persisting anything new
 * (the same `Range`, or none) for several rounds: the upload was stopped rather than sent again forever.
 */
export class UploadStalledError extends SciportError<'upload_stalled'> {
  static override readonly kind: string = 'UploadStalledError';
  override readonly code = 'upload_stalled' as const;
  readonly file: string;
  /** Bytes storage said it had persisted, last time. */
  readonly persisted: number;
  readonly size: number;
  /** Rounds (PUTs) answered without progress. */
  readonly rounds: number;

  constructor(init: { file: string; persisted: number; size: number; rounds: number }) {
    super(
      `Storage made no progress on the upload of ${init.file}: ${init.rounds} rounds in a row answered 308 with ${init.persisted} of ${init.size} bytes persisted`,
      {
        retryable: true,
        hint: 'The upload session is kept; try again later, and report it to the Crucible operators if it persists',
      },
    );
    this.file = init.file;
    this.persisted = init.persisted;
    this.size = init.size;
    this.rounds = init.rounds;
  }
}

/** Every error class of this package. */
export type CrucibleError =
  | RequestTimeoutError
  | RequestFailedError
  | DatasetDownloadError
  | UploadStalledError;
