import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ResponseValidationError } from '@sciport/core';
import {
  type CrucibleSimulator,
  type CrucibleSimulatorOptions,
  createCrucibleSimulator,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CrucibleClient, type CrucibleEvent, partSizeFor, storageHost } from '../src/index.js';
import { parseXml } from '../src/node/multipart.js';
import { xmlInitiateSchema, xmlListPartsSchema } from '../src/schemas/multipart.js';

// The multipart upload (§19.9) against the simulator over real sockets: 5 MiB parts (the smallest GCS takes) of
// files of 3-4 parts, with the threshold lowered to keep the files small.

const MiB = 1024 * 1024;
const servers: TestServer[] = [];
const sims: CrucibleSimulator[] = [];
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-crucible-mp-'));
});

afterEach(async () => {
  for (const s of sims) s.multipart.release();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(sims.splice(0).map((s) => s.dispose()));
  await rm(dir, { recursive: true, force: true });
});

async function setup(simOptions: CrucibleSimulatorOptions = { multipart: { chunkSizeHint: 5 * MiB } }) {
  const sim = createCrucibleSimulator({ seed: 4, datasets: 10, ...simOptions });
  sims.push(sim);
  const server = await startTestServer({ handlers: sim.handlers });
  servers.push(server);
  const events: CrucibleEvent[] = [];
  const client = () =>
    new CrucibleClient({
      baseUrl: `${server.url}/api/v2`,
      apiKey: sim.keyFor('demo'),
      onEvent: (e) => events.push(e),
    });
  const first = client();
  const ds = await first.datasets.create({ datasetName: 'mp', projectId: 'DEMO-0001' });
  const upload = {
    stateDir: path.join(dir, 'state'),
    storageHost: `${server.url}/storage`,
    multipartThreshold: 8 * MiB,
  };
  return { sim, server, client: first, newClient: client, events, dsid: ds.uniqueId, upload };
}

