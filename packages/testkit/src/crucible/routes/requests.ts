import { type Ctx, V1, V2 } from '../common.js';
import { INGESTION_CLASSES, type ProcessingRequest } from '../model.js';
import { apiRouter } from '../router.js';
import type { CrucibleRoutes } from '../state.js';
import { detail, json, parseBool, validation } from '../util.js';

/** Processing requests: v1 ingestion and SciCat per dataset, v2 ingestion per file, ingestors (spec §9, §18). */
export const requestRoutes: CrucibleRoutes = (sim, mount) => {
  const add = apiRouter(sim, mount);

  // --- processing requests (v1) ---
  add('POST', 'datasets/{dsid}/ingest', V1, (ctx) => {
    const ds = sim.dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    sim.stats.ingestionRequests += 1;
    const r = sim.newRequest(
      'ingest',
      'v1',
      ds,
      undefined,
      ctx.query.get('file_to_upload'),
      ctx.query.get('ingestion_class'),
      false,
    );
    return json(sim.requestOut(r));
  });
  add('POST', 'datasets/{dsid}/scicat_update', V1, (ctx) => {
    const ds = sim.dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    sim.stats.scicatRequests += 1;
    const overwrite = parseBool(ctx.query.get('overwrite_data') ?? 'false') === true;
    const r = sim.newRequest('scicat', 'v1', ds, undefined, null, null, overwrite);
    return json(sim.requestOut(r));
  });
  for (const [kind, segment] of [
    ['ingest', 'ingest'],
    ['scicat', 'scicat_update'],
  ] as const) {
    const find = (ctx: Ctx, need: 'read' | 'write'): ProcessingRequest | Response => {
      const ds = sim.dataset(ctx, ctx.params.dsid, need);
      if (ds instanceof Response) return ds;
      const r = sim.db.requests.get(Number(ctx.params.rid));
      if (!r || r.kind !== kind || r.datasetId !== ds.uniqueId)
        return detail(404, `Request ${ctx.params.rid} not found`);
      return r;
    };
    add('GET', `datasets/{dsid}/${segment}/{rid}`, V1, (ctx) => {
      const r = find(ctx, 'read');
      return r instanceof Response ? r : json(sim.requestOut(r));
    });
    add('PATCH', `datasets/{dsid}/${segment}/{rid}`, V1, async (ctx) => {
      const denied = sim.requireAdmin(ctx);
      if (denied) return denied;
      const r = find(ctx, 'read');
      if (r instanceof Response) return r;
      return patchRequest(ctx, r);
    });
  }
  add('PATCH', 'datasets/{dsid}/google_drive_transfer/{rid}', V1, (ctx) => {
    const denied = sim.requireAdmin(ctx);
    return denied ?? json({ id: Number(ctx.params.rid), status: 'ok' });
  });

  async function patchRequest(ctx: Ctx, r: ProcessingRequest): Promise<Response> {
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    if (typeof body.status !== 'string') return validation(['body', 'status'], 'Field required', 'missing');
    r.manualStatus = body.status;
    if (typeof body.time_completed === 'string') r.timeCompleted = body.time_completed;
    if (typeof body.ingestion_githash === 'string') r.githash = body.ingestion_githash;
    if (typeof body.ingestion_class === 'string') r.ingestionClass = body.ingestion_class;
    if (body.status === 'complete' && !r.settled) {
      const saved = r.timeCompleted;
      sim.settle(r);
      if (saved !== null) r.timeCompleted = saved;
    }
    return json(sim.requestOut(r));
  }

  // --- ingestion (v2) ---
  add('POST', 'files/{mfid}/ingest', V2, (ctx) => {
    const r = sim.fileFor(ctx, 'write');
    if (r instanceof Response) return r;
    sim.stats.ingestionRequests += 1;
    const req = sim.newRequest('ingest', 'v2', r.ds, r.f, null, ctx.query.get('ingestion_class'), false);
    return json(sim.requestOut(req));
  });
  add('GET', 'ingestion_requests', V2, (ctx) => {
    const dsid = ctx.query.get('dataset_id');
    const fid = ctx.query.get('file_id');
    const list: unknown[] = [];
    for (const r of sim.db.requests.values()) {
      if (r.kind !== 'ingest' || r.api !== 'v2') continue;
      if (dsid !== null && r.datasetId !== dsid) continue;
      if (fid !== null && r.fileMfid !== fid) continue;
      const ds = sim.db.datasetById.get(r.datasetId);
      if (ds && sim.canRead(ctx.user, ds)) list.push(sim.requestOut(r));
    }
    return sim.offsetPage(ctx, list.reverse());
  });
  const v2Request = (ctx: Ctx): ProcessingRequest | Response => {
    const r = sim.db.requests.get(Number(ctx.params.id));
    if (r?.api !== 'v2') return detail(404, `Ingestion request ${ctx.params.id} not found`);
    const ds = sim.dataset(ctx, r.datasetId, 'read');
    return ds instanceof Response ? ds : r;
  };
  add('GET', 'ingestion_requests/{id}', V2, (ctx) => {
    const r = v2Request(ctx);
    return r instanceof Response ? r : json(sim.requestOut(r));
  });
  add('PATCH', 'ingestion_requests/{id}', V2, (ctx) => {
    const denied = sim.requireAdmin(ctx);
    if (denied) return denied;
    const r = v2Request(ctx);
    return r instanceof Response ? r : patchRequest(ctx, r);
  });
  add('GET', 'ingestors', V2, () => json([...INGESTION_CLASSES]));

  return add.handlers();
};
