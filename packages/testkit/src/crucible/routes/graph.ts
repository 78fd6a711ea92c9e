import { ADMIN_ONLY, type Ctx, V2 } from '../common.js';
import type { CrucibleSimProject } from '../model.js';
import { apiRouter } from '../router.js';
import type { CrucibleRoutes, CrucibleSim } from '../state.js';
import { detail, json, naiveIso, validation } from '../util.js';

/**
 * Graphs and project membership requests (spec §19.4, §19.8, §16.3):
 *
 * - `GET /entity_graph_cte/{id}`: the node-link graph around a dataset or sample, first-degree neighbours and
 *   the edges among them, or with `recursive=true` the whole connected component. Edges: dataset parent →
 *   child, sample parent → child, and sample → dataset for a dataset's samples (the direction upstream leaves
 *   open). Only resources the caller may read appear; a walk does not cross an unreadable one.
 * - `GET /project_graph/{pid}`: every dataset and sample of the project and the edges among them (members).
 * - `POST /access_groups/{group}/join`, `GET /join_requests`, `PATCH /join_requests/{id}`.
 */

type NodeKind = 'dataset' | 'sample';
interface GraphNode {
  id: string;
  name: string | null;
  entity_type: NodeKind;
  project_id: string | null;
}

interface JoinRequest {
  id: number;
  group_name: string;
  requester_id: string;
  reason: string | null;
  status: 'pending' | 'approved' | 'rejected';
  request_time: string;
  review_time: string | null;
  reviewer_id: string | null;
  reviewer_notes: string | null;
}

/**
 * Join requests per seeded state: keyed by the state's `projects` map, which `reset()` replaces, so a reset
 * forgets them without a field in the shared model.
 */
const joinRequests = new WeakMap<object, JoinRequest[]>();
function requestsOf(sim: CrucibleSim): JoinRequest[] {
  let list = joinRequests.get(sim.db.projects);
  if (!list) {
    list = [];
    joinRequests.set(sim.db.projects, list);
  }
  return list;
}

function nodeOf(sim: CrucibleSim, ctx: Ctx, id: string): GraphNode | undefined {
  const ds = sim.db.datasetById.get(id);
  if (ds) {
    if (!sim.canRead(ctx.user, ds)) return undefined;
    return { id, name: ds.datasetName, entity_type: 'dataset', project_id: ds.projectId };
  }
  const s = sim.db.sampleById.get(id);
  if (s) {
    if (!sim.sampleRead(ctx.user, s)) return undefined;
    return { id, name: s.sampleName, entity_type: 'sample', project_id: s.projectId };
  }
  return undefined;
}

/** The stored edges touching `id`, each `[source, target]`. */
function edgesOf(sim: CrucibleSim, id: string): Array<[string, string]> {
  const { db } = sim;
  const out: Array<[string, string]> = [];
  for (const c of db.datasetChildren.get(id) ?? []) out.push([id, c]);
  for (const p of db.datasetParents.get(id) ?? []) out.push([p, id]);
  for (const c of db.sampleChildren.get(id) ?? []) out.push([id, c]);
  for (const p of db.sampleParents.get(id) ?? []) out.push([p, id]);
  for (const s of db.datasetSamples.get(id) ?? []) out.push([s, id]);
  for (const d of db.sampleDatasets.get(id) ?? []) out.push([id, d]);
  return out;
}

function nodeLink(sim: CrucibleSim, nodes: Map<string, GraphNode>) {
  const seen = new Set<string>();
  const edges: Array<{ source: string; target: string }> = [];
  for (const id of nodes.keys()) {
    for (const [source, target] of edgesOf(sim, id)) {
      const key = `${source}\u0000${target}`;
      if (seen.has(key) || !nodes.has(source) || !nodes.has(target)) continue;
      seen.add(key);
      edges.push({ source, target });
    }
  }
  return { directed: true, multigraph: false, graph: {}, nodes: [...nodes.values()], edges };
}

