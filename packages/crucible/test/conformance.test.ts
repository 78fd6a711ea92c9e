/**
 * Conformance with the Crucible wire protocol as the spec (crucible.md) gives it, against handlers written here
 * from the spec alone (not the testkit simulator): exact paths and methods, query and body names, envelopes,
 * status codes and their meaning, the resumable signed upload, signed downloads and the request statuses.
 * Every request the client makes must be one of these handlers (`onUnhandledRequest: 'error'`).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AuthenticationError,
  BadRequestError,
  IntegrityError,
  NotFoundError,
  PermissionDeniedError,
  SciportError,
  UsageError,
} from '@sciport/core';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CrucibleClient, type CrucibleClientOptions, RequestTimeoutError } from '../src/index.js';

const HOST = 'https://crucible.example.org';
const V2 = `${HOST}/api/v2`;
const V1 = `${HOST}/testapi`;
const STORAGE = 'https://storage.googleapis.com';
const KEY = 'crk_conformance_0123456789abcdef';
const DSID = '0tfa3k2m7qv1d000c4x9r2h8na';
const FILE_MFID = '0tfa3m9b1c2d3000e4f5g6h7jk';
const KIB256 = 256 * 1024;

interface Seen {
  method: string;
  url: URL;
  authorization: string | null;
  headers: Headers;
}

const server = setupServer();
let seen: Seen[] = [];
let dir: string;

beforeAll(() => {
  server.listen({ onUnhandledRequest: 'error' });
  server.events.on('request:start', ({ request }) => {
    seen.push({
      method: request.method,
      url: new URL(request.url),
      authorization: request.headers.get('authorization'),
      headers: request.headers,
    });
  });
});
beforeEach(async () => {
  seen = [];
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-crucible-conformance-'));
});
afterEach(async () => {
  server.resetHandlers();
  await rm(dir, { recursive: true, force: true });
});
afterAll(() => server.close());

function client(options: CrucibleClientOptions = {}): CrucibleClient {
  return new CrucibleClient({ apiUrl: V2, apiKey: KEY, maxRetries: 2, ...options });
}

/** FastAPI's `{"detail": …}` error body. */
function detail(status: number, message: unknown, headers: Record<string, string> = {}) {
  return HttpResponse.json({ detail: message }, { status, headers });
}

/** Every API request carries the Bearer key; storage requests never do. */
function requireKey(request: Request): Response | undefined {
  if (request.headers.get('authorization') !== `Bearer ${KEY}`) return detail(401, 'Not authenticated');
  return undefined;
}

