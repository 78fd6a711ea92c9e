import { ADMIN_ONLY, type Ctx, type Version } from './common.js';
import type {
  AclEntry,
  CrucibleSimDataset,
  CrucibleSimProject,
  CrucibleSimSample,
  CrucibleSimUser,
} from './model.js';
import type { CrucibleSimState } from './state.js';
import { detail, json } from './util.js';

/** Lookups and access rules (spec §2: who may read and write what), and API-key authentication. */
export function createAccess(sim: CrucibleSimState) {
  const { badKey, missingAsNull, db, stats } = sim;

  const userByOrcid = (orcid: string | null) =>
    orcid === null ? undefined : db.users.find((u) => u.orcid === orcid);
  const instrumentByName = (name: string | null) =>
    name === null ? undefined : db.instruments.find((i) => i.name.toLowerCase() === name.toLowerCase());
  const groupId = (name: string) => {
    let id = db.groupIds.get(name);
    if (id === undefined) {
      id = db.next.group++;
      db.groupIds.set(name, id);
    }
    return id;
  };

  function datasetAcl(ds: CrucibleSimDataset): Map<string, AclEntry> {
    const acl = new Map<string, AclEntry>();
    acl.set(ds.ownerOrcid, { read: true, write: true });
    if (ds.projectId !== null) acl.set(ds.projectId, { read: true, write: true });
    if (ds.instrumentName !== null && !acl.has(ds.instrumentName))
      acl.set(ds.instrumentName, { read: true, write: false });
    for (const [g, e] of ds.acl ?? []) acl.set(g, e);
    return acl;
  }

  const grants = (u: CrucibleSimUser, ds: CrucibleSimDataset, what: 'read' | 'write') => {
    if (u.admin) return true;
    if (u.groups.has(ds.ownerOrcid)) return true;
    if (ds.projectId !== null && u.groups.has(ds.projectId)) return true;
    if (what === 'read' && ds.instrumentName !== null && u.groups.has(ds.instrumentName)) return true;
    if (ds.acl) for (const [g, e] of ds.acl) if (e[what] && u.groups.has(g)) return true;
    return false;
  };
  const canRead = (u: CrucibleSimUser, ds: CrucibleSimDataset) => ds.public || grants(u, ds, 'read');
  const canWrite = (u: CrucibleSimUser, ds: CrucibleSimDataset) => grants(u, ds, 'write');
  const sampleWrite = (u: CrucibleSimUser, s: CrucibleSimSample) =>
    u.admin || u.groups.has(s.ownerOrcid) || (s.projectId !== null && u.groups.has(s.projectId));
  const sampleRead = (u: CrucibleSimUser, s: CrucibleSimSample) => s.public || sampleWrite(u, s);
  const isMember = (u: CrucibleSimUser, p: CrucibleSimProject) =>
    u.admin || p.leadOrcid === u.orcid || (db.members.get(p.projectId)?.has(u.orcid) ?? false);
  const isLead = (u: CrucibleSimUser, p: CrucibleSimProject) => u.admin || p.leadOrcid === u.orcid;

  const forbidden = (message: string) => {
    stats.forbidden += 1;
    return detail(403, message);
  };
  const requireAdmin = (ctx: Ctx) => (ctx.user.admin ? undefined : forbidden(ADMIN_ONLY));

  /** A dataset for a sub-resource: 404 when missing, 403 when not allowed. */
  function dataset(ctx: Ctx, id: string | undefined, need: 'read' | 'write'): CrucibleSimDataset | Response {
    const ds = id === undefined ? undefined : db.datasetById.get(id);
    if (!ds) return detail(404, `Dataset ${id} not found`);
    if (need === 'read' && !canRead(ctx.user, ds))
      return forbidden(`You do not have permission to read dataset ${ds.uniqueId}`);
    if (need === 'write' && !canWrite(ctx.user, ds))
      return forbidden(`You do not have permission to modify dataset ${ds.uniqueId}`);
    return ds;
  }

  function sample(ctx: Ctx, id: string | undefined, need: 'read' | 'write'): CrucibleSimSample | Response {
    const s = id === undefined ? undefined : db.sampleById.get(id);
    if (!s) return detail(404, `Sample ${id} not found`);
    if (need === 'read' && !sampleRead(ctx.user, s))
      return forbidden(`You do not have permission to read sample ${s.uniqueId}`);
    if (need === 'write' && !sampleWrite(ctx.user, s))
      return forbidden(`You do not have permission to modify sample ${s.uniqueId}`);
    return s;
  }

  /** The answer for a record GET of something missing: v1 200 `null`; v2 404 or `null` (option). */
  const missingRecord = (ctx: Ctx, what: string) =>
    ctx.version === 'v1' || missingAsNull ? json(null) : detail(404, `${what} not found`);

  function authenticate(request: Request, version: Version): CrucibleSimUser | Response {
    const header = request.headers.get('authorization');
    const m = header === null ? null : /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
    if (m === null) {
      stats.authFailures += 1;
      return detail(401, 'Not authenticated', { 'www-authenticate': 'Bearer' });
    }
    const u = db.users.find((x) => x.apiKey !== null && x.apiKey === m[1]);
    if (!u) {
      stats.authFailures += 1;
      const status = badKey[version];
      return detail(
        status,
        version === 'v1' ? 'No account found for this API key' : 'Invalid or expired API key',
        status === 401 ? { 'www-authenticate': 'Bearer' } : {},
      );
    }
    return u;
  }
  return {
    userByOrcid,
    instrumentByName,
    groupId,
    datasetAcl,
    grants,
    canRead,
    canWrite,
    sampleWrite,
    sampleRead,
    isMember,
    isLead,
    forbidden,
    requireAdmin,
    dataset,
    sample,
    missingRecord,
    authenticate,
  };
}

export type Access = ReturnType<typeof createAccess>;
