import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getActiveResourcesInfo } from 'node:process';
import { startTestServer, type TestServer } from '@sciport/testkit';
import { endlessBody, fixedAnswer, htmlPage, stallAfterHeaders } from '@sciport/testkit/hostile';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttpClient } from '../src/http/client.js';
import { nodeDownloadFetch } from '../src/node/download-fetch.js';
import { downloadToFile } from '../src/node/files/download.js';

/**
 * Every error path releases its response and its timers: after a wrong size, an HTML page instead of data, a
 * redirect to another host, a stall or an endless body, nothing keeps the process alive (the client's own
 * timeout is two minutes: a timer left armed would hold the process that long).
 */

let dir: string;
let server: TestServer;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-exit-'));
  server = await startTestServer({
    handlers: [],
    raw: [
      fixedAnswer({ path: '/size/*' }, { status: 200, body: 'x'.repeat(1000) }),
      htmlPage({ path: '/html/*' }),
      fixedAnswer(
        { path: '/redirect/*' },
        { status: 302, headers: { location: 'http://127.0.0.2:9/elsewhere' } },
      ),
      stallAfterHeaders({ path: '/stall/*' }, { sent: 10, headers: { 'content-length': 140 } }),
      endlessBody({ path: '/endless/*' }),
    ],
  });
});
afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const CASES = ['size', 'html', 'redirect', 'stall', 'endless'] as const;

describe('errors release their response and timers', () => {
  it('leaves no timer armed in this process after each failure', async () => {
    const http = createHttpClient({
      baseUrl: server.url,
      service: 'storage',
      downloadFetch: nodeDownloadFetch,
      timeout: 120_000,
      maxRetries: 0,
      crossOriginRedirects: 'error',
    });
    const timers = () => getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    for (const name of CASES) {
      const error = await downloadToFile(
        ({ signal }) =>
          http.stream(`/${name}/file.bin`, { signal, ...(name === 'stall' ? { timeout: 300 } : {}) }),
        path.join(dir, `${name}.bin`),
        { expectedSize: 140, maxResumes: 0 },
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect([name, error]).toEqual([name, expect.any(Error)]);
      expect([name, timers() <= before]).toEqual([name, true]);
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('lets a process that met every failure exit by itself, at once', async () => {
    const core = new URL('../dist/index.js', import.meta.url).href;
    const node = new URL('../dist/node.js', import.meta.url).href;
    const script = `
      const { createHttpClient } = await import(${JSON.stringify(core)});
      const { downloadToFile, nodeDownloadFetch } = await import(${JSON.stringify(node)});
      const http = createHttpClient({
        baseUrl: ${JSON.stringify(server.url)}, service: 'storage', downloadFetch: nodeDownloadFetch,
        timeout: 120000, maxRetries: 0, crossOriginRedirects: 'error', maxBodyBytes: 1048576,
      });
      const codes = [];
      for (const name of ${JSON.stringify(CASES)}) {
        try {
          await downloadToFile(
            ({ signal }) => http.stream('/' + name + '/file.bin', { signal, ...(name === 'stall' ? { timeout: 300 } : {}) }),
            ${JSON.stringify(dir)} + '/' + name + '.bin',
            { expectedSize: 140, maxResumes: 0 },
          );
          codes.push('ok');
        } catch (error) {
          codes.push(error.code);
        }
        try {
          await http.request('/' + name + '/file.bin', name === 'stall' ? { timeout: 300 } : {});
          codes.push('ok');
        } catch (error) {
          codes.push(error.code);
        }
      }
      console.log(JSON.stringify(codes));`;
    const started = performance.now();
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--input-type=module', '-e', script],
        { timeout: 60_000 },
        (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
      );
    });
    const exitedAfter = performance.now() - started;
    expect(JSON.parse(out)).toEqual([
      'integrity_error', // 1000 bytes announced where 140 are expected
      'ok',
      'integrity_error', // an HTML page announced where 140 bytes are expected
      'ok',
      'api_error', // the redirect to another host, refused
      'api_error',
      'timeout', // a stall after the headers
      'timeout',
      'integrity_error', // an endless body, stopped at 141 bytes
      'response_too_large', // the same, buffered: stopped at maxBodyBytes
    ]);
    // Node's start and the calls take well under a second; a leaked timer would hold it for two minutes.
    expect(exitedAfter).toBeLessThan(15_000);
  }, 70_000);
});
