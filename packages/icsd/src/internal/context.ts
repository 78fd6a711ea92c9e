import type { BufferPool, EventEmitter, HttpClient } from '@sciport/core';
import type { IcsdEvent } from '../icsd-client.js';
import type { SessionManager } from './session.js';

/** What the client hands its resources: the HTTP client, the session, the events, and the bulk settings. */
export interface IcsdContext {
  /** Core's HTTP client, with the ICSD session as its auth strategy. */
  readonly http: HttpClient;
  /** The one session shared by every call, with the per-session CIF quota accounted for. */
  readonly session: SessionManager;
  /** The client's one emitter (`client.onEvent`, the `onEvent` and `logger` options). */
  readonly events: EventEmitter<IcsdEvent>;
  /** Requests in flight at once for bulk calls (the client's `concurrency`). */
  readonly concurrency: number;
  /** Body buffers reused across CIF batches. */
  readonly bodies: BufferPool;
}

/** Emits a `warning` event (the `logger` gets it as `warn`). */
export function warn(ctx: IcsdContext, message: string): void {
  ctx.events.emit({ type: 'warning', message });
}
