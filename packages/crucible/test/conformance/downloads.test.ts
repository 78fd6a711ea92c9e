/** Conformance (spec §7, §17.3): downloads through signed URLs. Against the strict server of ./server.ts. */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { IntegrityError, NotFoundError, SciportError } from '@sciport/core';
import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { DatasetDownloadError } from '../../src/index.js';
import {
  client,
  DSID,
  dataset,
  detail,
  dir,
  FILE_MFID,
  gcsError,
  patternBytes,
  requireKey,
  STORAGE,
  seen,
  server,
  sha256,
  signed,
  storageRequests,
  useConformanceServer,
  V1,
  V2,
} from './server.js';

useConformanceServer();

describe('downloads (§7, §17.3)', () => {
  const content = patternBytes(300_000);
  const record = {
    mfid: FILE_MFID,
    dataset_mfid: DSID,
    filename: 'run5.h5',
    storage_path: `mf-storage-prod/${DSID}/raw/run5.h5`,
    size: content.byteLength,
    sha256_hash: sha256(content),
  };
  const pending = {
    mfid: '0tfa3m9b1c2d3000e4f5g6h000',
    dataset_mfid: DSID,
    filename: 'notyet.bin',
    storage_path: null,
    size: 3,
    sha256_hash: sha256('abc'),
  };

  function storageObject(
    options: { expiredGenerations?: number[]; cutFirst?: boolean; body?: Uint8Array } = {},
  ) {
    let cut = options.cutFirst === true;
    return http.get(`${STORAGE}/mf-storage-prod/${DSID}/raw/run5.h5`, ({ request }) => {
      if (request.headers.has('authorization'))
        return gcsError(400, 'InvalidAuthentication', 'Cannot use multiple authentication methods');
      const sig = new URL(request.url).searchParams.get('X-Goog-Signature') ?? '';
      const generation = Number(/^sig(\d+)/.exec(sig)?.[1]);
      if (options.expiredGenerations?.includes(generation))
        return gcsError(400, 'ExpiredToken', 'Invalid argument: the signed URL has expired');
      const body = options.body ?? content;
      const range = /^bytes=(\d+)-$/.exec(request.headers.get('range') ?? '');
      if (range) {
        const start = Number(range[1]);
        return new HttpResponse(body.slice(start), {
          status: 206,
          headers: {
            'content-range': `bytes ${start}-${body.byteLength - 1}/${body.byteLength}`,
            'content-length': String(body.byteLength - start),
          },
        });
      }
      if (cut) {
        cut = false;
        // A body cut short: 100,000 bytes of the announced length arrive, then the connection ends.
        return new HttpResponse(body.slice(0, 100_000), {
          status: 200,
          headers: { 'content-length': String(body.byteLength) },
        });
      }
      return new HttpResponse(body, { status: 200, headers: { 'content-length': String(body.byteLength) } });
    });
  }

  it('pairs links (keyed by file mfid) with records, fetches without the key, verifies and names by storage_path', async () => {
    server.use(
      http.get(
        `${V2}/datasets/${DSID}/files`,
        ({ request }) => requireKey(request) ?? HttpResponse.json([record, pending]),
      ),
      http.get(
        `${V2}/datasets/${DSID}/download_links`,
        ({ request }) => requireKey(request) ?? HttpResponse.json({ [FILE_MFID]: signed('raw/run5.h5') }),
      ),
      storageObject({ cutFirst: true }),
    );
    const out = path.join(dir, 'out');
    const done = await client().datasets.download(DSID, out);
    expect(done.map((f) => f.name)).toEqual(['raw/run5.h5']);
    const saved = await readFile(path.join(out, 'raw', 'run5.h5'));
    expect(sha256(saved)).toBe(sha256(content));
    const gets = storageRequests();
    // Cut short after 100,000 bytes, then resumed with Range.
    expect(gets.map((g) => g.headers.get('range'))).toEqual([null, 'bytes=100000-']);
    expect(gets.every((g) => g.authorization === null)).toBe(true);
    // Done already: a second run does not fetch again.
    seen.length = 0;
    const again = await client().datasets.download(DSID, out);
    expect(again[0]?.skipped).toBe(true);
    expect(storageRequests()).toHaveLength(0);
  });

  it('renews an expired link with GET /files/{mfid}/download_link and never saves the XML error page', async () => {
    server.use(
      http.get(`${V2}/datasets/${DSID}/files`, () => HttpResponse.json([record])),
      http.get(`${V2}/datasets/${DSID}/download_links`, () =>
        HttpResponse.json({ [FILE_MFID]: signed('raw/run5.h5', 1) }),
      ),
      http.get(`${V2}/files/${FILE_MFID}/download_link`, () =>
        HttpResponse.json({ url: signed('raw/run5.h5', 2), expires_in: 3600 }),
      ),
      storageObject({ expiredGenerations: [1] }),
    );
    const out = path.join(dir, 'out');
    await client().datasets.download(DSID, out);
    expect(sha256(await readFile(path.join(out, 'raw', 'run5.h5')))).toBe(sha256(content));
    expect(seen.some((s) => s.url.pathname === `/api/v2/files/${FILE_MFID}/download_link`)).toBe(true);
  });

  it('fails clearly when the fresh link is refused too, or the bytes are wrong, leaving no file behind', async () => {
    server.use(
      http.get(`${V2}/datasets/${DSID}/files`, () => HttpResponse.json([record])),
      http.get(`${V2}/datasets/${DSID}/download_links`, () =>
        HttpResponse.json({ [FILE_MFID]: signed('raw/run5.h5', 1) }),
      ),
      http.get(`${V2}/files/${FILE_MFID}/download_link`, () =>
        HttpResponse.json({ url: signed('raw/run5.h5', 2), expires_in: 3600 }),
      ),
      storageObject({ expiredGenerations: [1, 2] }),
    );
    const out = path.join(dir, 'out');
    const error = await client()
      .datasets.download(DSID, out)
      .catch((e: unknown) => e);
    expect(SciportError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/ExpiredToken|expired/i);
    expect((error as Error).message).not.toContain('sig2deadbeef');
    const listing = await readdir(out, { recursive: true }).catch(() => [] as string[]);
    expect(listing.filter((n) => n.endsWith('run5.h5'))).toEqual([]);

    server.resetHandlers();
    server.use(
      http.get(`${V2}/datasets/${DSID}/files`, () => HttpResponse.json([record])),
      http.get(`${V2}/datasets/${DSID}/download_links`, () =>
        HttpResponse.json({ [FILE_MFID]: signed('raw/run5.h5') }),
      ),
      storageObject({ body: patternBytes(300_000).map((b) => b ^ 1) }),
    );
    const wrong = await client()
      .datasets.download(DSID, out)
      .catch((e: unknown) => e);
    // One failure among the dataset's files: the download goes on with the others, then lists it.
    expect(DatasetDownloadError.isInstance(wrong)).toBe(true);
    const failures = (wrong as DatasetDownloadError).failures;
    expect(failures.map((f) => f.name)).toEqual(['raw/run5.h5']);
    expect(IntegrityError.isInstance(failures[0]?.error)).toBe(true);
    const after = await readdir(out, { recursive: true }).catch(() => [] as string[]);
    expect(after.filter((n) => n.endsWith('run5.h5'))).toEqual([]);
  });

  it('takes 404 and 200 {"detail": …} from download_links as "nothing ingested", and a missing dataset as NotFoundError', async () => {
    let links: () => Response = () => detail(404, 'No ingested files');
    server.use(
      http.get(`${V2}/datasets/:id/files`, ({ params }) =>
        params.id === DSID ? HttpResponse.json([pending]) : detail(404, 'Dataset not found'),
      ),
      http.get(`${V2}/datasets/${DSID}/download_links`, () => links()),
      http.get(`${V2}/datasets/${DSID}`, () => HttpResponse.json(dataset(1, { unique_id: DSID }))),
    );
    expect(await client().datasets.download(DSID, path.join(dir, 'o1'))).toEqual([]);
    links = () => HttpResponse.json({ detail: 'No files found for this dataset' });
    expect(await client().datasets.download(DSID, path.join(dir, 'o2'))).toEqual([]);
    await expect(
      client().datasets.download('0tfa3k2m7qv1d000c4x9r2h404', path.join(dir, 'o3')),
    ).rejects.toSatisfy((e: unknown) => NotFoundError.isInstance(e));
    expect(storageRequests()).toHaveLength(0);
  });

  it('v1: keys are "<dsid>/<path>", files land under that path, hashes come from associated_files', async () => {
    const notes = new TextEncoder().encode('# notes\n');
    server.use(
      http.get(`${V1}/datasets/${DSID}/associated_files`, () =>
        HttpResponse.json([
          { id: 1, filename: 'api-uploads/notes.md', size: notes.byteLength, sha256_hash: sha256(notes) },
        ]),
      ),
      http.get(`${V1}/datasets/${DSID}/download_links`, () =>
        HttpResponse.json({
          [`${DSID}/docs/notes.md`]: `${STORAGE}/mf-storage-prod/${DSID}/docs/notes.md?X-Goog-Signature=abcd1234`,
          // A key that would climb out of the output folder is cleaned, not followed.
          [`${DSID}/../../escape.md`]: `${STORAGE}/mf-storage-prod/${DSID}/docs/notes.md?X-Goog-Signature=abcd5678`,
        }),
      ),
      http.get(`${STORAGE}/mf-storage-prod/${DSID}/docs/notes.md`, ({ request }) =>
        request.headers.has('authorization')
          ? gcsError(400, 'InvalidAuthentication', 'x')
          : new HttpResponse(notes),
      ),
    );
    const out = path.join(dir, 'v1');
    const done = await client({ baseUrl: V1 }).datasets.download(DSID, out);
    expect(done.map((f) => f.name)).toEqual(['docs/notes.md', 'escape.md']);
    expect(await readFile(path.join(out, 'docs', 'notes.md'), 'utf8')).toBe('# notes\n');
    expect(await readFile(path.join(out, 'escape.md'), 'utf8')).toBe('# notes\n');
    expect(await readdir(dir)).not.toContain('escape.md');
  });
});
