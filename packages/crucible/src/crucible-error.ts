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

/** Every error class of this package. */
export type CrucibleError = RequestTimeoutError | RequestFailedError;
