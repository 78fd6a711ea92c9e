import { SciportError, WaitTimeoutError, type WaitTimeoutInfo } from '@sciport/core';

/**
 * The errors of the Fragalysis client itself; everything else it throws is from `@sciport/core`'s hierarchy
 * (`AuthenticationError` for a token the stack refuses, `NotFoundError` for a target or proposal it cannot
 * see, `UsageError`, `UnsafeArchiveError`, …). Check them with `FragalysisTaskError.isInstance(error)` (it
 * works across two copies of a package); `error.code` is a literal.
 */

/**
 * Why an archive build did not give an archive: it `failed` (the server's messages say why) or was `lost` (still
 * unknown after `unknownTimeout`): a `FragalysisTaskError`; it did not finish before the deadline (`timeout`) or
 * the build `queue` stayed full until the deadline: a `FragalysisTaskTimeoutError`.
 */
export type FragalysisTaskFailure = 'failed' | 'lost' | 'timeout' | 'queue';

/** An archive build that failed or was lost. */
export class FragalysisTaskError extends SciportError<'task_failed'> {
  static override readonly kind: string = 'FragalysisTaskError';
  override readonly code = 'task_failed' as const;
  readonly reason: FragalysisTaskFailure;
  /** The build's last messages from the server (progress lines, or why it failed). */
  readonly messages: string[];

  constructor(
    message: string,
    init: { reason: 'failed' | 'lost'; messages?: string[]; retryable?: boolean },
  ) {
    super(message, { retryable: init.retryable ?? init.reason !== 'failed' });
    this.reason = init.reason;
    this.messages = init.messages ?? [];
  }
}

/**
 * The deadline of a wait for an archive came first: the build had not finished (`timeout`), or the build queue
 * stayed full (`queue`). A core `WaitTimeoutError`, like every client's wait that runs out of time.
 */
export class FragalysisTaskTimeoutError extends WaitTimeoutError<'task_timeout'> {
  static override readonly kind: string = 'FragalysisTaskTimeoutError';
  override readonly code = 'task_timeout' as const;
  readonly reason: 'timeout' | 'queue';
  /** The build's last messages from the server (progress lines). */
  readonly messages: string[];

  constructor(
    message: string,
    info: WaitTimeoutInfo,
    init: { reason: 'timeout' | 'queue'; messages?: string[] },
  ) {
    super(info, message);
    this.reason = init.reason;
    this.messages = init.messages ?? [];
  }
}

/** Every error class of this package (`switch (error.code)` narrows it). */
export type FragalysisError = FragalysisTaskError | FragalysisTaskTimeoutError;
