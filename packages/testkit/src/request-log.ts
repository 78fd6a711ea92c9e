import type { FaultKind } from './faults.js';

/**
 * One request received by a test server, recorded as soon as its headers arrive and completed as the
 * exchange progresses (`bodyBytes`, `status` and `durationMs` are filled in later).
 *
 * Tests use the log to assert what a client sent: for example that no `authorization` header reached a
 * storage route, or that a retry happened after a 503.
 */
export interface RequestLogEntry {
  /** 1 for the first request a server receives, then 2, 3, …; not reset by `clearLog()`. */
  id: number;
  /** The request method, upper-case as sent (`GET`, `POST`, …). */
  method: string;
  /** The absolute URL, e.g. `http://127.0.0.1:41234/ws/search?query=x`. */
  url: string;
  /** The pathname, e.g. `/ws/search` (not decoded). */
  path: string;
  /** Query parameters, decoded, each name with all its values in order. */
  query: Record<string, string[]>;
  /**
   * Request headers with lower-cased names and values as received; a header sent several times has its
   * values joined with `, `.
   */
  headers: Record<string, string>;
  /** Bytes of request body received so far (final once the exchange is over). */
  bodyBytes: number;
  /** The status sent; `undefined` while pending, for resets, and for connections closed before an answer. */
  status?: number;
  /** The fault injected into this exchange, if any. */
  fault?: FaultKind;
  /** The latency injected before the response headers, if any. */
  latencyMs?: number;
  /** When the request headers arrived (milliseconds since the epoch). */
  startedAt: number;
  /** Time from `startedAt` until the response was fully sent or the connection closed. */
  durationMs?: number;
  /**
   * Bytes written to the connection for this response, status line and headers included (filled in with
   * `durationMs`); what a benchmark counts as served.
   */
  responseBytes?: number;
}

/**
 * Turns Node's `rawHeaders` (name, value, name, value, …) into a record with lower-cased names, joining
 * repeated headers with `, `.
 *
 * @internal
 */
export function headersRecord(rawHeaders: readonly string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    const value = rawHeaders[i + 1] as string;
    const previous = record[name];
    record[name] = previous === undefined ? value : `${previous}, ${value}`;
  }
  return record;
}

/**
 * Groups a URL's query parameters by name.
 *
 * @internal
 */
export function queryRecord(url: URL): Record<string, string[]> {
  const record: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    const values = record[name];
    if (values === undefined) record[name] = [value];
    else values.push(value);
  }
  return record;
}

/**
 * Creates the log entry of a request whose headers just arrived.
 *
 * @internal
 */
export function createLogEntry(
  id: number,
  method: string,
  url: URL,
  rawHeaders: readonly string[],
): RequestLogEntry {
  return {
    id,
    method,
    url: url.href,
    path: url.pathname,
    query: queryRecord(url),
    headers: headersRecord(rawHeaders),
    bodyBytes: 0,
    startedAt: Date.now(),
  };
}
