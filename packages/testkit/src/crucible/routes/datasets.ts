import { BOTH, V1, V2 } from '../common.js';
import { type CrucibleSimDataset, type CrucibleSimSample, link, unlink } from '../model.js';
import { apiRouter } from '../router.js';
import type { CrucibleRoutes } from '../state.js';
import { clone, detail, json, MFID_PATTERN, mfid, parseIsoMs, validation } from '../util.js';

/** Datasets: records, access groups, metadata (v1), keywords, thumbnails, and the dataset ↔ sample and dataset ↔ dataset links (spec §7). */
export const datasetRoutes: CrucibleRoutes = (sim, mount) => {
  const {
    now,
    pageSize,
    db,
    canRead,
    sampleRead,
    isMember,
    forbidden,
    requireAdmin,
    dataset,
    sample,
    missingRecord,
    metadataWrapperV1,
    noIncludes,
    datasetOut,
    sampleOut,
    thumbnailOut,
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
    aclGet,
    aclAdd,
  } = sim;
  const add = apiRouter(sim, mount);

  // --- datasets: records ---

  add('GET', 'datasets', BOTH, (ctx) => {
    const filter = datasetFilter(ctx);
    if (filter instanceof Response) return filter;
    const inc = includes(ctx);
    if (inc instanceof Response) return inc;
    const match = (d: CrucibleSimDataset) => canRead(ctx.user, d) && filter(d);
    if (ctx.version === 'v2') return keysetPage(ctx, db.datasets, match, (d) => datasetOut(ctx, d, inc));
    const limit = intParam(ctx, 'limit', pageSize, 1);
    if (limit instanceof Response) return limit;
    const out: unknown[] = [];
    for (const d of db.datasets) {
      if (out.length >= limit) break;
      if (match(d)) out.push(datasetOut(ctx, d, inc));
    }
    return json(out);
  });
  add('POST', 'datasets', BOTH, async (ctx) => {
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    const uid = str(body.unique_id) ?? null;
    if (uid !== null && !MFID_PATTERN.test(uid))
      return validation(['body', 'unique_id'], 'Not a valid MFID', 'string_pattern_mismatch');
    if (uid !== null && db.datasetById.has(uid)) return detail(409, `Dataset ${uid} already exists`);
    const owner = pickOwner(ctx, body);
    if (owner instanceof Response) return owner;
    const pid = str(body.project_id) ?? null;
    if (pid !== null) {
      const p = db.projects.get(pid);
      if (!p) return detail(404, `Project ${pid} not found`);
      if (!isMember(ctx.user, p)) return forbidden(`You are not a member of project ${pid}`);
    }
    let instrumentName = str(body.instrument_name) ?? null;
    if (instrumentName === null && typeof body.instrument_id === 'number') {
      const i = db.instruments.find((x) => x.id === body.instrument_id);
      if (!i) return detail(404, `Instrument ${body.instrument_id} not found`);
      instrumentName = i.name;
    }
    const created = typeof body.creation_time === 'string' ? parseIsoMs(body.creation_time) : undefined;
    const ms = now();
    const ds: CrucibleSimDataset = {
      id: db.next.dataset++,
      seq: (db.datasets.at(-1)?.seq ?? 0) + 1,
      uniqueId: uid ?? mfid(db.random, ms),
      datasetName: str(body.dataset_name) ?? null,
      description: str(body.description) ?? null,
      public: body.public === true,
      ownerOrcid: owner,
      projectId: pid,
      instrumentName,
      measurement: str(body.measurement) ?? null,
      dataType: str(body.data_type) ?? null,
      dataFormat: str(body.data_format) ?? null,
      sessionName: str(body.session_name) ?? null,
      sourceFolder: str(body.source_folder) ?? null,
      timestamp: str(body.timestamp) ?? str(body.creation_date) ?? null,
      fileToUpload: str(body.file_to_upload) ?? null,
      sha256FileToUpload: str(body.sha256_hash_file_to_upload) ?? null,
      size: typeof body.size === 'number' && ctx.version === 'v1' ? body.size : null,
      creationMs: ctx.version === 'v1' && created !== undefined ? created : ms,
      modificationMs: ms,
      keywords: [],
      metadata: null,
      acl: undefined,
    };
    db.datasets.push(ds);
    db.datasetById.set(ds.uniqueId, ds);
    return json(datasetOut(ctx, ds), ctx.version === 'v2' ? 201 : 200);
  });
  add('GET', 'datasets/search', V2, (ctx) => {
    const q = searchQuery(ctx);
    if (q instanceof Response) return q;
    const pid = ctx.query.get('project_id');
    const hits: CrucibleSimDataset[] = [];
    let total = 0;
    for (let i = db.datasets.length - 1; i >= 0; i--) {
      const d = db.datasets[i] as CrucibleSimDataset;
      if (
        canRead(ctx.user, d) &&
        (pid === null || d.projectId === pid) &&
        (d.datasetName ?? '').toLowerCase().includes(q.q)
      ) {
        total += 1;
        if (hits.length < q.limit) hits.push(d);
      }
    }
    return json({ items: hits.map((d) => datasetOut(ctx, d)), limit: q.limit, total });
  });
  add('GET', 'datasets/{dsid}', BOTH, (ctx) => {
    const ds = db.datasetById.get(ctx.params.dsid ?? '');
    if (!ds) return missingRecord(ctx, `Dataset ${ctx.params.dsid}`);
    if (!canRead(ctx.user, ds)) return forbidden(`You do not have permission to read dataset ${ds.uniqueId}`);
    const inc = includes(ctx);
    if (inc instanceof Response) return inc;
    // v1 fetches metadata separately (§5.4): include_metadata is a list-only flag there.
    return json(datasetOut(ctx, ds, ctx.version === 'v1' ? noIncludes : inc));
  });
  add('PATCH', 'datasets/{dsid}', BOTH, async (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const body = await readObject(ctx);
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
    for (const [key, field] of strings) if (key in body) record[field] = str(body[key]) ?? null;
    if (typeof body.public === 'boolean') ds.public = body.public;
    if (ctx.version === 'v1' && typeof body.size === 'number') ds.size = body.size;
    if (typeof body.project_id === 'string') {
      const p = db.projects.get(body.project_id);
      if (!p) return detail(404, `Project ${body.project_id} not found`);
      ds.projectId = p.projectId;
    }
    if (typeof body.owner_orcid === 'string' && body.owner_orcid !== ds.ownerOrcid) {
      if (!ctx.user.admin) return forbidden('Only admins may change the owner');
      ds.ownerOrcid = body.owner_orcid;
    }
    ds.modificationMs = now();
    return json(datasetOut(ctx, ds));
  });

  // --- datasets: access groups ---
  add('GET', 'datasets/{dsid}/access_groups', V1, (ctx) => {
    const denied = requireAdmin(ctx);
    if (denied) return denied;
    const ds = dataset(ctx, ctx.params.dsid, 'read');
    return ds instanceof Response ? ds : aclGet(ds);
  });
  add('POST', 'datasets/{dsid}/access_groups', V1, (ctx) => {
    const denied = requireAdmin(ctx);
    if (denied) return denied;
    const ds = dataset(ctx, ctx.params.dsid, 'read');
    return ds instanceof Response ? ds : aclAdd(ctx, ds);
  });

  // --- datasets: metadata (v1) ---
  add('GET', 'datasets/{dsid}/scientific_metadata', V1, (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'read');
    return ds instanceof Response ? ds : json(metadataWrapperV1(ds));
  });
  for (const method of ['POST', 'PATCH'] as const) {
    add(method, 'datasets/{dsid}/scientific_metadata', V1, async (ctx) => {
      const ds = dataset(ctx, ctx.params.dsid, 'write');
      if (ds instanceof Response) return ds;
      const body = await readObject(ctx);
      if (body instanceof Response) return body;
      // POST replaces; PATCH merges top-level keys (depth is [U] in v1; top-level is the cautious reading).
      ds.metadata = method === 'POST' ? clone(body) : { ...(ds.metadata ?? {}), ...clone(body) };
      ds.modificationMs = now();
      return json(metadataWrapperV1(ds));
    });
  }

  // --- keywords ---
  add('GET', 'keywords', BOTH, () =>
    json([...db.keywords.values()].map((k) => ({ id: k.id, keyword: k.keyword, num_datasets: k.count }))),
  );
  add('GET', 'datasets/{dsid}/keywords', BOTH, (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'read');
    if (ds instanceof Response) return ds;
    return json(
      ds.keywords
        .map((k) => db.keywords.get(k))
        .filter((k) => k !== undefined)
        .map((k) => ({ id: k.id, keyword: k.keyword, num_datasets: k.count })),
    );
  });
  add('POST', 'datasets/{dsid}/keywords', BOTH, (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const text = (ctx.query.get('keyword') ?? '').trim();
    if (text === '') return validation(['query', 'keyword'], 'Field required', 'missing');
    // Keywords are global; a new spelling of an existing one reuses it (case normalisation is [U]).
    const key = text.toLowerCase();
    let entry = db.keywords.get(key);
    if (!entry) {
      entry = { id: db.next.keyword++, keyword: text, count: 0 };
      db.keywords.set(key, entry);
    }
    if (!ds.keywords.includes(key)) {
      ds.keywords.push(key);
      entry.count += 1;
    }
    return json({ id: entry.id, keyword: entry.keyword, num_datasets: entry.count });
  });

  // --- thumbnails ---
  add('GET', 'datasets/{dsid}/thumbnails', BOTH, (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'read');
    if (ds instanceof Response) return ds;
    return json((db.thumbnails.get(ds.uniqueId) ?? []).map(thumbnailOut));
  });
  add('POST', 'datasets/{dsid}/thumbnails', BOTH, async (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    if (typeof body.thumbnail_name !== 'string')
      return validation(['body', 'thumbnail_name'], 'Field required', 'missing');
    if (typeof body.thumbnail_b64str !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(body.thumbnail_b64str))
      return validation(['body', 'thumbnail_b64str'], 'Field required (base64)', 'missing');
    const t = {
      id: db.next.thumbnail++,
      datasetId: ds.uniqueId,
      name: body.thumbnail_name,
      b64: body.thumbnail_b64str,
    };
    const list = db.thumbnails.get(ds.uniqueId) ?? [];
    list.push(t);
    db.thumbnails.set(ds.uniqueId, list);
    return json(thumbnailOut(t), ctx.version === 'v2' ? 201 : 200);
  });
  add('DELETE', 'datasets/{dsid}/thumbnails/{tid}', V2, (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const list = db.thumbnails.get(ds.uniqueId) ?? [];
    const at = list.findIndex((t) => String(t.id) === ctx.params.tid);
    if (at < 0) return detail(404, `Thumbnail ${ctx.params.tid} not found`);
    list.splice(at, 1);
    return json({ message: `Thumbnail ${ctx.params.tid} deleted` });
  });

  // --- dataset ↔ sample, dataset ↔ dataset ---
  add('GET', 'datasets/{dsid}/samples', BOTH, (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'read');
    if (ds instanceof Response) return ds;
    const filter = sampleFilter(ctx);
    if (filter instanceof Response) return filter;
    const list = [...(db.datasetSamples.get(ds.uniqueId) ?? [])]
      .map((id) => db.sampleById.get(id))
      .filter((s): s is CrucibleSimSample => s !== undefined && sampleRead(ctx.user, s) && filter(s))
      .map((s) => sampleOut(ctx, s));
    return ctx.version === 'v1' ? json(list) : offsetPage(ctx, list);
  });
  add('POST', 'datasets/{dsid}/samples/{sid}', BOTH, (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const s = sample(ctx, ctx.params.sid, 'read');
    if (s instanceof Response) return s;
    link(db.datasetSamples, db.sampleDatasets, ds.uniqueId, s.uniqueId);
    return json({ dataset_id: ds.uniqueId, sample_id: s.uniqueId });
  });
  add('DELETE', 'datasets/{dsid}/samples/{sid}', BOTH, (ctx) => {
    // Admin-only per the reference and the successor's docstring (§5.6, §16.6 [U]).
    const denied = requireAdmin(ctx);
    if (denied) return denied;
    const ds = dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    if (!unlink(db.datasetSamples, db.sampleDatasets, ds.uniqueId, ctx.params.sid ?? ''))
      return detail(404, 'No such link');
    return json({ message: `Removed sample ${ctx.params.sid} from dataset ${ds.uniqueId}` });
  });
  for (const which of ['parents', 'children'] as const) {
    add('GET', `datasets/{dsid}/${which}`, BOTH, (ctx) => {
      const ds = dataset(ctx, ctx.params.dsid, 'read');
      if (ds instanceof Response) return ds;
      const filter = datasetFilter(ctx);
      if (filter instanceof Response) return filter;
      const index = which === 'parents' ? db.datasetParents : db.datasetChildren;
      const list = [...(index.get(ds.uniqueId) ?? [])]
        .map((id) => db.datasetById.get(id))
        .filter((d): d is CrucibleSimDataset => d !== undefined && canRead(ctx.user, d) && filter(d))
        .map((d) => datasetOut(ctx, d));
      return ctx.version === 'v1' ? json(list) : offsetPage(ctx, list);
    });
  }
  add('POST', 'datasets/{parent}/children/{child}', BOTH, (ctx) => {
    const parent = dataset(ctx, ctx.params.parent, 'write');
    if (parent instanceof Response) return parent;
    const child = dataset(ctx, ctx.params.child, 'read');
    if (child instanceof Response) return child;
    if (parent === child) return detail(400, 'A dataset cannot be its own child');
    link(db.datasetChildren, db.datasetParents, parent.uniqueId, child.uniqueId);
    return json({ parent_id: parent.uniqueId, child_id: child.uniqueId, relationship: 'derived' });
  });
  add('DELETE', 'datasets/{parent}/children/{child}', BOTH, (ctx) => {
    const parent = dataset(ctx, ctx.params.parent, 'write');
    if (parent instanceof Response) return parent;
    if (!unlink(db.datasetChildren, db.datasetParents, parent.uniqueId, ctx.params.child ?? ''))
      return detail(404, 'No such link');
    return json({ message: `Removed link ${parent.uniqueId} → ${ctx.params.child}` });
  });

  return add.handlers();
};
