import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startTestServer } from '@sciport/testkit';
import { stallAfterHeaders } from '@sciport/testkit/hostile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { TimeoutError } from '../src/errors.js';
import { createHttpClient } from '../src/http/client.js';
import { nodeDownloadFetch } from '../src/node/download-fetch.js';

/**
 * On Node 20 the signal ky hands fetch (`AbortSignal.any` of ours and its own) can be collected while a request
 * is pending; an abort then never reaches fetch. The attempt's timeout must end a stalled body regardless: the
 * body read is cancelled directly, not through fetch's signal. Collections are forced here while the body
 * stalls (`gc` exposed at run time, as `node --expose-gc` would).
 */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const route = stallAfterHeaders({ path: '/*' }, { sent: 10 });
let server: Awaited<ReturnType<typeof startTestServer>>;
let collector: ReturnType<typeof setInterval>;

beforeAll(async () => {
  server = await startTestServer({ handlers: [], raw: [route] });
  collector = setInterval(gc, 5);
});
afterAll(async () => {
  clearInterval(collector);
  await server.close();
});

describe('a body that stalls under frequent garbage collection', () => {
  const paths = [
    ['request (global fetch)', (http: ReturnType<typeof createHttpClient>) => http.request('/api/whoami')],
    [
      'json (global fetch)',
      (http: ReturnType<typeof createHttpClient>) => http.json('/api/whoami', z.unknown()),
    ],
    [
      'stream, read as a web stream (undici transport)',
      async (http: ReturnType<typeof createHttpClient>) =>
        new Response((await http.stream('/files/a')).body).arrayBuffer(),
    ],
  ] as const;
  for (const [name, call] of paths) {
    it(`still ends with a TimeoutError: ${name}`, async () => {
      const http = createHttpClient({
        baseUrl: server.url,
        service: 'api',
        timeout: 200,
        maxRetries: 0,
        downloadFetch: nodeDownloadFetch,
      });
      const started = performance.now();
      const error = await call(http).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(TimeoutError.isInstance(error)).toBe(true);
      expect(performance.now() - started).toBeLessThan(10_000);
    });
  }
});
