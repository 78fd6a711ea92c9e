import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  type Api,
  bytesOf,
  datasetOf,
  GRANULE,
  type Json,
  newDataset,
  sameBytes,
  serve,
  sha256,
} from './crucible-test-helpers.js';

describe('Crucible simulator: v2 resumable upload, ingestion and signed download', () => {
  async function initiate(api: Api, dsid: string, data: Uint8Array, filename = 'run5.bin') {
    const res = await api.send('POST', `datasets/${dsid}/upload/initiate`, {
      filename,
      size: data.byteLength,
      sha256_hash: sha256(data),
    });
    expect(res.status).toBe(200);
    return res.body as {
      upload_id: string | null;
      resumable_uri: string | null;
      chunk_size_hint: number;
      existing_file: Json | null;
    };
  }
  const put = (
    uri: string,
    data: Uint8Array<ArrayBuffer>,
    first: number,
    last: number,
    total: number,
    headers: Record<string, string> = {},
  ) =>
    fetch(uri, {
      method: 'PUT',
      headers: { 'content-range': `bytes ${first}-${last}/${total}`, ...headers },
      body: data.subarray(first, last + 1),
    });
  const probe = (uri: string, total: number) =>
    fetch(uri, { method: 'PUT', headers: { 'content-range': `bytes */${total}` }, body: new Uint8Array(0) });

  it('uploads in chunks with 308 + Range, persists partially on demand, answers probes, completes with SHA-256', async () => {
    const { sim, v2 } = await serve();
    const dsid = await newDataset(v2());
    const data = bytesOf(4 * GRANULE + 1000, 7);
    const init = await initiate(v2(), dsid, data);
    expect(init).toMatchObject({ chunk_size_hint: 8 * 1024 * 1024, existing_file: null });
    const uri = init.resumable_uri as string;
    expect(new URL(uri).pathname).toBe('/storage/upload/storage/v1/b/crucible-uploads/o');
    // A fresh session: a probe says nothing is persisted (308 without Range).
    const empty = await probe(uri, data.byteLength);
    expect(empty.status).toBe(308);
    expect(empty.headers.get('range')).toBeNull();
    // First chunk of two granules: only one is persisted this time.
    sim.persistPartially(GRANULE);
    const r1 = await put(uri, data, 0, 2 * GRANULE - 1, data.byteLength);
    expect(r1.status).toBe(308);
    expect(r1.headers.get('range')).toBe(`bytes=0-${GRANULE - 1}`);
    const p = await probe(uri, data.byteLength);
    expect(p.status).toBe(308);
    expect(p.headers.get('range')).toBe(`bytes=0-${GRANULE - 1}`);
    // Continue from the persisted offset with an overlapping chunk: the overlap is ignored.
    const r2 = await put(uri, data, GRANULE - 100, 4 * GRANULE - 1, data.byteLength);
    expect(r2.status).toBe(308);
    expect(r2.headers.get('range')).toBe(`bytes=0-${4 * GRANULE - 1}`);
    const r3 = await put(uri, data, 4 * GRANULE, data.byteLength - 1, data.byteLength);
    expect(r3.status).toBe(200);
    const object = (await r3.json()) as Json;
    expect(object).toMatchObject({
      bucket: 'crucible-uploads',
      size: String(data.byteLength),
      crc32c: expect.any(String),
    });
    // A probe after completion answers 200 too.
    expect((await probe(uri, data.byteLength)).status).toBe(200);
    const done = await v2().send('POST', `datasets/${dsid}/upload/complete`, {
      upload_id: init.upload_id,
      sha256_hash: sha256(data),
    });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({
      dataset_mfid: dsid,
      storage_path: null,
      size: data.byteLength,
      sha256_hash: sha256(data),
    });
    expect((done.body as Json).filename).toBe(`crucible-uploads/api-uploads/${dsid}/run5.bin`);
    const mfid = (done.body as Json).mfid as string;
    sameBytes(await sim.fileBytes(mfid), data);
    expect(sim.sessions.find((s) => s.uploadId === init.upload_id)).toMatchObject({
      completed: true,
      fileMfid: mfid,
      probes: 2,
    });
    const again = await v2().send('POST', `datasets/${dsid}/upload/complete`, {
      upload_id: init.upload_id,
      sha256_hash: sha256(data),
    });
    expect((again.body as Json).mfid).toBe(mfid);
    expect(sim.stats).toMatchObject({
      partialChunks: 1,
      uploadsCompleted: 1,
      repeatedCompletes: 1,
      storageAuthorizationHeaders: 0,
    });
  });

  it('accepts overlapping chunks (skipping persisted bytes), persists only 256 KiB multiples of unaligned chunks', async () => {
    const { sim, v2 } = await serve();
    const dsid = await newDataset(v2());
    const data = bytesOf(3 * GRANULE, 3);
    const init = await initiate(v2(), dsid, data);
    const uri = init.resumable_uri as string;
    const a = await put(uri, data, 0, GRANULE + 99, data.byteLength);
    expect(a.status).toBe(308);
    expect(a.headers.get('range')).toBe(`bytes=0-${GRANULE - 1}`);
    const b = await put(uri, data, GRANULE - 10, data.byteLength - 1, data.byteLength);
    expect(b.status).toBe(200);
    expect(sim.stats.misalignedChunks).toBe(1);
    const done = await v2().send('POST', `datasets/${dsid}/upload/complete`, {
      upload_id: init.upload_id,
      sha256_hash: sha256(data),
    });
    sameBytes(await sim.fileBytes((done.body as Json).mfid as string), data);
  });

  it('refuses gaps, bad Content-Range, length mismatches; complete before the end is 409, wrong hash 400', async () => {
    const { sim, v2 } = await serve();
    const dsid = await newDataset(v2());
    const data = bytesOf(2 * GRANULE, 5);
    const init = await initiate(v2(), dsid, data);
    const uri = init.resumable_uri as string;
    expect((await put(uri, data, GRANULE, 2 * GRANULE - 1, data.byteLength)).status).toBe(400);
    const bad = await fetch(uri, { method: 'PUT', headers: { 'content-range': 'bytes=0-1/2' }, body: 'ab' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/xml/);
    expect((await put(uri, data, 0, GRANULE - 1, data.byteLength + 1)).status).toBe(400);
    expect(
      (
        await v2().send('POST', `datasets/${dsid}/upload/complete`, {
          upload_id: init.upload_id,
          sha256_hash: sha256(data),
        })
      ).status,
    ).toBe(409);
    expect((await put(uri, data, 0, 2 * GRANULE - 1, data.byteLength)).status).toBe(200);
    const wrong = await v2().send('POST', `datasets/${dsid}/upload/complete`, {
      upload_id: init.upload_id,
      sha256_hash: 'a'.repeat(64),
    });
    expect(wrong.status).toBe(400);
    expect(
      (
        await v2().send('POST', `datasets/${dsid}/upload/complete`, {
          upload_id: 'nope',
          sha256_hash: sha256(data),
        })
      ).status,
    ).toBe(404);
    expect(sim.stats.rejectedChunks).toBe(3);
  });

  it('skips the upload when the dataset already has these bytes (existing_file)', async () => {
    const { sim, v2 } = await serve();
    const ds = datasetOf(sim, 'demo');
    const f = sim.filesOf(ds.uniqueId)[0];
    const bytes = (await sim.fileBytes(f?.mfid as string)) as Uint8Array;
    const init = await initiate(v2(), ds.uniqueId, bytes, 'again.dat');
    expect(init.upload_id).toBeNull();
    expect(init.resumable_uri).toBeNull();
    expect(init.existing_file).toMatchObject({ mfid: f?.mfid, sha256_hash: sha256(bytes) });
    expect(sim.stats.dedupHits).toBe(1);
    expect(
      (
        await v2().send('POST', `datasets/${ds.uniqueId}/upload/initiate/multipart`, {
          filename: 'x',
          size: 1,
          sha256_hash: 'b'.repeat(64),
        })
      ).status,
    ).toBe(501);
  });

  it('uploads an empty file with `bytes */0`', async () => {
    const { v2 } = await serve();
    const dsid = await newDataset(v2());
    const init = await initiate(v2(), dsid, new Uint8Array(0), 'empty.txt');
    const res = await fetch(init.resumable_uri as string, {
      method: 'PUT',
      headers: { 'content-range': 'bytes */0' },
      body: new Uint8Array(0),
    });
    expect(res.status).toBe(200);
    const done = await v2().send('POST', `datasets/${dsid}/upload/complete`, {
      upload_id: init.upload_id,
      sha256_hash: sha256(new Uint8Array(0)),
    });
    expect(done.body).toMatchObject({ size: 0 });
  });

  it('storage refuses an Authorization header (400 XML) and counts it; expired and cancelled sessions', async () => {
    const { sim, v2 } = await serve();
    const dsid = await newDataset(v2());
    const data = bytesOf(1000);
    const init = await initiate(v2(), dsid, data);
    const uri = init.resumable_uri as string;
    const withKey = await put(uri, data, 0, 999, 1000, { authorization: `Bearer ${sim.keyFor('demo')}` });
    expect(withKey.status).toBe(400);
    expect(await withKey.text()).toMatch(/<Error><Code>InvalidAuthentication<\/Code>/);
    expect(sim.stats.storageAuthorizationHeaders).toBe(1);
    expect(sim.sessions[0]?.persisted).toBe(0);
    sim.expireUploadSessions();
    expect((await probe(uri, 1000)).status).toBe(404);
    const second = await initiate(v2(), dsid, data);
    expect((await fetch(second.resumable_uri as string, { method: 'DELETE' })).status).toBe(499);
    expect((await probe(second.resumable_uri as string, 1000)).status).toBe(410);
  });

  it('ingests per file over time (requested → started → complete), then serves signed links with Range', async () => {
    const { sim, clock, v2, server } = await serve();
    const dsid = await newDataset(v2());
    const data = bytesOf(3 * GRANULE + 17, 11);
    const init = await initiate(v2(), dsid, data, 'image.raw');
    await put(init.resumable_uri as string, data, 0, data.byteLength - 1, data.byteLength);
    const file = (
      await v2().send('POST', `datasets/${dsid}/upload/complete`, {
        upload_id: init.upload_id,
        sha256_hash: sha256(data),
      })
    ).body as Json;
    const mfid = file.mfid as string;
    expect((await v2().get(`files/${mfid}/download_link`)).status).toBe(404);
    expect((await v2().get(`datasets/${dsid}/download_links`)).status).toBe(404);
    const req = (await v2().send('POST', `files/${mfid}/ingest?ingestion_class=ApiUploadIngestor`))
      .body as Json;
    expect(req).toMatchObject({
      status: 'requested',
      file_mfid: mfid,
      dataset_mfid: dsid,
      ingestion_class: 'ApiUploadIngestor',
    });
    clock.t += 150;
    expect(((await v2().get(`ingestion_requests/${req.id}`)).body as Json).status).toBe('started');
    clock.t += 500;
    const done = (await v2().get(`ingestion_requests/${req.id}`)).body as Json;
    expect(done).toMatchObject({
      status: 'complete',
      error_message: null,
      time_completed: expect.stringMatching(/-0[78]:00$/),
    });
    expect(((await v2().get(`ingestion_requests?file_id=${mfid}`)).body as Json).total).toBe(1);
    const rec = (await v2().get(`files/${mfid}`)).body as Json;
    expect(rec.storage_path).toBe(`mf-storage-prod/${dsid}/image.raw`);
    expect(((await v2().get(`datasets/${dsid}`)).body as Json).size).toBe(data.byteLength);
    const link = (await v2().get(`files/${mfid}/download_link`)).body as { url: string; expires_in: number };
    expect(link.expires_in).toBe(3600);
    expect(
      link.url.startsWith(`${server.url}/storage/mf-storage-prod/${dsid}/image.raw?X-Goog-Algorithm=`),
    ).toBe(true);
    const full = await fetch(link.url);
    expect(full.status).toBe(200);
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    sameBytes(new Uint8Array(await full.arrayBuffer()), data);
    const part = await fetch(link.url, { headers: { range: 'bytes=100-299' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-299/${data.byteLength}`);
    sameBytes(new Uint8Array(await part.arrayBuffer()), data.subarray(100, 300));
    expect((await fetch(link.url, { headers: { range: `bytes=${data.byteLength}-` } })).status).toBe(416);
    const links = (await v2().get(`datasets/${dsid}/download_links`)).body as Json;
    expect(Object.keys(links)).toEqual([mfid]);
    // Sending the key to storage is refused even with a valid signature.
    const leaky = await fetch(link.url, { headers: { authorization: `Bearer ${sim.keyFor('demo')}` } });
    expect(leaky.status).toBe(400);
    // Tampered and expired links: 403 with an XML error page.
    const forged = new URL(link.url);
    forged.searchParams.set('X-Goog-Signature', 'f'.repeat(64));
    const bad = await fetch(forged);
    expect(bad.status).toBe(403);
    expect(await bad.text()).toMatch(/SignatureDoesNotMatch/);
    clock.t += 3601_000;
    const late = await fetch(link.url);
    expect(late.status).toBe(403);
    expect(late.headers.get('content-type')).toMatch(/application\/xml/);
    expect(await late.text()).toMatch(/<Code>ExpiredToken<\/Code>/);
    const fresh = (await v2().get(`files/${mfid}/download_link`)).body as { url: string };
    expect((await fetch(fresh.url)).status).toBe(200);
    sim.expireLinks();
    expect((await fetch(fresh.url)).status).toBe(403);
    expect(sim.stats).toMatchObject({
      expiredLinkHits: 2,
      badSignatures: 1,
      storageAuthorizationHeaders: 1,
      rangeDownloads: 1,
    });
  });

  it('ingestion outcomes: auto-detect (not supported), unknown class (failed), forced failure, stuck', async () => {
    const { sim, clock, v2 } = await serve();
    const dsid = await newDataset(v2());
    const upload = async (name: string, seed: number) => {
      const data = bytesOf(100, seed);
      const init = await initiate(v2(), dsid, data, name);
      await put(init.resumable_uri as string, data, 0, 99, 100);
      return (
        (
          await v2().send('POST', `datasets/${dsid}/upload/complete`, {
            upload_id: init.upload_id,
            sha256_hash: sha256(data),
          })
        ).body as Json
      ).mfid as string;
    };
    const generic = await upload('blob.bin', 1);
    const image = await upload('pic.png', 2);
    const forced = await upload('data.h5', 3);
    const ingest = async (mfid: string, query = '') =>
      ((await v2().send('POST', `files/${mfid}/ingest${query}`)).body as Json).id;
    const r1 = await ingest(generic);
    const r2 = await ingest(image);
    const r3 = await ingest(generic, '?ingestion_class=NoSuchIngestor');
    sim.setIngestionOutcome(forced, 'failed');
    const r4 = await ingest(forced);
    sim.setIngestionOutcome(dsid, 'stuck');
    const r5 = await ingest(image);
    clock.t += 10_000;
    const status = async (id: unknown) => (await v2().get(`ingestion_requests/${id}`)).body as Json;
    expect(await status(r1)).toMatchObject({ status: 'not supported', ingestion_class: null });
    expect(await status(r2)).toMatchObject({ status: 'complete', ingestion_class: 'ImageIngestor' });
    expect(await status(r3)).toMatchObject({
      status: 'failed',
      error_message: 'Unknown ingestion class: NoSuchIngestor',
    });
    expect(await status(r4)).toMatchObject({ status: 'failed', error_message: expect.any(String) });
    expect(await status(r5)).toMatchObject({ status: 'requested' });
    expect(sim.file(generic)?.storagePath).toBeNull();
    expect((await v2().get(`files/${generic}/download_link`)).status).toBe(404);
    // An admin (the worker) can finish a request by PATCH; others get 403.
    expect(
      (await v2().send('PATCH', `ingestion_requests/${r5}`, { id: r5, status: 'complete' })).status,
    ).toBe(403);
    const patched = await v2('admin').send('PATCH', `ingestion_requests/${r5}`, {
      id: r5,
      status: 'complete',
      ingestion_githash: 'abc',
    });
    expect(patched.body).toMatchObject({ status: 'complete', ingestion_githash: 'abc' });
    expect((await v2().get('ingestors')).body).toContain('ApiUploadIngestor');
  });

  it('download_links without ingested files: 404, or 200 with detail (crucible-lens quirk)', async () => {
    const { v2 } = await serve({ emptyDownloadLinks: 'detail' });
    const dsid = await newDataset(v2());
    expect(await v2().get(`datasets/${dsid}/download_links`)).toEqual({
      status: 200,
      body: { detail: `No files found for dataset ${dsid}` },
    });
  });

  it('streams a 48 MiB file up in 8 MiB chunks and down again, bytes and hashes intact', async () => {
    const { sim, v2, clock } = await serve();
    const dsid = await newDataset(v2());
    const data = bytesOf(48 * 1024 * 1024 + 5, 13);
    const init = await initiate(v2(), dsid, data, 'big.h5');
    const chunk = init.chunk_size_hint;
    for (let at = 0; at < data.byteLength; at += chunk) {
      const last = Math.min(data.byteLength, at + chunk) - 1;
      const res = await put(init.resumable_uri as string, data, at, last, data.byteLength);
      expect(res.status).toBe(last === data.byteLength - 1 ? 200 : 308);
    }
    const file = (
      await v2().send('POST', `datasets/${dsid}/upload/complete`, {
        upload_id: init.upload_id,
        sha256_hash: sha256(data),
      })
    ).body as Json;
    const path = sim.filePath(file.mfid as string) as string;
    expect(path.startsWith(tmpdir())).toBe(true);
    await v2().send('POST', `files/${file.mfid}/ingest?ingestion_class=ApiUploadIngestor`);
    clock.t += 1000;
    const { url } = (await v2().get(`files/${file.mfid}/download_link`)).body as { url: string };
    const res = await fetch(url);
    const hash = createHash('sha256');
    let size = 0;
    for await (const piece of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(piece);
      size += piece.byteLength;
    }
    expect(size).toBe(data.byteLength);
    expect(hash.digest('hex')).toBe(sha256(data));
  });

  it('addFile serves generated content of any size without storing it', async () => {
    const { sim, v2 } = await serve();
    const ds = datasetOf(sim, 'demo');
    const f = await sim.addFile(ds.uniqueId, { filename: 'huge.bin', size: 5 * 1024 * 1024 + 3 });
    expect(sim.filePath(f.mfid)).toBeUndefined();
    const { url } = (await v2().get(`files/${f.mfid}/download_link`)).body as { url: string };
    const tail = await fetch(url, { headers: { range: 'bytes=-10' } });
    expect(tail.status).toBe(206);
    const all = new Uint8Array(await (await fetch(url)).arrayBuffer());
    expect(sha256(all)).toBe(f.sha256);
    sameBytes(new Uint8Array(await tail.arrayBuffer()), all.subarray(all.byteLength - 10));
  });
});
