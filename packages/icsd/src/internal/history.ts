import type { HttpEvent } from '@sciport/core';

/** One request as the history keeps it: no bodies, no headers, the URL redacted. */
export interface HistoryEntry {
  /** When the request started (ms since epoch). */
  at: number;
  method: string;
  /** Redacted URL. */
  url: string;
  /** HTTP status, or 0 when no answer came (network error, timeout). */
  status: number;
  durationMs: number;
  /** Size of the response body, when read. */
  bytes: number | undefined;
  /** 1 for a first attempt, 2 for the first retry, … */
  attempt: number;
  /** The error, for requests that got no answer. */
  error?: string;
}

/**
 * A bounded record of the last requests and responses (what the reference client's `session_history`
 * should have been): method, redacted URL, status, timing and size, never bodies or secrets, never more than
 * `limit` entries.
 */
export class RequestHistory {
  private readonly entries: HistoryEntry[] = [];
  private readonly started = new Map<string, number>();

  constructor(readonly limit = 100) {}

  /** Feeds an HTTP event from `@sciport/core`. */
  record(event: HttpEvent): void {
    if (this.limit <= 0) return;
    if (event.type === 'request') {
      this.started.set(`${event.method} ${event.url} ${event.attempt}`, Date.now());
      if (this.started.size > 1000) this.started.clear();
      return;
    }
    if (event.type === 'response' || event.type === 'error') {
      const key = `${event.method} ${event.url} ${event.attempt}`;
      const at = this.started.get(key) ?? Date.now();
      this.started.delete(key);
      const entry: HistoryEntry =
        event.type === 'response'
          ? {
              at,
              method: event.method,
              url: event.url,
              status: event.status,
              durationMs: event.durationMs,
              bytes: event.bytes,
              attempt: event.attempt + 1,
            }
          : {
              at,
              method: event.method,
              url: event.url,
              status: 0,
              durationMs: Date.now() - at,
              bytes: undefined,
              attempt: event.attempt + 1,
              error: event.error,
            };
      this.entries.push(entry);
      if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
    }
  }

  /** The kept entries, oldest first (a copy). */
  list(): HistoryEntry[] {
    return this.entries.slice();
  }

  clear(): void {
    this.entries.length = 0;
  }
}
