import { BOTH, basename, V1, V2 } from '../common.js';
import type { CrucibleSimFile } from '../model.js';
import { apiRouter } from '../router.js';
import type { CrucibleRoutes } from '../state.js';
import { detail, json, validation } from '../util.js';

/** File records (v1 associated files, v2 files) and their download links (spec §8). */
export const fileRoutes: CrucibleRoutes = (sim, mount) => {
  const add = apiRouter(sim, mount);

  // --- files ---
  add('GET', 'datasets/{dsid}/associated_files', V1, (ctx) => {
    const ds = sim.dataset(ctx, ctx.params.dsid, 'read');
    if (ds instanceof Response) return ds;
    return json((sim.db.filesByDataset.get(ds.uniqueId) ?? []).map((f) => sim.fileOut(ctx, f)));
  });
  add('POST', 'datasets/{dsid}/associated_files', V1, async (ctx) => {
    const ds = sim.dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    if (typeof body.filename !== 'string' || body.filename === '')
      return validation(['body', 'filename'], 'Field required', 'missing');
    // A metadata-only record: nothing verifies it; ingestion later looks for the bytes under its name.
    const f = sim.addFileRecord(ds.uniqueId, {
      filename: body.filename,
      size: typeof body.size === 'number' ? body.size : null,
      sha256: typeof body.sha256_hash === 'string' ? body.sha256_hash.toLowerCase() : null,
      storagePath: null,
      uploadObject: body.filename,
      storageBackend: 'gcs',
      accessNote: null,
    });
    return json(sim.fileOut(ctx, f));
  });
  add('GET', 'datasets/{dsid}/files', V2, (ctx) => {
    const ds = sim.dataset(ctx, ctx.params.dsid, 'read');
    if (ds instanceof Response) return ds;
    return json((sim.db.filesByDataset.get(ds.uniqueId) ?? []).map((f) => sim.fileOut(ctx, f)));
  });
  add('POST', 'datasets/{dsid}/files', V2, async (ctx) => {
    const ds = sim.dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    if (typeof body.filename !== 'string')
      return validation(['body', 'filename'], 'Field required', 'missing');
    const backend = sim.str(body.storage_backend) ?? 'gcs';
    if (backend === 'gcs')
      return validation(['body', 'storage_backend'], 'Catalogue-only files need a non-gcs storage_backend');
    const f = sim.addFileRecord(ds.uniqueId, {
      filename: body.filename,
      size: typeof body.size === 'number' ? body.size : null,
      sha256: typeof body.sha256_hash === 'string' ? body.sha256_hash.toLowerCase() : null,
      storagePath: null,
      uploadObject: null,
      storageBackend: backend,
      accessNote: sim.str(body.access_note) ?? null,
    });
    return json(sim.fileOut(ctx, f), 201);
  });
  add('GET', 'files', V2, (ctx) => {
    const sha = ctx.query.get('sha256_hash')?.toLowerCase();
    const list: unknown[] = [];
    for (const f of sim.db.files.values()) {
      if (sha !== undefined && f.sha256 !== sha) continue;
      const ds = sim.db.datasetById.get(f.datasetId);
      if (ds && sim.canRead(ctx.user, ds)) list.push(sim.fileOut(ctx, f));
    }
    return sim.offsetPage(ctx, list);
  });
  add('GET', 'files/{mfid}', V2, (ctx) => {
    const r = sim.fileFor(ctx, 'read');
    return r instanceof Response ? r : json(sim.fileOut(ctx, r.f));
  });
  add('PATCH', 'files/{mfid}', V2, async (ctx) => {
    const r = sim.fileFor(ctx, 'write');
    if (r instanceof Response) return r;
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    if (body.storage_path !== undefined) r.f.storagePath = sim.str(body.storage_path) ?? null;
    if (body.access_note !== undefined) r.f.accessNote = sim.str(body.access_note) ?? null;
    if (typeof body.size === 'number') r.f.size = body.size;
    if (typeof body.sha256_hash === 'string') r.f.sha256 = body.sha256_hash.toLowerCase();
    return json(sim.fileOut(ctx, r.f));
  });
  add('DELETE', 'files/{mfid}', V2, (ctx) => {
    const r = sim.fileFor(ctx, 'write');
    if (r instanceof Response) return r;
    sim.db.files.delete(r.f.mfid);
    const list = sim.db.filesByDataset.get(r.ds.uniqueId) ?? [];
    list.splice(list.indexOf(r.f), 1);
    sim.recomputeSize(r.ds);
    return json({ detail: `File ${r.f.mfid} deleted` });
  });

  // --- downloads ---
  const downloadable = (f: CrucibleSimFile) =>
    f.storagePath !== null && f.storageBackend === 'gcs' && sim.db.production.has(f.storagePath);
  add('GET', 'files/{mfid}/download_link', V2, (ctx) => {
    const r = sim.fileFor(ctx, 'read');
    if (r instanceof Response) return r;
    if (!downloadable(r.f)) return detail(404, `File ${r.f.mfid} has not been ingested`);
    return json({ url: sim.signedUrl(ctx, r.f.storagePath as string), expires_in: sim.linkTtl });
  });
  add('GET', 'datasets/{dsid}/download_links', BOTH, (ctx) => {
    const ds = sim.dataset(ctx, ctx.params.dsid, 'read');
    if (ds instanceof Response) return ds;
    const out: Record<string, string> = {};
    const prefix = `mf-storage-prod/${ds.uniqueId}/`;
    for (const f of sim.db.filesByDataset.get(ds.uniqueId) ?? []) {
      if (!downloadable(f)) continue;
      const path = f.storagePath as string;
      const key =
        ctx.version === 'v1'
          ? `${ds.uniqueId}/${path.startsWith(prefix) ? path.slice(prefix.length) : basename(path)}`
          : f.mfid;
      out[key] = sim.signedUrl(ctx, path);
    }
    if (ctx.version === 'v2' && Object.keys(out).length === 0) {
      return sim.options.emptyDownloadLinks === 'detail'
        ? json({ detail: `No files found for dataset ${ds.uniqueId}` })
        : detail(404, `No ingested files for dataset ${ds.uniqueId}`);
    }
    return json(out);
  });

  return add.handlers();
};
