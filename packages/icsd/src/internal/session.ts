import {
  abortError,
  type HttpClient,
  type HttpEvent,
  PermissionDeniedError,
  type SessionAuth,
  sleep,
  throwIfAborted,
} from '@sciport/core';
import { IcsdLoginRefusedError, IcsdQuotaError, QuotaSplit } from '../icsd-error.js';

/**
 * One ICSD session at a time, shared by every concurrent request (spec §3.5), with the per-session CIF quota
 * (spec §9) accounted for.
 *
 * Every request runs under a lease. A CIF request reserves as many units as it asks for CIFs; when the
 * session could not serve them, new leases wait, the requests in flight finish, and the session is rotated
 * (logout, login) before anything else is sent. Sessions are also renewed ahead of the token's expiry, the
 * same way.
 *
 * A 403 on a CIF request (spec §9, §10; Appendix A: the whole request is refused, nothing counted) teaches the
 * manager the server's real quota, which may be smaller than assumed:
 * - refused after the session served some CIFs: the quota is below what was served plus what was asked; the
 *   session is rotated and the request repeated;
 * - a batch refused by a fresh session: the quota is smaller than the batch; the caller is told to split it
 *   (`QuotaSplit`). The first such refusal sets the estimate just below the batch (a quota of 499 against
 *   batches of 500 is the likely case), later ones in the same chain halve it. A refusal of a batch sent under
 *   an older, larger estimate teaches nothing new and only splits it;
 * - a single CIF refused by a fresh session, twice in a row (one rotation in between): the account is
 *   throttled. Wait (minutes, growing) when allowed, otherwise fail with `IcsdQuotaError`. What that chain of
 *   refusals taught about the quota is forgotten: it was throttling, not the quota.
 *
 * Consecutive refusals (no CIF served in between) back off before the next try: 50 ms, doubling, at most 1 s
 * (`refusalDelayMs`), and while they last CIF requests go one at a time. A chain is bounded: the estimate only shrinks, and a single CIF refused twice ends it. A
 * rotation is never made for a request the fresh session could not serve either (that request is split
 * instead), so no path logs in and out without sending a request in between; the login limiter (`auth.ts`)
 * bounds logins per minute whatever happens.
 */

/** The wait before retrying after the `n`-th consecutive quota refusal (n ≥ 1): none, then 50 ms doubling to 1 s. */
export function refusalDelayMs(n: number): number {
  return n <= 1 ? 0 : Math.min(1_000, 50 * 2 ** (n - 2));
}

export type SessionEvent =
  | { type: 'session'; action: 'rotate'; reason: 'quota' | 'expiry' | 'refused' }
  /** A kept session (token store) was checked and is used instead of a login; `loginTime` in ms since the epoch. */
  | { type: 'keptSession'; action: 'reuse'; loginTime: number }
  /** A new session was kept in the token store. */
  | { type: 'keptSession'; action: 'keep'; loginTime: number }
  /** The kept session was forgotten: the service refused it (401), or it was logged out. */
  | { type: 'keptSession'; action: 'forget'; reason: 'unauthorized' | 'logout' }
  | { type: 'quota'; action: 'wait'; delayMs: number; cifsFetched: number }
  /** Consecutive refusals: a short pause before the next try (`refusals` so far without a CIF served). */
  | { type: 'quota'; action: 'backoff'; delayMs: number; refusals: number }
  /** The server refused CIFs below the assumed per-session quota: from now on at most this many a session. */
  | { type: 'quota'; action: 'lower'; cifsPerSession: number };

