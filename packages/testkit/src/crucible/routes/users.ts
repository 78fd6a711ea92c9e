import { ADMIN_ONLY, BOTH, type Ctx, V2 } from '../common.js';
import type { CrucibleSimUser } from '../model.js';
import { apiRouter } from '../router.js';
import { rankByName } from '../search.js';
import type { CrucibleRoutes } from '../state.js';
import {
  detail,
  isObject,
  type JsonObject,
  type JsonValue,
  json,
  mfid,
  naiveIso,
  parseBool,
  token,
  validation,
} from '../util.js';

/** The account (v1, v2), users, and service accounts (v2) (spec §3, §15). */
export const userRoutes: CrucibleRoutes = (sim, mount) => {
  const add = apiRouter(sim, mount);

  // --- account, health ---
  add('GET', 'account', BOTH, (ctx) => {
    const u = ctx.user;
    const ids = [...u.groups].map(sim.groupId);
    if (ctx.version === 'v1') {
      return json({
        user_info: u.serviceAccount ? null : sim.userV1(u),
        access_group_name: u.orcid,
        access_group_ids: ids,
      });
    }
    return json({ user_unique_id: u.orcid, access_group_ids: ids, user_info: sim.userV2(u, true) });
  });
  add('GET', 'account/profile', V2, (ctx) => json(sim.userV2(ctx.user, true)));
  add('PATCH', 'account/profile', V2, async (ctx) => {
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    if ('is_service_account' in body)
      return validation(['body', 'is_service_account'], 'Extra inputs are not permitted', 'extra_forbidden');
    const applied = applyUserFields(ctx.user, body);
    return applied ?? json(sim.userV2(ctx.user, true));
  });
  add('GET', 'account/apikey', V2, (ctx) =>
    ctx.user.apiKey === null
      ? detail(404, 'No API key found for this account')
      : json({ api_key: ctx.user.apiKey }),
  );
  add('GET', 'account/verify', V2, (ctx) =>
    json({
      valid: true,
      created_at: naiveIso(ctx.user.keyCreatedMs),
      expires_at: naiveIso(ctx.user.keyCreatedMs + 365 * 86_400_000),
    }),
  );

  function applyUserFields(u: CrucibleSimUser, body: JsonObject): Response | undefined {
    if ('username' in body) {
      const name = body.username;
      if (name !== null && (typeof name !== 'string' || !/^[a-z0-9_-]+$/.test(name)))
        return validation(
          ['body', 'username'],
          'Usernames use lowercase letters, digits, - and _',
          'string_pattern_mismatch',
        );
      if (name !== null && sim.db.users.some((o) => o !== u && o.username === name))
        return detail(409, `Username ${name} is taken`);
      u.username = name;
    }
    for (const [key, set] of [
      ['first_name', (v: string) => (u.firstName = v)],
      ['last_name', (v: string) => (u.lastName = v)],
    ] as const) {
      const v = body[key];
      if (typeof v === 'string') set(v);
    }
    if ('email' in body) u.email = sim.str(body.email) ?? null;
    if (typeof body.is_service_account === 'boolean') u.serviceAccount = body.is_service_account;
    return undefined;
  }

  // --- users ---
  add('GET', 'users', BOTH, (ctx) => {
    const denied = sim.requireAdmin(ctx);
    if (denied) return denied;
    const email = ctx.query.get('email');
    const lbl = ctx.query.get('lbl_email');
    const svc = ctx.query.get('is_service_account');
    const svcBool = svc === null ? undefined : parseBool(svc);
    const list = sim.db.users.filter(
      (u) =>
        (email === null || u.email === email) &&
        (lbl === null || u.lblEmail === lbl) &&
        (svcBool === undefined || u.serviceAccount === svcBool),
    );
    return ctx.version === 'v1'
      ? json(list.map(sim.userV1))
      : sim.offsetPage(
          ctx,
          list.map((u) => sim.userV2(u, true)),
        );
  });
  add('POST', 'users', BOTH, async (ctx) => {
    const denied = sim.requireAdmin(ctx);
    if (denied) return denied;
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    const info = body.user_info;
    if (!isObject(info) || typeof info.orcid !== 'string' || info.orcid === '')
      return validation(['body', 'user_info', 'orcid'], 'Field required', 'missing');
    let u = sim.userByOrcid(info.orcid);
    if (!u) {
      u = {
        id: 40 + sim.db.next.user++,
        orcid: info.orcid,
        username: null,
        firstName: sim.str(info.first_name) ?? '',
        lastName: sim.str(info.last_name) ?? '',
        email: null,
        lblEmail: null,
        employeeNumber: null,
        apiKey: null,
        admin: false,
        serviceAccount: false,
        groups: new Set([info.orcid]),
        keyCreatedMs: sim.now(),
      };
      sim.db.users.push(u);
    }
    if (typeof info.first_name === 'string') u.firstName = info.first_name;
    if (typeof info.last_name === 'string') u.lastName = info.last_name;
    if (info.email !== undefined) u.email = sim.str(info.email) ?? null;
    if (info.lbl_email !== undefined) u.lblEmail = sim.str(info.lbl_email) ?? null;
    if (info.employee_number !== undefined) u.employeeNumber = sim.str(info.employee_number) ?? null;
    if (typeof info.is_service_account === 'boolean') u.serviceAccount = info.is_service_account;
    if (Array.isArray(body.project_ids)) {
      for (const pid of body.project_ids) {
        if (typeof pid === 'string' && sim.db.projects.has(pid)) sim.addMember(pid, u);
      }
    }
    return json(sim.userOut(ctx, u), ctx.version === 'v2' ? 201 : 200);
  });
  add('GET', 'users/search', V2, (ctx) => {
    const q = sim.searchQuery(ctx);
    if (q instanceof Response) return q;
    // Fuzzy and ranked (spec §19.2); a bare array.
    const hits = rankByName(sim.db.users, (u) => [u.username, u.firstName, u.lastName], q.q, q.limit);
    return json(hits.items.map((u) => sim.userV2(u, false)));
  });
  add('POST', 'users/resolve', V2, async (ctx) => {
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    const out: Record<string, unknown> = {};
    const list = (v: JsonValue | undefined) =>
      Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
    for (const orcid of list(body.orcids)) {
      const u = sim.userByOrcid(orcid as string);
      out[orcid as string] = u ? sim.userV2(u, false) : null;
    }
    for (const name of list(body.usernames)) {
      const u = sim.db.users.find((x) => x.username === name);
      out[u ? u.orcid : (name as string)] = u ? sim.userV2(u, false) : null;
    }
    for (const email of list(body.emails)) {
      const u = sim.db.users.find((x) => x.email === email);
      out[u ? u.orcid : (email as string)] = u ? sim.userV2(u, false) : null;
    }
    return json(out);
  });
  add('GET', 'users/by-username/{username}', V2, (ctx) => {
    const u = sim.db.users.find((x) => x.username === ctx.params.username);
    return u ? json(sim.userV2(u, false)) : detail(404, `User ${ctx.params.username} not found`);
  });
  add('GET', 'users/{orcid}', BOTH, (ctx) => {
    const denied = sim.requireAdmin(ctx);
    if (denied) return denied;
    const u = sim.userByOrcid(ctx.params.orcid ?? '');
    return u ? json(sim.userOut(ctx, u)) : sim.missingRecord(ctx, `User ${ctx.params.orcid}`);
  });
  add('PATCH', 'users/{orcid}', V2, async (ctx) => {
    const denied = sim.requireAdmin(ctx);
    if (denied) return denied;
    const u = sim.userByOrcid(ctx.params.orcid ?? '');
    if (!u) return detail(404, `User ${ctx.params.orcid} not found`);
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    return applyUserFields(u, body) ?? json(sim.userV2(u, true));
  });
  const selfOrAdmin = (ctx: Ctx): CrucibleSimUser | Response => {
    const u = sim.userByOrcid(ctx.params.orcid ?? '');
    if (!ctx.user.admin && ctx.user.orcid !== ctx.params.orcid) return sim.forbidden(ADMIN_ONLY);
    return u ?? detail(404, `User ${ctx.params.orcid} not found`);
  };
  add('GET', 'users/{orcid}/projects', BOTH, (ctx) => {
    const u = selfOrAdmin(ctx);
    if (u instanceof Response) return u;
    const list = [...sim.db.projects.values()].filter(
      (p) => sim.isMember(u, p) && (!u.admin || u.groups.has(p.projectId)),
    );
    const out = list.map((p) => sim.projectOut(ctx, p));
    return ctx.version === 'v1' ? json(out) : sim.offsetPage(ctx, out);
  });
  add('GET', 'users/{orcid}/datasets', BOTH, (ctx) => {
    const u = selfOrAdmin(ctx);
    if (u instanceof Response) return u;
    return json(sim.db.datasets.filter((d) => sim.grants(u, d, 'read')).map((d) => d.uniqueId));
  });
  add('GET', 'users/{orcid}/datasets/{dsid}', BOTH, (ctx) => {
    const u = selfOrAdmin(ctx);
    if (u instanceof Response) return u;
    const ds = sim.db.datasetById.get(ctx.params.dsid ?? '');
    if (!ds) return detail(404, `Dataset ${ctx.params.dsid} not found`);
    return json({ read: sim.canRead(u, ds), write: sim.canWrite(u, ds) });
  });
  add('GET', 'users/{orcid}/access_groups', BOTH, (ctx) => {
    const u = selfOrAdmin(ctx);
    if (u instanceof Response) return u;
    return json([...u.groups]);
  });
  add('POST', 'users/{orcid}/access_groups/{group}', BOTH, (ctx) => {
    const denied = sim.requireAdmin(ctx);
    if (denied) return denied;
    const u = sim.userByOrcid(ctx.params.orcid ?? '');
    if (!u) return detail(404, `User ${ctx.params.orcid} not found`);
    const group = ctx.params.group ?? '';
    u.groups.add(group);
    return json({
      group_name: group,
      id: sim.groupId(group),
      members: sim.db.users.filter((x) => x.groups.has(group)).map((x) => x.orcid),
    });
  });
  add('DELETE', 'users/{orcid}/access_groups/{group}', BOTH, (ctx) => {
    const denied = sim.requireAdmin(ctx);
    if (denied) return denied;
    const u = sim.userByOrcid(ctx.params.orcid ?? '');
    if (!u) return detail(404, `User ${ctx.params.orcid} not found`);
    u.groups.delete(ctx.params.group ?? '');
    return json({ message: `Removed ${u.orcid} from ${ctx.params.group}` });
  });
  add('POST', 'service_accounts', V2, async (ctx) => {
    const denied = sim.requireAdmin(ctx);
    if (denied) return denied;
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    if (typeof body.username !== 'string' || !/^[a-z0-9_-]+$/.test(body.username))
      return validation(['body', 'username'], 'Field required', 'missing');
    const uid = typeof body.unique_id === 'string' ? body.unique_id : mfid(sim.db.random, sim.now());
    if (sim.db.users.some((u) => u.username === body.username || u.orcid === uid))
      return detail(409, 'A user with this username or id exists');
    const u: CrucibleSimUser = {
      id: 40 + sim.db.next.user++,
      orcid: uid,
      username: body.username,
      firstName: body.username,
      lastName: 'service account',
      email: null,
      lblEmail: null,
      employeeNumber: null,
      apiKey: `crk_svc_${token(sim.db.random, 36)}`,
      admin: false,
      serviceAccount: true,
      groups: new Set([uid]),
      keyCreatedMs: sim.now(),
    };
    sim.db.users.push(u);
    return json(
      { unique_id: u.orcid, username: u.username, is_service_account: true, api_key: u.apiKey },
      201,
    );
  });
  add('POST', 'service_accounts/{uid}/rotate_key', V2, (ctx) => {
    const denied = sim.requireAdmin(ctx);
    if (denied) return denied;
    const u = sim.userByOrcid(ctx.params.uid ?? '');
    if (!u?.serviceAccount) return detail(404, `Service account ${ctx.params.uid} not found`);
    u.apiKey = `crk_svc_${token(sim.db.random, 36)}`;
    u.keyCreatedMs = sim.now();
    return json({ unique_id: u.orcid, username: u.username, is_service_account: true, api_key: u.apiKey });
  });

  return add.handlers();
};
