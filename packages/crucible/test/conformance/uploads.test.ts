/** Conformance (spec §6, §17.1): the v2 resumable signed upload and the v1 multipart upload. Against the strict server of ./server.ts. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '@sciport/core';
import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import {
  client,
  DSID,
  detail,
  dir,
  FILE_MFID,
  type GcsSession,
  HOST,
  KIB256,
  patternBytes,
  requireKey,
  seen,
  server,
  sha256,
  storageRequests,
  uploadServer,
  useConformanceServer,
  V1,
  V2,
} from './server.js';

useConformanceServer();

describe('v2 resumable upload (§17.1)', () => {
  it('hashes, initiates with the basename, PUTs aligned chunks with Content-Range and no key, completes with sha256', async () => {
    const up = uploadServer();
    server.use(...up.handlers);
    const data = patternBytes(KIB256 * 2 + 1000);
    const file = path.join(dir, 'sub', 'run5.h5');
    await (await import('node:fs/promises')).mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, data);
    const result = await client().files.upload(DSID, file, { stateDir: path.join(dir, 'state') });
    expect(up.initiations).toEqual([
      { filename: 'run5.h5', size: data.byteLength, sha256_hash: sha256(data) },
    ]);
    const session = [...up.sessions.values()][0] as GcsSession;
    expect(session.chunkRanges).toEqual([
      `bytes 0-${KIB256 - 1}/${data.byteLength}`,
      `bytes ${KIB256}-${2 * KIB256 - 1}/${data.byteLength}`,
      `bytes ${2 * KIB256}-${data.byteLength - 1}/${data.byteLength}`,
    ]);
    expect(sha256(session.bytes)).toBe(sha256(data));
    expect(up.completions).toEqual([{ upload_id: 'upl-1-opaque', sha256_hash: sha256(data) }]);
    expect(result.file.sha256Hash).toBe(sha256(data));
    expect(result.skipped).toBe(false);
    expect(storageRequests().length).toBeGreaterThan(0);
    expect(storageRequests().every((s) => s.authorization === null)).toBe(true);
    // The key is only ever sent to the API host.
    expect(seen.filter((s) => s.authorization !== null).every((s) => s.url.origin === HOST)).toBe(true);
  });

  it('continues from the Range the server says it persisted, not from what it sent', async () => {
    // GCS may keep less than a chunk: here 256 KiB less than each 512 KiB chunk.
    const up = uploadServer({ onSession: (s) => (s.holdBack = KIB256) });
    server.use(...up.handlers);
    const data = patternBytes(KIB256 * 4);
    const file = path.join(dir, 'a.bin');
    await writeFile(file, data);
    const chunk = 2 * KIB256;
    const result = await client().files.upload(DSID, file, {
      chunkSize: chunk,
      stateDir: path.join(dir, 'state'),
    });
    const session = [...up.sessions.values()][0] as GcsSession;
    expect(session.chunkRanges[0]).toBe(`bytes 0-${chunk - 1}/${data.byteLength}`);
    // The second PUT starts where the 308's Range ended (256 KiB), not at 512 KiB.
    expect(session.chunkRanges[1]).toBe(`bytes ${KIB256}-${KIB256 + chunk - 1}/${data.byteLength}`);
    expect(sha256(session.bytes)).toBe(sha256(data));
    expect(result.file.sha256Hash).toBe(sha256(data));
  });

  it('after a failed chunk probes with "bytes */size" and an empty body, then resumes from the Range', async () => {
    const up = uploadServer({ onSession: (s) => (s.failNext = [503]) });
    server.use(...up.handlers);
    const data = patternBytes(KIB256 * 3 + 7);
    const file = path.join(dir, 'b.bin');
    await writeFile(file, data);
    await client().files.upload(DSID, file, { stateDir: path.join(dir, 'state') });
    const session = [...up.sessions.values()][0] as GcsSession;
    expect(session.probes).toBeGreaterThanOrEqual(1);
    const probes = storageRequests().filter((r) => r.headers.get('content-range')?.startsWith('bytes */'));
    expect(probes.length).toBe(session.probes);
    expect(probes[0]?.headers.get('content-range')).toBe(`bytes */${data.byteLength}`);
    expect(sha256(session.bytes)).toBe(sha256(data));
    expect(up.completions).toHaveLength(1);
    expect(up.initiations).toHaveLength(1);
  });

  it('skips the bytes when initiate answers existing_file, and starts over when the session is gone', async () => {
    const data = patternBytes(1234);
    const file = path.join(dir, 'dup.bin');
    await writeFile(file, data);
    const existing = {
      mfid: FILE_MFID,
      dataset_mfid: DSID,
      filename: 'dup.bin',
      storage_path: `mf-storage-prod/${DSID}/dup.bin`,
      size: 1234,
      sha256_hash: sha256(data),
    };
    const up = uploadServer({ existing });
    server.use(...up.handlers);
    const skipped = await client().files.upload(DSID, file, { stateDir: path.join(dir, 'state') });
    expect(skipped.skipped).toBe(true);
    expect(skipped.file.mfid).toBe(FILE_MFID);
    expect(storageRequests()).toHaveLength(0);
    expect(up.completions).toHaveLength(0);

    // A session that expired between two runs: the probe says 404, the client initiates again.
    server.resetHandlers();
    const up2 = uploadServer({
      onSession: (s, n) => {
        if (n === 1) s.failNext = [400];
      },
    });
    server.use(...up2.handlers);
    const big = patternBytes(KIB256 * 2 + 5);
    const file2 = path.join(dir, 'c.bin');
    await writeFile(file2, big);
    const stateDir = path.join(dir, 'state2');
    await expect(client().files.upload(DSID, file2, { stateDir, maxAttempts: 1 })).rejects.toThrow();
    for (const s of up2.sessions.values()) s.gone = true;
    const second = await client().files.upload(DSID, file2, { stateDir });
    expect(second.resumed).toBe(false);
    expect(up2.initiations).toHaveLength(2);
    expect(second.file.sha256Hash).toBe(sha256(big));
  });

  it('a killed upload resumes in a new client from the committed offset, and the server’s sha256 is the file’s', async () => {
    const up = uploadServer();
    server.use(...up.handlers);
    const data = patternBytes(KIB256 * 4 + 99);
    const file = path.join(dir, 'killed.bin');
    await writeFile(file, data);
    const stateDir = path.join(dir, 'state');
    const controller = new AbortController();
    const run = client().files.upload(DSID, file, {
      stateDir,
      onProgress: (p) => {
        if (p.bytes >= 2 * KIB256) controller.abort();
      },
      signal: controller.signal,
    });
    await expect(run).rejects.toThrow();
    const session = [...up.sessions.values()][0] as GcsSession;
    const committed = session.persisted;
    expect(committed).toBeGreaterThanOrEqual(2 * KIB256);
    expect(committed).toBeLessThan(data.byteLength);
    const before = session.chunkRanges.length;
    const events: Array<{ bytes: number; resumedFrom?: number }> = [];
    const resumed = await client().files.upload(DSID, file, { stateDir, onProgress: (p) => events.push(p) });
    expect(resumed.resumed).toBe(true);
    // Progress says where it went on from (a progress bar shows "resuming at …").
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.resumedFrom === committed)).toBe(true);
    expect(up.initiations).toHaveLength(1);
    expect(session.probes).toBeGreaterThanOrEqual(1);
    expect(session.chunkRanges[before]).toMatch(new RegExp(`^bytes ${committed}-`));
    expect(up.files[0]?.sha256_hash).toBe(sha256(data));
  });

  it('starts over when complete answers a 4xx, and refuses a same-name file with other bytes', async () => {
    const up = uploadServer();
    server.use(...up.handlers);
    let refused = 0;
    server.use(
      http.post(`${V2}/datasets/${DSID}/upload/complete`, () => {
        if (refused++ === 0) return detail(404, 'Upload not found');
        return undefined;
      }),
    );
    const data = patternBytes(3000);
    const file = path.join(dir, 'same.bin');
    await writeFile(file, data);
    const done = await client().files.upload(DSID, file, { stateDir: path.join(dir, 'state') });
    expect(done.file.sha256Hash).toBe(sha256(data));
    expect(up.initiations).toHaveLength(2);
    await writeFile(file, patternBytes(3001));
    const clash = await client()
      .files.upload(DSID, file, { stateDir: path.join(dir, 'state') })
      .catch((e: unknown) => e);
    expect(UsageError.isInstance(clash)).toBe(true);
    expect((clash as Error).message).toContain('same.bin');
    expect(up.initiations).toHaveLength(2);
    const replaced = await client().files.upload(DSID, file, {
      stateDir: path.join(dir, 'state'),
      replace: true,
    });
    expect(replaced.file.size).toBe(3001);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// §6: v1 multipart upload
// ---------------------------------------------------------------------------------------------------------------

describe('v1 multipart upload (§6)', () => {
  it('POSTs one file as multipart field "files" named by its basename, and accepts a one-element array', async () => {
    const parts: Array<{ field: string; name: string | undefined; size: number }> = [];
    server.use(
      http.post(`${V1}/datasets/${DSID}/upload`, async ({ request }) => {
        const denied = requireKey(request);
        if (denied) return denied;
        expect(request.headers.get('content-type')).toMatch(/^multipart\/form-data; boundary=/);
        const form = await request.formData();
        const records = [];
        for (const [field, value] of form.entries()) {
          const f = value as File;
          const bytes = new Uint8Array(await f.arrayBuffer());
          parts.push({ field, name: f.name, size: bytes.byteLength });
          records.push({
            filename: `api-uploads/${f.name}`,
            size: bytes.byteLength,
            sha256_hash: sha256(bytes),
          });
        }
        return HttpResponse.json(records);
      }),
    );
    const data = patternBytes(5000);
    const file = path.join(dir, 'alpha.bin');
    await writeFile(file, data);
    const r = await client({ baseUrl: V1 }).files.upload(DSID, file);
    expect(parts).toEqual([{ field: 'files', name: 'alpha.bin', size: 5000 }]);
    expect(r.file.filename).toBe('api-uploads/alpha.bin');
    expect(r.sha256).toBe(sha256(data));
  });

  it('refuses a file at the limit before sending, and turns a 413 into a clear error', async () => {
    let posts = 0;
    server.use(
      http.post(`${V1}/datasets/${DSID}/upload`, () => {
        posts += 1;
        return detail(413, 'Request entity too large');
      }),
    );
    const file = path.join(dir, 'big.bin');
    await writeFile(file, patternBytes(4096));
    const c = client({ baseUrl: V1 });
    const early = await c.files.upload(DSID, file, { v1Limit: 4096 }).catch((e: unknown) => e);
    expect(UsageError.isInstance(early)).toBe(true);
    expect((early as Error).message).toMatch(/4096 bytes/);
    expect(posts).toBe(0);
    const late = await c.files.upload(DSID, file).catch((e: unknown) => e);
    expect((late as Error).message).toMatch(/too large/);
    expect(posts).toBe(1);
  });
});
