import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { AuthenticationError, PermissionDeniedError, UsageError } from '@sciport/core';
import {
  createFragalysisSimulator,
  type FragalysisSimulator,
  startTestServer,
  type TestServer,
  writeTarGz,
  xcaBundle,
} from '@sciport/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FragalysisClient, FragalysisTaskError, FragalysisTaskTimeoutError } from '../src/index.js';

/** Issue 14 (xca): access tokens (spec §11.2) and XCA uploads (spec §11.5) against the simulator, real sockets. */

let sim: FragalysisSimulator;
let server: TestServer;
let dir: string;

beforeEach(async () => {
  sim = createFragalysisSimulator({ seed: 3, buildMs: 20 });
  server = await startTestServer({ handlers: sim.handlers });
  dir = await mkdtemp(path.join(tmpdir(), 'frag-xca-'));
});

afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

function client(options: ConstructorParameters<typeof FragalysisClient>[0] = {}): FragalysisClient {
  return new FragalysisClient({ baseUrl: server.url, maxRetries: 0, ...options });
}

async function bundleFile(name: string, bytes: Uint8Array): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, bytes);
  return file;
}

describe('access tokens', () => {
  it('sends Authorization: Bearer on every request, no cookie, no CSRF even for writes', async () => {
    const c = client({ accessToken: ` Bearer ${sim.accessTokenFor('demo')}\n` });
    expect(c.authenticated).toBe(true);
    const me = await c.users.me();
    expect(me.user).toBe('demo');
    const targets = await c.targets.list().toArray();
    expect(targets.some((t) => t.tas === 'sw30864-12')).toBe(true);
    const file = await bundleFile('b.tgz', xcaBundle({ target: 'Mpro', version: 5 }));
    await c.uploads.upload(file, { target: 'Mpro', tas: 'sw30864-12' });
    const sent = server.requests.filter((r) => r.path.startsWith('/api/'));
    expect(sent.length).toBeGreaterThan(2);
    for (const r of sent) {
      expect(r.headers.authorization).toBe(`Bearer ${sim.accessTokenFor('demo')}`);
      expect(r.headers.cookie).toBeUndefined();
      expect(r.headers['x-csrftoken']).toBeUndefined();
    }
    expect(sim.stats.csrfBootstraps).toBe(0);
  });

  it('refuses both credentials at once with a UsageError', () => {
    expect(() => client({ token: 'abc', accessToken: 'def' })).toThrow(UsageError);
    expect(() => client({ token: 'abc', accessToken: 'def' })).toThrow(/give one of them/);
  });

  it('reports a refused access token as an AuthenticationError naming it, without its value', async () => {
    const token = sim.accessTokenFor('demo');
    sim.expireAccessToken('demo');
    const c = client({ accessToken: token });
    const error = await c.targets
      .list()
      .toArray()
      .catch((e: unknown) => e);
    expect(AuthenticationError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/access token \(FRAGALYSIS_ACCESS_TOKEN\)/);
    expect((error as Error).message).toMatch(/\(403: Token .* failed\)/);
    expect(JSON.stringify({ ...(error as object), message: (error as Error).message })).not.toContain(token);
  });
});

