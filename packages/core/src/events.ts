/**
 * Events and logging, the same in every client: each client owns one `EventEmitter` (`client.onEvent(fn)`,
 * the `onEvent` option), and a `logger` option receives the same events as log lines.
 */

export type Listener<E> = (event: E) => void;

/**
 * A set of listeners with a safe `emit`: a listener that throws never breaks the call that emitted, nor the
 * listeners after it.
 */
export class EventEmitter<E> {
  readonly #listeners = new Set<Listener<E>>();

  /** Subscribes `listener`; returns the function that unsubscribes it. */
  on(listener: Listener<E>): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Calls every listener with `event`, in subscription order. */
  emit(event: E): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure must never break a request.
      }
    }
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }
}

/**
 * Where a client writes what it does, when asked to: `console` fits, as do pino, winston and most loggers. Every
 * method is optional. Messages never contain secrets (they are redacted like errors).
 */
export interface Logger {
  debug?(message: string, ...data: unknown[]): void;
  info?(message: string, ...data: unknown[]): void;
  warn?(message: string, ...data: unknown[]): void;
  error?(message: string, ...data: unknown[]): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** The shape every client event has: a `type`, and often a `message`. */
export interface ClientEventLike {
  readonly type: string;
  readonly message?: string | undefined;
}

/**
 * One line for an event, and its level: HTTP requests, responses, redirects and auth steps are `debug`, retries
 * `info`, `warning` events `warn`; any other event is `debug`, described by its type and message.
 */
export function describeEvent(event: ClientEventLike): { level: LogLevel; message: string } {
  const e = event as ClientEventLike & Record<string, unknown>;
  switch (e.type) {
    case 'request':
      return {
        level: 'debug',
        message: `→ ${e.method} ${e.url}${Number(e.attempt) > 0 ? ` (retry ${e.attempt})` : ''}`,
      };
    case 'response':
      return { level: 'debug', message: `← ${e.status} ${e.method} ${e.url} in ${e.durationMs} ms` };
    case 'retry':
      return {
        level: 'info',
        message: `retrying ${e.method} ${e.url} in ${Math.round(Number(e.delayMs))} ms (attempt ${e.attempt}: ${e.reason})`,
      };
    case 'redirect':
      return { level: 'debug', message: `↪ ${e.method} ${e.from} → ${e.to}` };
    case 'auth':
      return {
        level: 'debug',
        message: `auth ${e.action} ${e.ok ? 'ok' : `failed${e.detail ? `: ${e.detail}` : ''}`}`,
      };
    case 'error':
      return { level: 'debug', message: `✗ ${e.method} ${e.url}: ${e.error}` };
    case 'warning':
      return { level: 'warn', message: String(e.message ?? '') };
    default:
      return { level: 'debug', message: `${e.type}${e.message ? `: ${e.message}` : ''}` };
  }
}

/** A listener that writes each event to `logger` at its level (see `describeEvent`). */
export function logEvents(logger: Logger): Listener<ClientEventLike> {
  return (event) => {
    const { level, message } = describeEvent(event);
    logger[level]?.(message);
  };
}
