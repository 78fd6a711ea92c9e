import {
  AbortError,
  type HttpClient,
  type HttpEvent,
  PermissionDeniedError,
  type SessionAuth,
  sleep,
  UsageError,
} from '@sciport/core';
import { IcsdQuotaError } from './icsd-error.js';

/**
 * One ICSD session at a time, shared by every concurrent request (spec §3.5), with the per-session CIF quota
 * (spec §9) accounted for.
 *
 * Every request runs under a lease. A CIF request reserves as many units as it asks for CIFs; when the
 * session could not serve them, new leases wait, the requests in flight finish, and the session is rotated
 * (logout, login) before anything else is sent. Sessions are also renewed ahead of the token's expiry, the
 * same way. A 403 on a CIF request means the quota ran out early (another client on the account, or a
 * smaller quota): the session is rotated once and the request repeated; a 403 on a fresh session means the
 * account is throttled: wait (minutes, growing) when allowed, otherwise fail with `IcsdQuotaError`.
 */

export type SessionEvent =
  | { type: 'session'; action: 'rotate'; reason: 'quota' | 'expiry' | 'refused' }
  | { type: 'quota'; action: 'wait'; delayMs: number; cifsFetched: number };

export interface SessionManagerOptions {
  http: HttpClient;
  auth: SessionAuth;
  /** CIFs one session may fetch (default 1000); null when there is no such limit. */
  cifsPerSession: number | null;
  /** Token lifetime from login (default one hour). */
  lifetimeMs: number;
  /** Renew this long before expiry (default 5 minutes). */
  renewBeforeMs: number;
  /** On throttling: wait and retry (with these delays) instead of failing. */
  quotaWait: { enabled: boolean; initialDelayMs: number; maxDelayMs: number; maxTotalMs: number };
  emit(event: SessionEvent): void;
  now?: () => number;
}

export class SessionManager {
  private used = 0;
  private reserved = 0;
  private inFlight = 0;
  private generation = 0;
  private loginAt: number | undefined;
  private rotating: Promise<void> | undefined;
  private forceRotation: 'refused' | undefined;
  private waiters: Array<() => void> = [];
  /** Consecutive quota refusals without a CIF served in between. */
  private strikes = 0;
  /** The session that gave the last refusal. */
  private strikeGeneration = -1;
  private waitedMs = 0;
  /** CIFs fetched in this client's life. */
  cifsFetched = 0;
  private readonly now: () => number;

  constructor(private readonly o: SessionManagerOptions) {
    this.now = o.now ?? (() => Date.now());
    o.http.onEvent((e: HttpEvent) => {
      if (
        e.type === 'auth' &&
        e.ok &&
        (e.action === 'login' || e.action === 'relogin' || e.action === 'renew')
      ) {
        this.generation += 1;
        this.used = 0;
        this.loginAt = this.now();
      }
    });
  }

  /** The most CIFs one request may ask for. */
  get maxUnits(): number {
    return this.o.cifsPerSession ?? Number.POSITIVE_INFINITY;
  }

  /** Runs `fn` under a lease of `units` CIFs (0 for searches and CSV). */
  async run<T>(units: number, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    if (units > this.maxUnits) {
      throw new UsageError(`A request for ${units} CIFs exceeds the per-session quota of ${this.maxUnits}`);
    }
    for (;;) {
      await this.acquire(units, signal);
      let result: T;
      try {
        result = await fn();
      } catch (error) {
        this.release(units, false);
        if (units > 0 && PermissionDeniedError.isInstance(error) && error.status === 403) {
          await this.onQuotaRefusal(error, signal);
          continue;
        }
        throw error;
      }
      this.release(units, true);
      if (units > 0) {
        this.strikes = 0;
        this.waitedMs = 0;
      }
      return result;
    }
  }

  private async acquire(units: number, signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
      if (this.rotating) {
        await this.rotating;
        continue;
      }
      const reason = this.rotationReason(units);
      if (reason) {
        // Drain first: a logout would kill the token under the requests still in flight.
        if (this.inFlight > 0) {
          await this.nextRelease(signal);
          continue;
        }
        // Nothing in flight and no session yet: the first login will bring a fresh quota.
        if (this.o.auth.loggedIn || reason === 'refused') {
          this.rotating = this.rotate(reason, signal).finally(() => {
            this.rotating = undefined;
          });
          continue;
        }
      }
      this.reserved += units;
      this.inFlight += 1;
      return;
    }
  }

  private rotationReason(units: number): 'quota' | 'expiry' | 'refused' | undefined {
    if (this.forceRotation) return this.forceRotation;
    const quota = this.o.cifsPerSession;
    // Reservations count even before the first login: they will all be served by that session.
    if (quota !== null && units > 0 && this.used + this.reserved + units > quota) return 'quota';
    if (
      this.o.auth.loggedIn &&
      this.loginAt !== undefined &&
      this.now() >= this.loginAt + this.o.lifetimeMs - this.o.renewBeforeMs
    ) {
      return 'expiry';
    }
    return undefined;
  }

  private release(units: number, ok: boolean): void {
    this.reserved -= units;
    this.inFlight -= 1;
    // Counted against the session current now: rotations drain first, so it is the one that served them.
    if (ok && units > 0) {
      this.cifsFetched += units;
      this.used += units;
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private nextRelease(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(new AbortError(undefined, { cause: signal?.reason }));
      this.waiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async rotate(
    reason: 'quota' | 'expiry' | 'refused',
    signal: AbortSignal | undefined,
  ): Promise<void> {
    this.forceRotation = undefined;
    this.o.emit({ type: 'session', action: 'rotate', reason });
    await this.o.auth.rotate(this.o.http.authContext(signal));
  }

  private async onQuotaRefusal(error: PermissionDeniedError, signal: AbortSignal | undefined): Promise<void> {
    // Rotations drain the requests in flight first, so the session that refused this one is the current one.
    const generation = this.generation;
    // Another request was already refused by this session: the new session is on its way; just try again.
    if (this.strikes > 0 && this.strikeGeneration === generation) return;
    if (this.strikes === 0) {
      this.strikes = 1;
      this.strikeGeneration = generation;
      this.forceRotation = 'refused';
      return;
    }
    // Refused again on a fresh session: the account is throttled.
    const wait = this.o.quotaWait;
    const delay = Math.min(wait.maxDelayMs, wait.initialDelayMs * 2 ** (this.strikes - 1));
    if (!wait.enabled || this.waitedMs + delay > wait.maxTotalMs) {
      throw new IcsdQuotaError(
        {
          status: 403,
          method: error.method,
          url: error.url,
          service: 'icsd',
          body: error.body,
          cifsFetched: this.cifsFetched,
          retryable: true,
        },
        `ICSD refused further CIFs after ${this.cifsFetched} in this run (403 on a fresh session): ` +
          'the account is throttled or its download allowance is used up',
      );
    }
    this.strikes += 1;
    this.strikeGeneration = generation;
    this.waitedMs += delay;
    this.o.emit({ type: 'quota', action: 'wait', delayMs: delay, cifsFetched: this.cifsFetched });
    try {
      await sleep(delay, signal);
    } catch {
      throw new AbortError(undefined, { cause: signal?.reason });
    }
    this.forceRotation = 'refused';
  }
}
