import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { client, DSID, dataset, requireKey, server, useConformanceServer, V1, V2 } from './server.js';

useConformanceServer();

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
    expect(listed.map((d) => d.uniqueId)).toEqual(all.map((d) => d.unique_id));
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
    expect((await c.datasets.children(DSID).toArray()).map((d) => d.uniqueId)).toEqual(
      children.map((d) => d.unique_id),
    );
    expect(offsets).toEqual(['0', '2', '4']);
    const samples = await client({ pageSize: 1 }).datasets.samples(DSID).toArray();
    expect(samples).toHaveLength(1);
    expect(sampleCalls).toBe(1);
    expect((await c.samples.list().toArray()).map((s) => s.uniqueId)).toEqual(['0tfa3k2m7qv1d000c4x9r2hs02']);
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
    const c = client({ baseUrl: V1 });
    const listed = await c.datasets.list({ includeMetadata: true, limit: 50, measurement: 'XRD' }).toArray();
    expect(listed[0]?.scientificMetadata).toEqual({ beam: { energy: 12 } });
    expect(listed[1]?.scientificMetadata).toEqual({});
    expect(queries[0]?.get('limit')).toBe('50');
    expect(queries[0]?.get('measurement')).toBe('XRD');
    expect(queries[0]?.get('include_metadata')).toBe('true');
  });
});