describe('XCA uploads', () => {
  it('uploads a bundle with its checksum, waits for the load and finds the new upload index', async () => {
    const c = client({ token: sim.tokenFor('demo') });
    const file = await bundleFile('Mpro-upload.tgz', xcaBundle({ target: 'Mpro', version: 4 }));
    const lines: string[] = [];
    const result = await c.uploads.upload(file, {
      target: 'Mpro',
      tas: 'sw30864-12',
      contactEmail: 'me@example.org',
      wait: true,
      pollInterval: 10,
      onMessage: (line) => lines.push(line),
    });
    expect(result.bundle).toMatchObject({ folder: 'upload_4', versionNumber: 4, targetName: 'Mpro' });
    expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(result.outcome?.uploadIndex).toBe(4);
    expect(lines.at(-1)).toBe('SUCCESS');
    const stats = await c.uploads.list().toArray();
    expect(stats.find((s) => s.targetName === 'Mpro' && s.tas === 'sw30864-12')?.lastUploadIndex).toBe(4);
    // A session upload carries CSRF.
    const post = server.requests.find((r) => r.method === 'POST');
    expect(post?.headers['x-csrftoken']).toBeDefined();
  });

  it('reports a failed load with the loader error lines', async () => {
    const c = client({ token: sim.tokenFor('demo') });
    const file = await bundleFile('again.tgz', xcaBundle({ target: 'Mpro', version: 1 }));
    const error = await c.uploads
      .upload(file, { target: 'Mpro', tas: 'lb18145-1', wait: true, pollInterval: 10 })
      .catch((e: unknown) => e);
    expect(FragalysisTaskError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /XCA upload of again\.tgz to lb18145-1 failed: ERROR: .*already uploaded/,
    );
  });

  it('names the upload when the deadline comes first', async () => {
    sim.setTargetOutcome('Mpro', 'sw30864-12', 'lost');
    const c = client({ token: sim.tokenFor('demo') });
    const file = await bundleFile('slow.tgz', xcaBundle({ target: 'Mpro', version: 8 }));
    const error = await c.uploads
      .upload(file, { target: 'Mpro', tas: 'sw30864-12', wait: true, pollInterval: 10, maxWaitTime: 300 })
      .catch((e: unknown) => e);
    expect(FragalysisTaskTimeoutError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /The XCA upload of slow\.tgz to sw30864-12 was not finished within/,
    );
  });

  it('maps the server replies: anonymous -> AuthenticationError, non-member -> PermissionDeniedError', async () => {
    const file = await bundleFile('b.tgz', xcaBundle({ target: 'Mpro', version: 6 }));
    const anonymous = await client()
      .uploads.upload(file, { target: 'Mpro', tas: 'sw30864-12' })
      .catch((e: unknown) => e);
    expect(AuthenticationError.isInstance(anonymous)).toBe(true);
    expect((anonymous as Error).message).toMatch(/uploads need a token/);
    const outsider = await client({ token: sim.tokenFor('outsider') })
      .uploads.upload(file, { target: 'Mpro', tas: 'sw30864-12' })
      .catch((e: unknown) => e);
    expect(PermissionDeniedError.isInstance(outsider)).toBe(true);
    expect((outsider as Error).message).toMatch(/not authorized to upload data to 'sw30864-12'/);
  });

  it('refuses a bad bundle before sending anything', async () => {
    const c = client({ token: sim.tokenFor('demo') });
    const cases: Array<[string, Uint8Array, RegExp]> = [
      [
        'no-meta.tgz',
        xcaBundle({ target: 'Mpro', omit: ['meta_aligner.yaml'] }),
        /upload_1\/ has no meta_aligner\.yaml/,
      ],
      [
        'no-config.tgz',
        xcaBundle({ target: 'Mpro', omit: ['config.yaml'] }),
        /upload_1\/ has no config\*\.yaml/,
      ],
      [
        'escape.tgz',
        xcaBundle({ target: 'Mpro', extra: { '../evil.txt': 'x' } }),
        /member "\.\/\.\.\/[^"]*" is unsafe: it contains a "\.\." component/,
      ],
      [
        'flat.tgz',
        writeTarGz([{ path: 'data/meta_aligner.yaml', data: new Uint8Array(3) }], 0),
        /no top-level upload_<n>\/ folder/,
      ],
      ['text.tgz', new TextEncoder().encode('hello, not a tar'), /not a tar archive/],
      ['garbage.tgz', gzipSync(Buffer.alloc(4096, 7)), /not a readable tar|not an XCA/],
      ['other.tgz', xcaBundle({ target: 'NSP3' }), /a bundle of "NSP3"/],
      ['b.tar.xz', new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2]), /xz-compressed/],
    ];
    for (const [name, bytes, message] of cases) {
      const file = await bundleFile(name, bytes);
      const error = await c.uploads
        .upload(file, { target: 'Mpro', tas: 'sw30864-12' })
        .catch((e: unknown) => e);
      expect(UsageError.isInstance(error), name).toBe(true);
      expect((error as Error).message, name).toMatch(message);
    }
    expect(server.requests).toHaveLength(0);
  });

  it('reads a plain (uncompressed) tar too', async () => {
    const c = client({ accessToken: sim.accessTokenFor('demo') });
    const plain = gunzipSync(xcaBundle({ target: 'A71EV2A', version: 9 }));
    const file = await bundleFile('plain.tar', plain);
    const result = await c.uploads.upload(file, {
      target: 'A71EV2A',
      tas: 'lb18145-1',
      wait: true,
      pollInterval: 10,
    });
    expect(result.bundle.compression).toBe('none');
  });
});
