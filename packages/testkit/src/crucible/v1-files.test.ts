import { describe, expect, it } from 'vitest';
import { bytesOf, datasetOf, type Json, sameBytes, serve, sha256 } from './crucible-test-helpers.js';

describe('Crucible simulator: v1 files, ingestion and SciCat', () => {
  function form(name: string, data: Uint8Array<ArrayBuffer>): FormData {
    const f = new FormData();
    f.append('files', new Blob([data], { type: 'application/octet-stream' }), name);
    return f;
  }

  it('multipart upload → api-uploads/<basename> with server sha256 → ingest → download_links keyed <dsid>/<name>', async () => {
    const { sim, clock, v1 } = await serve();
    const dsid = (
      (
        await v1().send('POST', 'datasets', {
          dataset_name: 'v1',
          project_id: 'DEMO-0001',
          file_to_upload: 'api-uploads/alpha.bin',
        })
      ).body as Json
    ).unique_id as string;
    const data = bytesOf(70_000, 21);
    const up = await v1().call('POST', `datasets/${dsid}/upload`, form('alpha.bin', data));
    expect(up.status).toBe(200);
    const rec = (await up.json()) as Json;
    expect(rec).toMatchObject({
      filename: 'api-uploads/alpha.bin',
      size: 70_000,
      sha256_hash: sha256(data),
      file_id: expect.any(String),
    });
    expect(((await v1().get(`datasets/${dsid}/associated_files`)).body as Json[]).length).toBe(1);
    expect(await v1().get(`datasets/${dsid}/download_links`)).toEqual({ status: 200, body: {} });
    const req = (
      await v1().send(
        'POST',
        `datasets/${dsid}/ingest?ingestion_class=ApiUploadIngestor&file_to_upload=api-uploads/alpha.bin`,
      )
    ).body as Json;
    expect(req).toMatchObject({ status: 'requested', id: expect.any(Number) });
    clock.t += 200;
    expect(((await v1().get(`datasets/${dsid}/ingest/${req.id}`)).body as Json).status).toBe('started');
    clock.t += 1000;
    expect(((await v1().get(`datasets/${dsid}/ingest/${req.id}`)).body as Json).status).toBe('complete');
    const ds = (await v1().get(`datasets/${dsid}`)).body as Json;
    expect(ds).toMatchObject({ size: 70_000, sha256_hash_file_to_upload: sha256(data), data_format: 'bin' });
    const links = (await v1().get(`datasets/${dsid}/download_links`)).body as Record<string, string>;
    expect(Object.keys(links)).toEqual([`${dsid}/alpha.bin`]);
    const body = new Uint8Array(await (await fetch(links[`${dsid}/alpha.bin`] as string)).arrayBuffer());
    sameBytes(body, data);
    expect(sim.stats.writes['POST /datasets/{dsid}/upload']).toBe(1);
    expect(sim.stats.writes['POST /datasets/{dsid}/ingest']).toBe(1);
    expect((await v1().get(`datasets/${dsid}/ingest/99999`)).status).toBe(404);
  });

  it('the shared upload folder: a later upload of the same basename to another dataset clobbers the bytes', async () => {
    const { clock, v1 } = await serve();
    const a = ((await v1().send('POST', 'datasets', { project_id: 'DEMO-0001' })).body as Json)
      .unique_id as string;
    const b = ((await v1().send('POST', 'datasets', { project_id: 'DEMO-0001' })).body as Json)
      .unique_id as string;
    await v1().call('POST', `datasets/${a}/upload`, form('data.h5', bytesOf(500, 1)));
    const later = bytesOf(600, 2);
    await v1().call('POST', `datasets/${b}/upload`, form('/home/me/data.h5', later));
    await v1().send(
      'POST',
      `datasets/${a}/ingest?file_to_upload=api-uploads/data.h5&ingestion_class=ApiUploadIngestor`,
    );
    clock.t += 1000;
    const links = (await v1().get(`datasets/${a}/download_links`)).body as Record<string, string>;
    sameBytes(new Uint8Array(await (await fetch(links[`${a}/data.h5`] as string)).arrayBuffer()), later);
  });

  it('refuses parts over the direct-upload limit with 413, and malformed bodies with 422', async () => {
    const { sim, v1 } = await serve({ v1UploadLimit: 1000 });
    const dsid = ((await v1().send('POST', 'datasets', { project_id: 'DEMO-0001' })).body as Json)
      .unique_id as string;
    const big = await v1().call('POST', `datasets/${dsid}/upload`, form('big.bin', bytesOf(5000)));
    expect(big.status).toBe(413);
    expect(sim.stats.uploadsTooLarge).toBe(1);
    expect((await v1().call('POST', `datasets/${dsid}/upload`, form('ok.bin', bytesOf(1000)))).status).toBe(
      200,
    );
    expect((await v1().send('POST', `datasets/${dsid}/upload`, { not: 'multipart' })).status).toBe(422);
    expect((await v1().call('POST', `datasets/${dsid}/upload`, form('x.bin', bytesOf(10)))).status).toBe(200);
    expect(
      (await v1('outsider').call('POST', `datasets/${dsid}/upload`, form('x.bin', bytesOf(10)))).status,
    ).toBe(403);
  });

  it('a metadata-only associated file ingests to `file not found` (the bytes never arrived)', async () => {
    const { clock, v1 } = await serve();
    const dsid = ((await v1().send('POST', 'datasets', { project_id: 'DEMO-0001' })).body as Json)
      .unique_id as string;
    const rec = await v1().send('POST', `datasets/${dsid}/associated_files`, {
      filename: 'api-uploads/huge.h5',
      size: 2e8,
      sha256_hash: 'C'.repeat(64),
    });
    expect(rec.body).toMatchObject({ filename: 'api-uploads/huge.h5', sha256_hash: 'c'.repeat(64) });
    const req = (await v1().send('POST', `datasets/${dsid}/ingest?file_to_upload=api-uploads/huge.h5`))
      .body as Json;
    clock.t += 1000;
    expect(((await v1().get(`datasets/${dsid}/ingest/${req.id}`)).body as Json).status).toBe(
      'file not found',
    );
  });

  it('SciCat requests complete over time, can be forced to fail, admin-only PATCH, gone on v2', async () => {
    const { sim, clock, v1, v2 } = await serve();
    const ds = datasetOf(sim, 'demo');
    const r = (await v1().send('POST', `datasets/${ds.uniqueId}/scicat_update?overwrite_data=True`))
      .body as Json;
    expect(r).toMatchObject({ status: 'requested', overwrite_data: true });
    sim.setIngestionOutcome(ds.uniqueId, 'failed');
    const f = (await v1().send('POST', `datasets/${ds.uniqueId}/scicat_update`)).body as Json;
    clock.t += 1000;
    expect(((await v1().get(`datasets/${ds.uniqueId}/scicat_update/${r.id}`)).body as Json).status).toBe(
      'complete',
    );
    expect(((await v1().get(`datasets/${ds.uniqueId}/scicat_update/${f.id}`)).body as Json).status).toBe(
      'failed',
    );
    expect(
      (await v1().send('PATCH', `datasets/${ds.uniqueId}/scicat_update/${r.id}`, { id: r.id, status: 'x' }))
        .status,
    ).toBe(403);
    expect(
      (await v1('admin').send('PATCH', `datasets/${ds.uniqueId}/ingest/${r.id}`, { id: r.id, status: 'x' }))
        .status,
    ).toBe(404);
    expect((await v2().send('POST', `datasets/${ds.uniqueId}/scicat_update`)).status).toBe(404);
    expect(sim.requests.filter((x) => x.kind === 'scicat')).toHaveLength(2);
  });

  it('v1 and v2 see the same data: a v1 write is visible on v2', async () => {
    const { v1, v2 } = await serve();
    const dsid = (
      (await v1().send('POST', 'datasets', { dataset_name: 'shared', project_id: 'DEMO-0001' })).body as Json
    ).unique_id as string;
    await v1().send('POST', `datasets/${dsid}/keywords?keyword=shared-kw`);
    expect((await v2().get(`datasets/${dsid}`)).body).toMatchObject({ dataset_name: 'shared' });
    expect(((await v2().get(`datasets/${dsid}/keywords`)).body as Json[])[0]).toMatchObject({
      keyword: 'shared-kw',
    });
  });
});
