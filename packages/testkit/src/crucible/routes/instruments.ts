import { BOTH, V2 } from '../common.js';
import type { CrucibleSimInstrument } from '../model.js';
import { apiRouter } from '../router.js';
import type { CrucibleRoutes } from '../state.js';
import { detail, json, mfid, validation } from '../util.js';

/** Instruments (spec §5). */
export const instrumentRoutes: CrucibleRoutes = (sim, mount) => {
  const {
    now,
    db,
    instrumentByName,
    requireAdmin,
    missingRecord,
    instrumentOut,
    includes,
    filterFrom,
    offsetPage,
    readObject,
    str,
    searchQuery,
  } = sim;
  const add = apiRouter(sim, mount);

  // --- instruments ---
  add('GET', 'instruments', BOTH, (ctx) => {
    const name = ctx.query.get('instrument_name');
    const filter = filterFrom<CrucibleSimInstrument>(
      ctx,
      {
        unique_id: (i) => i.uniqueId,
        location: (i) => i.location,
        owner: (i) => i.owner,
        manufacturer: (i) => i.manufacturer,
        model: (i) => i.model,
        instrument_type: (i) => i.instrumentType,
        id: (i) => i.id,
      },
      (n) =>
        n === 'instrument_name' && name !== null
          ? (i) => i.name.toLowerCase() === name.toLowerCase()
          : undefined,
    );
    if (filter instanceof Response) return filter;
    const inc = includes(ctx);
    if (inc instanceof Response) return inc;
    const list = db.instruments.filter(filter).map((i) => instrumentOut(ctx, i, inc.metadata));
    return ctx.version === 'v1' ? json(list) : offsetPage(ctx, list);
  });
  add('POST', 'instruments', BOTH, async (ctx) => {
    if (ctx.version === 'v2') {
      const denied = requireAdmin(ctx);
      if (denied) return denied;
    }
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    for (const k of ['instrument_name', 'location', 'owner'])
      if (typeof body[k] !== 'string') return validation(['body', k], 'Field required', 'missing');
    if (instrumentByName(body.instrument_name as string))
      return detail(409, `Instrument ${String(body.instrument_name)} already exists`);
    const i: CrucibleSimInstrument = {
      id: db.next.instrument++,
      uniqueId: typeof body.unique_id === 'string' ? body.unique_id : mfid(db.random, now()),
      name: body.instrument_name as string,
      manufacturer: str(body.manufacturer) ?? null,
      model: str(body.model) ?? null,
      owner: str(body.owner) ?? null,
      location: str(body.location) ?? null,
      description: str(body.description) ?? null,
      instrumentType: str(body.instrument_type) ?? null,
      otherId: null,
      otherIdSource: null,
      metadata: null,
      creationMs: now(),
      modificationMs: now(),
    };
    db.instruments.push(i);
    return json(instrumentOut(ctx, i), ctx.version === 'v2' ? 201 : 200);
  });
  add('GET', 'instruments/search', V2, (ctx) => {
    const q = searchQuery(ctx);
    if (q instanceof Response) return q;
    const hits = db.instruments.filter((i) =>
      [i.name, i.instrumentType, i.manufacturer].some((f) => f?.toLowerCase().includes(q.q)),
    );
    return json({
      items: hits.slice(0, q.limit).map((i) => instrumentOut(ctx, i)),
      limit: q.limit,
      total: hits.length,
    });
  });
  add('GET', 'instruments/{iid}', V2, (ctx) => {
    const i = db.instruments.find((x) => x.uniqueId === ctx.params.iid);
    if (!i) return missingRecord(ctx, `Instrument ${ctx.params.iid}`);
    const inc = includes(ctx);
    if (inc instanceof Response) return inc;
    return json(instrumentOut(ctx, i, inc.metadata));
  });
  add('PATCH', 'instruments/{iid}', V2, async (ctx) => {
    const denied = requireAdmin(ctx);
    if (denied) return denied;
    const i = db.instruments.find((x) => x.uniqueId === ctx.params.iid);
    if (!i) return detail(404, `Instrument ${ctx.params.iid} not found`);
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    if (typeof body.instrument_name === 'string') i.name = body.instrument_name;
    if (body.owner !== undefined) i.owner = str(body.owner) ?? null;
    if (body.location !== undefined) i.location = str(body.location) ?? null;
    if (body.manufacturer !== undefined) i.manufacturer = str(body.manufacturer) ?? null;
    if (body.model !== undefined) i.model = str(body.model) ?? null;
    if (body.instrument_type !== undefined) i.instrumentType = str(body.instrument_type) ?? null;
    if (body.description !== undefined) i.description = str(body.description) ?? null;
    i.modificationMs = now();
    return json(instrumentOut(ctx, i));
  });

  return add.handlers();
};
