import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AuthenticationError,
  NotFoundError,
  PermissionDeniedError,
  SciportError,
  UsageError,
} from '@sciport/core';
import {
  type CrucibleSimulator,
  type CrucibleSimulatorOptions,
  createCrucibleSimulator,
  type FaultRule,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { http } from 'msw';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CrucibleClient,
  type CrucibleClientOptions,
  type CrucibleEvent,
  RequestTimeoutError,
} from '../src/index.js';

const servers: TestServer[] = [];
const sims: CrucibleSimulator[] = [];
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-crucible-'));
  // Interrupted upload sessions are kept under the cache folder: keep them out of the real one.
  process.env.XDG_CACHE_HOME = path.join(dir, 'cache');
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(sims.splice(0).map((s) => s.dispose()));
  await rm(dir, { recursive: true, force: true });
});

type Version = 'v1' | 'v2';

/**
 * The simulator's clock. It moves only when the client reports a polled request status (20 ms a poll), so that
 * an ingestion goes requested → started → its end over the same number of polls however slow the machine is.
 */
let clock = Date.parse('2026-05-12T16:40:00Z');

async function setup(
  version: Version = 'v2',
  simOptions: CrucibleSimulatorOptions = {},
  clientOptions: CrucibleClientOptions & { user?: string } = {},
  faults?: FaultRule | FaultRule[],
) {
  const sim = createCrucibleSimulator({
    seed: 3,
    datasets: 40,
    ingestionSteps: { requestedMs: 30, startedMs: 30 },
    now: () => clock,
    ...simOptions,
  });
  sims.push(sim);
  const server = await startTestServer({ handlers: sim.handlers, ...(faults ? { faults } : {}), seed: 5 });
  servers.push(server);
  const events: CrucibleEvent[] = [];
  const { user = 'demo', ...rest } = clientOptions;
  const client = new CrucibleClient({
    baseUrl: `${server.url}/api/${version}`,
    apiKey: sim.keyFor(user),
    maxRetries: 4,
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'request-status') clock += 20;
    },
    ...rest,
  });
  return { sim, server, client, events };
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

