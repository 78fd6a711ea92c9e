import { sleep } from '@sciport/core';

/**
 * At most `max` logins in any `windowMs` (by default 20 a minute): whatever goes wrong above it (a quota that
 * keeps refusing, a server that answers every request with 401), sciport never hammers ICSD's login endpoint.
 * A real mirror needs one login per 1000 CIFs (spec §9), far below the bound; a login beyond it waits for the
 * oldest one to leave the window.
 */

export const LOGINS_PER_WINDOW = 20;
export const LOGIN_WINDOW_MS = 60_000;

export interface LoginLimiterOptions {
  max?: number;
  windowMs?: number;
  now?: () => number;
  /** Told how long the next login waits, before it waits. */
  onWait?: (delayMs: number) => void;
}

export class LoginLimiter {
  private readonly times: number[] = [];
  private readonly max: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  /** Logins are taken one after the other, so that waiting ones keep their order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: LoginLimiterOptions = {}) {
    this.max = options.max ?? LOGINS_PER_WINDOW;
    this.windowMs = options.windowMs ?? LOGIN_WINDOW_MS;
    this.now = options.now ?? Date.now;
  }

  /** How long a login now would wait. */
  delay(): number {
    const now = this.now();
    while (this.times.length > 0 && (this.times[0] as number) <= now - this.windowMs) this.times.shift();
    if (this.times.length < this.max) return 0;
    return (this.times[0] as number) + this.windowMs - now;
  }

  /** Waits until a login fits in the window, then counts it. An abort ends the wait (nothing counted). */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(async () => {
      for (let wait = this.delay(); wait > 0; wait = this.delay()) {
        this.options.onWait?.(wait);
        await sleep(wait, signal);
      }
      this.times.push(this.now());
    });
    this.queue = turn.catch(() => undefined);
    return turn;
  }
}
