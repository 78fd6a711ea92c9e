/** The client's shape (the one shape of every sciport client): options, events, logging, dispose, per-call options. */
import { TimeoutError, WaitTimeoutError } from '@sciport/core';
import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import {
  type CrucibleEvent,
  RequestFailedError,
  RequestTimeoutError,
  requestSchema,
} from '../../src/index.js';
import { client, DSID, detail, seen, server, useConformanceServer, V2 } from './server.js';

useConformanceServer();

describe('the client (one shape for every client)', () => {
  it('logs requests and warnings through `logger`, and onEvent subscribes and unsubscribes', async () => {
    let polls = 0;
    server.use(
      http.get(`${V2}/ingestion_requests/9`, () => {
        polls += 1;
        return polls === 1 ? detail(503, 'busy') : HttpResponse.json({ id: 9, status: 'complete' });
      }),
    );
    const lines: Array<[string, string]> = [];
    const logger = {
      debug: (m: string) => lines.push(['debug', m]),
      info: (m: string) => lines.push(['info', m]),
      warn: (m: string) => lines.push(['warn', m]),
    };
    const events: CrucibleEvent[] = [];
    const c = client({ maxRetries: 0, logger });
    const off = c.onEvent((e) => events.push(e));
    const done = await c.requests.wait(9, { pollInterval: 1 });
    expect(done.succeeded).toBe(true);
    expect(lines.some(([level, m]) => level === 'debug' && m.includes('/ingestion_requests/9'))).toBe(true);
    expect(lines.some(([level, m]) => level === 'warn' && /Polling request 9 failed/.test(m))).toBe(true);
    expect(events.filter((e) => e.type === 'request-status')).toEqual([
      { type: 'request-status', id: 9, status: 'complete' },
    ]);
    off();
    const before = events.length;
    await c.requests.get(9);
    expect(events).toHaveLength(before);
    await c.dispose();
    await c[Symbol.asyncDispose]();
  });

  it('passes timeout and maxRetries of a call to its requests', async () => {
    let calls = 0;
    server.use(
      http.get(`${V2}/datasets/${DSID}`, async () => {
        calls += 1;
        return detail(503, 'down');
      }),
    );
    await expect(client({ maxRetries: 3 }).datasets.get(DSID, { maxRetries: 0 })).rejects.toThrow(/503/);
    expect(calls).toBe(1);
    server.use(http.get(`${V2}/datasets/${DSID}`, () => new Promise<Response>(() => undefined)));
    const error = await client({ maxRetries: 0 })
      .datasets.get(DSID, { timeout: 20 })
      .catch((e: unknown) => e);
    expect(TimeoutError.isInstance(error)).toBe(true);
    expect(seen.every((s) => s.url.origin === new URL(V2).origin)).toBe(true);
  });

  it('has literal error codes, a RequestTimeoutError that is a WaitTimeoutError, and prints requests as sent', () => {
    const request = requestSchema.parse({ id: 3, status: 'requested', error_message: null });
    expect(request).toMatchObject({ id: 3, status: 'requested', errorMessage: null });
    const timeout = new RequestTimeoutError(request, { waitedMs: 61_000, polls: 7, lastError: undefined });
    expect(WaitTimeoutError.isInstance(timeout)).toBe(true);
    expect(RequestTimeoutError.isInstance(timeout)).toBe(true);
    const code: 'request_timeout' = timeout.code;
    expect(code).toBe('request_timeout');
    expect(timeout.message).toMatch(/still "requested" after 61 s \(no worker/);
    expect(timeout.toJSON().request).toEqual({ id: 3, status: 'requested', error_message: null });
    const failed = new RequestFailedError(
      requestSchema.parse({ id: 4, status: 'failed', error_message: 'bad file' }),
    );
    const failedCode: 'request_failed' = failed.code;
    expect(failedCode).toBe('request_failed');
    expect(failed.message).toMatch(/ended "failed": bad file/);
    expect(failed.toJSON().request).toEqual({ id: 4, status: 'failed', error_message: 'bad file' });
  });
});
