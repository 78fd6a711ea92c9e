import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BlobStore } from './blobs.js';
import { bytesOf, type Json, newDataset, sameBytes, serve, sha256 } from './crucible-test-helpers.js';
import { crc32c, crc32cBase64 } from './util.js';

const MiB = 1024 * 1024;

interface Vended {
  upload_id: string;
  access_token: string;
  project: string | null;
  bucket: string;
  object_prefix: string;
  existing_file: Json | null;
  chunk_size_hint?: number;
}

const tag = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

describe('Crucible simulator: multipart upload with credential vending (§19.9)', () => {
  async function setup(options: Parameters<typeof serve>[0] = { multipart: {} }) {
    const served = await serve(options);
    const dsid = await newDataset(served.v2());
    return { ...served, dsid, storage: `${served.server.url}/storage` };
  }

  async function vend(
    api: ReturnType<Awaited<ReturnType<typeof serve>>['v2']>,
    dsid: string,
    data: Uint8Array,
  ) {
    return api.send('POST', `datasets/${dsid}/upload/initiate/multipart`, {
      filename: 'big.bin',
      size: data.byteLength,
      sha256_hash: sha256(data),
    });
  }

  it('vends a token, speaks the XML API (initiate, parts, list, complete), serves crc32c, completes with SHA-256', async () => {
    const { sim, v2, dsid, storage } = await setup({ multipart: { chunkSizeHint: 6 * MiB } });
    const data = bytesOf(11 * MiB + 123, 5);
    const res = await vend(v2(), dsid, data);
    expect(res.status).toBe(200);
    const v = res.body as Vended;
    expect(v).toMatchObject({
      bucket: 'crucible-uploads',
      object_prefix: `api-uploads/${dsid}/`,
      existing_file: null,
      chunk_size_hint: 6 * MiB,
    });
    expect(v.access_token).not.toBe(sim.keyFor('demo'));
    const object = `${storage}/${v.bucket}/${v.object_prefix}big.bin`;
    const auth = { authorization: `Bearer ${v.access_token}` };

    const init = await fetch(`${object}?uploads`, { method: 'POST', headers: auth });
    expect(init.status).toBe(200);
    const uploadId = tag(await init.text(), 'UploadId') as string;
    expect(uploadId).toBeTruthy();

    const parts = [data.subarray(0, 6 * MiB), data.subarray(6 * MiB)];
    const etags: string[] = [];
    // Parts out of order, concurrently.
    const answers = await Promise.all(
      [2, 1].map((n) =>
        fetch(`${object}?partNumber=${n}&uploadId=${uploadId}`, {
          method: 'PUT',
          headers: auth,
          body: parts[n - 1] as Uint8Array<ArrayBuffer>,
        }),
      ),
    );
    for (const [i, a] of answers.entries()) {
      expect(a.status).toBe(200);
      etags[i === 0 ? 1 : 0] = a.headers.get('etag') as string;
    }
    const list = await (await fetch(`${object}?uploadId=${uploadId}`, { headers: auth })).text();
    expect([...list.matchAll(/<PartNumber>(\d+)<\/PartNumber>/g)].map((m) => m[1])).toEqual(['1', '2']);
    expect(list).toContain(`<Size>${6 * MiB}</Size>`);

    const body = `<CompleteMultipartUpload>${etags
      .map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`)
      .join('')}</CompleteMultipartUpload>`;
    const done = await fetch(`${object}?uploadId=${uploadId}`, { method: 'POST', headers: auth, body });
    expect(done.status).toBe(200);
    // The upload is gone once completed; the object is there with its crc32c.
    expect((await fetch(`${object}?uploadId=${uploadId}`, { headers: auth })).status).toBe(404);
    const meta = await fetch(
      `${storage}/storage/v1/b/${v.bucket}/o/${encodeURIComponent(`${v.object_prefix}big.bin`)}`,
      { headers: auth },
    );
    expect(meta.status).toBe(200);
    expect(await meta.json()).toMatchObject({
      size: String(data.byteLength),
      crc32c: crc32cBase64(crc32c(0, data)),
    });

    const bad = await v2().send('POST', `datasets/${dsid}/upload/complete`, {
      upload_id: v.upload_id,
      sha256_hash: '0'.repeat(64),
    });
    expect(bad.status).toBe(400);
    const file = await v2().send('POST', `datasets/${dsid}/upload/complete`, {
      upload_id: v.upload_id,
      sha256_hash: sha256(data),
    });
    expect(file.status).toBe(200);
    const mfid = (file.body as Json).mfid as string;
    sameBytes(await sim.fileBytes(mfid), data);
    expect(sim.multipart.stats).toMatchObject({ partsStored: 2, crucibleKeys: 0, maxConcurrentPuts: 2 });
  });

  it('refuses the Crucible key, a missing or expired token, small middle parts, and out-of-order lists; aborts', async () => {
    const { sim, v2, dsid, storage } = await setup();
    const data = bytesOf(2 * MiB, 9);
    const v = (await vend(v2(), dsid, data)).body as Vended;
    const object = `${storage}/${v.bucket}/${v.object_prefix}big.bin`;
    const auth = { authorization: `Bearer ${v.access_token}` };
    const withKey = await fetch(`${object}?uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sim.keyFor('demo')}` },
    });
    expect(withKey.status).toBe(401);
    expect((await fetch(`${object}?uploads`, { method: 'POST' })).status).toBe(401);
    const other = await fetch(`${storage}/${v.bucket}/api-uploads/elsewhere/x.bin?uploads`, {
      method: 'POST',
      headers: auth,
    });
    expect(other.status).toBe(403);
    expect(sim.multipart.stats).toMatchObject({ crucibleKeys: 1, badTokens: 3 });

    const uploadId = tag(
      await (await fetch(`${object}?uploads`, { method: 'POST', headers: auth })).text(),
      'UploadId',
    );
    const put = (n: number, bytes: Uint8Array<ArrayBuffer>) =>
      fetch(`${object}?partNumber=${n}&uploadId=${uploadId}`, { method: 'PUT', headers: auth, body: bytes });
    expect((await put(0, data)).status).toBe(400);
    expect((await put(10_001, data)).status).toBe(400);
    const e1 = (await put(1, data.subarray(0, MiB))).headers.get('etag');
    const e2 = (await put(2, data.subarray(MiB))).headers.get('etag');
    const complete = (parts: Array<[number, string | null]>) =>
      fetch(`${object}?uploadId=${uploadId}`, {
        method: 'POST',
        headers: auth,
        body: `<CompleteMultipartUpload>${parts.map(([n, e]) => `<Part><PartNumber>${n}</PartNumber><ETag>${e}</ETag></Part>`).join('')}</CompleteMultipartUpload>`,
      });
    expect(
      await (
        await complete([
          [2, e2],
          [1, e1],
        ])
      ).text(),
    ).toContain('InvalidPartOrder');
    expect(
      await (
        await complete([
          [1, e1],
          [2, e2],
        ])
      ).text(),
    ).toContain('EntityTooSmall');
    expect(await (await complete([[1, '"nope"']])).text()).toContain('InvalidPart');
    const raw = (body: string) =>
      fetch(`${object}?uploadId=${uploadId}`, { method: 'POST', headers: auth, body }).then((r) => r.text());
    for (const bad of [
      `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${e1}</ETag></Part>`,
      '<Other/>',
      '<CompleteMultipartUpload></CompleteMultipartUpload>',
      '<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>',
    ])
      expect(await raw(bad)).toContain('MalformedXML');
    expect((await fetch(`${object}?uploadId=${uploadId}`, { method: 'DELETE', headers: auth })).status).toBe(
      204,
    );
    expect((await put(1, data)).status).toBe(404);

    // Parsed as XML, not matched by pattern: declaration, namespace, whitespace, numeric entities, extra elements.
    const again = tag(
      await (await fetch(`${object}?uploads`, { method: 'POST', headers: auth })).text(),
      'UploadId',
    );
    const e3 = (
      await fetch(`${object}?partNumber=1&uploadId=${again}`, { method: 'PUT', headers: auth, body: data })
    ).headers.get('etag') as string;
    const tolerant = await fetch(`${object}?uploadId=${again}`, {
      method: 'POST',
      headers: auth,
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">\n  <Part>\n    <PartNumber> 1 </PartNumber>\n    <ETag>${e3.replaceAll('"', '&#34;')}</ETag>\n    <ChecksumCRC32C>x</ChecksumCRC32C>\n  </Part>\n</CompleteMultipartUpload>`,
    });
    expect(tolerant.status).toBe(200);
    expect(await tolerant.text()).toContain('<CompleteMultipartUploadResult>');
    sim.multipart.expireTokens();
    expect((await fetch(`${object}?uploads`, { method: 'POST', headers: auth })).status).toBe(401);
  });

  it('injects part faults (503, dropped connection, expired token) and holds parts until released', async () => {
    const { sim, v2, dsid, storage } = await setup();
    const data = bytesOf(MiB, 2);
    const v = (await vend(v2(), dsid, data)).body as Vended;
    const object = `${storage}/${v.bucket}/${v.object_prefix}big.bin`;
    const auth = { authorization: `Bearer ${v.access_token}` };
    const uploadId = tag(
      await (await fetch(`${object}?uploads`, { method: 'POST', headers: auth })).text(),
      'UploadId',
    );
    const put = (n: number) =>
      fetch(`${object}?partNumber=${n}&uploadId=${uploadId}`, { method: 'PUT', headers: auth, body: data });
    sim.multipart.failPut(2, 503);
    sim.multipart.failPut(3, 'drop');
    expect((await put(1)).status).toBe(200);
    expect((await put(2)).status).toBe(503);
    await expect(put(3)).rejects.toThrow();
    expect((await put(3)).status).toBe(200);
    expect(sim.multipart.uploads[0]?.parts).toEqual([1, 3]);

    sim.multipart.holdAfter(1);
    expect((await put(4)).status).toBe(200);
    const held = put(5);
    await sim.multipart.whenHeld(1);
    expect(sim.multipart.uploads[0]?.parts).toEqual([1, 3, 4]);
    sim.multipart.release();
    expect((await held).status).toBe(503);

    sim.multipart.failPut(1, 401);
    expect((await put(6)).status).toBe(401);
    expect((await put(6)).status).toBe(401);
    expect(sim.multipart.stats).toMatchObject({ faults: 3, held: 1, partsStored: 3 });
  });

  it('answers "not offered" as configured (501 by default, 404 on demand), and de-duplicates', async () => {
    const plain = await setup({});
    const data = bytesOf(1000, 3);
    expect((await vend(plain.v2(), plain.dsid, data)).status).toBe(501);
    plain.sim.multipart.offered = 404;
    expect((await vend(plain.v2(), plain.dsid, data)).status).toBe(404);
    const { sim, v2, dsid } = await setup({ multipart: { offered: 405 } });
    expect((await vend(v2(), dsid, data)).status).toBe(405);
    sim.multipart.offered = true;
    const f = await sim.addFile(dsid, { filename: 'same.bin', bytes: data });
    const dedup = (await vend(v2(), dsid, data)).body as Vended;
    expect(dedup).toMatchObject({ upload_id: null, access_token: null, existing_file: { mfid: f.mfid } });
  });

  it('computes the GCS crc32c (CRC32C, Castagnoli) right at any alignment and in pieces', () => {
    // Bit by bit, as the definition (reflected polynomial 0x82F63B78).
    const reference = (data: Uint8Array) => {
      let c = 0xffffffff;
      for (const byte of data) {
        c ^= byte;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      }
      return ~c >>> 0;
    };
    expect(crc32c(0, new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    const data = bytesOf(100_003, 9);
    for (const [from, to] of [
      [0, 100_003],
      [1, 99_999],
      [3, 70],
      [7, 8],
    ] as const) {
      expect(crc32c(0, data.subarray(from, to))).toBe(reference(data.subarray(from, to)));
    }
    expect(crc32c(crc32c(0, data.subarray(0, 4097)), data.subarray(4097))).toBe(reference(data));
    expect(crc32cBase64(0xe3069283)).toBe('4waSgw==');
  });

  it('keeps a completed object as its part files (no copy): ranges across parts, whole reads, one joined file', async () => {
    const store = new BlobStore();
    try {
      const data = bytesOf(3 * MiB + 17, 9);
      const cuts = [0, MiB, MiB, 2 * MiB + 5, data.byteLength];
      const paths = cuts.slice(1).map((end, i) => {
        const path = join(store.dir, `seg-${i}.bin`);
        writeFileSync(path, data.subarray(cuts[i] as number, end));
        return path;
      });
      const sizes = cuts.slice(1).map((end, i) => end - (cuts[i] as number));
      const blob = store.segments(paths, sizes, sha256(data));
      expect(blob.size).toBe(data.byteLength);
      expect(blob.crc32c).toBe(crc32cBase64(crc32c(0, data)));
      sameBytes(await store.read(blob), data);
      const range = async (start: number, end: number) =>
        new Uint8Array(await new Response(store.stream(blob, start, end)).arrayBuffer());
      for (const [start, end] of [
        [0, data.byteLength - 1],
        [MiB - 3, MiB + 2],
        [MiB, 2 * MiB + 4],
        [5, 6],
        [2 * MiB + 5, data.byteLength - 1],
      ] as const)
        sameBytes(await range(start, end), data.subarray(start, end + 1));
      expect(store.filePath(blob)).toBeUndefined();
      const joined = store.pathOf(blob) as string;
      sameBytes(new Uint8Array(readFileSync(joined)), data);
      expect(store.pathOf(blob)).toBe(joined);
      store.release(blob);
      await expect.poll(() => [...paths, joined].some((p) => existsSync(p))).toBe(false);
    } finally {
      await store.dispose();
    }
  });
});
