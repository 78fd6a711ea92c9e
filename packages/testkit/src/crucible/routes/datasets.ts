import { BOTH, V1, V2 } from '../common.js';
import { type CrucibleSimDataset, type CrucibleSimSample, link, unlink } from '../model.js';
import { apiRouter } from '../router.js';
import { rankByName } from '../search.js';
import type { CrucibleRoutes } from '../state.js';
import { clone, detail, json, MFID_PATTERN, mfid, parseIsoMs, validation } from '../util.js';

/** Datasets: records, access groups, metadata (v1), keywords, thumbnails, and the dataset ↔ sample and dataset ↔ dataset links (spec §7). */
export const datasetRoutes: CrucibleRoutes = (sim, mount) => {
  const add = apiRouter(sim, mount);

  // --- datasets: records ---

  add('GET', 'datasets', BOTH, (ctx) => {
    const filter = sim.datasetFilter(ctx);
    if (filter instanceof Response) return filter;
    const inc = sim.includes(ctx);
    if (inc instanceof Response) return inc;
    const match = (d: CrucibleSimDataset) => sim.canRead(ctx.user, d) && filter(d);
    if (ctx.version === 'v2')
      return sim.keysetPage(ctx, sim.db.datasets, match, (d) => sim.datasetOut(ctx, d, inc));
    const limit = sim.intParam(ctx, 'limit', sim.pageSize, 1);
    if (limit instanceof Response) return limit;
    const out: unknown[] = [];
    for (const d of sim.db.datasets) {
      if (out.length >= limit) break;
      if (match(d)) out.push(sim.datasetOut(ctx, d, inc));
    }
    return json(out);
  });
  add('POST', 'datasets', BOTH, async (ctx) => {
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    const uid = sim.str(body.unique_id) ?? null;
    if (uid !== null && !MFID_PATTERN.test(uid))
      return validation(['body', 'unique_id'], 'Not a valid MFID', 'string_pattern_mismatch');
    if (uid !== null && sim.db.datasetById.has(uid)) return detail(409, `Dataset ${uid} already exists`);
    const owner = sim.pickOwner(ctx, body);
    if (owner instanceof Response) return owner;
    const pid = sim.str(body.project_id) ?? null;
    if (pid !== null) {
      const p = sim.db.projects.get(pid);
      if (!p) return detail(404, `Project ${pid} not found`);
      if (!sim.isMember(ctx.user, p)) return sim.forbidden(`You are not a member of project ${pid}`);
    }
    let instrumentName = sim.str(body.instrument_name) ?? null;
    if (instrumentName === null && typeof body.instrument_id === 'number') {
      const i = sim.db.instruments.find((x) => x.id === body.instrument_id);
      if (!i) return detail(404, `Instrument ${body.instrument_id} not found`);
      instrumentName = i.name;
    }
    const created = typeof body.creation_time === 'string' ? parseIsoMs(body.creation_time) : undefined;
    const ms = sim.now();
    const ds: CrucibleSimDataset = {
      id: sim.db.next.dataset++,
      seq: (sim.db.datasets.at(-1)?.seq ?? 0) + 1,
      uniqueId: uid ?? mfid(sim.db.random, ms),
      datasetName: sim.str(body.dataset_name) ?? null,
      description: sim.str(body.description) ?? null,
      public: body.public === true,
      ownerOrcid: owner,
      projectId: pid,
      instrumentName,
      measurement: sim.str(body.measurement) ?? null,
      dataType: sim.str(body.data_type) ?? null,
      dataFormat: sim.str(body.data_format) ?? null,
      sessionName: sim.str(body.session_name) ?? null,
      sourceFolder: sim.str(body.source_folder) ?? null,
      timestamp: sim.str(body.timestamp) ?? sim.str(body.creation_date) ?? null,
      fileToUpload: sim.str(body.file_to_upload) ?? null,
      sha256FileToUpload: sim.str(body.sha256_hash_file_to_upload) ?? null,
      size: typeof body.size === 'number' && ctx.version === 'v1' ? body.size : null,
      creationMs: ctx.version === 'v1' && created !== undefined ? created : ms,
      modificationMs: ms,
      keywords: [],
      metadata: null,
      acl: undefined,
    };
    sim.db.datasets.push(ds);
    sim.db.datasetById.set(ds.uniqueId, ds);
    return json(sim.datasetOut(ctx, ds), ctx.version === 'v2' ? 201 : 200);
  });
  add('GET', 'datasets/search', V2, (ctx) => {
    const q = sim.searchQuery(ctx);
    if (q instanceof Response) return q;
    const pid = ctx.query.get('project_id');
    // Fuzzy and ranked (spec §19.2); among equals, newest first.
    const readable = [...sim.db.datasets]
      .reverse()
      .filter((d) => sim.canRead(ctx.user, d) && (pid === null || d.projectId === pid));
    const { items, total } = rankByName(readable, (d) => [d.datasetName], q.q, q.limit);
    return json({ items: items.map((d) => sim.datasetOut(ctx, d)), limit: q.limit, total, offset: 0 });
  });
  add('GET', 'datasets/{dsid}', BOTH, (ctx) => {
    const ds = sim.db.datasetById.get(ctx.params.dsid ?? '');
    if (!ds) return sim.missingRecord(ctx, `Dataset ${ctx.params.dsid}`);
    if (!sim.canRead(ctx.user, ds))
      return sim.forbidden(`You do not have permission to read dataset ${ds.uniqueId}`);
    const inc = sim.includes(ctx);
    if (inc instanceof Response) return inc;
    // v1 fetches metadata separately (§5.4): include_metadata is a list-only flag there.
    return json(sim.datasetOut(ctx, ds, ctx.version === 'v1' ? sim.noIncludes : inc));
  });
  add('PATCH', 'datasets/{dsid}', BOTH, async (ctx) => {
    const ds = sim.dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    const strings: ReadonlyArray<readonly [string, keyof CrucibleSimDataset]> = [
      ['dataset_name', 'datasetName'],
      ['description', 'description'],
      ['measurement', 'measurement'],
      ['data_type', 'dataType'],
      ['data_format', 'dataFormat'],
      ['session_name', 'sessionName'],
      ['source_folder', 'sourceFolder'],
      ['timestamp', 'timestamp'],
      ['instrument_name', 'instrumentName'],
      ...(ctx.version === 'v1'
        ? ([
            ['file_to_upload', 'fileToUpload'],
            ['sha256_hash_file_to_upload', 'sha256FileToUpload'],
          ] as const)
        : []),
    ];
    const record = ds as unknown as Record<string, unknown>;
    for (const [key, field] of strings) if (key in body) record[field] = sim.str(body[key]) ?? null;
    if (typeof body.public === 'boolean') ds.public = body.public;
    if (ctx.version === 'v1' && typeof body.size === 'number') ds.size = body.size;
    if (typeof body.project_id === 'string') {
      const p = sim.db.projects.get(body.project_id);
      if (!p) return detail(404, `Project ${body.project_id} not found`);
      ds.projectId = p.projectId;
    }
    if (typeof body.owner_orcid === 'string' && body.owner_orcid !== ds.ownerOrcid) {
      if (!ctx.user.admin) return sim.forbidden('Only admins may change the owner');
      ds.ownerOrcid = body.owner_orcid;
    }
    ds.modificationMs = sim.now();
    return json(sim.datasetOut(ctx, ds));
  });

  // --- datasets: access groups ---
  add('GET', 'datasets/{dsid}/access_groups', V1, (ctx) => {
    const denied = sim.requireAdmin(ctx);
    if (denied) return denied;
    const ds = sim.dataset(ctx, ctx.params.dsid, 'read');
    return ds instanceof Response ? ds : sim.aclGet(ds);
  });
  add('POST', 'datasets/{dsid}/access_groups', V1, (ctx) => {
    const denied = sim.requireAdmin(ctx);
    if (denied) return denied;
    const ds = sim.dataset(ctx, ctx.params.dsid, 'read');
    return ds instanceof Response ? ds : sim.aclAdd(ctx, ds);
  });

  // --- datasets: metadata (v1) ---
  add('GET', 'datasets/{dsid}/scientific_metadata', V1, (ctx) => {
    const ds = sim.dataset(ctx, ctx.params.dsid, 'read');
    return ds instanceof Response ? ds : json(sim.metadataWrapperV1(ds));
  });
  for (const method of ['POST', 'PATCH'] as const) {
    add(method, 'datasets/{dsid}/scientific_metadata', V1, async (ctx) => {
      const ds = sim.dataset(ctx, ctx.params.dsid, 'write');
      if (ds instanceof Response) return ds;
      const body = await sim.readObject(ctx);
      if (body instanceof Response) return body;
      // POST replaces; PATCH merges top-level keys (depth is [U] in v1; top-level is the cautious reading).
      ds.metadata = method === 'POST' ? clone(body) : { ...(ds.metadata ?? {}), ...clone(body) };
      ds.modificationMs = sim.now();
      return json(sim.metadataWrapperV1(ds));
    });
  }

  // --- keywords ---
  add('GET', 'keywords', BOTH, () =>
    json([...sim.db.keywords.values()].map((k) => ({ id: k.id, keyword: k.keyword, num_datasets: k.count }))),
  );
  add('GET', 'datasets/{dsid}/keywords', BOTH, (ctx) => {
    const ds = sim.dataset(ctx, ctx.params.dsid, 'read');
    if (ds instanceof Response) return ds;
    return json(
      ds.keywords
        .map((k) => sim.db.keywords.get(k))
        .filter((k) => k !== undefined)
        .map((k) => ({ id: k.id, keyword: k.keyword, num_datasets: k.count })),
    );
  });
  add('POST', 'datasets/{dsid}/keywords', BOTH, (ctx) => {
    const ds = sim.dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const text = (ctx.query.get('keyword') ?? '').trim();
    if (text === '') return validation(['query', 'keyword'], 'Field required', 'missing');
    // Keywords are global; a new spelling of an existing one reuses it (case normalisation is [U]).
    const key = text.toLowerCase();
    let entry = sim.db.keywords.get(key);
    if (!entry) {
      entry = { id: sim.db.next.keyword++, keyword: text, count: 0 };
      sim.db.keywords.set(key, entry);
    }
    if (!ds.keywords.includes(key)) {
      ds.keywords.push(key);
      entry.count += 1;
    }
    return json({ id: entry.id, keyword: entry.keyword, num_datasets: entry.count });
  });

  // --- thumbnails ---
  add('GET', 'datasets/{dsid}/thumbnails', BOTH, (ctx) => {
    const ds = sim.dataset(ctx, ctx.params.dsid, 'read');
    if (ds instanceof Response) return ds;
    return json((sim.db.thumbnails.get(ds.uniqueId) ?? []).map(sim.thumbnailOut));
  });
  add('POST', 'datasets/{dsid}/thumbnails', BOTH, async (ctx) => {
    const ds = sim.dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    if (typeof body.thumbnail_name !== 'string')
      return validation(['body', 'thumbnail_name'], 'Field required', 'missing');
    if (typeof body.thumbnail_b64str !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(body.thumbnail_b64str))
      return validation(['body', 'thumbnail_b64str'], 'Field required (base64)', 'missing');
    const t = {
      id: sim.db.next.thumbnail++,
      datasetId: ds.uniqueId,
      name: body.thumbnail_name,
      b64: body.thumbnail_b64str,
    };
    const list = sim.db.thumbnails.get(ds.uniqueId) ?? [];
    list.push(t);
    sim.db.thumbnails.set(ds.uniqueId, list);
    return json(sim.thumbnailOut(t), ctx.version === 'v2' ? 201 : 200);
  });
  add('DELETE', 'datasets/{dsid}/thumbnails/{tid}', V2, (ctx) => {
    const ds = sim.dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const list = sim.db.thumbnails.get(ds.uniqueId) ?? [];
    const at = list.findIndex((t) => String(t.id) === ctx.params.tid);
    if (at < 0) return detail(404, `Thumbnail ${ctx.params.tid} not found`);
    list.splice(at, 1);
    return json({ message: `Thumbnail ${ctx.params.tid} deleted` });
  });

  // --- dataset ↔ sample, dataset ↔ dataset ---
  add('GET', 'datasets/{dsid}/samples', BOTH, (ctx) => {
    const ds = sim.dataset(ctx, ctx.params.dsid, 'read');
    if (ds instanceof Response) return ds;
    const filter = sim.sampleFilter(ctx);
    if (filter instanceof Response) return filter;
    const list = [...(sim.db.datasetSamples.get(ds.uniqueId) ?? [])]
      .map((id) => sim.db.sampleById.get(id))
      .filter((s): s is CrucibleSimSample => s !== undefined && sim.sampleRead(ctx.user, s) && filter(s))
      .map((s) => sim.sampleOut(ctx, s));
    return ctx.version === 'v1' ? json(list) : sim.offsetPage(ctx, list);
  });
  add('POST', 'datasets/{dsid}/samples/{sid}', BOTH, (ctx) => {
    const ds = sim.dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const s = sim.sample(ctx, ctx.params.sid, 'read');
    if (s instanceof Response) return s;
    link(sim.db.datasetSamples, sim.db.sampleDatasets, ds.uniqueId, s.uniqueId);
    return json({ dataset_id: ds.uniqueId, sample_id: s.uniqueId });
  });
  add('DELETE', 'datasets/{dsid}/samples/{sid}', BOTH, (ctx) => {
    // Admin-only per the reference and the successor's docstring (§5.6, §16.6 [U]).
    const denied = sim.requireAdmin(ctx);
    if (denied) return denied;
    const ds = sim.dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    if (!unlink(sim.db.datasetSamples, sim.db.sampleDatasets, ds.uniqueId, ctx.params.sid ?? ''))
      return detail(404, 'No such link');
    return json({ message: `Removed sample ${ctx.params.sid} from dataset ${ds.uniqueId}` });
  });
  for (const which of ['parents', 'children'] as const) {
    add('GET', `datasets/{dsid}/${which}`, BOTH, (ctx) => {
      const ds = sim.dataset(ctx, ctx.params.dsid, 'read');
      if (ds instanceof Response) return ds;
      const filter = sim.datasetFilter(ctx);
      if (filter instanceof Response) return filter;
      const index = which === 'parents' ? sim.db.datasetParents : sim.db.datasetChildren;
      const list = [...(index.get(ds.uniqueId) ?? [])]
        .map((id) => sim.db.datasetById.get(id))
        .filter((d): d is CrucibleSimDataset => d !== undefined && sim.canRead(ctx.user, d) && filter(d))
        .map((d) => sim.datasetOut(ctx, d));
      return ctx.version === 'v1' ? json(list) : sim.offsetPage(ctx, list);
    });
  }
  add('POST', 'datasets/{parent}/children/{child}', BOTH, (ctx) => {
    const parent = sim.dataset(ctx, ctx.params.parent, 'write');
    if (parent instanceof Response) return parent;
    const child = sim.dataset(ctx, ctx.params.child, 'read');
    if (child instanceof Response) return child;
    if (parent === child) return detail(400, 'A dataset cannot be its own child');
    link(sim.db.datasetChildren, sim.db.datasetParents, parent.uniqueId, child.uniqueId);
    return json({ parent_id: parent.uniqueId, child_id: child.uniqueId, relationship: 'derived' });
  });
  add('DELETE', 'datasets/{parent}/children/{child}', BOTH, (ctx) => {
    const parent = sim.dataset(ctx, ctx.params.parent, 'write');
    if (parent instanceof Response) return parent;
    if (!unlink(sim.db.datasetChildren, sim.db.datasetParents, parent.uniqueId, ctx.params.child ?? ''))
      return detail(404, 'No such link');
    return json({ message: `Removed link ${parent.uniqueId} → ${ctx.params.child}` });
  });

  return add.handlers();
};