export const graphRoutes: CrucibleRoutes = (sim, mount) => {
  const add = apiRouter(sim, mount);

  add('GET', 'entity_graph_cte/{id}', V2, (ctx) => {
    const id = ctx.params.id ?? '';
    const ds = sim.db.datasetById.get(id);
    const s = sim.db.sampleById.get(id);
    if (!ds && !s) return detail(404, `Resource ${id} not found`);
    const root = nodeOf(sim, ctx, id);
    if (!root) return sim.forbidden(`You do not have permission to read ${ds ? 'dataset' : 'sample'} ${id}`);
    const recursive = ctx.query.get('recursive')?.toLowerCase() === 'true';
    const nodes = new Map<string, GraphNode>([[id, root]]);
    const queue = [id];
    while (queue.length > 0) {
      const at = queue.shift() as string;
      for (const [source, target] of edgesOf(sim, at)) {
        const other = source === at ? target : source;
        if (nodes.has(other)) continue;
        const node = nodeOf(sim, ctx, other);
        if (!node) continue;
        nodes.set(other, node);
        if (recursive) queue.push(other);
      }
    }
    return json(nodeLink(sim, nodes));
  });

  add('GET', 'project_graph/{pid}', V2, (ctx) => {
    const p = sim.db.projects.get(ctx.params.pid ?? '');
    if (!p) return detail(404, `Project ${ctx.params.pid} not found`);
    if (!sim.isMember(ctx.user, p)) return sim.forbidden(`You are not a member of project ${p.projectId}`);
    const nodes = new Map<string, GraphNode>();
    for (const s of sim.db.samples)
      if (s.projectId === p.projectId)
        nodes.set(s.uniqueId, {
          id: s.uniqueId,
          name: s.sampleName,
          entity_type: 'sample',
          project_id: s.projectId,
        });
    for (const d of sim.db.datasets)
      if (d.projectId === p.projectId)
        nodes.set(d.uniqueId, {
          id: d.uniqueId,
          name: d.datasetName,
          entity_type: 'dataset',
          project_id: d.projectId,
        });
    return json(nodeLink(sim, nodes));
  });

  // --- join requests (§16.3) ---
  add('POST', 'access_groups/{group}/join', V2, async (ctx) => {
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    if (body.reason !== undefined && body.reason !== null && typeof body.reason !== 'string')
      return validation(['body', 'reason'], 'Input should be a valid string');
    const p = sim.db.projects.get(ctx.params.group ?? '');
    if (!p) return detail(404, `Access group ${ctx.params.group} not found`);
    if (sim.isMember(ctx.user, p) && !ctx.user.admin)
      return detail(409, `You are already a member of ${p.projectId}`);
    const list = requestsOf(sim);
    if (
      list.some(
        (r) => r.group_name === p.projectId && r.requester_id === ctx.user.orcid && r.status === 'pending',
      )
    )
      return detail(409, `You already have a pending request to join ${p.projectId}`);
    const r: JoinRequest = {
      id: list.length + 1,
      group_name: p.projectId,
      requester_id: ctx.user.orcid,
      reason: typeof body.reason === 'string' ? body.reason : null,
      status: 'pending',
      request_time: naiveIso(sim.now() + list.length),
      review_time: null,
      reviewer_id: null,
      reviewer_notes: null,
    };
    list.push(r);
    return json(r, 201);
  });

  add('GET', 'join_requests', V2, (ctx) => {
    const group = ctx.query.get('group_name');
    const status = ctx.query.get('status');
    const requester = ctx.query.get('requester_id');
    let lead: CrucibleSimProject | undefined;
    if (!ctx.user.admin) {
      lead = group === null ? undefined : sim.db.projects.get(group);
      if (!lead || !sim.isLead(ctx.user, lead)) return sim.forbidden(ADMIN_ONLY);
    }
    if (status !== null && !['pending', 'approved', 'rejected'].includes(status))
      return validation(['query', 'status'], "Input should be 'pending', 'approved' or 'rejected'");
    const hits = requestsOf(sim)
      .filter(
        (r) =>
          (group === null || r.group_name === group) &&
          (status === null || r.status === status) &&
          (requester === null || r.requester_id === requester),
      )
      .reverse();
    return sim.offsetPage(ctx, hits);
  });

  add('PATCH', 'join_requests/{id}', V2, async (ctx) => {
    const r = requestsOf(sim).find((x) => String(x.id) === ctx.params.id);
    if (!r) return detail(404, `Join request ${ctx.params.id} not found`);
    const p = sim.db.projects.get(r.group_name);
    if (!p || !sim.isLead(ctx.user, p)) return sim.forbidden(ADMIN_ONLY);
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    if (body.status !== 'approved' && body.status !== 'rejected')
      return validation(['body', 'status'], "Input should be 'approved' or 'rejected'");
    if (r.status !== 'pending') return detail(409, `Join request ${r.id} was already ${r.status}`);
    r.status = body.status;
    r.review_time = naiveIso(sim.now());
    r.reviewer_id = ctx.user.orcid;
    r.reviewer_notes = typeof body.reviewer_notes === 'string' ? body.reviewer_notes : null;
    if (r.status === 'approved') {
      const u = sim.userByOrcid(r.requester_id);
      if (u) sim.addMember(p.projectId, u);
    }
    return json(r);
  });

  return add.handlers();
};
