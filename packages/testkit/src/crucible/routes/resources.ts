import { ADMIN_ONLY, type Ctx, V2 } from '../common.js';
import type {
  CrucibleSimDataset,
  CrucibleSimInstrument,
  CrucibleSimProject,
  CrucibleSimSample,
} from '../model.js';
import { apiRouter } from '../router.js';
import type { CrucibleRoutes } from '../state.js';
import { clone, deepMerge, detail, type JsonObject, json, naiveIso } from '../util.js';

/** v2 generic resources: records, links, metadata, access groups, metadata search (spec §16). */
export const resourceRoutes: CrucibleRoutes = (sim, mount) => {
  const add = apiRouter(sim, mount);

  // --- resources (v2) ---
  type Resource =
    | { kind: 'dataset'; ds: CrucibleSimDataset }
    | { kind: 'sample'; s: CrucibleSimSample }
    | { kind: 'instrument'; i: CrucibleSimInstrument }
    | { kind: 'project'; p: CrucibleSimProject };
  function resource(ctx: Ctx, need: 'read' | 'write', projects: boolean): Resource | Response {
    const id = ctx.params.id ?? '';
    const ds = sim.db.datasetById.get(id);
    if (ds) {
      const r = sim.dataset(ctx, id, need);
      return r instanceof Response ? r : { kind: 'dataset', ds };
    }
    const s = sim.db.sampleById.get(id);
    if (s) {
      const r = sim.sample(ctx, id, need);
      return r instanceof Response ? r : { kind: 'sample', s };
    }
    const i = sim.db.instruments.find((x) => x.uniqueId === id);
    if (i) {
      if (need === 'write' && !ctx.user.admin) return sim.forbidden(ADMIN_ONLY);
      return { kind: 'instrument', i };
    }
    const p = projects ? sim.db.projects.get(id) : undefined;
    if (p) {
      // Readers and writers of a project's metadata are its members (spec §19.6).
      if (!sim.isMember(ctx.user, p)) return sim.forbidden(`You are not a member of project ${id}`);
      return { kind: 'project', p };
    }
    return detail(404, `Resource ${id} not found`);
  }
  const resourceMetadata = (r: Resource): JsonObject | null =>
    r.kind === 'dataset'
      ? r.ds.metadata
      : r.kind === 'sample'
        ? r.s.metadata
        : r.kind === 'instrument'
          ? r.i.metadata
          : r.p.metadata;
  function setResourceMetadata(r: Resource, md: JsonObject): void {
    const ms = sim.now();
    if (r.kind === 'dataset') {
      r.ds.metadata = md;
      r.ds.modificationMs = ms;
    } else if (r.kind === 'sample') {
      r.s.metadata = md;
      r.s.modificationMs = ms;
    } else if (r.kind === 'instrument') {
      r.i.metadata = md;
      r.i.modificationMs = ms;
    } else {
      r.p.metadata = md;
      r.p.modificationMs = ms;
    }
  }
  const resourceId = (r: Resource) =>
    r.kind === 'dataset'
      ? r.ds.uniqueId
      : r.kind === 'sample'
        ? r.s.uniqueId
        : r.kind === 'instrument'
          ? r.i.uniqueId
          : r.p.projectId;
  const wrapper = (r: Resource) => {
    const md = resourceMetadata(r);
    return md === null ? null : { unique_id: resourceId(r), scientific_metadata: md };
  };

  add('GET', 'resources/metadata/search', V2, (ctx) => {
    const q = sim.searchQuery(ctx);
    if (q instanceof Response) return q;
    const hits: Array<Record<string, unknown>> = [];
    const consider = (
      uniqueId: string,
      type: string,
      name: string | null,
      owner: string | null,
      md: JsonObject | null,
      created: number,
      modified: number,
    ) => {
      if (md === null) return;
      const text = JSON.stringify(md).toLowerCase();
      const count = text.split(q.q).length - 1;
      if (count > 0)
        hits.push({
          unique_id: uniqueId,
          resource_type: type,
          name,
          owner_orcid: owner,
          creation_time: naiveIso(created),
          modification_time: naiveIso(modified),
          rank: count / (1 + text.length / 100),
          scientific_metadata: md,
        });
    };
    for (const d of sim.db.datasets)
      if (sim.canRead(ctx.user, d))
        consider(
          d.uniqueId,
          'dataset',
          d.datasetName,
          d.ownerOrcid,
          d.metadata,
          d.creationMs,
          d.modificationMs,
        );
    for (const s of sim.db.samples)
      if (sim.sampleRead(ctx.user, s))
        consider(
          s.uniqueId,
          'sample',
          s.sampleName,
          s.ownerOrcid,
          s.metadata,
          s.creationMs,
          s.modificationMs,
        );
    for (const i of sim.db.instruments)
      consider(i.uniqueId, 'instrument', i.name, null, i.metadata, i.creationMs, i.modificationMs);
    hits.sort((a, b) => (b.rank as number) - (a.rank as number));
    return json({ items: hits.slice(0, q.limit), limit: q.limit, total: hits.length, offset: 0 });
  });
  add('GET', 'resources/{id}', V2, (ctx) => {
    const r = resource(ctx, 'read', false);
    if (r instanceof Response) return r;
    const inc = sim.includes(ctx);
    if (inc instanceof Response) return inc;
    if (r.kind === 'dataset') return json(sim.datasetOut(ctx, r.ds, inc));
    if (r.kind === 'sample') return json(sim.sampleOut(ctx, r.s, inc));
    if (r.kind === 'instrument') return json(sim.instrumentOut(ctx, r.i, inc.metadata));
    return json(sim.projectOut(ctx, r.p, inc.metadata));
  });
  add('GET', 'resources/{id}/links', V2, (ctx) => {
    const r = resource(ctx, 'read', false);
    if (r instanceof Response) return r;
    if (r.kind === 'dataset') return json(sim.datasetLinks(ctx.user, r.ds));
    if (r.kind === 'sample') return json(sim.sampleLinks(ctx.user, r.s));
    return json([]);
  });
  add('GET', 'resources/{id}/metadata', V2, (ctx) => {
    const r = resource(ctx, 'read', true);
    return r instanceof Response ? r : json(wrapper(r));
  });
  add('POST', 'resources/{id}/metadata', V2, async (ctx) => {
    const r = resource(ctx, 'write', true);
    if (r instanceof Response) return r;
    const overwrite = sim.boolParam(ctx, 'overwrite');
    if (overwrite instanceof Response) return overwrite;
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    if (!overwrite && resourceMetadata(r) !== null)
      return detail(
        409,
        `Metadata for ${resourceId(r)} already exists; use PATCH to merge or overwrite=true to replace`,
      );
    setResourceMetadata(r, clone(body));
    return json(wrapper(r));
  });
  add('PATCH', 'resources/{id}/metadata', V2, async (ctx) => {
    const r = resource(ctx, 'write', true);
    if (r instanceof Response) return r;
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    setResourceMetadata(r, deepMerge(resourceMetadata(r) ?? {}, clone(body)));
    return json(wrapper(r));
  });
  add('GET', 'resources/{id}/access_groups', V2, (ctx) => {
    const denied = sim.requireAdmin(ctx);
    if (denied) return denied;
    const r = resource(ctx, 'read', false);
    if (r instanceof Response) return r;
    if (r.kind !== 'dataset') return json([]);
    return sim.aclGet(r.ds);
  });
  add('POST', 'resources/{id}/access_groups', V2, (ctx) => {
    const denied = sim.requireAdmin(ctx);
    if (denied) return denied;
    const r = resource(ctx, 'read', false);
    if (r instanceof Response) return r;
    if (r.kind !== 'dataset') return detail(400, 'Access groups are simulated on datasets only');
    return sim.aclAdd(ctx, r.ds);
  });

  return add.handlers();
};