async function dataFile(size: number, name = 'data.bin') {
  const bytes = new Uint8Array(size);
  for (let i = 0, x = 7; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  const file = path.join(dir, name);
  await writeFile(file, bytes);
  return { file, bytes };
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('multipart upload (v2, §19.9)', () => {
  it('sends parts in parallel with the vended token only, and the server holds the same bytes', async () => {
    const { sim, client, dsid, upload, events } = await setup();
    const { file, bytes } = await dataFile(17 * MiB + 5);
    const progress: number[] = [];
    const r = await client.files.upload(dsid, file, { ...upload, onProgress: (p) => progress.push(p.bytes) });
    expect(r).toMatchObject({ skipped: false, resumed: false, sent: bytes.byteLength });
    expect(r.file.sha256Hash).toBe(sha256(bytes));
    expect(Buffer.from((await sim.fileBytes(r.file.mfid as string)) ?? []).equals(Buffer.from(bytes))).toBe(
      true,
    );
    const mp = sim.multipart.stats;
    expect(mp).toMatchObject({
      partsStored: 4,
      partPuts: 4,
      crucibleKeys: 0,
      badTokens: 0,
      metadataReads: 1,
    });
    expect(mp.maxConcurrentPuts).toBeGreaterThan(1);
    expect(sim.stats.chunkPuts).toBe(0);
    expect(progress.at(-1)).toBe(bytes.byteLength);
    // The token is a secret: no event carries it; the state file is gone.
    expect(JSON.stringify(events)).not.toMatch(/ya29\.sim-/);
    expect(await readdir(upload.stateDir)).toEqual([]);
    // A repeat is de-duplicated; below the threshold the single stream is used.
    expect((await client.files.upload(dsid, file, upload)).skipped).toBe(true);
    const small = await dataFile(3 * MiB, 'small.bin');
    await client.files.upload(dsid, small.file, upload);
    expect(sim.stats.chunkPuts).toBeGreaterThan(0);
    expect(sim.multipart.stats.vended).toBe(1);
  });

  it('retries a failing part alone (503, dropped connection) and starts over on an expired token', async () => {
    const { sim, client, dsid, upload } = await setup();
    const { file, bytes } = await dataFile(12 * MiB);
    sim.multipart.failPut(2, 503);
    sim.multipart.failPut(3, 'drop');
    const r = await client.files.upload(dsid, file, upload);
    expect(r.file.sha256Hash).toBe(sha256(bytes));
    expect(sim.multipart.stats).toMatchObject({ partPuts: 5, partsStored: 3, faults: 2, vended: 1 });

    const other = await dataFile(11 * MiB, 'other.bin');
    sim.multipart.failPut(2, 401);
    const again = await client.files.upload(dsid, other.file, upload);
    expect(again.file.sha256Hash).toBe(sha256(other.bytes));
    expect(sim.multipart.stats.vended).toBe(3);
  });

  it('goes on after a lost answer to complete (lists the parts, reads the object)', async () => {
    const { sim, client, dsid, upload } = await setup();
    const { file, bytes } = await dataFile(11 * MiB);
    sim.multipart.failComplete(503, true);
    const r = await client.files.upload(dsid, file, upload);
    expect(r.file.sha256Hash).toBe(sha256(bytes));
    // The upload was gone (completed): the object was read instead of completing again.
    expect(sim.multipart.stats).toMatchObject({ completes: 1, listParts: 0, metadataReads: 1, vended: 1 });
    // A 503 that did not complete: the parts are still listed, and complete is asked again.
    const other = await dataFile(10 * MiB, 'other.bin');
    sim.multipart.failComplete(503, false);
    expect((await client.files.upload(dsid, other.file, upload)).file.sha256Hash).toBe(sha256(other.bytes));
    expect(sim.multipart.stats).toMatchObject({ completes: 3, listParts: 1, vended: 2 });
  });

  it('resumes in another client from the state file, sending only the missing parts', async () => {
    const { sim, client, newClient, dsid, upload } = await setup();
    const { file, bytes } = await dataFile(26 * MiB);
    sim.multipart.holdAfter(2);
    const abort = new AbortController();
    const first = client.files.upload(dsid, file, { ...upload, parallel: 2, signal: abort.signal });
    await sim.multipart.whenHeld(2);
    abort.abort();
    await expect(first).rejects.toThrow();
    sim.multipart.release();
    expect(sim.multipart.uploads[0]?.parts).toHaveLength(2);
    expect(await readdir(upload.stateDir)).toHaveLength(1);
    const before = sim.multipart.stats.partPuts;
    const events: Array<{ bytes: number; resumedFrom?: number }> = [];
    const r = await newClient().files.upload(dsid, file, { ...upload, onProgress: (p) => events.push(p) });
    expect(r).toMatchObject({ resumed: true, sent: bytes.byteLength - 10 * MiB });
    expect(events[0]).toMatchObject({ bytes: 10 * MiB, resumedFrom: 10 * MiB });
    expect(events.at(-1)).toMatchObject({ bytes: bytes.byteLength, resumedFrom: 10 * MiB });
    expect(sim.multipart.stats.partPuts - before).toBe(4);
    expect(sim.multipart.stats.vended).toBe(1);
    expect(r.file.sha256Hash).toBe(sha256(bytes));
  });

  it('falls back to the single stream when the server does not offer multipart, and remembers it', async () => {
    const { sim, client, dsid, upload, events } = await setup({ multipart: { offered: 404 } });
    const a = await dataFile(9 * MiB, 'a.bin');
    const b = await dataFile(10 * MiB, 'b.bin');
    expect((await client.files.upload(dsid, a.file, upload)).file.sha256Hash).toBe(sha256(a.bytes));
    expect((await client.files.upload(dsid, b.file, upload)).file.sha256Hash).toBe(sha256(b.bytes));
    expect(sim.stats.routes['POST /datasets/{dsid}/upload/initiate/multipart']).toBe(1);
    expect(sim.stats.uploadsCompleted).toBe(2);
    expect(events.some((e) => e.type === 'warning' && /does not offer multipart/.test(e.message))).toBe(true);
  });

  it('picks the part size and the storage host as §19.9 says', () => {
    expect(partSizeFor(100 * MiB, undefined)).toBe(8 * MiB);
    expect(partSizeFor(100 * MiB, 1024)).toBe(5 * MiB);
    expect(partSizeFor(100 * MiB, 64 * MiB)).toBe(64 * MiB);
    expect(partSizeFor(200_000 * MiB, undefined)).toBe(Math.ceil((200_000 * MiB) / 10_000));
    const saved = process.env.STORAGE_EMULATOR_HOST;
    try {
      delete process.env.STORAGE_EMULATOR_HOST;
      expect(storageHost()).toBe('https://storage.googleapis.com');
      process.env.STORAGE_EMULATOR_HOST = 'localhost:9023/';
      expect(storageHost()).toBe('http://localhost:9023');
      expect(storageHost('https://gcs.example/')).toBe('https://gcs.example');
    } finally {
      if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
      else process.env.STORAGE_EMULATOR_HOST = saved;
    }
  });

  it('reads the XML answers tolerantly (namespaces, entities, one Part or many, extra elements) and refuses wrong ones', () => {
    const one = parseXml(
      xmlListPartsSchema,
      `<?xml version="1.0" encoding="UTF-8"?>
      <ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
        <Bucket>b</Bucket><Key>k</Key><IsTruncated> true </IsTruncated><NextPartNumberMarker>1</NextPartNumberMarker>
        <Part><PartNumber>1</PartNumber><LastModified>2026-01-01T00:00:00Z</LastModified>
          <ETag>&quot;a&amp;b&quot;</ETag><Size>5242880</Size><Owner><ID>x</ID></Owner></Part>
      </ListPartsResult>`,
      'GET ?uploadId',
    ).ListPartsResult;
    expect(one.Part).toEqual([{ partNumber: 1, etag: '"a&b"', size: 5 * MiB }]);
    expect(one).toMatchObject({ IsTruncated: 'true', NextPartNumberMarker: 1 });
    const many = parseXml(
      xmlListPartsSchema,
      '<ListPartsResult><Part><PartNumber>1</PartNumber><ETag>"x"</ETag><Size>1</Size></Part><Part><PartNumber>2</PartNumber><ETag>&#34;y&#34;</ETag><Size>2</Size></Part></ListPartsResult>',
      'GET ?uploadId',
    ).ListPartsResult.Part;
    expect(many.map((p) => p.etag)).toEqual(['"x"', '"y"']);
    expect(
      parseXml(xmlListPartsSchema, '<ListPartsResult><Bucket>b</Bucket></ListPartsResult>', 'GET')
        .ListPartsResult.Part,
    ).toEqual([]);
    expect(
      parseXml(
        xmlInitiateSchema,
        '<InitiateMultipartUploadResult><UploadId><![CDATA[ABC-1]]></UploadId></InitiateMultipartUploadResult>',
        'POST',
      ).InitiateMultipartUploadResult.UploadId,
    ).toBe('ABC-1');
    for (const bad of [
      '<html><body>Sign in</body></html>',
      '<InitiateMultipartUploadResult><Bucket>b</Bucket></InitiateMultipartUploadResult>',
      '',
    ])
      expect(() => parseXml(xmlInitiateSchema, bad, 'POST ?uploads')).toThrow(ResponseValidationError);
    expect(() =>
      parseXml(
        xmlListPartsSchema,
        '<ListPartsResult><Part><PartNumber>x</PartNumber><ETag>e</ETag><Size>1</Size></Part></ListPartsResult>',
        'GET',
      ),
    ).toThrow(ResponseValidationError);
  });
});
