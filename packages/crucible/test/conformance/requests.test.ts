/** Conformance (spec §8, §12, §17.4): processing requests and their statuses; datasets from parsed files. Against the strict server of ./server.ts. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SciportError, UsageError } from '@sciport/core';
import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { RequestTimeoutError } from '../../src/index.js';
import {
  client,
  DSID,
  dataset,
  detail,
  dir,
  FILE_MFID,
  server,
  sha256,
  uploadServer,
  useConformanceServer,
  V1,
  V2,
} from './server.js';

useConformanceServer();

// ---------------------------------------------------------------------------------------------------------------
// §8, §17.4: ingestion and SciCat requests, and waiting for them
// ---------------------------------------------------------------------------------------------------------------

describe('processing requests (§8, §17.4)', () => {
  /** A request that goes requested → started → `final` over successive polls. */
  function progression(final: string) {
    let polls = 0;
    return () => {
      polls += 1;
      return polls === 1 ? 'requested' : polls === 2 ? 'started' : final;
    };
  }

  it('v2: POST /files/{mfid}/ingest?ingestion_class=…, polls /ingestion_requests/{id} to every terminal status', async () => {
    const posts: string[] = [];
    let status = progression('complete');
    server.use(
      http.post(`${V2}/files/${FILE_MFID}/ingest`, ({ request }) => {
        posts.push(new URL(request.url).search);
        return HttpResponse.json({ id: 5021, status: 'requested', file_mfid: FILE_MFID });
      }),
      http.get(`${V2}/ingestion_requests/5021`, () =>
        HttpResponse.json({
          id: 5021,
          status: status(),
          ingestion_class: 'ApiUploadIngestor',
          error_message: null,
          time_completed: null,
        }),
      ),
    );
    const c = client();
    const request = await c.requests.ingest({ fileId: FILE_MFID }, { ingestionClass: 'ApiUploadIngestor' });
    expect(request).toMatchObject({ id: 5021, status: 'requested' });
    await c.requests.ingest({ fileId: FILE_MFID });
    expect(posts).toEqual(['?ingestion_class=ApiUploadIngestor', '']);
    const statuses: string[] = [];
    const done = await c.requests.wait(5021, {
      pollInterval: 1,
      maxPollInterval: 5,
      onStatus: (r) => statuses.push(r.status),
    });
    expect(statuses).toEqual(['requested', 'started', 'complete']);
    expect(done).toMatchObject({ succeeded: true, status: 'complete' });
    for (const terminal of ['failed', 'not supported', 'file not found', 'something new']) {
      status = progression(terminal);
      const outcome = await c.requests.wait(5021, { pollInterval: 1, maxPollInterval: 5 });
      expect(outcome).toMatchObject({ succeeded: false, status: terminal });
    }
    status = () => 'requested';
    await expect(
      c.requests.wait(5021, { pollInterval: 1, maxPollInterval: 5, maxWaitTime: 50 }),
    ).rejects.toSatisfy(
      (e: unknown) => e instanceof RequestTimeoutError && /no worker/.test((e as Error).message),
    );
  });

  it('keeps waiting through a failed poll, and stops on an abort', async () => {
    let polls = 0;
    server.use(
      http.get(`${V2}/ingestion_requests/7`, () => {
        polls += 1;
        if (polls <= 4) return detail(503, 'Service Unavailable');
        return HttpResponse.json({ id: 7, status: 'complete' });
      }),
    );
    const done = await client({ maxRetries: 1 }).requests.wait(7, { pollInterval: 1, maxPollInterval: 5 });
    expect(done.succeeded).toBe(true);
    server.use(http.get(`${V2}/ingestion_requests/8`, () => HttpResponse.json({ id: 8, status: 'started' })));
    const controller = new AbortController();
    const waiting = client().requests.wait(8, {
      pollInterval: 20,
      maxPollInterval: 20,
      signal: controller.signal,
    });
    controller.abort();
    await expect(waiting).rejects.toSatisfy(
      (e: unknown) => SciportError.isInstance(e) && e.name === 'AbortError',
    );
  });

  it('v1: ingestion per dataset with file_to_upload, polled at /datasets/{id}/ingest/{rid}; SciCat too', async () => {
    const posts: URLSearchParams[] = [];
    const scicat: URLSearchParams[] = [];
    const ingest = progression('file too large');
    server.use(
      http.post(`${V1}/datasets/${DSID}/ingest`, ({ request }) => {
        posts.push(new URL(request.url).searchParams);
        return HttpResponse.json({ id: 208, status: 'requested' });
      }),
      http.get(`${V1}/datasets/${DSID}/ingest/208`, () => HttpResponse.json({ id: 208, status: ingest() })),
      http.post(`${V1}/datasets/${DSID}/scicat_update`, ({ request }) => {
        scicat.push(new URL(request.url).searchParams);
        return HttpResponse.json({ id: 9, status: 'requested' });
      }),
      http.get(`${V1}/datasets/${DSID}/scicat_update/9`, () =>
        HttpResponse.json({ id: 9, status: 'complete' }),
      ),
    );
    const c = client({ baseUrl: V1 });
    const r = await c.requests.ingest(
      { datasetId: DSID, fileToUpload: 'api-uploads/alpha.bin' },
      { ingestionClass: 'ApiUploadIngestor' },
    );
    expect(r.id).toBe(208);
    expect(posts[0]?.get('ingestion_class')).toBe('ApiUploadIngestor');
    expect(posts[0]?.get('file_to_upload')).toBe('api-uploads/alpha.bin');
    const outcome = await c.requests.wait(208, { datasetId: DSID, pollInterval: 1, maxPollInterval: 5 });
    expect(outcome).toMatchObject({ succeeded: false, status: 'file too large' });
    await expect(c.requests.wait(208)).rejects.toThrow(UsageError);
    const s = await c.requests.scicatUpdate(DSID, { overwrite: true });
    expect(scicat[0]?.get('overwrite_data')).toBe('true');
    await c.requests.scicatUpdate(DSID);
    expect(scicat[1]?.has('overwrite_data')).toBe(false);
    const sDone = await c.requests.wait(s.id, { datasetId: DSID, kind: 'scicat', pollInterval: 1 });
    expect(sDone.succeeded).toBe(true);
    await expect(client().requests.scicatUpdate(DSID)).rejects.toThrow(UsageError);
  });

  it('v1: a dataset from files is one ingestion of its main file (file_to_upload set at creation)', async () => {
    const created: Array<Record<string, unknown>> = [];
    const ingests: URLSearchParams[] = [];
    const uploads: string[] = [];
    server.use(
      http.post(`${V1}/datasets`, async ({ request }) => {
        const b = (await request.json()) as Record<string, unknown>;
        created.push(b);
        return HttpResponse.json({ ...dataset(1), unique_id: DSID, ...b });
      }),
      http.post(`${V1}/datasets/${DSID}/upload`, async ({ request }) => {
        const form = await request.formData();
        const f = form.get('files') as File;
        uploads.push(f.name);
        const bytes = new Uint8Array(await f.arrayBuffer());
        return HttpResponse.json({
          filename: `api-uploads/${f.name}`,
          size: bytes.byteLength,
          sha256_hash: sha256(bytes),
        });
      }),
      http.post(`${V1}/datasets/${DSID}/ingest`, ({ request }) => {
        ingests.push(new URL(request.url).searchParams);
        return HttpResponse.json({ id: 11, status: 'requested' });
      }),
      http.get(`${V1}/datasets/${DSID}/ingest/11`, () => HttpResponse.json({ id: 11, status: 'complete' })),
    );
    const a = path.join(dir, 'main.csv');
    const b = path.join(dir, 'extra.csv');
    await writeFile(a, 'x,y\n1,2\n');
    await writeFile(b, 'z\n');
    const result = await client({ baseUrl: V1 }).datasets.createFromFiles([a, b], {
      dataset: { projectId: 'MFP12345' },
      ingestionClass: 'ApiUploadIngestor',
      wait: { pollInterval: 1 },
    });
    expect(created[0]).toMatchObject({ file_to_upload: 'api-uploads/main.csv', measurement: 'generic' });
    expect(uploads).toEqual(['main.csv', 'extra.csv']);
    expect(ingests).toHaveLength(1);
    expect(ingests[0]?.get('file_to_upload')).toBe('api-uploads/main.csv');
    expect(result.files[0]?.outcome?.succeeded).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// §12: a LAMMPS dataset end to end on v2
// ---------------------------------------------------------------------------------------------------------------

describe('parsers (§12)', () => {
  it('creates a LAMMPS dataset: measurement, keywords with elements, merged metadata, input and data uploaded', async () => {
    await writeFile(
      path.join(dir, 'in.melt'),
      [
        'variable T equal 300',
        'log log.melt',
        'read_data data.nacl',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a LAMMPS variable, not a template
        'dump 1 all atom 100 dump.${T}.lammpstrj',
        'run 10',
      ].join('\n'),
    );
    await writeFile(
      path.join(dir, 'data.nacl'),
      'NaCl\n\n8 atoms\n2 atom types\n\n0 2 xlo xhi\n0 3 ylo yhi\n0 4 zlo zhi\n\nMasses\n\n1 22.99\n2 35.45\n\nAtoms\n\n1 1 0 0 0\n',
    );
    await writeFile(path.join(dir, 'log.melt'), 'LAMMPS (29 Aug 2024)\n');
    const up = uploadServer();
    const created: Array<Record<string, unknown>> = [];
    const metadata: unknown[] = [];
    const keywords: string[] = [];
    server.use(
      ...up.handlers,
      http.post(`${V2}/datasets`, async ({ request }) => {
        const b = (await request.json()) as Record<string, unknown>;
        created.push(b);
        return HttpResponse.json({ ...dataset(1), ...b, unique_id: DSID });
      }),
      http.patch(`${V2}/resources/${DSID}/metadata`, async ({ request }) => {
        const b = await request.json();
        metadata.push(b);
        return HttpResponse.json({ unique_id: DSID, scientific_metadata: b });
      }),
      http.post(`${V2}/datasets/${DSID}/keywords`, ({ request }) => {
        const k = new URL(request.url).searchParams.get('keyword') ?? '';
        keywords.push(k);
        return HttpResponse.json({ keyword: k, num_datasets: 1 });
      }),
    );
    const result = await client().datasets.createFromFiles([path.join(dir, 'in.melt')], {
      parser: 'LAMMPS',
      dataset: { projectId: 'MFP12345' },
    });
    expect(created[0]).toMatchObject({ measurement: 'LAMMPS', project_id: 'MFP12345' });
    expect(created[0]).not.toHaveProperty('file_to_upload');
    expect(keywords).toEqual(expect.arrayContaining(['LAMMPS', 'molecular dynamics', 'Na', 'Cl']));
    expect(metadata[0]).toMatchObject({
      input_file: 'in.melt',
      data_file: 'data.nacl',
      natoms: 8,
      volume: 24,
      elements: ['Na', 'Cl'],
      lammps_version: 'LAMMPS (29 Aug 2024)',
      dump_files: ['dump.300.lammpstrj'],
      log_files: ['log.melt'],
    });
    expect(up.initiations.map((i) => (i as { filename: string }).filename)).toEqual(['in.melt', 'data.nacl']);
    expect(result.files).toHaveLength(2);
  });
});