for (const version of ['v2', 'v1'] as const) {
  describe(`datasets and catalog (${version})`, () => {
    it('lists every readable dataset across pages, newest first on v2, with filters', async () => {
      const { client, sim } = await setup(version, {}, { pageSize: 7 });
      const readable = sim.datasets.filter((_, i) => i % 10 !== 7 && i % 10 !== 8);
      const listed = await client.datasets.list().toArray();
      expect(new Set(listed.map((d) => d.uniqueId))).toEqual(new Set(readable.map((d) => d.uniqueId)));
      expect(listed).toHaveLength(readable.length);
      if (version === 'v2') expect(listed[0]?.uniqueId).toBe(readable.at(-1)?.uniqueId);
      const mine = await client.datasets.list({ projectId: 'DEMO-0001' }).toArray();
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.every((d) => d.projectId === 'DEMO-0001')).toBe(true);
      const five = await client.datasets.list({ limit: 5 }).toArray();
      expect(five).toHaveLength(5);
    });

    it('creates, gets with metadata, updates, and edits metadata (merge and replace) and keywords', async () => {
      const { client, sim } = await setup(version);
      const created = await client.datasets.create({
        datasetName: 'XRD run 5',
        measurement: 'XRD',
        projectId: 'DEMO-0001',
        sessionName: 'am',
      });
      const dsid = created.uniqueId;
      expect(sim.dataset(dsid)?.datasetName).toBe('XRD run 5');
      await client.datasets.mergeMetadata(dsid, { beam: { energy: 12 }, sample: 'A' });
      await client.datasets.mergeMetadata(dsid, { beam: { current: 3 } });
      const merged = await client.datasets.metadata(dsid);
      expect(merged).toMatchObject({
        sample: 'A',
        beam: version === 'v2' ? { energy: 12, current: 3 } : { current: 3 },
      });
      await client.datasets.replaceMetadata(dsid, { only: true });
      expect(await client.datasets.metadata(dsid)).toEqual({ only: true });
      const full = await client.datasets.get(dsid, { includeMetadata: true });
      expect(full.scientificMetadata).toEqual({ only: true });
      const updated = await client.datasets.update(dsid, { sessionName: 'pm', public: true });
      expect(updated.sessionName).toBe('pm');
      expect(updated.public).toBe(true);
      await client.keywords.add(dsid, ['perovskite', 'XRD']);
      expect((await client.keywords.list(dsid).toArray()).map((k) => k.keyword).sort()).toEqual([
        'XRD',
        'perovskite',
      ]);
      expect(sim.stats.writes['POST /datasets/{dsid}/keywords']).toBe(2);
    });

    it('turns a missing record into NotFoundError and another user’s private dataset into a clear refusal', async () => {
      const { client, sim } = await setup(version);
      await expect(client.datasets.get('0000000000000000000000000z')).rejects.toThrow(NotFoundError);
      const foreign = sim.datasets.find((_, i) => i % 10 === 7);
      const error = await client.datasets.get(foreign?.uniqueId as string).catch((e: unknown) => e);
      expect(PermissionDeniedError.isInstance(error) || NotFoundError.isInstance(error)).toBe(true);
      expect((error as Error).message.length).toBeGreaterThan(20);
    });

    it('rejects a wrong key with AuthenticationError, never showing it', async () => {
      const { client } = await setup(version, {}, { apiKey: 'crk_wrong_key_0123456789' });
      const error = await client.users.me().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthenticationError);
      expect(JSON.stringify(error)).not.toContain('crk_wrong_key_0123456789');
      expect((error as Error).message).not.toContain('crk_wrong_key_0123456789');
    });

    it('creates samples, links them to datasets and to each other, and links datasets', async () => {
      const { client, sim } = await setup(version);
      const ds = await client.datasets.create({ datasetName: 'parent', projectId: 'DEMO-0001' });
      const child = await client.datasets.create({ datasetName: 'child', projectId: 'DEMO-0001' });
      const s1 = await client.samples.create({ sampleName: 'film A', projectId: 'DEMO-0001' });
      const s2 = await client.samples.create({ sampleName: 'film A.1', projectId: 'DEMO-0001' });
      await client.datasets.linkSample(ds.uniqueId, s1.uniqueId);
      await client.samples.linkChild(s1.uniqueId, s2.uniqueId);
      await client.datasets.linkChild(ds.uniqueId, child.uniqueId);
      expect((await client.datasets.samples(ds.uniqueId).toArray()).map((s) => s.uniqueId)).toEqual([
        s1.uniqueId,
      ]);
      expect((await client.samples.children(s1.uniqueId).toArray()).map((s) => s.uniqueId)).toEqual([
        s2.uniqueId,
      ]);
      expect((await client.datasets.children(ds.uniqueId).toArray()).map((d) => d.uniqueId)).toEqual([
        child.uniqueId,
      ]);
      expect((await client.datasets.parents(child.uniqueId).toArray()).map((d) => d.uniqueId)).toEqual([
        ds.uniqueId,
      ]);
      expect(sim.samples.some((s) => s.uniqueId === s2.uniqueId)).toBe(true);
    });

    it('reads instruments and projects; admin-only writes say so', async () => {
      const { client, server: s, sim } = await setup(version);
      const instruments = await client.instruments.list().toArray();
      expect(instruments.length).toBe(sim.instruments.length);
      const first = instruments[0];
      expect((await client.instruments.get(first?.instrumentName as string, { byName: true })).uniqueId).toBe(
        first?.uniqueId,
      );
      const denied = await client.instruments
        .create({ instrumentName: 'New scope', owner: 'demo', location: 'B67' })
        .catch((e: unknown) => e);
      if (version === 'v2') {
        // v2 instrument writes are admin-only; v1 let any key create them.
        expect(denied).toBeInstanceOf(PermissionDeniedError);
        expect((denied as Error).message).toMatch(/admin/i);
      }
      const admin = new CrucibleClient({ baseUrl: `${s.url}/api/${version}`, apiKey: sim.keyFor('admin') });
      const made = await admin.instruments.create({
        instrumentName: 'Admin scope',
        owner: 'demo',
        location: 'B67',
      });
      expect(made.instrumentName).toBe('Admin scope');
      const projects = (await client.projects.list().toArray()).map((p) => p.projectId);
      expect(projects).toContain('DEMO-0001');
      expect((await client.projects.get('DEMO-0001')).projectId).toBe('DEMO-0001');
      const project = await admin.projects.create({
        projectId: 'NEW-1',
        organization: 'MF',
        leadEmail: 'x@y.z',
      });
      expect(project.projectId).toBe('NEW-1');
    });
  });
}