function gcsError(status: number, code: string, message: string) {
  return new HttpResponse(
    `<?xml version='1.0' encoding='UTF-8'?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
    {
      status,
      headers: { 'content-type': 'application/xml; charset=UTF-8' },
    },
  );
}

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

function dataset(n: number, extra: Record<string, unknown> = {}) {
  return {
    unique_id: `0tfa3k2m7qv1d000c4x9r2h${String(n).padStart(3, '0')}`,
    resource_type: 'dataset',
    dataset_name: `run ${n}`,
    description: null,
    measurement: 'XRD',
    data_type: null,
    data_format: 'h5',
    session_name: null,
    instrument_name: null,
    project_id: 'MFP12345',
    owner_orcid: '0000-0001-2345-6789',
    public: false,
    size: null,
    timestamp: null,
    creation_time: '2026-05-12T16:40:02.118734',
    modification_time: '2026-05-12T16:41:10.002311',
    deletion_request: null,
    ...extra,
  };
}

function patternBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + (i >> 8)) & 0xff;
  return out;
}

function storageRequests(): Seen[] {
  return seen.filter((s) => s.url.origin === STORAGE);
}

// ---------------------------------------------------------------------------------------------------------------
// §1, §2, §15.1: api_url, Bearer key, the bad-key answers
// ---------------------------------------------------------------------------------------------------------------

describe('api_url and authentication (§1, §2, §15.1)', () => {
  it('appends every path to the api_url with its prefix, trailing slash or not, with the Bearer key', async () => {
    server.use(
      http.get(
        `${V2}/account`,
        ({ request }) =>
          requireKey(request) ??
          HttpResponse.json({
            user_unique_id: '0000-0001-2345-6789',
            access_group_ids: [12, 57],
            user_info: {
              unique_id: '0000-0001-2345-6789',
              first_name: 'Dee',
              last_name: 'Demo',
              email: null,
            },
          }),
      ),
    );
    const c = client({ apiUrl: `${V2}/` });
    expect(c.apiVersion).toBe('v2');
    const account = await c.users.account();
    expect(account.user_unique_id).toBe('0000-0001-2345-6789');
    expect(account.access_group_ids).toEqual([12, 57]);
    expect(seen.map((s) => `${s.method} ${s.url.href}`)).toEqual([`GET ${V2}/account`]);
    expect(seen[0]?.authorization).toBe(`Bearer ${KEY}`);
  });

  it('reads the API version from the URL: /testapi and /api/v1 are v1, /api/v2 is v2', () => {
    expect(client({ apiUrl: V1 }).apiVersion).toBe('v1');
    expect(client({ apiUrl: `${HOST}/testapi-staging` }).apiVersion).toBe('v1');
    expect(client({ apiUrl: `${HOST}/api/v1` }).apiVersion).toBe('v1');
    expect(client({ apiUrl: V2 }).apiVersion).toBe('v2');
    expect(client({ apiUrl: `${HOST}/api`, apiVersion: 'v1' }).apiVersion).toBe('v1');
    expect(() => client({ apiUrl: V2, apiVersion: 'v1' })).toThrow(UsageError);
  });

  it('takes v1’s 400 "no account found", 401, and 403 on /account as a bad key, never echoing it', async () => {
    const wrong = 'crk_wrong_key_for_conformance_42';
    let answer: () => Response = () => detail(400, 'No account found for this API key');
    server.use(http.get(`${V1}/account`, () => answer()));
    for (const make of [
      () => detail(400, 'No account found for this API key'),
      () => detail(401, 'Not authenticated', { 'www-authenticate': 'Bearer' }),
      () => detail(403, 'Forbidden'),
    ]) {
      answer = make;
      const error = await client({ apiUrl: V1, apiKey: wrong })
        .users.account()
        .catch((e: unknown) => e);
      expect(AuthenticationError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(/API key/);
      expect(`${(error as Error).message} ${JSON.stringify(error)}`).not.toContain(wrong);
    }
    // Not retried: three answers, three requests.
    expect(seen).toHaveLength(3);
  });

  it('does not take an ordinary 400 for a bad key, and shows a 422 detail list', async () => {
    server.use(
      http.post(`${V2}/datasets`, () =>
        detail(422, [
          { loc: ['body', 'public'], msg: 'Input should be a valid boolean', type: 'bool_parsing' },
        ]),
      ),
    );
    const error = await client()
      .datasets.create({ datasetName: 'x', projectId: 'MFP12345' })
      .catch((e: unknown) => e);
    expect(BadRequestError.isInstance(error)).toBe(true);
    expect(AuthenticationError.isInstance(error)).toBe(false);
    expect((error as Error).message).toContain('Input should be a valid boolean');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// §3, §15.2: not-found semantics, admin-only endpoints, tolerant records
// ---------------------------------------------------------------------------------------------------------------

describe('records and errors (§3, §15.2, §15.4)', () => {
  it('takes 200-with-null and 404 as NotFoundError, and a 403 as PermissionDeniedError with the reason', async () => {
    server.use(
      http.get(`${V2}/datasets/:id`, ({ params }) => {
        if (params.id === 'nullrecord000000000000000') return HttpResponse.json(null);
        if (params.id === 'emptybody0000000000000000') return new HttpResponse(null, { status: 200 });
        if (params.id === 'private00000000000000000')
          return detail(403, 'Not allowed to read dataset private00000000000000000');
        return detail(404, 'Dataset not found');
      }),
      http.get(`${V1}/projects/:pid`, () => HttpResponse.json(null)),
      http.get(`${V1}/samples/:sid`, () => HttpResponse.json(null)),
    );
    const c = client();
    for (const dsid of [
      'nullrecord000000000000000',
      'emptybody0000000000000000',
      'missing0000000000000000000',
    ]) {
      await expect(c.datasets.get(dsid)).rejects.toSatisfy((e: unknown) => NotFoundError.isInstance(e));
    }
    const denied = await c.datasets.get('private00000000000000000').catch((e: unknown) => e);
    expect(PermissionDeniedError.isInstance(denied)).toBe(true);
    expect((denied as Error).message).toContain('Not allowed to read dataset');
    const v1 = client({ apiUrl: V1 });
    await expect(v1.projects.get('NOPE')).rejects.toSatisfy((e: unknown) => NotFoundError.isInstance(e));
    await expect(v1.samples.get('0tfa3k2m7qv1d000c4x9r2h999')).rejects.toSatisfy((e: unknown) =>
      NotFoundError.isInstance(e),
    );
  });

  it('parses records with missing, null and unknown fields, and the transition names', async () => {
    server.use(
      http.get(`${V2}/datasets/${DSID}`, ({ request }) => {
        const q = new URL(request.url).searchParams;
        expect(q.get('include_metadata')).toBe('true');
        return HttpResponse.json({
          unique_id: DSID,
          dataset_name: null,
          creation_date: '2026-05-12T09:31:00',
          storage_backend: 'gcs',
          brand_new_field: { nested: [1, 2] },
          scientific_metadata: { scientific_metadata: { nested: 'is data here' }, beam: 12 },
        });
      }),
      http.get(`${V2}/samples/0tfa3k2m7qv1d000c4x9r2hs01`, () =>
        HttpResponse.json({
          unique_id: '0tfa3k2m7qv1d000c4x9r2hs01',
          sample_name: 'film',
          date_created: '2026-01-01',
        }),
      ),
    );
    const c = client();
    const d = await c.datasets.get(DSID, { includeMetadata: true });
    expect(d.unique_id).toBe(DSID);
    expect(d.timestamp).toBe('2026-05-12T09:31:00');
    expect((d as Record<string, unknown>).brand_new_field).toEqual({ nested: [1, 2] });
    // v2 metadata is flat: a key named scientific_metadata inside it is the user's data, not a wrapper.
    expect(d.scientific_metadata).toEqual({ scientific_metadata: { nested: 'is data here' }, beam: 12 });
    const s = await c.samples.get('0tfa3k2m7qv1d000c4x9r2hs01');
    expect(s.timestamp).toBe('2026-01-01');
  });

  it('takes a 2xx without a body as done: an update reads the record back, a keyword is the one sent', async () => {
    const patches: unknown[] = [];
    server.use(
      http.patch(`${V2}/datasets/${DSID}`, async ({ request }) => {
        patches.push(await request.json());
        return new HttpResponse(null, { status: 204 });
      }),
      http.get(`${V2}/datasets/${DSID}`, () =>
        HttpResponse.json(dataset(1, { unique_id: DSID, public: true })),
      ),
      http.post(`${V2}/datasets/${DSID}/keywords`, () => new HttpResponse(null, { status: 201 })),
    );
    const c = client();
    const updated = await c.datasets.update(DSID, { public: true, sessionName: 'pm' });
    expect(patches).toEqual([{ session_name: 'pm', public: true }]);
    expect(updated.public).toBe(true);
    expect(await c.datasets.addKeywords(DSID, ['XRD'])).toEqual([{ keyword: 'XRD' }]);
  });

  it('says an admin-only endpoint needs an admin key, with the server’s reason', async () => {
    server.use(
      http.post(`${V2}/instruments`, () => detail(403, 'Forbidden')),
      http.post(`${V2}/projects`, () => detail(403, 'Requires admin permissions')),
      http.get(`${V2}/users/:orcid`, () => detail(403, 'ORCID and email lookups require admin')),
      http.get(`${V2}/resources/:id/access_groups`, () => detail(403, 'Forbidden')),
    );
    const c = client();
    const attempts = [
      c.instruments.create({ instrumentName: 'titanx', owner: 'NCEM', location: 'B72' }),
      c.projects.create({ projectId: 'P1', organization: 'LBNL', leadEmail: 'a@b.c' }),
      c.users.get('0000-0001-2345-6789'),
      c.users.accessGroups(DSID),
    ];
    for (const attempt of attempts) {
      const error = await attempt.catch((e: unknown) => e);
      expect(PermissionDeniedError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(/admin/i);
    }
    const first = await c.instruments
      .create({ instrumentName: 'titanx', owner: 'NCEM', location: 'B72' })
      .catch((e: unknown) => e as Error);
    expect((first as Error).message).toContain('Forbidden');
    // Creates are not retried on a refusal.
    expect(seen.filter((s) => s.method === 'POST' && s.url.pathname.endsWith('/instruments'))).toHaveLength(
      2,
    );
  });

  it('does not repeat a create after a 5xx, but does after a 429 (which the server did not act on)', async () => {
    let posts = 0;
    let created = 0;
    server.use(
      http.post(`${V2}/datasets`, async ({ request }) => {
        posts += 1;
        if (posts === 1) return detail(500, 'Internal Server Error');
        if (posts === 2) return detail(429, 'Too Many Requests', { 'retry-after': '0' });
        created += 1;
        const body = (await request.json()) as Record<string, unknown>;
        return HttpResponse.json(dataset(1, body), { status: 201 });
      }),
    );
    const c = client();
    const error = await c.datasets
      .create({ datasetName: 'a', projectId: 'MFP12345' })
      .catch((e: unknown) => e);
    expect(SciportError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/may have applied it/);
    expect(posts).toBe(1);
    const made = await c.datasets.create({ datasetName: 'a', projectId: 'MFP12345' });
    expect(made.dataset_name).toBe('a');
    expect(posts).toBe(3);
    expect(created).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// §15.3, §16: envelopes and pagination
// ---------------------------------------------------------------------------------------------------------------

describe('lists (§15.3, §16)', () => {
  it('follows the keyset cursor of GET /datasets with the same filters, never an offset, at most 1000 a page', async () => {
    const all = Array.from({ length: 5 }, (_, i) => dataset(5 - i));
    const queries: URLSearchParams[] = [];
    server.use(
      http.get(`${V2}/datasets`, ({ request }) => {
        const denied = requireKey(request);
        if (denied) return denied;
        const q = new URL(request.url).searchParams;
        queries.push(q);
        const limit = Number(q.get('limit'));
        const start = q.get('cursor') === null ? 0 : Number(q.get('cursor')?.replace('opaque-', ''));
        const items = all.slice(start, start + limit);
        const more = start + limit < all.length;
        return HttpResponse.json({
          items,
          limit,
          next_cursor: more ? `opaque-${start + limit}` : null,
          ...(q.get('cursor') === null ? { total: all.length } : { total: null }),
          offset: null,
        });
      }),
    );
    const c = client({ pageSize: 2 });
    const listed = await c.datasets
      .list({ projectId: 'MFP12345', keyword: 'perov', public: false, includeMetadata: true })
      .toArray();
    expect(listed.map((d) => d.unique_id)).toEqual(all.map((d) => d.unique_id));
    expect(queries).toHaveLength(3);
    expect(queries.map((q) => q.get('cursor'))).toEqual([null, 'opaque-2', 'opaque-4']);
    for (const q of queries) {
      expect(q.get('project_id')).toBe('MFP12345');
      expect(q.get('keyword')).toBe('perov');
      expect(q.get('public')).toBe('false');
      expect(q.get('include_metadata')).toBe('true');
      expect(q.get('limit')).toBe('2');
      expect(q.has('offset')).toBe(false);
    }
    queries.length = 0;
    const big = await client().datasets.list({ limit: 3 }).toArray();
    expect(big).toHaveLength(3);
    expect(queries).toHaveLength(1);
    expect(Number(queries[0]?.get('limit'))).toBeLessThanOrEqual(1000);
    queries.length = 0;
    await client().datasets.list().toArray();
    expect(queries[0]?.get('limit')).toBe('1000');
  });

  it('pages offset envelopes by total, and takes a bare array where an envelope was expected as the whole list', async () => {
    const children = Array.from({ length: 5 }, (_, i) => dataset(i));
    const offsets: Array<string | null> = [];
    let sampleCalls = 0;
    server.use(
      http.get(`${V2}/datasets/${DSID}/children`, ({ request }) => {
        const q = new URL(request.url).searchParams;
        offsets.push(q.get('offset'));
        const limit = Number(q.get('limit'));
        const offset = Number(q.get('offset') ?? 0);
        return HttpResponse.json({ items: children.slice(offset, offset + limit), total: 5, limit, offset });
      }),
      http.get(`${V2}/datasets/${DSID}/samples`, () => {
        sampleCalls += 1;
        return HttpResponse.json([{ unique_id: '0tfa3k2m7qv1d000c4x9r2hs01', sample_name: 'a' }]);
      }),
      http.get(`${V2}/samples`, () => HttpResponse.json([{ unique_id: '0tfa3k2m7qv1d000c4x9r2hs02' }])),
    );
    const c = client({ pageSize: 2 });
    expect((await c.datasets.children(DSID).toArray()).map((d) => d.unique_id)).toEqual(
      children.map((d) => d.unique_id),
    );
    expect(offsets).toEqual(['0', '2', '4']);
    const samples = await client({ pageSize: 1 }).datasets.samples(DSID).toArray();
    expect(samples).toHaveLength(1);
    expect(sampleCalls).toBe(1);
    expect((await c.samples.list().toArray()).map((s) => s.unique_id)).toEqual([
      '0tfa3k2m7qv1d000c4x9r2hs02',
    ]);
  });

  it('never asks a v2 bare-array list for more than 1000 (GET /samples/{id}/datasets honours limit, not offset)', async () => {
    const limits: Array<string | null> = [];
    server.use(
      http.get(`${V2}/samples/:sid/datasets`, ({ request }) => {
        const q = new URL(request.url).searchParams;
        limits.push(q.get('limit'));
        expect(q.has('offset')).toBe(false);
        return HttpResponse.json([dataset(1)]);
      }),
    );
    await client().datasets.list({ sampleId: '0tfa3k2m7qv1d000c4x9r2hs01' }).toArray();
    expect(Number(limits[0])).toBeGreaterThan(0);
    expect(Number(limits[0])).toBeLessThanOrEqual(1000);
  });

  it('lists v1 bare arrays, sends limit to GET /datasets, and unwraps the double-nested metadata', async () => {
    const queries: URLSearchParams[] = [];
    server.use(
      http.get(`${V1}/datasets`, ({ request }) => {
        const q = new URL(request.url).searchParams;
        queries.push(q);
        return HttpResponse.json([
          {
            ...dataset(1),
            id: 120017,
            owner_user_id: 41,
            instrument_id: 36,
            file_to_upload: 'api-uploads/a.h5',
            scientific_metadata: { id: 9, dataset_id: 120017, scientific_metadata: { beam: { energy: 12 } } },
          },
          { ...dataset(2), scientific_metadata: { id: 10, scientific_metadata: null } },
        ]);
      }),
    );
    const c = client({ apiUrl: V1 });
    const listed = await c.datasets.list({ includeMetadata: true, limit: 50, measurement: 'XRD' }).toArray();
    expect(listed[0]?.scientific_metadata).toEqual({ beam: { energy: 12 } });
    expect(listed[1]?.scientific_metadata).toEqual({});
    expect(queries[0]?.get('limit')).toBe('50');
    expect(queries[0]?.get('measurement')).toBe('XRD');
    expect(queries[0]?.get('include_metadata')).toBe('true');
  });
});

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
    const c = client({ apiUrl: V1 });
    const d = await c.datasets.get(DSID, { includeMetadata: true });
    expect(d.scientific_metadata).toEqual({ x: 1 });
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
    const added = await c.datasets.addKeywords(DSID, ['HAADF', 'in situ']);
    expect(added.map((k) => k.num_datasets)).toEqual([3, 3]);
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
    const added = await c.datasets.addKeywords(DSID, ['HAADF']);
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
    await client({ apiUrl: V1 }).samples.create({ sampleName: 'film', timestamp: '2026-05-01T00:00:00Z' });
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
    expect(u.unique_id).toBe('0000-0002-0000-000X');
    expect(bodies[0]).toEqual({
      user_info: { orcid: '0000-0002-0000-000X', first_name: 'A', last_name: 'B' },
      project_ids: ['MFP12345'],
    });
    const found = await client({ apiUrl: V1 }).users.findByEmail('l@lbl.gov');
    expect(found.map((x) => x.unique_id)).toEqual(['0000-0002-0000-000X']);
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
    const c = client({ apiUrl: V1 });
    expect((await c.projects.list().toArray()).map((p) => p.project_id)).toEqual(['MFP12345']);
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
    expect(made.dataset.unique_id).toBe(DSID);
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
    const v1 = client({ apiUrl: V1 });
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
    expect(await v1.datasets.allKeywords()).toEqual([{ keyword: 'XRD', num_datasets: 4 }]);
    await client().datasets.deleteThumbnail(DSID, 12);
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
    await client({ apiUrl: V1 }).files.addRecord(DSID, {
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

// ---------------------------------------------------------------------------------------------------------------
// §17.1: the resumable signed upload, with a storage host that behaves as GCS does
// ---------------------------------------------------------------------------------------------------------------

interface GcsSession {
  size: number;
  bytes: Uint8Array;
  persisted: number;
  /** Persist this many fewer bytes than received on the next chunks (rounded down to 256 KiB). */
  holdBack: number;
  /** Answer the next chunk PUTs with these statuses instead of taking them. */
  failNext: number[];
  gone: boolean;
  chunkRanges: string[];
  probes: number;
}

/** An upload API + GCS session host, as §17.1 describes them. */
function uploadServer(
  options: {
    chunkHint?: number | null;
    existing?: Record<string, unknown>;
    /** Adjusts each new session (the nth, from 1) before its first chunk. */
    onSession?: (session: GcsSession, n: number) => void;
  } = {},
) {
  const sessions = new Map<string, GcsSession>();
  const initiations: unknown[] = [];
  const completions: unknown[] = [];
  const files: Array<Record<string, unknown>> = [];
  let next = 0;
  const handlers = [
    http.get(
      `${V2}/datasets/${DSID}/files`,
      ({ request }) => requireKey(request) ?? HttpResponse.json(files),
    ),
    http.post(`${V2}/datasets/${DSID}/upload/initiate`, async ({ request }) => {
      const denied = requireKey(request);
      if (denied) return denied;
      const body = (await request.json()) as { filename: string; size: number; sha256_hash: string };
      initiations.push(body);
      const existing = files.find((f) => f.sha256_hash === body.sha256_hash) ?? options.existing;
      if (existing)
        return HttpResponse.json({
          upload_id: null,
          resumable_uri: null,
          chunk_size_hint: null,
          existing_file: existing,
        });
      next += 1;
      const id = `upl-${next}-opaque`;
      const session: GcsSession = {
        size: body.size,
        bytes: new Uint8Array(body.size),
        persisted: 0,
        holdBack: 0,
        failNext: [],
        gone: false,
        chunkRanges: [],
        probes: 0,
      };
      options.onSession?.(session, next);
      sessions.set(id, session);
      return HttpResponse.json({
        upload_id: id,
        resumable_uri: `${STORAGE}/upload/storage/v1/b/crucible-uploads/o?uploadType=resumable&upload_id=${id}`,
        ...(options.chunkHint === null ? {} : { chunk_size_hint: options.chunkHint ?? KIB256 }),
        existing_file: null,
      });
    }),
    http.put(`${STORAGE}/upload/storage/v1/b/crucible-uploads/o`, async ({ request }) => {
      if (request.headers.has('authorization'))
        return gcsError(400, 'InvalidAuthentication', 'Authorization header sent with a session URI');
      const id = new URL(request.url).searchParams.get('upload_id') ?? '';
      const s = sessions.get(id);
      if (!s || s.gone) return gcsError(404, 'NoSuchUpload', 'No such upload');
      const range = request.headers.get('content-range') ?? '';
      const body = new Uint8Array(await request.arrayBuffer());
      // GCS's 308 says what it persisted in `Range`, and has no `Range` while nothing is.
      const rangeHeader = (): Record<string, string> =>
        s.persisted > 0 ? { range: `bytes=0-${s.persisted - 1}` } : {};
      const probe = /^bytes \*\/(\d+)$/.exec(range);
      if (probe) {
        s.probes += 1;
        if (body.byteLength !== 0) return gcsError(400, 'InvalidArgument', 'probe with a body');
        if (s.persisted === s.size)
          return HttpResponse.json({ name: 'x', size: String(s.size) }, { status: 200 });
        return new HttpResponse(null, { status: 308, headers: rangeHeader() });
      }
      const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(range);
      if (!m) return gcsError(400, 'InvalidArgument', `bad Content-Range ${range}`);
      s.chunkRanges.push(range);
      const failure = s.failNext.shift();
      if (failure !== undefined) return gcsError(failure, 'ServiceUnavailable', 'try again');
      const first = Number(m[1]);
      const last = Number(m[2]);
      if (Number(m[3]) !== s.size) return gcsError(400, 'InvalidArgument', 'total changed');
      if (body.byteLength !== last - first + 1) return gcsError(400, 'InvalidArgument', 'length mismatch');
      if (first > s.persisted) return gcsError(400, 'InvalidArgument', 'gap after the persisted offset');
      const isLast = last + 1 === s.size;
      if (!isLast && body.byteLength % KIB256 !== 0)
        return gcsError(400, 'InvalidArgument', 'not 256 KiB aligned');
      s.bytes.set(body, first);
      let upTo = last + 1;
      if (s.holdBack > 0 && !isLast)
        upTo = Math.max(s.persisted, Math.floor((upTo - s.holdBack) / KIB256) * KIB256);
      s.persisted = Math.max(s.persisted, upTo);
      if (s.persisted === s.size)
        return HttpResponse.json(
          { name: 'object', bucket: 'crucible-uploads', size: String(s.size) },
          { status: 200 },
        );
      return new HttpResponse(null, { status: 308, headers: rangeHeader() });
    }),
    http.post(`${V2}/datasets/${DSID}/upload/complete`, async ({ request }) => {
      const denied = requireKey(request);
      if (denied) return denied;
      const body = (await request.json()) as { upload_id: string; sha256_hash: string };
      completions.push(body);
      const s = sessions.get(body.upload_id);
      if (!s) return detail(404, 'Upload not found');
      if (s.persisted !== s.size) return detail(409, 'Upload incomplete');
      if (sha256(s.bytes) !== body.sha256_hash) return detail(400, 'SHA-256 mismatch');
      const record = {
        mfid: `0tfa3m9b1c2d3000e4f5g6h${String(files.length).padStart(3, '0')}`,
        dataset_mfid: DSID,
        filename: `crucible-uploads/api-uploads/${DSID}/${(initiations.at(-1) as { filename: string }).filename}`,
        storage_path: null,
        size: s.size,
        sha256_hash: sha256(s.bytes),
      };
      files.push(record);
      return HttpResponse.json(record, { status: 201 });
    }),
  ];
  return { handlers, sessions, initiations, completions, files };
}

describe('v2 resumable upload (§17.1)', () => {
  it('hashes, initiates with the basename, PUTs aligned chunks with Content-Range and no key, completes with sha256', async () => {
    const up = uploadServer();
    server.use(...up.handlers);
    const data = patternBytes(KIB256 * 2 + 1000);
    const file = path.join(dir, 'sub', 'run5.h5');
    await (await import('node:fs/promises')).mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, data);
    const result = await client().uploadFile(DSID, file, { stateDir: path.join(dir, 'state') });
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
    expect(result.file.sha256_hash).toBe(sha256(data));
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
    const result = await client().uploadFile(DSID, file, {
      chunkSize: chunk,
      stateDir: path.join(dir, 'state'),
    });
    const session = [...up.sessions.values()][0] as GcsSession;
    expect(session.chunkRanges[0]).toBe(`bytes 0-${chunk - 1}/${data.byteLength}`);
    // The second PUT starts where the 308's Range ended (256 KiB), not at 512 KiB.
    expect(session.chunkRanges[1]).toBe(`bytes ${KIB256}-${KIB256 + chunk - 1}/${data.byteLength}`);
    expect(sha256(session.bytes)).toBe(sha256(data));
    expect(result.file.sha256_hash).toBe(sha256(data));
  });

  it('after a failed chunk probes with "bytes */size" and an empty body, then resumes from the Range', async () => {
    const up = uploadServer({ onSession: (s) => (s.failNext = [503]) });
    server.use(...up.handlers);
    const data = patternBytes(KIB256 * 3 + 7);
    const file = path.join(dir, 'b.bin');
    await writeFile(file, data);
    await client().uploadFile(DSID, file, { stateDir: path.join(dir, 'state') });
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
    const skipped = await client().uploadFile(DSID, file, { stateDir: path.join(dir, 'state') });
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
    await expect(client().uploadFile(DSID, file2, { stateDir, maxAttempts: 1 })).rejects.toThrow();
    for (const s of up2.sessions.values()) s.gone = true;
    const second = await client().uploadFile(DSID, file2, { stateDir });
    expect(second.resumed).toBe(false);
    expect(up2.initiations).toHaveLength(2);
    expect(second.file.sha256_hash).toBe(sha256(big));
  });

  it('a killed upload resumes in a new client from the committed offset, and the server’s sha256 is the file’s', async () => {
    const up = uploadServer();
    server.use(...up.handlers);
    const data = patternBytes(KIB256 * 4 + 99);
    const file = path.join(dir, 'killed.bin');
    await writeFile(file, data);
    const stateDir = path.join(dir, 'state');
    const controller = new AbortController();
    const run = client().uploadFile(DSID, file, {
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
    const resumed = await client().uploadFile(DSID, file, { stateDir });
    expect(resumed.resumed).toBe(true);
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
    const done = await client().uploadFile(DSID, file, { stateDir: path.join(dir, 'state') });
    expect(done.file.sha256_hash).toBe(sha256(data));
    expect(up.initiations).toHaveLength(2);
    await writeFile(file, patternBytes(3001));
    const clash = await client()
      .uploadFile(DSID, file, { stateDir: path.join(dir, 'state') })
      .catch((e: unknown) => e);
    expect(UsageError.isInstance(clash)).toBe(true);
    expect((clash as Error).message).toContain('same.bin');
    expect(up.initiations).toHaveLength(2);
    const replaced = await client().uploadFile(DSID, file, {
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
    const r = await client({ apiUrl: V1 }).uploadFile(DSID, file);
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
    const c = client({ apiUrl: V1 });
    const early = await c.uploadFile(DSID, file, { v1Limit: 4096 }).catch((e: unknown) => e);
    expect(UsageError.isInstance(early)).toBe(true);
    expect((early as Error).message).toMatch(/4096 bytes/);
    expect(posts).toBe(0);
    const late = await c.uploadFile(DSID, file).catch((e: unknown) => e);
    expect((late as Error).message).toMatch(/too large/);
    expect(posts).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// §7, §17.3: downloads through signed URLs
// ---------------------------------------------------------------------------------------------------------------

function signed(name: string, generation = 1) {
  return `${STORAGE}/mf-storage-prod/${DSID}/${name}?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Expires=3600&X-Goog-Signature=sig${generation}deadbeef`;
}

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
    const done = await client().downloadDataset(DSID, out);
    expect(done.map((f) => f.name)).toEqual(['raw/run5.h5']);
    const saved = await readFile(path.join(out, 'raw', 'run5.h5'));
    expect(sha256(saved)).toBe(sha256(content));
    const gets = storageRequests();
    // Cut short after 100,000 bytes, then resumed with Range.
    expect(gets.map((g) => g.headers.get('range'))).toEqual([null, 'bytes=100000-']);
    expect(gets.every((g) => g.authorization === null)).toBe(true);
    // Done already: a second run does not fetch again.
    seen = [];
    const again = await client().downloadDataset(DSID, out);
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
    await client().downloadDataset(DSID, out);
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
      .downloadDataset(DSID, out)
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
      .downloadDataset(DSID, out)
      .catch((e: unknown) => e);
    expect(IntegrityError.isInstance(wrong)).toBe(true);
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
    expect(await client().downloadDataset(DSID, path.join(dir, 'o1'))).toEqual([]);
    links = () => HttpResponse.json({ detail: 'No files found for this dataset' });
    expect(await client().downloadDataset(DSID, path.join(dir, 'o2'))).toEqual([]);
    await expect(
      client().downloadDataset('0tfa3k2m7qv1d000c4x9r2h404', path.join(dir, 'o3')),
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
    const done = await client({ apiUrl: V1 }).downloadDataset(DSID, out);
    expect(done.map((f) => f.name)).toEqual(['docs/notes.md', 'escape.md']);
    expect(await readFile(path.join(out, 'docs', 'notes.md'), 'utf8')).toBe('# notes\n');
    expect(await readFile(path.join(out, 'escape.md'), 'utf8')).toBe('# notes\n');
    expect(await readdir(dir)).not.toContain('escape.md');
  });
});

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
    const done = await c.waitForRequest(5021, {
      minDelay: 1,
      maxDelay: 5,
      onStatus: (r) => statuses.push(r.status),
    });
    expect(statuses).toEqual(['requested', 'started', 'complete']);
    expect(done).toMatchObject({ succeeded: true, status: 'complete' });
    for (const terminal of ['failed', 'not supported', 'file not found', 'something new']) {
      status = progression(terminal);
      const outcome = await c.waitForRequest(5021, { minDelay: 1, maxDelay: 5 });
      expect(outcome).toMatchObject({ succeeded: false, status: terminal });
    }
    status = () => 'requested';
    await expect(c.waitForRequest(5021, { minDelay: 1, maxDelay: 5, maxWaitTime: 50 })).rejects.toSatisfy(
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
    const done = await client({ maxRetries: 1 }).waitForRequest(7, { minDelay: 1, maxDelay: 5 });
    expect(done.succeeded).toBe(true);
    server.use(http.get(`${V2}/ingestion_requests/8`, () => HttpResponse.json({ id: 8, status: 'started' })));
    const controller = new AbortController();
    const waiting = client().waitForRequest(8, { minDelay: 20, maxDelay: 20, signal: controller.signal });
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
    const c = client({ apiUrl: V1 });
    const r = await c.requests.ingest(
      { datasetId: DSID, fileToUpload: 'api-uploads/alpha.bin' },
      { ingestionClass: 'ApiUploadIngestor' },
    );
    expect(r.id).toBe(208);
    expect(posts[0]?.get('ingestion_class')).toBe('ApiUploadIngestor');
    expect(posts[0]?.get('file_to_upload')).toBe('api-uploads/alpha.bin');
    const outcome = await c.waitForRequest(208, { datasetId: DSID, minDelay: 1, maxDelay: 5 });
    expect(outcome).toMatchObject({ succeeded: false, status: 'file too large' });
    await expect(c.waitForRequest(208)).rejects.toThrow(UsageError);
    const s = await c.requests.scicatUpdate(DSID, { overwrite: true });
    expect(scicat[0]?.get('overwrite_data')).toBe('true');
    await c.requests.scicatUpdate(DSID);
    expect(scicat[1]?.has('overwrite_data')).toBe(false);
    const sDone = await c.waitForRequest(s.id, { datasetId: DSID, kind: 'scicat', minDelay: 1 });
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
    const result = await client({ apiUrl: V1 }).createDatasetFromFiles([a, b], {
      dataset: { projectId: 'MFP12345' },
      ingestionClass: 'ApiUploadIngestor',
      wait: { minDelay: 1 },
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
    const result = await client().createDatasetFromFiles([path.join(dir, 'in.melt')], {
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
