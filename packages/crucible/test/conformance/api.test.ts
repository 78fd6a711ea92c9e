import {
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  PermissionDeniedError,
  SciportError,
  UsageError,
} from '@sciport/core';
import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import {
  client,
  DSID,
  dataset,
  detail,
  HOST,
  KEY,
  requireKey,
  seen,
  server,
  useConformanceServer,
  V1,
  V2,
} from './server.js';

useConformanceServer();

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
    const c = client({ baseUrl: `${V2}/` });
    expect(c.apiVersion).toBe('v2');
    const account = await c.users.me();
    expect(account.userUniqueId).toBe('0000-0001-2345-6789');
    expect(account.accessGroupIds).toEqual([12, 57]);
    expect(seen.map((s) => `${s.method} ${s.url.href}`)).toEqual([`GET ${V2}/account`]);
    expect(seen[0]?.authorization).toBe(`Bearer ${KEY}`);
  });

  it('reads the API version from the URL: /testapi and /api/v1 are v1, /api/v2 is v2', () => {
    expect(client({ baseUrl: V1 }).apiVersion).toBe('v1');
    expect(client({ baseUrl: `${HOST}/testapi-staging` }).apiVersion).toBe('v1');
    expect(client({ baseUrl: `${HOST}/api/v1` }).apiVersion).toBe('v1');
    expect(client({ baseUrl: V2 }).apiVersion).toBe('v2');
    expect(client({ baseUrl: `${HOST}/api`, apiVersion: 'v1' }).apiVersion).toBe('v1');
    expect(() => client({ baseUrl: V2, apiVersion: 'v1' })).toThrow(UsageError);
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
      const error = await client({ baseUrl: V1, apiKey: wrong })
        .users.me()
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
    const v1 = client({ baseUrl: V1 });
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
    expect(d.uniqueId).toBe(DSID);
    expect(d.timestamp).toBe('2026-05-12T09:31:00');
    expect((d as Record<string, unknown>).brandNewField).toEqual({ nested: [1, 2] });
    // `raw` is the server's object as it came: nothing renamed, nothing filled in.
    expect((d.raw as Record<string, unknown>).brand_new_field).toEqual({ nested: [1, 2] });
    expect(d.raw).not.toHaveProperty('timestamp');
    // v2 metadata is flat: a key named scientific_metadata inside it is the user's data, not a wrapper.
    expect(d.scientificMetadata).toEqual({ scientific_metadata: { nested: 'is data here' }, beam: 12 });
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
    const added = await c.keywords.add(DSID, ['XRD']);
    expect(added.map(({ raw: _raw, ...k }) => k)).toEqual([{ keyword: 'XRD' }]);
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
      c.access.groups(DSID).toArray(),
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
    expect(made.datasetName).toBe('a');
    expect(posts).toBe(3);
    expect(created).toBe(1);
  });
});
