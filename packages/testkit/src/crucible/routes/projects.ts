import { ADMIN_ONLY, BOTH, type Ctx, V2 } from '../common.js';
import type { CrucibleSimProject, CrucibleSimUser } from '../model.js';
import { apiRouter } from '../router.js';
import type { CrucibleRoutes } from '../state.js';
import { detail, json, validation } from '../util.js';

/** Projects and their members (spec §4). */
export const projectRoutes: CrucibleRoutes = (sim, mount) => {
  const {
    now,
    db,
    userByOrcid,
    isMember,
    isLead,
    forbidden,
    requireAdmin,
    missingRecord,
    userOut,
    projectOut,
    includes,
    filterFrom,
    offsetPage,
    readObject,
    str,
    searchQuery,
    addMember,
  } = sim;
  const add = apiRouter(sim, mount);

  // --- projects ---
  const projectMembers = (p: CrucibleSimProject) =>
    [...(db.members.get(p.projectId) ?? [])]
      .filter((o) => o !== p.leadOrcid)
      .map((o) => userByOrcid(o))
      .filter((u): u is CrucibleSimUser => u !== undefined);

  add('GET', 'projects', BOTH, (ctx) => {
    if (ctx.version === 'v1') {
      const denied = requireAdmin(ctx);
      if (denied) return denied;
      const filter = filterFrom<CrucibleSimProject>(ctx, {
        project_id: (p) => p.projectId,
        organization: (p) => p.organization,
        status: (p) => p.status,
        title: (p) => p.title,
        project_lead_email: (p) => p.leadEmail,
      });
      if (filter instanceof Response) return filter;
      return json([...db.projects.values()].filter(filter).map((p) => projectOut(ctx, p)));
    }
    const inc = includes(ctx);
    if (inc instanceof Response) return inc;
    const list = [...db.projects.values()].filter((p) => isMember(ctx.user, p));
    return offsetPage(
      ctx,
      list.map((p) => projectOut(ctx, p, inc.metadata)),
    );
  });
  add('POST', 'projects', BOTH, async (ctx) => {
    const denied = requireAdmin(ctx);
    if (denied) return denied;
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    const pid = body.project_id;
    if (typeof pid !== 'string' || pid === '')
      return validation(['body', 'project_id'], 'Field required', 'missing');
    if (typeof body.organization !== 'string')
      return validation(['body', 'organization'], 'Field required', 'missing');
    const leadOrcid = str(body.project_lead_orcid) ?? null;
    const leadEmail = str(body.project_lead_email) ?? null;
    if (ctx.version === 'v1' ? leadEmail === null : leadEmail === null && leadOrcid === null)
      return validation(['body', 'project_lead_email'], 'Field required', 'missing');
    if (db.projects.has(pid)) return detail(409, `Project ${pid} already exists`);
    const lead = leadOrcid !== null ? userByOrcid(leadOrcid) : db.users.find((u) => u.email === leadEmail);
    const p: CrucibleSimProject = {
      id: db.next.project++,
      projectId: pid,
      organization: body.organization,
      title: str(body.title) ?? null,
      status: str(body.status) ?? null,
      leadOrcid: lead?.orcid ?? leadOrcid,
      leadEmail: leadEmail ?? lead?.email ?? null,
      leadName: str(body.project_lead_name) ?? (lead ? `${lead.firstName} ${lead.lastName}` : null),
      metadata: null,
      creationMs: now(),
      modificationMs: now(),
    };
    db.projects.set(pid, p);
    db.members.set(pid, new Set());
    if (lead) lead.groups.add(pid);
    return json(projectOut(ctx, p), ctx.version === 'v2' ? 201 : 200);
  });
  add('GET', 'projects/search', V2, (ctx) => {
    const q = searchQuery(ctx);
    if (q instanceof Response) return q;
    const hits = [...db.projects.values()].filter(
      (p) => p.projectId.toLowerCase().includes(q.q) || (p.title ?? '').toLowerCase().includes(q.q),
    );
    return json({
      items: hits.slice(0, q.limit).map((p) => ({
        project_id: p.projectId,
        organization: p.organization,
        title: p.title,
        status: p.status,
      })),
      limit: q.limit,
      total: hits.length,
    });
  });
  add('GET', 'projects/{pid}', BOTH, (ctx) => {
    const p = db.projects.get(ctx.params.pid ?? '');
    if (!p) return missingRecord(ctx, `Project ${ctx.params.pid}`);
    const inc = includes(ctx);
    if (inc instanceof Response) return inc;
    return json(projectOut(ctx, p, inc.metadata));
  });
  add('PATCH', 'projects/{pid}', V2, async (ctx) => {
    const p = db.projects.get(ctx.params.pid ?? '');
    if (!p) return detail(404, `Project ${ctx.params.pid} not found`);
    if (!isLead(ctx.user, p)) return forbidden(ADMIN_ONLY);
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    if (typeof body.title === 'string' || body.title === null) p.title = str(body.title) ?? null;
    if (typeof body.organization === 'string') p.organization = body.organization;
    if (body.status !== undefined) p.status = str(body.status) ?? null;
    if (body.project_lead_email !== undefined) p.leadEmail = str(body.project_lead_email) ?? null;
    if (typeof body.project_lead_orcid === 'string') p.leadOrcid = body.project_lead_orcid;
    if (typeof body.project_lead_username === 'string') {
      const u = db.users.find((x) => x.username === body.project_lead_username);
      if (!u) return detail(404, `User ${body.project_lead_username} not found`);
      p.leadOrcid = u.orcid;
    }
    p.modificationMs = now();
    return json(projectOut(ctx, p));
  });
  const projectForLead = (ctx: Ctx, v1Admin: boolean): CrucibleSimProject | Response => {
    if (ctx.version === 'v1' && v1Admin && !ctx.user.admin) return forbidden(ADMIN_ONLY);
    const p = db.projects.get(ctx.params.pid ?? '');
    if (!p) return detail(404, `Project ${ctx.params.pid} not found`);
    if (!isLead(ctx.user, p)) return forbidden(ADMIN_ONLY);
    return p;
  };
  add('GET', 'projects/{pid}/users', BOTH, (ctx) => {
    const p = projectForLead(ctx, true);
    if (p instanceof Response) return p;
    const list = projectMembers(p).map((u) => userOut(ctx, u));
    return ctx.version === 'v1' ? json(list) : offsetPage(ctx, list);
  });
  const memberTarget = (ctx: Ctx): CrucibleSimUser | Response => {
    const email = ctx.query.get('email');
    const username = ctx.query.get('username');
    const u =
      email !== null
        ? db.users.find((x) => x.email === email)
        : username !== null
          ? db.users.find((x) => x.username === username)
          : userByOrcid(ctx.params.orcid ?? '');
    return u ?? detail(404, `User ${email ?? username ?? ctx.params.orcid} not found`);
  };
  add('POST', 'projects/{pid}/users/{orcid}', BOTH, (ctx) => {
    const p = projectForLead(ctx, true);
    if (p instanceof Response) return p;
    const u = memberTarget(ctx);
    if (u instanceof Response) return u;
    addMember(p.projectId, u);
    return json(projectMembers(p).map((m) => userOut(ctx, m)));
  });
  add('DELETE', 'projects/{pid}/users/{orcid}', V2, (ctx) => {
    const p = projectForLead(ctx, true);
    if (p instanceof Response) return p;
    const u = memberTarget(ctx);
    if (u instanceof Response) return u;
    db.members.get(p.projectId)?.delete(u.orcid);
    if (p.leadOrcid !== u.orcid) u.groups.delete(p.projectId);
    return json({ message: `Removed ${u.orcid} from ${p.projectId}` });
  });

  return add.handlers();
};
