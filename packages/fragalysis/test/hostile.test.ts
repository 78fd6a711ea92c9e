import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConnectionError, IntegrityError } from '@sciport/core';
import { createFragalysisSimulator, startTestServer, type TestServer } from '@sciport/testkit';
import {
  archiveBody,
  FRAGALYSIS_ARCHIVE_FETCH,
  fixedAnswer,
  type HostileRoute,
  htmlPage,
} from '@sciport/testkit/hostile';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FragalysisClient, type FragalysisClientOptions } from '../src/index.js';

/**
 * Archive fetches from a server that misbehaves on purpose (over real sockets): what arrives instead of an
 * archive is refused at its first bytes and nothing is left in the destination, not even a temporary file.
 */

let server: TestServer | undefined;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-fragalysis-hostile-'));
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

const WAIT = { pollInterval: 10, maxWaitTime: 60_000 };

/** The simulator (builds finish at once), with `route` answering the archive fetch. */
async function setup(route: HostileRoute, options: FragalysisClientOptions = {}) {
  const sim = createFragalysisSimulator({ seed: 4, buildMs: 0 });
  server = await startTestServer({ handlers: sim.handlers, raw: [route] });
  const client = new FragalysisClient({
    stack: server.url,
    token: sim.tokenFor('demo'),
    maxRetries: 1,
    ...options,
  });
  return { sim, client };
}

const download = (client: FragalysisClient) =>
  client.archives.download({ target: 'NSP3', tas: 'lb00000-1', destination: dir, ...WAIT });

// The Node transport (a body read without copies) and a caller's own fetch (a web stream): both are checked.
const transports = [
  { name: 'the Node transport', options: {} },
  { name: 'a caller’s fetch', options: { fetch: (i: RequestInfo | URL, o?: RequestInit) => fetch(i, o) } },
] as const;

describe.each(transports)('an archive fetch that is not an archive ($name)', ({ options }) => {
  it('refuses an HTML login page served with a 200, and leaves nothing behind', async () => {
    const page = htmlPage(FRAGALYSIS_ARCHIVE_FETCH);
    const { client } = await setup(page, options);
    const error = await download(client).catch((e: unknown) => e);
    expect(IntegrityError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/HTML page.*NSP3_lb00000-1\.tar\.gz.*not saved/);
    // Refused, not retried: a login page does not turn into an archive.
    expect(page.stats.requests).toBe(1);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a JSON answer and a body too short to say', async () => {
    const json = fixedAnswer(FRAGALYSIS_ARCHIVE_FETCH, {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"message": "file_url is not found"}',
    });
    const { client } = await setup(json, options);
    await expect(download(client)).rejects.toThrow(/a JSON answer instead of the archive/);
    expect(await readdir(dir)).toEqual([]);

    server?.useRaw(fixedAnswer(FRAGALYSIS_ARCHIVE_FETCH, { status: 200, body: Buffer.from([0x1f]) }));
    await expect(download(client)).rejects.toSatisfy((e) => IntegrityError.isInstance(e));
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('an archive fetch that sends more than it announces', () => {
  it('keeps no more than the announced length', async () => {
    const declared = 100_000;
    const route = archiveBody(FRAGALYSIS_ARCHIVE_FETCH, { declared, sent: 20 * 1024 * 1024 });
    const { client } = await setup(route);
    const outcome = await download(client).catch((e: unknown) => e as Error);
    // The announced length is the archive: what comes after it is not written (or the transfer is refused).
    let written = 0;
    for (const name of await readdir(dir)) written += (await stat(path.join(dir, name))).size;
    expect(written).toBeLessThanOrEqual(declared);
    if (!(outcome instanceof Error)) expect(outcome.bytes).toBe(declared);
  });
});

describe('an archive fetch that stalls', () => {
  it('ends within the client timeout, the response released and nothing left', async () => {
    const route = archiveBody(FRAGALYSIS_ARCHIVE_FETCH, { declared: 1024 * 1024, sent: 70_000, stall: true });
    const { client } = await setup(route, { timeout: 500, maxRetries: 0 });
    const started = Date.now();
    const error = await download(client).catch((e: unknown) => e as Error);
    // A timeout (a TimeoutError is a ConnectionError), after the transfer was fetched again as often as allowed.
    expect(ConnectionError.isInstance(error)).toBe(true);
    expect(route.stats.requests).toBe(4);
    // Budget: four attempts of the archive fetch (a cut-short transfer is fetched again) of 0.5 s each.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await readdir(dir)).toEqual([]);
  });
});