describe('files on v2', () => {
  async function dataFile(size: number, name = 'run5.h5'): Promise<{ file: string; bytes: Buffer }> {
    const bytes = randomBytes(size);
    const file = path.join(dir, name);
    await writeFile(file, bytes);
    return { file, bytes };
  }

  it('uploads resumably in aligned chunks, with the server’s sha256 equal to the file’s, and skips a repeat', async () => {
    const { client, sim } = await setup('v2', { chunkSizeHint: 256 * 1024 });
    const ds = await client.datasets.create({ datasetName: 'up', projectId: 'DEMO-0001' });
    const { file, bytes } = await dataFile(1024 * 1024 + 12345);
    const result = await client.files.upload(ds.uniqueId, file);
    expect(result.skipped).toBe(false);
    expect(result.file.sha256Hash).toBe(sha256(bytes));
    expect(sim.servedSha256(result.file.mfid as string)).toBe(sha256(bytes));
    expect(sim.stats.chunkPuts).toBeGreaterThanOrEqual(5);
    expect(sim.stats.misalignedChunks).toBe(0);
    expect(sim.stats.storageAuthorizationHeaders).toBe(0);
    const again = await client.files.upload(ds.uniqueId, file);
    expect(again.skipped).toBe(true);
    expect(sim.stats.uploadsCompleted).toBe(1);
  });

  it('continues from the Range the server persisted, and resumes after a connection reset', async () => {
    const { client, sim, server: s } = await setup('v2', { chunkSizeHint: 256 * 1024 });
    const ds = await client.datasets.create({ datasetName: 'up', projectId: 'DEMO-0001' });
    const { file, bytes } = await dataFile(2 * 1024 * 1024 + 7);
    sim.persistPartially(100_000, 2);
    s.setFaults([{ match: { method: 'PUT', path: '/storage/*' }, resetRate: 0.3, times: 3 }]);
    const result = await client.files.upload(ds.uniqueId, file);
    expect(sim.servedSha256(result.file.mfid as string)).toBe(sha256(bytes));
    expect(sim.stats.partialChunks).toBeGreaterThanOrEqual(1);
    expect(sim.stats.probes).toBeGreaterThanOrEqual(1);
    // Nothing is sent twice beyond the chunks that were cut: at most the file plus a few chunks.
    expect(sim.stats.bytesPersisted).toBeLessThan(bytes.length + 4 * 256 * 1024);
  });

  it('resumes an upload interrupted by the user from the committed offset in a new client', async () => {
    const { client, sim, server: s } = await setup('v2', { chunkSizeHint: 256 * 1024 });
    const ds = await client.datasets.create({ datasetName: 'up', projectId: 'DEMO-0001' });
    const { file, bytes } = await dataFile(3 * 1024 * 1024);
    const controller = new AbortController();
    await expect(
      client.files.upload(ds.uniqueId, file, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.bytes >= 1024 * 1024) controller.abort();
        },
      }),
    ).rejects.toThrow();
    const persisted = sim.sessions[0]?.persisted ?? 0;
    expect(persisted).toBeGreaterThan(0);
    const fresh = new CrucibleClient({ baseUrl: `${s.url}/api/v2`, apiKey: sim.keyFor('demo') });
    const result = await fresh.files.upload(ds.uniqueId, file);
    expect(sim.sessions).toHaveLength(1);
    expect(sim.servedSha256(result.file.mfid as string)).toBe(sha256(bytes));
    expect(sim.stats.bytesPersisted).toBeLessThan(bytes.length + 2 * 256 * 1024);
  });

  it('ingests and waits, reports failures and stuck requests, then downloads verified files without the key', async () => {
    const { client, sim } = await setup('v2');
    const ds = await client.datasets.create({ datasetName: 'dl', projectId: 'DEMO-0001' });
    const { file, bytes } = await dataFile(300_000, 'a.dat');
    const up = await client.files.upload(ds.uniqueId, file, {
      ingestionClass: 'ApiUploadIngestor',
      wait: { pollInterval: 10, maxPollInterval: 50 },
    });
    expect(up.outcome?.status).toBe('complete');
    expect(up.outcome?.succeeded).toBe(true);
    const out = path.join(dir, 'out');
    const saved = await client.datasets.download(ds.uniqueId, out);
    expect(saved).toHaveLength(1);
    expect((await readFile(saved[0]?.path as string)).equals(bytes)).toBe(true);
    expect(sim.stats.storageAuthorizationHeaders).toBe(0);

    const { file: other } = await dataFile(1000, 'b.dat');
    const second = await client.files.upload(ds.uniqueId, other);
    sim.setIngestionOutcome(second.file.mfid as string, 'failed');
    const failed = await client.requests.ingest({ fileId: second.file.mfid as string });
    const seen: string[] = [];
    const outcome = await client.requests.wait(failed.id, {
      pollInterval: 10,
      maxPollInterval: 50,
      onStatus: (r) => seen.push(r.status),
    });
    expect(outcome.succeeded).toBe(false);
    expect(outcome.status).toBe('failed');
    expect(seen.at(-1)).toBe('failed');
    expect(seen.length).toBeGreaterThan(1);
    sim.setIngestionOutcome(second.file.mfid as string, 'stuck');
    const stuck = await client.requests.ingest({ fileId: second.file.mfid as string });
    await expect(
      client.requests.wait(stuck.id, { pollInterval: 10, maxPollInterval: 50, maxWaitTime: 300 }),
    ).rejects.toThrow(RequestTimeoutError);
  });

  it('gets a fresh link when a signed URL expires mid-way, and never saves an error page', async () => {
    const { client, sim, server: s } = await setup('v2');
    const ds = await client.datasets.create({ datasetName: 'dl', projectId: 'DEMO-0001' });
    const bytes = randomBytes(50_000);
    await sim.addFile(ds.uniqueId, { filename: 'x.bin', bytes, ingested: true });
    let expired = false;
    s.use(
      http.get(/\/storage\//, () => {
        if (!expired) {
          expired = true;
          sim.expireLinks();
        }
        return undefined;
      }),
    );
    const out = path.join(dir, 'out');
    const saved = await client.datasets.download(ds.uniqueId, out);
    expect((await readFile(saved[0]?.path as string)).equals(bytes)).toBe(true);
    expect(sim.stats.expiredLinkHits).toBe(1);
    expect(await readdir(out)).toEqual(['x.bin']);

    // Links that are expired however often they are renewed: a clear error, and no XML saved as data.
    const { client: c2, sim: sim2 } = await setup('v2', { linkTtlSeconds: 1 });
    const ds2 = await c2.datasets.create({ datasetName: 'dl', projectId: 'DEMO-0001' });
    await sim2.addFile(ds2.uniqueId, { filename: 'y.bin', bytes, ingested: true });
    const s2 = servers.at(-1) as TestServer;
    s2.use(
      http.get(/\/storage\//, () => {
        sim2.expireLinks();
        return undefined;
      }),
    );
    const out2 = path.join(dir, 'out2');
    const error = await c2.datasets.download(ds2.uniqueId, out2).catch((e: unknown) => e);
    expect(SciportError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/expired/i);
    expect(await readdir(out2).catch(() => [])).toEqual([]);
  });

  it('survives 10% 5xx, 5% truncated bodies and 429 bursts without applying a write twice', async () => {
    const faults: FaultRule[] = [
      { failRate: 0.1, failStatus: [500, 502, 503] },
      { truncateRate: 0.05 },
      { rateLimitEvery: 9, retryAfter: 0 },
    ];
    const { client, sim } = await setup('v2', {}, { maxRetries: 6 }, faults);
    let ok = 0;
    let failedClearly = 0;
    const attempts: Array<() => Promise<unknown>> = [];
    for (let i = 0; i < 12; i++) {
      attempts.push(() => client.datasets.list({ limit: 30 }).toArray());
      attempts.push(() => client.datasets.create({ datasetName: `f${i}`, projectId: 'DEMO-0001' }));
    }
    for (const attempt of attempts) {
      try {
        await attempt();
        ok++;
      } catch (error) {
        expect(SciportError.isInstance(error)).toBe(true);
        expect((error as Error).message).toMatch(/crucible|\d{3}/i);
        failedClearly++;
      }
    }
    expect(ok + failedClearly).toBe(attempts.length);
    expect(ok).toBeGreaterThan(attempts.length / 2);
    const created = sim.datasets.filter((d) => /^f\d+$/.test(d.datasetName ?? ''));
    // No dataset exists twice: a POST is never blindly repeated.
    expect(new Set(created.map((d) => d.datasetName)).size).toBe(created.length);
  });
});

