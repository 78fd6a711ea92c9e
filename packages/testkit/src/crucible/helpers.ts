import type { Access } from './access.js';
import type { Ctx } from './common.js';
import type { CrucibleSimDataset, CrucibleSimFile, CrucibleSimUser } from './model.js';
import type { Query } from './query.js';
import type { Serializers } from './serialize.js';
import type { CrucibleSimState } from './state.js';
import { detail, type JsonObject, json, parseBool, validation } from './util.js';

/** Helpers that several route modules share: members, owners, files, access groups. */
export function createHelpers(sim: CrucibleSimState & Access & Serializers & Query) {
  const { db, userByOrcid, groupId, datasetAcl, forbidden, dataset, str } = sim;
  function addMember(pid: string, u: CrucibleSimUser): void {
    const set = db.members.get(pid) ?? new Set<string>();
    set.add(u.orcid);
    db.members.set(pid, set);
    u.groups.add(pid);
  }

  function pickOwner(ctx: Ctx, body: JsonObject): string | Response {
    const requested = str(body.owner_orcid) ?? null;
    if (requested === null || requested === ctx.user.orcid) return ctx.user.orcid;
    if (!ctx.user.admin) return forbidden('Only admins may create records owned by another user');
    if (!userByOrcid(requested)) return detail(404, `User ${requested} not found`);
    return requested;
  }

  const fileFor = (
    ctx: Ctx,
    need: 'read' | 'write',
  ): { f: CrucibleSimFile; ds: CrucibleSimDataset } | Response => {
    const f = db.files.get(ctx.params.mfid ?? '');
    if (!f) return detail(404, `File ${ctx.params.mfid} not found`);
    const ds = dataset(ctx, f.datasetId, need);
    return ds instanceof Response ? ds : { f, ds };
  };

  function aclGet(ds: CrucibleSimDataset): Response {
    return json(
      [...datasetAcl(ds)].map(([group_name, e]) => ({ group_name, id: groupId(group_name), ...e })),
    );
  }

  function aclAdd(ctx: Ctx, ds: CrucibleSimDataset): Response {
    const group = ctx.query.get('group_name');
    if (!group) return validation(['query', 'group_name'], 'Field required', 'missing');
    const read = ctx.query.get('read');
    const write = ctx.query.get('write');
    const entry = {
      read: read === null ? true : parseBool(read) === true,
      write: write !== null && parseBool(write) === true,
    };
    ds.acl ??= new Map();
    ds.acl.set(group, entry);
    return json({ group_name: group, id: groupId(group), resource_id: ds.uniqueId, ...entry });
  }

  return { addMember, pickOwner, fileFor, aclGet, aclAdd };
}

export type Helpers = ReturnType<typeof createHelpers>;
