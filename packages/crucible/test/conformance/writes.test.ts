import { NotFoundError, PermissionDeniedError, UsageError } from '@sciport/core';
import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import {
  client,
  DSID,
  dataset,
  detail,
  FILE_MFID,
  seen,
  server,
  sha256,
  useConformanceServer,
  V1,
  V2,
} from './server.js';

useConformanceServer();

// ---------------------------------------------------------------------------------------------------------------
// §5.5, §16.6, §16.7: metadata, keywords, links, samples, users
// ---------------------------------------------------------------------------------------------------------------

describe('metadata, keywords, links and catalogue writes (§5, §16)', () => {
  it('v2: merge is PATCH /resources/{id}/metadata, replace is POST ?overwrite=true, never a bare POST', async () => {
    const calls: string[] = [];
    let stored: Record<string, unknown> | null = null;
    server.use(
      http.get(`${V2}/resources/${DSID}/metadata`, () =>
        HttpResponse.json(stored === null ? null : { unique_id: DSID, scientific_metadata: stored }),
      ),
      http.patch(`${V2}/resources/${DSID}/metadata`, async ({ request }) => {
        calls.push(`PATCH ${new URL(request.url).search}`);
        stored = { ...(stored ?? {}), ...((await request.json()) as Record<string, unknown>) };
        return HttpResponse.json({ unique_id: DSID, scientific_metadata: stored });
      }),
      http.post(`${V2}/resources/${DSID}/metadata`, async ({ request }) => {
        const overwrite = new URL(request.url).searchParams.get('overwrite');
        calls.push(`POST overwrite=${overwrite}`);
        if (overwrite !== 'true' && stored !== null) return detail(409, 'Metadata already exists');
        stored = (await request.json()) as Record<string, unknown>;
        return HttpResponse.json({ unique_id: DSID, scientific_metadata: stored });
      }),
    );
    const c = client();
    expect(await c.datasets.metadata(DSID)).toEqual({});
    await c.datasets.mergeMetadata(DSID, { a: 1 });
    await c.datasets.mergeMetadata(DSID, { b: 2 });
    expect(await c.datasets.metadata(DSID)).toEqual({ a: 1, b: 2 });
    expect(await c.datasets.replaceMetadata(DSID, { only: true })).toEqual({ only: true });
    expect(calls).toEqual(['PATCH ', 'PATCH ', 'POST overwrite=true']);
  });

  it('v1: metadata at /datasets/{id}/scientific_metadata (PATCH merges, POST replaces); get is two calls', async () => {
    const calls: string[] = [];
    server.use(
      http.get(`${V1}/datasets/${DSID}`, () => HttpResponse.json({ ...dataset(1), unique_id: DSID, id: 7 })),
      http.get(`${V1}/datasets/${DSID}/scientific_metadata`, () =>
        HttpResponse.json({ id: 3, dataset_id: 7, scientific_metadata: { x: 1 } }),
      ),
      http.patch(`${V1}/datasets/${DSID}/scientific_metadata`, async ({ request }) => {
        calls.push(`PATCH ${JSON.stringify(await request.json())}`);
        return HttpResponse.json({ id: 3, scientific_metadata: { x: 1, y: 2 } });
      }),
      http.post(`${V1}/datasets/${DSID}/scientific_metadata`, async ({ request }) => {
        calls.push(`POST ${JSON.stringify(await request.json())}`);
        return HttpResponse.json({ id: 3, scientific_metadata: { z: 3 } });
      }),
    );
    const c = client({ baseUrl: V1 });
    const d = await c.datasets.get(DSID, { includeMetadata: true });
    expect(d.scientificMetadata).toEqual({ x: 1 });
    expect(await c.datasets.mergeMetadata(DSID, { y: 2 })).toEqual({ x: 1, y: 2 });
    expect(await c.datasets.replaceMetadata(DSID, { z: 3 })).toEqual({ z: 3 });
    expect(calls).toEqual(['PATCH {"y":2}', 'POST {"z":3}']);
  });

  it('adds keywords as a query parameter without a body, and links with POSTs on the spec’s paths', async () => {
    const posts: string[] = [];
    server.use(
      http.post(`${V2}/datasets/${DSID}/keywords`, async ({ request }) => {
        const url = new URL(request.url);
        expect(await request.text()).toBe('');
        posts.push(`keyword=${url.searchParams.get('keyword')}`);
        return HttpResponse.json({ keyword: url.searchParams.get('keyword'), num_datasets: 3 });
      }),
      http.post(`${V2}/datasets/:dsid/samples/:sid`, ({ params }) => {
        posts.push(`ds-sample ${params.dsid} ${params.sid}`);
        return HttpResponse.json({});
      }),
      http.post(`${V2}/datasets/:parent/children/:child`, ({ params }) => {
        posts.push(`ds-child ${params.parent} ${params.child}`);
        return HttpResponse.json({ parent: params.parent });
      }),
      http.post(`${V2}/samples/:parent/children/:child`, ({ params }) => {
        posts.push(`s-child ${params.parent} ${params.child}`);
        return new HttpResponse(null, { status: 200 });
      }),
    );
    const c = client();
    const added = await c.keywords.add(DSID, ['HAADF', 'in situ']);
    expect(added.map((k) => k.numDatasets)).toEqual([3, 3]);
    await c.datasets.linkSample(DSID, 'S1aaaaaaaaaaaaaaaaaaaaaaaa');
    await c.datasets.linkChild(DSID, 'C1aaaaaaaaaaaaaaaaaaaaaaaa');
    await c.samples.linkChild('P1aaaaaaaaaaaaaaaaaaaaaaaa', 'C2aaaaaaaaaaaaaaaaaaaaaaaa');
    expect(posts).toEqual([
      'keyword=HAADF',
      'keyword=in situ',
      `ds-sample ${DSID} S1aaaaaaaaaaaaaaaaaaaaaaaa`,
      `ds-child ${DSID} C1aaaaaaaaaaaaaaaaaaaaaaaa`,
      's-child P1aaaaaaaaaaaaaaaaaaaaaaaa C2aaaaaaaaaaaaaaaaaaaaaaaa',
    ]);
  });

  it('never repeats a keyword, link or replace blindly: after an unknown outcome it reads the state first', async () => {
    const keywords: string[] = [];
    let keywordPosts = 0;
    let linkPosts = 0;
    let linked = false;
    let metadataPosts = 0;
    let stored: unknown = null;
    /** The write is applied, but its answer is cut short: the client cannot know. */
    const lost = () =>
      new HttpResponse('{"keyword": "HA', {
        status: 200,
        headers: { 'content-type': 'application/json', 'content-length': '80' },
      });
    server.use(
      http.post(`${V2}/datasets/${DSID}/keywords`, ({ request }) => {
        keywordPosts += 1;
        keywords.push(new URL(request.url).searchParams.get('keyword') ?? '');
        return lost();
      }),
      http.get(`${V2}/datasets/${DSID}/keywords`, () =>
        HttpResponse.json(keywords.map((k) => ({ keyword: k.toLowerCase(), num_datasets: 1 }))),
      ),
      http.post(`${V2}/datasets/${DSID}/samples/:sid`, () => {
        linkPosts += 1;
        // The first attempt never reaches the application (a 503 from the proxy), the second does.
        if (linkPosts === 1) return detail(503, 'Service Unavailable');
        linked = true;
        return HttpResponse.json({});
      }),
      http.get(`${V2}/datasets/${DSID}/samples`, () =>
        HttpResponse.json({
          items: linked ? [{ unique_id: 'S1aaaaaaaaaaaaaaaaaaaaaaaa' }] : [],
          total: linked ? 1 : 0,
          limit: 1000,
          offset: 0,
        }),
      ),
      http.post(`${V2}/resources/${DSID}/metadata`, async ({ request }) => {
        metadataPosts += 1;
        stored = await request.json();
        return detail(500, 'Internal Server Error');
      }),
      http.get(`${V2}/resources/${DSID}/metadata`, () =>
        HttpResponse.json(stored === null ? null : { unique_id: DSID, scientific_metadata: stored }),
      ),
    );
    const c = client();
    const added = await c.keywords.add(DSID, ['HAADF']);
    expect(keywordPosts).toBe(1);
    expect(added[0]?.keyword).toBe('haadf');
    await c.datasets.linkSample(DSID, 'S1aaaaaaaaaaaaaaaaaaaaaaaa');
    expect(linkPosts).toBe(2);
    expect(await c.datasets.replaceMetadata(DSID, { b: [1, { c: 2 }], a: 1 })).toEqual({
      a: 1,
      b: [1, { c: 2 }],
    });
    expect(metadataPosts).toBe(1);
  });

  it('sends sample bodies per version (v2 timestamp and public, v1 date_created) without nulls', async () => {
    const bodies: Array<Record<string, unknown>> = [];
    const handler = async ({ request }: { request: Request }) => {
      const b = (await request.json()) as Record<string, unknown>;
      bodies.push(b);
      return HttpResponse.json({ unique_id: '0tfa3k2m7qv1d000c4x9r2hs09', ...b });
    };
    server.use(http.post(`${V2}/samples`, handler), http.post(`${V1}/samples`, handler));
    await client().samples.create({
      sampleName: 'film',
      projectId: 'MFP12345',
      timestamp: '2026-05-01T00:00:00Z',
      public: true,
    });
    await client({ baseUrl: V1 }).samples.create({ sampleName: 'film', timestamp: '2026-05-01T00:00:00Z' });
    expect(bodies[0]).toEqual({
      sample_name: 'film',
      project_id: 'MFP12345',
      timestamp: '2026-05-01T00:00:00Z',
      public: true,
    });
    expect(bodies[1]).toEqual({ sample_name: 'film', date_created: '2026-05-01T00:00:00Z' });
  });

  it('creates users with {user_info: {orcid…}, project_ids}, finds v1 users by email then lbl_email', async () => {
    const bodies: unknown[] = [];
    const lookups: string[] = [];
    server.use(
      http.post(`${V2}/users`, async ({ request }) => {
        const b = (await request.json()) as { user_info: Record<string, unknown> };
        bodies.push(b);
        return HttpResponse.json({ unique_id: b.user_info.orcid, first_name: 'A', last_name: 'B' });
      }),
      http.get(`${V1}/users`, ({ request }) => {
        const q = new URL(request.url).searchParams;
        lookups.push(q.toString());
        if (q.has('lbl_email'))
          return HttpResponse.json([{ id: 5, orcid: '0000-0002-0000-000X', first_name: 'L' }]);
        return HttpResponse.json([]);
      }),
    );
    const u = await client().users.create({
      orcid: '0000-0002-0000-000X',
      firstName: 'A',
      lastName: 'B',
      projectIds: ['MFP12345'],
    });
    expect(u.uniqueId).toBe('0000-0002-0000-000X');
    expect(bodies[0]).toEqual({
      user_info: { orcid: '0000-0002-0000-000X', first_name: 'A', last_name: 'B' },
      project_ids: ['MFP12345'],
    });
    const found = await client({ baseUrl: V1 }).users.findByEmail('l@lbl.gov').toArray();
    expect(found.map((x) => x.uniqueId)).toEqual(['0000-0002-0000-000X']);
    expect(lookups).toEqual(['email=l%40lbl.gov', 'lbl_email=l%40lbl.gov']);
  });

  it('v1: lists the caller’s projects through /users/{orcid}/projects (GET /projects is admin-only)', async () => {
    server.use(
      http.get(`${V1}/account`, () =>
        HttpResponse.json({
          user_info: { id: 41, orcid: '0000-0001-2345-6789', first_name: 'D', last_name: 'D' },
          access_group_name: '0000-0001-2345-6789',
          access_group_ids: [1],
        }),
      ),
      http.get(`${V1}/users/0000-0001-2345-6789/projects`, () =>
        HttpResponse.json([
          { id: 1, project_id: 'MFP12345', organization: 'LBNL', project_lead_email: 'x@y.z' },
        ]),
      ),
      http.get(`${V1}/projects`, () => detail(403, 'Forbidden')),
    );
    const c = client({ baseUrl: V1 });
    expect((await c.projects.list().toArray()).map((p) => p.projectId)).toEqual(['MFP12345']);
    const all = await c.projects
      .list({ all: true })
      .toArray()
      .catch((e: unknown) => e);
    expect(PermissionDeniedError.isInstance(all)).toBe(true);
    expect((all as Error).message).toMatch(/admin/i);
  });

  it('creates from a JSON record (metadata and keywords included), samples with parents and children', async () => {
    const calls: string[] = [];
    server.use(
      http.post(`${V2}/datasets`, async ({ request }) => {
        const b = (await request.json()) as Record<string, unknown>;
        calls.push(`POST /datasets ${JSON.stringify(b)}`);
        return HttpResponse.json({ ...dataset(1), ...b, unique_id: DSID });
      }),
      http.patch(`${V2}/resources/${DSID}/metadata`, async ({ request }) => {
        const b = await request.json();
        calls.push(`PATCH metadata ${JSON.stringify(b)}`);
        return HttpResponse.json({ unique_id: DSID, scientific_metadata: b });
      }),
      http.post(`${V2}/datasets/${DSID}/keywords`, ({ request }) => {
        const k = new URL(request.url).searchParams.get('keyword');
        calls.push(`POST keyword ${k}`);
        return HttpResponse.json({ keyword: k, num_datasets: 1 });
      }),
      http.post(`${V2}/samples`, async ({ request }) =>
        HttpResponse.json({ unique_id: 'S0aaaaaaaaaaaaaaaaaaaaaaaa', ...((await request.json()) as object) }),
      ),
      http.post(`${V2}/samples/:parent/children/:child`, ({ params }) => {
        calls.push(`link ${params.parent} > ${params.child}`);
        return HttpResponse.json({});
      }),
    );
    const c = client();
    const made = await c.datasets.createFromJson({
      dataset_name: 'XRD run 5',
      project_id: 'MFP12345',
      session_name: null,
      scientific_metadata: { beam: 12 },
      keywords: ['XRD'],
    });
    expect(made.dataset.uniqueId).toBe(DSID);
    expect(made.scientificMetadata).toEqual({ beam: 12 });
    await c.samples.create(
      { sampleName: 'film' },
      { parents: ['Paaaaaaaaaaaaaaaaaaaaaaaaa'], children: ['Caaaaaaaaaaaaaaaaaaaaaaaaa'] },
    );
    expect(calls).toEqual([
      'POST /datasets {"dataset_name":"XRD run 5","project_id":"MFP12345"}',
      'PATCH metadata {"beam":12}',
      'POST keyword XRD',
      'link Paaaaaaaaaaaaaaaaaaaaaaaaa > S0aaaaaaaaaaaaaaaaaaaaaaaa',
      'link S0aaaaaaaaaaaaaaaaaaaaaaaa > Caaaaaaaaaaaaaaaaaaaaaaaaa',
    ]);
  });

  it('gets or creates projects and instruments (v1: null and [] mean absent), lists keywords, deletes thumbnails', async () => {
    const created: string[] = [];
    server.use(
      http.get(`${V1}/projects/:pid`, ({ params }) =>
        HttpResponse.json(params.pid === 'OLD' ? { id: 1, project_id: 'OLD', organization: 'LBNL' } : null),
      ),
      http.post(`${V1}/projects`, async ({ request }) => {
        const b = (await request.json()) as Record<string, unknown>;
        created.push(`project ${JSON.stringify(b)}`);
        return HttpResponse.json({ id: 2, ...b });
      }),
      http.get(`${V1}/instruments`, ({ request }) => {
        const name = new URL(request.url).searchParams.get('instrument_name');
        return HttpResponse.json(
          name?.toLowerCase() === 'titanx' ? [{ id: 36, instrument_name: 'TitanX' }] : [],
        );
      }),
      http.post(`${V1}/instruments`, async ({ request }) => {
        const b = (await request.json()) as Record<string, unknown>;
        created.push(`instrument ${JSON.stringify(b)}`);
        return HttpResponse.json({ id: 37, unique_id: '0tfa3k2m7qv1d000c4x9r2hi01', ...b });
      }),
      http.get(`${V1}/keywords`, () => HttpResponse.json([{ keyword: 'XRD', num_datasets: 4 }])),
      http.delete(`${V2}/datasets/${DSID}/thumbnails/12`, () => HttpResponse.json({ detail: 'deleted' })),
    );
    const v1 = client({ baseUrl: V1 });
    expect(
      (await v1.projects.getOrCreate({ projectId: 'OLD', organization: 'LBNL', leadEmail: 'a@b.c' })).id,
    ).toBe(1);
    await v1.projects.getOrCreate({ projectId: 'NEW', organization: 'LBNL', leadEmail: 'a@b.c' });
    expect((await v1.instruments.getOrCreate({ instrumentName: 'titanx' })).id).toBe(36);
    await expect(v1.instruments.getOrCreate({ instrumentName: 'photobox' })).rejects.toSatisfy((e: unknown) =>
      NotFoundError.isInstance(e),
    );
    await v1.instruments.getOrCreate({ instrumentName: 'photobox', location: 'B67', owner: 'Foundry' });
    expect(created).toEqual([
      'project {"project_id":"NEW","organization":"LBNL","project_lead_email":"a@b.c"}',
      'instrument {"instrument_name":"photobox","owner":"Foundry","location":"B67"}',
    ]);
    const all = await v1.keywords.all().toArray();
    expect(all).toMatchObject([{ keyword: 'XRD', numDatasets: 4 }]);
    expect(all.map((k) => k.raw)).toEqual([{ keyword: 'XRD', num_datasets: 4 }]);
    await client().thumbnails.delete(DSID, 12);
    expect(seen.at(-1)?.method).toBe('DELETE');
  });

  it('records a file without bytes: v1 associated_files, v2 a catalogue-only file with its backend', async () => {
    const bodies: unknown[] = [];
    server.use(
      http.post(`${V1}/datasets/${DSID}/associated_files`, async ({ request }) => {
        const b = await request.json();
        bodies.push(b);
        return HttpResponse.json(b);
      }),
      http.post(`${V2}/datasets/${DSID}/files`, async ({ request }) => {
        const b = (await request.json()) as Record<string, unknown>;
        bodies.push(b);
        return HttpResponse.json({ mfid: FILE_MFID, dataset_mfid: DSID, storage_path: null, ...b });
      }),
    );
    const hash = sha256('x');
    await client({ baseUrl: V1 }).files.addRecord(DSID, {
      filename: 'api-uploads/big.h5',
      size: 1,
      sha256: hash,
    });
    await client().files.addRecord(DSID, {
      filename: 'big.h5',
      size: 1,
      sha256: hash,
      storageBackend: 'globus',
    });
    await expect(client().files.addRecord(DSID, { filename: 'big.h5' })).rejects.toThrow(UsageError);
    expect(bodies).toEqual([
      { filename: 'api-uploads/big.h5', size: 1, sha256_hash: hash },
      { filename: 'big.h5', storage_backend: 'globus', size: 1, sha256_hash: hash },
    ]);
  });
});