describe('files on v1', () => {
  it('uploads with multipart, ingests per dataset, and refuses files over the limit before sending', async () => {
    const { client, sim } = await setup('v1', { v1UploadLimit: 200_000 });
    const ds = await client.datasets.create({ datasetName: 'v1 up', projectId: 'DEMO-0001' });
    const bytes = randomBytes(50_000);
    const file = path.join(dir, 'small.dat');
    await writeFile(file, bytes);
    const up = await client.files.upload(ds.uniqueId, file, {
      ingestionClass: 'ApiUploadIngestor',
      wait: { pollInterval: 10, maxPollInterval: 50 },
    });
    expect(up.outcome?.succeeded).toBe(true);
    const big = path.join(dir, 'big.dat');
    await writeFile(big, randomBytes(300_000));
    // Over the server's limit: the server's 413 becomes a clear error.
    await expect(client.files.upload(ds.uniqueId, big)).rejects.toThrow(/too large|413/i);
    // Over the client's limit: refused before a byte is sent.
    const requestsBefore = sim.stats.requests;
    await expect(client.files.upload(ds.uniqueId, big, { v1Limit: 250_000 })).rejects.toThrow(UsageError);
    expect(sim.stats.requests).toBe(requestsBefore);
    const scicat = await client.requests.scicatUpdate(ds.uniqueId);
    const done = await client.requests.wait(scicat.id, {
      datasetId: ds.uniqueId,
      kind: 'scicat',
      pollInterval: 10,
      maxPollInterval: 50,
    });
    expect(done.status).toBeTruthy();
  });
});
