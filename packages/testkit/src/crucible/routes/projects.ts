import { ADMIN_ONLY, BOTH, type Ctx, V2 } from '../common.js';
import type { CrucibleSimProject, CrucibleSimUser } from '../model.js';
import { apiRouter } from '../router.js';
import { rankByName } from '../search.js';
import type { CrucibleRoutes } from '../state.js';
import { detail, json, validation } from '../util.js';

/** Projects and their members (spec §4). */
export const projectRoutes: CrucibleRoutes = (sim, mount) => {
  const add = apiRouter(sim, mount);

  // --- projects ---
  const projectMembers = (p: CrucibleSimProject) =>
    [...(sim.db.members.get(p.projectId) ?? [])]
      .filter((o) => o !== p.leadOrcid)
      .map((o) => sim.userByOrcid(o))
      .filter((u): u is CrucibleSimUser => u !== undefined);

  add('GET', 'projects', BOTH, (ctx) => {
    if (ctx.version === 'v1') {
      const denied = sim.requireAdmin(ctx);
      if (denied) return denied;
      const filter = sim.filterFrom<CrucibleSimProject>(ctx, {
        project_id: (p) => p.projectId,
        organization: (p) => p.organization,
        status: (p) => p.status,
        title: (p) => p.title,
        project_lead_email: (p) => p.leadEmail,
      });
      if (filter instanceof Response) return filter;
      return json([...sim.db.projects.values()].filter(filter).map((p) => sim.projectOut(ctx, p)));
    }
    const inc = sim.includes(ctx);
    if (inc instanceof Response) return inc;
    const list = [...sim.db.projects.values()].filter((p) => sim.isMember(ctx.user, p));
    return sim.offsetPage(
      ctx,
      list.map((p) => sim.projectOut(ctx, p, inc.metadata)),
    );
  });
  add('POST', 'projects', BOTH, async (ctx) => {
    const denied = sim.requireAdmin(ctx);
    if (denied) return denied;
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    const pid = body.project_id;
    if (typeof pid !== 'string' || pid === '')
      return validation(['body', 'project_id'], 'Field required', 'missing');
    if (typeof body.organization !== 'string')
      return validation(['body', 'organization'], 'Field required', 'missing');
    const leadOrcid = sim.str(body.project_lead_orcid) ?? null;
    const leadEmail = sim.str(body.project_lead_email) ?? null;
    if (ctx.version === 'v1' ? leadEmail === null : leadEmail === null && leadOrcid === null)
      return validation(['body', 'project_lead_email'], 'Field required', 'missing');
    if (sim.db.projects.has(pid)) return detail(409, `Project ${pid} already exists`);
    const lead =
      leadOrcid !== null ? sim.userByOrcid(leadOrcid) : sim.db.users.find((u) => u.email === leadEmail);
    const p: CrucibleSimProject = {
      id: sim.db.next.project++,
      projectId: pid,
      organization: body.organization,
      title: sim.str(body.title) ?? null,
      status: sim.str(body.status) ?? null,
      leadOrcid: lead?.orcid ?? leadOrcid,
      leadEmail: leadEmail ?? lead?.email ?? null,
      leadName: sim.str(body.project_lead_name) ?? (lead ? `${lead.firstName} ${lead.lastName}` : null),
      metadata: null,
      creationMs: sim.now(),
      modificationMs: sim.now(),
    };
    sim.db.projects.set(pid, p);
    sim.db.members.set(pid, new Set());
    if (lead) lead.groups.add(pid);
    return json(sim.projectOut(ctx, p), ctx.version === 'v2' ? 201 : 200);
  });
  add('GET', 'projects/search', V2, (ctx) => {
    const q = sim.searchQuery(ctx);
    if (q instanceof Response) return q;
    // Fuzzy and ranked (spec §19.2), over every project.
    const hits = rankByName(sim.db.projects.values(), (p) => [p.projectId, p.title], q.q, q.limit);
    return json({
      offset: 0,
      items: hits.items.map((p) => ({
        project_id: p.projectId,
        organization: p.organization,
        title: p.title,
        status: p.status,
      })),
      limit: q.limit,
      total: hits.total,
    });
  });
  add('GET', 'projects/{pid}', BOTH, (ctx) => {
    const p = sim.db.projects.get(ctx.params.pid ?? '');
    if (!p) return sim.missingRecord(ctx, `Project ${ctx.params.pid}`);
    const inc = sim.includes(ctx);
    if (inc instanceof Response) return inc;
    return json(sim.projectOut(ctx, p, inc.metadata));
  });
  add('PATCH', 'projects/{pid}', V2, async (ctx) => {
    const p = sim.db.projects.get(ctx.params.pid ?? '');
    if (!p) return detail(404, `Project ${ctx.params.pid} not found`);
    if (!sim.isLead(ctx.user, p)) return sim.forbidden(ADMIN_ONLY);
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    if (typeof body.title === 'string' || body.title === null) p.title = sim.str(body.title) ?? null;
    if (typeof body.organization === 'string') p.organization = body.organization;
    if (body.status !== undefined) p.status = sim.str(body.status) ?? null;
    if (body.project_lead_email !== undefined) p.leadEmail = sim.str(body.project_lead_email) ?? null;
    if (typeof body.project_lead_orcid === 'string') p.leadOrcid = body.project_lead_orcid;
    if (typeof body.project_lead_username === 'string') {
      const u = sim.db.users.find((x) => x.username === body.project_lead_username);
      if (!u) return detail(404, `User ${body.project_lead_username} not found`);
      p.leadOrcid = u.orcid;
    }
    p.modificationMs = sim.now();
    return json(sim.projectOut(ctx, p));
  });
  const projectForLead = (ctx: Ctx, v1Admin: boolean): CrucibleSimProject | Response => {
    if (ctx.version === 'v1' && v1Admin && !ctx.user.admin) return sim.forbidden(ADMIN_ONLY);
    const p = sim.db.projects.get(ctx.params.pid ?? '');
    if (!p) return detail(404, `Project ${ctx.params.pid} not found`);
    if (!sim.isLead(ctx.user, p)) return sim.forbidden(ADMIN_ONLY);
    return p;
  };
  add('GET', 'projects/{pid}/users', BOTH, (ctx) => {
    const p = projectForLead(ctx, true);
    if (p instanceof Response) return p;
    const list = projectMembers(p).map((u) => sim.userOut(ctx, u));
    return ctx.version === 'v1' ? json(list) : sim.offsetPage(ctx, list);
  });
  const memberTarget = (ctx: Ctx): CrucibleSimUser | Response => {
    const email = ctx.query.get('email');
    const username = ctx.query.get('username');
    const u =
      email !== null
        ? sim.db.users.find((x) => x.email === email)
        : username !== null
          ? sim.db.users.find((x) => x.username === username)
          : sim.userByOrcid(ctx.params.orcid ?? '');
    return u ?? detail(404, `User ${email ?? username ?? ctx.params.orcid} not found`);
  };
  add('POST', 'projects/{pid}/users/{orcid}', BOTH, (ctx) => {
    const p = projectForLead(ctx, true);
    if (p instanceof Response) return p;
    const u = memberTarget(ctx);
    if (u instanceof Response) return u;
    sim.addMember(p.projectId, u);
    return json(projectMembers(p).map((m) => sim.userOut(ctx, m)));
  });
  add('DELETE', 'projects/{pid}/users/{orcid}', V2, (ctx) => {
    const p = projectForLead(ctx, true);
    if (p instanceof Response) return p;
    const u = memberTarget(ctx);
    if (u instanceof Response) return u;
    sim.db.members.get(p.projectId)?.delete(u.orcid);
    if (p.leadOrcid !== u.orcid) u.groups.delete(p.projectId);
    return json({ message: `Removed ${u.orcid} from ${p.projectId}` });
  });

  return add.handlers();
};
