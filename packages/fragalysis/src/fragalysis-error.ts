import { SciportError } from '@sciport/core';

/**
 * The errors of the Fragalysis client itself; everything else it throws is from `@sciport/core`'s hierarchy
 * (`AuthenticationError` for a token the stack refuses, `NotFoundError` for a target or proposal it cannot
 * see, `UsageError`, `UnsafeArchiveError`, …). Check them with `FragalysisTaskError.isInstance(error)` (it
 * works across two copies of a package); `error.code` is a literal.
 */

/**
 * Why an archive build did not give an archive: it `failed` (the server's messages say why), was `lost` (still
 * unknown after `unknownTimeout`), did not finish before the deadline (`timeout`), or the build `queue` stayed
 * full until the deadline.
 */
export type FragalysisTaskFailure = 'failed' | 'lost' | 'timeout' | 'queue';

/** An archive build that failed, was lost, or did not finish in time. */
export class FragalysisTaskError extends SciportError<'task_failed'> {
  static override readonly kind: string = 'FragalysisTaskError';
  override readonly code = 'task_failed' as const;
  readonly reason: FragalysisTaskFailure;
  /** The build's last messages from the server (progress lines, or why it failed). */
  readonly messages: string[];

  constructor(
    message: string,
    init: { reason: FragalysisTaskFailure; messages?: string[]; retryable?: boolean },
  ) {
    super(message, { retryable: init.retryable ?? init.reason !== 'failed' });
    this.reason = init.reason;
    this.messages = init.messages ?? [];
  }
}

/** Every error class of this package (`switch (error.code)` narrows it). */
export type FragalysisError = FragalysisTaskError;
