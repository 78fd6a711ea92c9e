import { BOTH, V2 } from '../common.js';
import { type CrucibleSimDataset, type CrucibleSimSample, link, unlink } from '../model.js';
import { apiRouter } from '../router.js';
import { rankByName } from '../search.js';
import type { CrucibleRoutes } from '../state.js';
import { detail, json, MFID_PATTERN, mfid, validation } from '../util.js';

/** Samples, their datasets and their parent/child links (spec §6). */
export const sampleRoutes: CrucibleRoutes = (sim, mount) => {
  const add = apiRouter(sim, mount);

  // --- samples ---
  add('GET', 'samples', BOTH, (ctx) => {
    const filter = sim.sampleFilter(ctx);
    if (filter instanceof Response) return filter;
    const inc = sim.includes(ctx);
    if (inc instanceof Response) return inc;
    const match = (s: CrucibleSimSample) => sim.sampleRead(ctx.user, s) && filter(s);
    if (ctx.version === 'v1') return json(sim.db.samples.filter(match).map((s) => sim.sampleOut(ctx, s)));
    return sim.keysetPage(ctx, sim.db.samples, match, (s) => sim.sampleOut(ctx, s, inc));
  });
  add('POST', 'samples', BOTH, async (ctx) => {
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    const uid = sim.str(body.unique_id) ?? null;
    const name = sim.str(body.sample_name) ?? null;
    if (uid === null && name === null)
      return validation(['body', 'sample_name'], 'Field required', 'missing');
    if (uid !== null && !MFID_PATTERN.test(uid))
      return validation(['body', 'unique_id'], 'Not a valid MFID', 'string_pattern_mismatch');
    if (uid !== null && sim.db.sampleById.has(uid)) return detail(409, `Sample ${uid} already exists`);
    const pid = sim.str(body.project_id) ?? null;
    const owner = sim.pickOwner(ctx, body);
    if (owner instanceof Response) return owner;
    if (pid !== null) {
      const p = sim.db.projects.get(pid);
      if (!p) return detail(404, `Project ${pid} not found`);
      if (!sim.isMember(ctx.user, p)) return sim.forbidden(`You are not a member of project ${pid}`);
    }
    const s: CrucibleSimSample = {
      id: sim.db.next.sample++,
      seq: (sim.db.samples.at(-1)?.seq ?? 0) + 1,
      uniqueId: uid ?? mfid(sim.db.random, sim.now()),
      sampleName: name,
      sampleType: sim.str(body.sample_type) ?? null,
      description: sim.str(body.description) ?? null,
      ownerOrcid: owner,
      projectId: pid,
      public: body.public === true,
      timestamp: sim.str(body.timestamp) ?? sim.str(body.date_created) ?? null,
      creationMs: sim.now(),
      modificationMs: sim.now(),
      metadata: null,
    };
    sim.db.samples.push(s);
    sim.db.sampleById.set(s.uniqueId, s);
    return json(sim.sampleOut(ctx, s), ctx.version === 'v2' ? 201 : 200);
  });
  add('GET', 'samples/search', V2, (ctx) => {
    const q = sim.searchQuery(ctx);
    if (q instanceof Response) return q;
    const pid = ctx.query.get('project_id');
    const readable = sim.db.samples.filter(
      (s) => sim.sampleRead(ctx.user, s) && (pid === null || s.projectId === pid),
    );
    // Fuzzy and ranked (spec §19.2).
    const { items, total } = rankByName(readable, (s) => [s.sampleName], q.q, q.limit);
    return json({ items: items.map((s) => sim.sampleOut(ctx, s)), limit: q.limit, total, offset: 0 });
  });
  add('GET', 'samples/{sid}', BOTH, (ctx) => {
    const s = sim.db.sampleById.get(ctx.params.sid ?? '');
    if (!s) return sim.missingRecord(ctx, `Sample ${ctx.params.sid}`);
    if (!sim.sampleRead(ctx.user, s))
      return sim.forbidden(`You do not have permission to read sample ${s.uniqueId}`);
    const inc = sim.includes(ctx);
    if (inc instanceof Response) return inc;
    return json(sim.sampleOut(ctx, s, inc));
  });
  add('PATCH', 'samples/{sid}', BOTH, async (ctx) => {
    const s = sim.sample(ctx, ctx.params.sid, 'write');
    if (s instanceof Response) return s;
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    const set = <K extends keyof CrucibleSimSample>(key: string, field: K, value: CrucibleSimSample[K]) => {
      if (body[key] !== undefined && body[key] !== null) s[field] = value;
    };
    set('sample_name', 'sampleName', sim.str(body.sample_name) ?? null);
    set('sample_type', 'sampleType', sim.str(body.sample_type) ?? null);
    set('description', 'description', sim.str(body.description) ?? null);
    set('project_id', 'projectId', sim.str(body.project_id) ?? null);
    set('timestamp', 'timestamp', sim.str(body.timestamp) ?? null);
    set('date_created', 'timestamp', sim.str(body.date_created) ?? null);
    if (typeof body.public === 'boolean') s.public = body.public;
    if (typeof body.owner_orcid === 'string' && sim.userByOrcid(body.owner_orcid))
      s.ownerOrcid = body.owner_orcid;
    s.modificationMs = sim.now();
    return json(sim.sampleOut(ctx, s));
  });
  add('GET', 'samples/{sid}/datasets', BOTH, (ctx) => {
    const s = sim.sample(ctx, ctx.params.sid, 'read');
    if (s instanceof Response) return s;
    const filter = sim.datasetFilter(ctx);
    if (filter instanceof Response) return filter;
    const inc = sim.includes(ctx);
    if (inc instanceof Response) return inc;
    const limit = sim.intParam(ctx, 'limit', ctx.version === 'v1' ? sim.pageSize : sim.maxPage, 1);
    if (limit instanceof Response) return limit;
    const list = [...(sim.db.sampleDatasets.get(s.uniqueId) ?? [])]
      .map((id) => sim.db.datasetById.get(id))
      .filter((d): d is CrucibleSimDataset => d !== undefined && sim.canRead(ctx.user, d) && filter(d));
    return json(list.slice(0, limit).map((d) => sim.datasetOut(ctx, d, inc)));
  });
  for (const which of ['parents', 'children'] as const) {
    add('GET', `samples/{sid}/${which}`, BOTH, (ctx) => {
      const s = sim.sample(ctx, ctx.params.sid, 'read');
      if (s instanceof Response) return s;
      const filter = sim.sampleFilter(ctx);
      if (filter instanceof Response) return filter;
      const index = which === 'parents' ? sim.db.sampleParents : sim.db.sampleChildren;
      const list = [...(index.get(s.uniqueId) ?? [])]
        .map((id) => sim.db.sampleById.get(id))
        .filter((x): x is CrucibleSimSample => x !== undefined && sim.sampleRead(ctx.user, x) && filter(x))
        .map((x) => sim.sampleOut(ctx, x));
      return ctx.version === 'v1' ? json(list) : sim.offsetPage(ctx, list);
    });
  }
  add('POST', 'samples/{parent}/children/{child}', BOTH, (ctx) => {
    const parent = sim.sample(ctx, ctx.params.parent, 'write');
    if (parent instanceof Response) return parent;
    const child = sim.sample(ctx, ctx.params.child, 'read');
    if (child instanceof Response) return child;
    if (parent === child) return detail(400, 'A sample cannot be its own child');
    link(sim.db.sampleChildren, sim.db.sampleParents, parent.uniqueId, child.uniqueId);
    return json({ parent_id: parent.uniqueId, child_id: child.uniqueId, relationship: 'parent-child' });
  });
  add('DELETE', 'samples/{parent}/children/{child}', BOTH, (ctx) => {
    const parent = sim.sample(ctx, ctx.params.parent, 'write');
    if (parent instanceof Response) return parent;
    if (!unlink(sim.db.sampleChildren, sim.db.sampleParents, parent.uniqueId, ctx.params.child ?? ''))
      return detail(404, 'No such link');
    return json({ message: `Removed link ${parent.uniqueId} → ${ctx.params.child}` });
  });

  return add.handlers();
};
