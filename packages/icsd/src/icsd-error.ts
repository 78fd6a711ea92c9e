import { PermissionDeniedError, RateLimitError, type RateLimitErrorInit } from '@sciport/core';

/**
 * ICSD refused more CIFs: the per-session quota was reached and a fresh session was refused too (spec §9:
 * throttling after "some" downloads). Nothing is lost: completed files stay, and a mirror resumes later.
 */
export class IcsdQuotaError extends RateLimitError {
  static override readonly kind: string = 'IcsdQuotaError';
  override readonly code: string = 'icsd_quota';
  /** CIFs this client fetched before the refusal. */
  readonly cifsFetched: number;

  constructor(init: RateLimitErrorInit & { cifsFetched: number }, message?: string) {
    super(init, message);
    this.cifsFetched = init.cifsFetched;
  }
}

/**
 * ICSD refused the login itself with 403: most likely the account already holds as many live sessions as it
 * may (spec §3.5, Appendix A). Not a download quota: another login only helps once those sessions end.
 */
export class IcsdLoginRefusedError extends PermissionDeniedError {
  static override readonly kind: string = 'IcsdLoginRefusedError';
  override readonly code: string = 'icsd_login_refused';
}
