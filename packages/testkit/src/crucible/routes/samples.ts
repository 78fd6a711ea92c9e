import { BOTH, V2 } from '../common.js';
import { type CrucibleSimDataset, type CrucibleSimSample, link, unlink } from '../model.js';
import { apiRouter } from '../router.js';
import type { CrucibleRoutes } from '../state.js';
import { detail, json, MFID_PATTERN, mfid, validation } from '../util.js';

/** Samples, their datasets and their parent/child links (spec §6). */
export const sampleRoutes: CrucibleRoutes = (sim, mount) => {
  const {
    now,
    pageSize,
    maxPage,
    db,
    userByOrcid,
    canRead,
    sampleRead,
    isMember,
    forbidden,
    sample,
    missingRecord,
    datasetOut,
    sampleOut,
    includes,
    intParam,
    datasetFilter,
    sampleFilter,
    offsetPage,
    keysetPage,
    readObject,
    str,
    searchQuery,
    pickOwner,
  } = sim;
  const add = apiRouter(sim, mount);

  // --- samples ---
  add('GET', 'samples', BOTH, (ctx) => {
    const filter = sampleFilter(ctx);
    if (filter instanceof Response) return filter;
    const inc = includes(ctx);
    if (inc instanceof Response) return inc;
    const match = (s: CrucibleSimSample) => sampleRead(ctx.user, s) && filter(s);
    if (ctx.version === 'v1') return json(db.samples.filter(match).map((s) => sampleOut(ctx, s)));
    return keysetPage(ctx, db.samples, match, (s) => sampleOut(ctx, s, inc));
  });
  add('POST', 'samples', BOTH, async (ctx) => {
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    const uid = str(body.unique_id) ?? null;
    const name = str(body.sample_name) ?? null;
    if (uid === null && name === null)
      return validation(['body', 'sample_name'], 'Field required', 'missing');
    if (uid !== null && !MFID_PATTERN.test(uid))
      return validation(['body', 'unique_id'], 'Not a valid MFID', 'string_pattern_mismatch');
    if (uid !== null && db.sampleById.has(uid)) return detail(409, `Sample ${uid} already exists`);
    const pid = str(body.project_id) ?? null;
    const owner = pickOwner(ctx, body);
    if (owner instanceof Response) return owner;
    if (pid !== null) {
      const p = db.projects.get(pid);
      if (!p) return detail(404, `Project ${pid} not found`);
      if (!isMember(ctx.user, p)) return forbidden(`You are not a member of project ${pid}`);
    }
    const s: CrucibleSimSample = {
      id: db.next.sample++,
      seq: (db.samples.at(-1)?.seq ?? 0) + 1,
      uniqueId: uid ?? mfid(db.random, now()),
      sampleName: name,
      sampleType: str(body.sample_type) ?? null,
      description: str(body.description) ?? null,
      ownerOrcid: owner,
      projectId: pid,
      public: body.public === true,
      timestamp: str(body.timestamp) ?? str(body.date_created) ?? null,
      creationMs: now(),
      modificationMs: now(),
      metadata: null,
    };
    db.samples.push(s);
    db.sampleById.set(s.uniqueId, s);
    return json(sampleOut(ctx, s), ctx.version === 'v2' ? 201 : 200);
  });
  add('GET', 'samples/search', V2, (ctx) => {
    const q = searchQuery(ctx);
    if (q instanceof Response) return q;
    const pid = ctx.query.get('project_id');
    const hits = db.samples.filter(
      (s) =>
        sampleRead(ctx.user, s) &&
        (pid === null || s.projectId === pid) &&
        (s.sampleName ?? '').toLowerCase().includes(q.q),
    );
    return json({
      items: hits.slice(0, q.limit).map((s) => sampleOut(ctx, s)),
      limit: q.limit,
      total: hits.length,
    });
  });
  add('GET', 'samples/{sid}', BOTH, (ctx) => {
    const s = db.sampleById.get(ctx.params.sid ?? '');
    if (!s) return missingRecord(ctx, `Sample ${ctx.params.sid}`);
    if (!sampleRead(ctx.user, s)) return forbidden(`You do not have permission to read sample ${s.uniqueId}`);
    const inc = includes(ctx);
    if (inc instanceof Response) return inc;
    return json(sampleOut(ctx, s, inc));
  });
  add('PATCH', 'samples/{sid}', BOTH, async (ctx) => {
    const s = sample(ctx, ctx.params.sid, 'write');
    if (s instanceof Response) return s;
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    const set = <K extends keyof CrucibleSimSample>(key: string, field: K, value: CrucibleSimSample[K]) => {
      if (body[key] !== undefined && body[key] !== null) s[field] = value;
    };
    set('sample_name', 'sampleName', str(body.sample_name) ?? null);
    set('sample_type', 'sampleType', str(body.sample_type) ?? null);
    set('description', 'description', str(body.description) ?? null);
    set('project_id', 'projectId', str(body.project_id) ?? null);
    set('timestamp', 'timestamp', str(body.timestamp) ?? null);
    set('date_created', 'timestamp', str(body.date_created) ?? null);
    if (typeof body.public === 'boolean') s.public = body.public;
    if (typeof body.owner_orcid === 'string' && userByOrcid(body.owner_orcid))
      s.ownerOrcid = body.owner_orcid;
    s.modificationMs = now();
    return json(sampleOut(ctx, s));
  });
  add('GET', 'samples/{sid}/datasets', BOTH, (ctx) => {
    const s = sample(ctx, ctx.params.sid, 'read');
    if (s instanceof Response) return s;
    const filter = datasetFilter(ctx);
    if (filter instanceof Response) return filter;
    const inc = includes(ctx);
    if (inc instanceof Response) return inc;
    const limit = intParam(ctx, 'limit', ctx.version === 'v1' ? pageSize : maxPage, 1);
    if (limit instanceof Response) return limit;
    const list = [...(db.sampleDatasets.get(s.uniqueId) ?? [])]
      .map((id) => db.datasetById.get(id))
      .filter((d): d is CrucibleSimDataset => d !== undefined && canRead(ctx.user, d) && filter(d));
    return json(list.slice(0, limit).map((d) => datasetOut(ctx, d, inc)));
  });
  for (const which of ['parents', 'children'] as const) {
    add('GET', `samples/{sid}/${which}`, BOTH, (ctx) => {
      const s = sample(ctx, ctx.params.sid, 'read');
      if (s instanceof Response) return s;
      const filter = sampleFilter(ctx);
      if (filter instanceof Response) return filter;
      const index = which === 'parents' ? db.sampleParents : db.sampleChildren;
      const list = [...(index.get(s.uniqueId) ?? [])]
        .map((id) => db.sampleById.get(id))
        .filter((x): x is CrucibleSimSample => x !== undefined && sampleRead(ctx.user, x) && filter(x))
        .map((x) => sampleOut(ctx, x));
      return ctx.version === 'v1' ? json(list) : offsetPage(ctx, list);
    });
  }
  add('POST', 'samples/{parent}/children/{child}', BOTH, (ctx) => {
    const parent = sample(ctx, ctx.params.parent, 'write');
    if (parent instanceof Response) return parent;
    const child = sample(ctx, ctx.params.child, 'read');
    if (child instanceof Response) return child;
    if (parent === child) return detail(400, 'A sample cannot be its own child');
    link(db.sampleChildren, db.sampleParents, parent.uniqueId, child.uniqueId);
    return json({ parent_id: parent.uniqueId, child_id: child.uniqueId, relationship: 'parent-child' });
  });
  add('DELETE', 'samples/{parent}/children/{child}', BOTH, (ctx) => {
    const parent = sample(ctx, ctx.params.parent, 'write');
    if (parent instanceof Response) return parent;
    if (!unlink(db.sampleChildren, db.sampleParents, parent.uniqueId, ctx.params.child ?? ''))
      return detail(404, 'No such link');
    return json({ message: `Removed link ${parent.uniqueId} → ${ctx.params.child}` });
  });

  return add.handlers();
};
