import { describe, expect, it } from 'vitest';
import { serve } from './crucible-test-helpers.js';
import { addFolderFiles } from './folder-dataset.js';

/** What selective downloads (spec §19.3) rely on in the simulator: folder paths, per-file links, the record. */

type Json = Record<string, unknown>;

describe('crucible simulator: files in folders and per-file links', () => {
  it('keeps folder paths in storage_path, answers download_link per file and counts each route', async () => {
    const { sim, v2 } = await serve({ datasets: 5 });
    const api = v2('demo');
    const dsid = (
      (await api.send('POST', 'datasets', { dataset_name: 'folders', project_id: 'DEMO-0001' })).body as Json
    ).unique_id as string;
    const files = await addFolderFiles(sim, dsid, { files: 12, perFolder: 5, size: 100 });
    expect(files.map((f) => f.path).slice(4, 7)).toEqual([
      'raw/run-0000/frame-0004.h5',
      'raw/run-0001/frame-0000.h5',
      'raw/run-0001/frame-0001.h5',
    ]);
    const listing = await api.get(`datasets/${dsid}/files`);
    expect(listing.status).toBe(200);
    const records = listing.body as Json[];
    expect(records).toHaveLength(12);
    expect(records[5]).toMatchObject({
      mfid: files[5]?.mfid,
      storage_path: `mf-storage-prod/${dsid}/raw/run-0001/frame-0000.h5`,
      size: 100,
    });
    // Every file has its own content.
    expect(new Set(records.map((r) => r.sha256_hash)).size).toBe(12);

    const before = sim.stats.routes;
    const link = await api.get(`files/${files[5]?.mfid}/download_link`);
    expect(link.status).toBe(200);
    expect(link.body).toMatchObject({ url: expect.stringMatching(/^https?:\/\//), expires_in: 3600 });
    const bytes = new Uint8Array(await (await fetch((link.body as Json).url as string)).arrayBuffer());
    expect(
      Buffer.from(bytes).equals(Buffer.from((await sim.fileBytes(files[5]?.mfid as string)) ?? [])),
    ).toBe(true);
    const after = sim.stats.routes;
    const count = (r: Record<string, number>, key: string) => r[key] ?? 0;
    expect(
      count(after, 'GET /files/{mfid}/download_link') - count(before, 'GET /files/{mfid}/download_link'),
    ).toBe(1);
    expect(count(after, 'GET /datasets/{dsid}/download_links')).toBe(
      count(before, 'GET /datasets/{dsid}/download_links'),
    );
    expect(count(after, 'GET /files/{mfid}')).toBe(count(before, 'GET /files/{mfid}'));
  });

  it('answers 404 for the link of a file not ingested, and the record with its metadata on include_metadata=true', async () => {
    const { sim, v2 } = await serve({ datasets: 5 });
    const api = v2('demo');
    const dsid = (
      (await api.send('POST', 'datasets', { dataset_name: 'record', project_id: 'DEMO-0001' })).body as Json
    ).unique_id as string;
    const pending = await sim.addFile(dsid, { filename: 'later.bin', size: 10, ingested: false });
    expect((await api.get(`files/${pending.mfid}/download_link`)).status).toBe(404);
    expect((await api.send('PATCH', `resources/${dsid}/metadata`, { temperature_k: 300 })).status).toBe(200);
    const plain = (await api.get(`datasets/${dsid}`)).body as Json;
    const full = (await api.get(`datasets/${dsid}?include_metadata=true`)).body as Json;
    expect(plain.scientific_metadata).toBeUndefined();
    expect(full).toMatchObject({ unique_id: dsid, scientific_metadata: { temperature_k: 300 } });
  });
});
