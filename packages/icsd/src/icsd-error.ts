import { PermissionDeniedError, RateLimitError, type RateLimitErrorInit } from '@sciport/core';

/**
 * The errors of the ICSD client, besides the `@sciport/core` hierarchy they extend. Check them with
 * `IcsdQuotaError.isInstance(error)` (it works across two copies of a package); `error.code` is a literal.
 */

/**
 * ICSD refused more CIFs: the per-session quota was reached and a fresh session was refused too (spec §9:
 * throttling after "some" downloads). Nothing is lost: completed files stay, and a mirror resumes later.
 */
export class IcsdQuotaError extends RateLimitError<'icsd_quota'> {
  static override readonly kind: string = 'IcsdQuotaError';
  override readonly code = 'icsd_quota' as const;
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
export class IcsdLoginRefusedError extends PermissionDeniedError<'icsd_login_refused'> {
  static override readonly kind: string = 'IcsdLoginRefusedError';
  override readonly code = 'icsd_login_refused' as const;
}

/** Every error class of this package (`switch (error.code)` narrows it). */
export type IcsdError = IcsdQuotaError | IcsdLoginRefusedError;

/**
 * Not an error users see: the session manager's signal that a request asks for more CIFs than a session is now
 * known to serve. The CIF fetcher splits the request into requests of at most `maxUnits` and tries again. Not
 * exported from the package.
 */
export class QuotaSplit extends Error {
  constructor(readonly maxUnits: number) {
    super(`split the request into requests of at most ${maxUnits} CIFs`);
    this.name = 'QuotaSplit';
  }
}