/** A 403 that refuses CIFs (not a refused login, which is about sessions, not about the quota). */
function isQuotaRefusal(error: unknown): error is PermissionDeniedError {
  return (
    PermissionDeniedError.isInstance(error) &&
    error.status === 403 &&
    !IcsdLoginRefusedError.isInstance(error)
  );
}

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
  /** CIF requests in flight (leases of one unit or more). */
  private cifsInFlight = 0;
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
  /** The session that was last told to rotate after a refusal. */
  private refusedGeneration = -1;
  /** CIFs one session may fetch, as far as known (lowered by refusals); null when unlimited. */
  private quota: number | null;
  /** The estimate before a chain of batch splits began (restored when the chain turns out to be throttling). */
  private quotaBeforeSplit: number | null | undefined;
  /** Quota refusals since a CIF was last served (for the back-off). */
  private refusals = 0;
  /** No CIF request starts before this time (the back-off after a refusal). */
  private pauseUntil = 0;
  /** CIFs fetched in this client's life. */
  cifsFetched = 0;
  private readonly now: () => number;
  /** How the session being logged in began (told by the auth strategy before its login event). */
  private nextSession: { loginTime: number; reused: boolean } | undefined;
  /** The session that was adopted from a token store: it may have served CIFs before this client. */
  private reusedGeneration = -1;

  constructor(private readonly o: SessionManagerOptions) {
    this.now = o.now ?? (() => Date.now());
    this.quota = o.cifsPerSession;
    o.http.onEvent((e: HttpEvent) => {
      if (
        e.type === 'auth' &&
        e.ok &&
        (e.action === 'login' || e.action === 'relogin' || e.action === 'renew')
      ) {
        this.generation += 1;
        this.used = 0;
        const next = this.nextSession;
        this.nextSession = undefined;
        this.loginAt = next?.loginTime ?? this.now();
        if (next?.reused) this.reusedGeneration = this.generation;
      }
    });
  }

  /** Told by the auth strategy when the session it is about to hand out began, and whether it was kept. */
  noteSession(info: { loginTime: number; reused: boolean }): void {
    this.nextSession = info;
  }

  /** The most CIFs one request may ask for. */
  get maxUnits(): number {
    return this.quota ?? Number.POSITIVE_INFINITY;
  }

  /**
   * Runs `fn` under a lease of `units` CIFs (0 for searches and CSV). Throws `QuotaSplit` when `units` is more
   * than a session is now known to serve.
   */
  async run<T>(units: number, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    for (;;) {
      await this.acquire(units, signal);
      let result: T;
      try {
        result = await fn();
      } catch (error) {
        this.release(units, false);
        if (units > 0 && isQuotaRefusal(error)) {
          await this.onQuotaRefusal(units, error, signal);
          continue;
        }
        throw error;
      }
      this.release(units, true);
      if (units > 0) {
        this.strikes = 0;
        this.waitedMs = 0;
        this.refusals = 0;
        this.quotaBeforeSplit = undefined;
      }
      return result;
    }
  }

  private async acquire(units: number, signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      throwIfAborted(signal);
      // Checked on every turn: the estimate may have dropped while this request waited.
      if (units > this.maxUnits) throw new QuotaSplit(this.maxUnits);
      if (this.rotating) {
        await this.rotating;
        continue;
      }
      if (units > 0 && this.pauseUntil > this.now()) {
        await sleep(this.pauseUntil - this.now(), signal);
        continue;
      }
      // While refusals go on (no CIF served since), one CIF request at a time: each refusal teaches the next
      // size, and concurrent requests would only be refused alike.
      if (units > 0 && this.refusals > 0 && this.cifsInFlight > 0) {
        await this.nextRelease(signal);
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
      if (units > 0) this.cifsInFlight += 1;
      return;
    }
  }

  private rotationReason(units: number): 'quota' | 'expiry' | 'refused' | undefined {
    if (this.forceRotation) return this.forceRotation;
    const quota = this.quota;
    // Reservations count even before the first login: they will all be served by that session. With nothing in
    // flight, a session that served nothing is never rotated for the quota: `acquire` has checked that `units`
    // fits the estimate, so a new session would not serve more.
    if (quota !== null && units > 0 && this.used + this.reserved + units > quota) {
      if (this.used > 0 || this.inFlight > 0) return 'quota';
    }
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
    if (units > 0) this.cifsInFlight -= 1;
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
      const onAbort = () => reject(abortError(signal));
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
    await this.o.http.authenticate({ signal, fresh: true });
  }

  /** Lowers the quota estimate to `limit` (at least 1); `split` marks a step of a chain of batch splits. */
  private lowerQuota(limit: number, split: boolean): void {
    const next = Math.max(1, Math.floor(limit));
    if (this.quota !== null && next >= this.quota) return;
    if (split && this.quotaBeforeSplit === undefined) this.quotaBeforeSplit = this.quota;
    this.quota = next;
    this.o.emit({ type: 'quota', action: 'lower', cifsPerSession: next });
  }

  private async onQuotaRefusal(
    units: number,
    error: PermissionDeniedError,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    // Rotations drain the requests in flight first, so the session that refused this one is the current one.
    const generation = this.generation;
    this.refusals += 1;
    // Every CIF request waits this long (in `acquire`), the one refused included.
    const delay = refusalDelayMs(this.refusals);
    if (delay > 0) {
      this.pauseUntil = this.now() + delay;
      this.o.emit({ type: 'quota', action: 'backoff', delayMs: delay, refusals: this.refusals });
    }
    if (generation === this.reusedGeneration && this.refusedGeneration !== generation) {
      // A kept session may have served CIFs in earlier runs: what it has left says nothing about the quota.
      // Start a session of its own (the store keeps the new one), learning nothing.
      this.refusedGeneration = generation;
      this.forceRotation = 'refused';
      return;
    }
    if (this.used > 0) {
      // The session served CIFs, then refused: its quota is below what it served plus what was asked.
      this.lowerQuota(this.used + units - 1, false);
      if (this.refusedGeneration !== generation) {
        this.refusedGeneration = generation;
        this.forceRotation = 'refused';
      }
      return;
    }
    if (units > 1) {
      // A fresh session refused a batch: the quota is smaller than the batch (nothing was counted). A batch
      // larger than the estimate now was sent under an older one: what it says is known already.
      if (this.quota === null || units <= this.quota) {
        const first = this.quotaBeforeSplit === undefined;
        this.lowerQuota(first ? units - 1 : units / 2, true);
      }
      throw new QuotaSplit(this.maxUnits);
    }
    // A fresh session refused a single CIF. Another request was already refused by this session: the new
    // session is on its way; just try again.
    if (this.strikes > 0 && this.strikeGeneration === generation) return;
    if (this.strikes === 0) {
      this.strikes = 1;
      this.strikeGeneration = generation;
      this.forceRotation = 'refused';
      return;
    }
    // Refused again on a fresh session: the account is throttled, and the splits taught nothing.
    if (this.quotaBeforeSplit !== undefined) {
      this.quota = this.quotaBeforeSplit;
      this.quotaBeforeSplit = undefined;
    }
    const wait = this.o.quotaWait;
    const pause = Math.min(wait.maxDelayMs, wait.initialDelayMs * 2 ** (this.strikes - 1));
    if (!wait.enabled || this.waitedMs + pause > wait.maxTotalMs) {
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
        `ICSD refused further CIFs after ${this.cifsFetched} in this run (403 even on a fresh session` +
          `${error.detail ? `: ${error.detail.slice(0, 200)}` : ''}): ` +
          'the account is throttled or its download allowance is used up. What was downloaded is kept: ' +
          'run again later, or let the client wait (waitOnQuota, `--wait-on-quota`)',
      );
    }
    this.strikes += 1;
    this.strikeGeneration = generation;
    this.waitedMs += pause;
    this.o.emit({ type: 'quota', action: 'wait', delayMs: pause, cifsFetched: this.cifsFetched });
    await sleep(pause, signal);
    this.forceRotation = 'refused';
  }
}
