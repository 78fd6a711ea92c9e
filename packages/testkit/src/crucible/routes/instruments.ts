import { BOTH, V2 } from '../common.js';
import type { CrucibleSimInstrument } from '../model.js';
import { apiRouter } from '../router.js';
import { rankByName } from '../search.js';
import type { CrucibleRoutes } from '../state.js';
import { detail, json, mfid, validation } from '../util.js';

/** Instruments (spec §5). */
export const instrumentRoutes: CrucibleRoutes = (sim, mount) => {
  const add = apiRouter(sim, mount);

  // --- instruments ---
  add('GET', 'instruments', BOTH, (ctx) => {
    const name = ctx.query.get('instrument_name');
    const filter = sim.filterFrom<CrucibleSimInstrument>(
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
    const inc = sim.includes(ctx);
    if (inc instanceof Response) return inc;
    const list = sim.db.instruments.filter(filter).map((i) => sim.instrumentOut(ctx, i, inc.metadata));
    return ctx.version === 'v1' ? json(list) : sim.offsetPage(ctx, list);
  });
  add('POST', 'instruments', BOTH, async (ctx) => {
    if (ctx.version === 'v2') {
      const denied = sim.requireAdmin(ctx);
      if (denied) return denied;
    }
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    for (const k of ['instrument_name', 'location', 'owner'])
      if (typeof body[k] !== 'string') return validation(['body', k], 'Field required', 'missing');
    if (sim.instrumentByName(body.instrument_name as string))
      return detail(409, `Instrument ${String(body.instrument_name)} already exists`);
    const i: CrucibleSimInstrument = {
      id: sim.db.next.instrument++,
      uniqueId: typeof body.unique_id === 'string' ? body.unique_id : mfid(sim.db.random, sim.now()),
      name: body.instrument_name as string,
      manufacturer: sim.str(body.manufacturer) ?? null,
      model: sim.str(body.model) ?? null,
      owner: sim.str(body.owner) ?? null,
      location: sim.str(body.location) ?? null,
      description: sim.str(body.description) ?? null,
      instrumentType: sim.str(body.instrument_type) ?? null,
      otherId: null,
      otherIdSource: null,
      metadata: null,
      creationMs: sim.now(),
      modificationMs: sim.now(),
    };
    sim.db.instruments.push(i);
    return json(sim.instrumentOut(ctx, i), ctx.version === 'v2' ? 201 : 200);
  });
  add('GET', 'instruments/search', V2, (ctx) => {
    const q = sim.searchQuery(ctx);
    if (q instanceof Response) return q;
    // Fuzzy and ranked (spec §19.2).
    const hits = rankByName(
      sim.db.instruments,
      (i) => [i.name, i.instrumentType, i.manufacturer],
      q.q,
      q.limit,
    );
    return json({
      items: hits.items.map((i) => sim.instrumentOut(ctx, i)),
      limit: q.limit,
      total: hits.total,
      offset: 0,
    });
  });
  add('GET', 'instruments/{iid}', V2, (ctx) => {
    const i = sim.db.instruments.find((x) => x.uniqueId === ctx.params.iid);
    if (!i) return sim.missingRecord(ctx, `Instrument ${ctx.params.iid}`);
    const inc = sim.includes(ctx);
    if (inc instanceof Response) return inc;
    return json(sim.instrumentOut(ctx, i, inc.metadata));
  });
  add('PATCH', 'instruments/{iid}', V2, async (ctx) => {
    const denied = sim.requireAdmin(ctx);
    if (denied) return denied;
    const i = sim.db.instruments.find((x) => x.uniqueId === ctx.params.iid);
    if (!i) return detail(404, `Instrument ${ctx.params.iid} not found`);
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    if (typeof body.instrument_name === 'string') i.name = body.instrument_name;
    if (body.owner !== undefined) i.owner = sim.str(body.owner) ?? null;
    if (body.location !== undefined) i.location = sim.str(body.location) ?? null;
    if (body.manufacturer !== undefined) i.manufacturer = sim.str(body.manufacturer) ?? null;
    if (body.model !== undefined) i.model = sim.str(body.model) ?? null;
    if (body.instrument_type !== undefined) i.instrumentType = sim.str(body.instrument_type) ?? null;
    if (body.description !== undefined) i.description = sim.str(body.description) ?? null;
    i.modificationMs = sim.now();
    return json(sim.instrumentOut(ctx, i));
  });

  return add.handlers();
};
