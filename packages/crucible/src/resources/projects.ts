import {
  ConflictError,
  type ListOptions,
  NotFoundError,
  type PageIterable,
  type RequestOptions,
  requestOptions,
  UsageError,
} from '@sciport/core';
import { z } from 'zod';
import { body, type Context, call, getRecord, id } from '../internal/context.js';
import { arrayList, offsetList, offsetOrArrayList } from '../internal/lists.js';
import { readMetadata, setMetadata, v2Only } from '../internal/metadata.js';
import { type SearchOptions, searchList } from '../internal/search.js';
import { type CrucibleProject, projectSchema } from '../schemas/catalog.js';
import { itemsOf } from '../schemas/common.js';
import {
  type CrucibleGraph,
  type CrucibleJoinRequest,
  graphSchema,
  joinRequestSchema,
} from '../schemas/graph.js';
import { accountSchema, type CrucibleUser, userSchema } from '../schemas/users.js';

/** Fields of a project (spec §5.1, §16.3). */
export interface ProjectInput {
  projectId: string;
  organization: string;
  title?: string;
  status?: string;
  leadEmail?: string;
  leadOrcid?: string;
}

/** Projects and their members. */
export class Projects {
  constructor(protected readonly ctx: Context) {}

  /**
   * The caller's projects (v2: all of them for admins), or a user's with `orcid`. On v1, where `GET /projects`
   * is admin-only, the caller's come from `/users/<own ORCID>/projects`; `all: true` asks for every project
   * (admins).
   */
  list(
    options: ListOptions & { orcid?: string; all?: boolean } = {},
  ): PageIterable<CrucibleProject, unknown> {
    if (this.ctx.version === 'v2') {
      const path = options.orcid ? `users/${id(options.orcid, 'ORCID')}/projects` : 'projects';
      return offsetList(this.ctx, path, projectSchema, {}, options);
    }
    const ctx = this.ctx;
    const path = options.orcid
      ? `users/${id(options.orcid, 'ORCID')}/projects`
      : options.all
        ? 'projects'
        : async () => {
            const account = await call(ctx, 'account', accountSchema.nullable(), requestOptions(options));
            const orcid = account?.userInfo?.orcid ?? account?.userInfo?.uniqueId ?? account?.userUniqueId;
            if (!orcid) throw new UsageError('The account has no ORCID: give one to list its projects');
            return `users/${id(orcid, 'ORCID')}/projects`;
          };
    return arrayList(
      this.ctx,
      path,
      projectSchema,
      {},
      { ...options, sendLimit: false, ...(options.all ? { adminOnly: 'Listing every project' } : {}) },
    );
  }

  // issue 13: basics
  /**
   * Projects whose id or title matches `text` (fuzzy, best first; spec §19.2): every project, not only the
   * caller's, without lead or metadata. One request, sent when iterated.
   */
  search(text: string, options: SearchOptions = {}): PageIterable<CrucibleProject, unknown> {
    return searchList(this.ctx, 'projects/search', projectSchema, text, {}, options);
  }

  /** The project's scientific metadata as a flat object; `{}` when it has none (v2, by `project_id`). */
  async metadata(pid: string, options: RequestOptions = {}): Promise<Record<string, unknown>> {
    return readMetadata(this.ctx, v2Only(this.ctx, pid, 'project'), options);
  }

  /** Deep-merges `metadata` into the project's (v2; members write). */
  async mergeMetadata(
    pid: string,
    metadata: Record<string, unknown>,
    options: RequestOptions = {},
  ): Promise<Record<string, unknown>> {
    return setMetadata(this.ctx, v2Only(this.ctx, pid, 'project'), metadata, 'merge', options);
  }

  /** Replaces the project's metadata with `metadata` (v2; not repeated blindly). */
  async replaceMetadata(
    pid: string,
    metadata: Record<string, unknown>,
    options: RequestOptions = {},
  ): Promise<Record<string, unknown>> {
    return setMetadata(this.ctx, v2Only(this.ctx, pid, 'project'), metadata, 'replace', options);
  }

  async get(pid: string, options: RequestOptions = {}): Promise<CrucibleProject> {
    return getRecord(
      this.ctx,
      `projects/${id(pid, 'project id')}`,
      projectSchema,
      `project ${pid}`,
      requestOptions(options),
    );
  }

  /** The project, created when there is none (the reference client's `get_or_add_project`; creating is admin-only). */
  async getOrCreate(input: ProjectInput, options: RequestOptions = {}): Promise<CrucibleProject> {
    try {
      return await this.get(input.projectId, options);
    } catch (error) {
      if (!NotFoundError.isInstance(error)) throw error;
    }
    return this.create(input, options);
  }

  /** Creates a project (admins). */
  async create(input: ProjectInput, options: RequestOptions = {}): Promise<CrucibleProject> {
    if (!input.projectId?.trim() || !input.organization?.trim())
      throw new UsageError('A project needs an id and an organization');
    if (!input.leadEmail && !input.leadOrcid) throw new UsageError('A project needs a lead (email or ORCID)');
    if (this.ctx.version === 'v1' && !input.leadEmail)
      throw new UsageError('On API v1 a project needs its lead’s email (leadEmail)');
    return call(this.ctx, 'projects', projectSchema, {
      method: 'POST',
      adminOnly: 'Creating a project',
      json: body({
        project_id: input.projectId,
        organization: input.organization,
        title: input.title,
        status: input.status,
        project_lead_email: input.leadEmail,
        project_lead_orcid: this.ctx.version === 'v2' ? input.leadOrcid : undefined,
      }),
      ...requestOptions(options),
    });
  }

  /** Members of a project, the lead excepted (admin, or on v2 the lead). */
  users(pid: string, options: ListOptions = {}): PageIterable<CrucibleUser, unknown> {
    const path = `projects/${id(pid, 'project id')}/users`;
    return offsetOrArrayList(
      this.ctx,
      path,
      userSchema,
      {},
      { ...options, adminOnly: 'Listing project members' },
    );
  }

  /** Adds a user to a project (admin, or on v2 the lead); one who is a member already (409) is fine. */
  async addUser(pid: string, orcid: string, options: RequestOptions = {}): Promise<void> {
    try {
      await call(this.ctx, `projects/${id(pid, 'project id')}/users/${id(orcid, 'ORCID')}`, z.unknown(), {
        method: 'POST',
        ...requestOptions(options),
        // Safe to repeat: a repeat that finds the user a member already answers 409, which means done.
        idempotent: true,
        adminOnly: 'Adding a project member',
      });
    } catch (error) {
      if (!ConflictError.isInstance(error)) throw error;
    }
  }

  // issue 13: graph
  /** Every dataset and sample of a project and the edges among them (v2 `GET /project_graph/{pid}`; members). */
  async graph(pid: string, options: RequestOptions = {}): Promise<CrucibleGraph> {
    requireV2(this.ctx, 'Project graphs');
    return call(this.ctx, `project_graph/${id(pid, 'project id')}`, graphSchema, requestOptions(options));
  }

  /**
   * Adds a user to a project by ORCID, email or username (v2, admin or the project's lead; spec §19.8) and
   * returns the members after the change.
   */
  async addMember(pid: string, who: MemberRef, options: RequestOptions = {}): Promise<CrucibleUser[]> {
    requireV2(this.ctx, 'Adding members by email or username');
    const { path, query } = memberPath(pid, who);
    return call(this.ctx, path, itemsOf(userSchema), {
      method: 'POST',
      ...(query ? { query } : {}),
      // Adding someone twice leaves them a member once.
      idempotent: true,
      adminOnly: 'Adding a project member',
      ...requestOptions(options),
    });
  }

  /** Removes a user from a project by ORCID, email or username (v2, admin or the project's lead). */
  async removeMember(pid: string, who: MemberRef, options: RequestOptions = {}): Promise<void> {
    requireV2(this.ctx, 'Removing project members');
    const { path, query } = memberPath(pid, who);
    await call(this.ctx, path, z.unknown(), {
      method: 'DELETE',
      ...(query ? { query } : {}),
      adminOnly: 'Removing a project member',
      ...requestOptions(options),
    });
  }

  /** Asks to join a project (its access group): a `pending` request its lead answers. */
  async join(
    pid: string,
    input: { reason?: string } = {},
    options: RequestOptions = {},
  ): Promise<CrucibleJoinRequest> {
    requireV2(this.ctx, 'Join requests');
    // The server requires a JSON body, `{"reason": null}` without a reason.
    return call(this.ctx, `access_groups/${id(pid, 'project id')}/join`, joinRequestSchema, {
      method: 'POST',
      json: { reason: input.reason ?? null },
      ...requestOptions(options),
    });
  }

  /** Join requests, newest first (admins; a project's lead with `groupName`). */
  joinRequests(
    options: ListOptions & { groupName?: string; status?: JoinRequestStatus; requesterId?: string } = {},
  ): PageIterable<CrucibleJoinRequest, unknown> {
    requireV2(this.ctx, 'Join requests');
    if (options.status !== undefined && !JOIN_STATUSES.includes(options.status))
      throw new UsageError(`status must be one of ${JOIN_STATUSES.join(', ')}, got ${options.status}`);
    return offsetList(
      this.ctx,
      'join_requests',
      joinRequestSchema,
      { group_name: options.groupName, status: options.status, requester_id: options.requesterId },
      { ...options, adminOnly: 'Listing join requests (admins, or the lead of the project)' },
    );
  }

  /**
   * Approves or rejects a join request (admin or the project's lead); approval adds the requester to the
   * project. A request already answered is a `ConflictError` saying so.
   */
  async answerJoinRequest(
    requestId: number | string,
    decision: 'approved' | 'rejected',
    input: { notes?: string } = {},
    options: RequestOptions = {},
  ): Promise<CrucibleJoinRequest> {
    requireV2(this.ctx, 'Join requests');
    if (decision !== 'approved' && decision !== 'rejected')
      throw new UsageError(`A join request is "approved" or "rejected", got ${JSON.stringify(decision)}`);
    try {
      return await call(this.ctx, `join_requests/${id(requestId, 'join request id')}`, joinRequestSchema, {
        method: 'PATCH',
        json: body({ status: decision, reviewer_notes: input.notes }),
        // Sending the same answer again is harmless: a repeat that finds it answered gets 409.
        idempotent: true,
        adminOnly: 'Answering a join request',
        ...requestOptions(options),
      });
    } catch (error) {
      if (!ConflictError.isInstance(error)) throw error;
      throw new ConflictError(
        {
          status: error.status,
          method: error.method,
          url: error.url,
          service: 'crucible',
          detail: error.detail,
        },
        `Join request ${requestId} was already answered${error.detail ? ` (${error.detail})` : ''}: a request is reviewed once`,
      );
    }
  }
}

/** Who to add to or remove from a project: exactly one of an ORCID (a user's `unique_id`), an email, a username. */
export type MemberRef = { orcid: string } | { email: string } | { username: string };

export type JoinRequestStatus = 'pending' | 'approved' | 'rejected';
const JOIN_STATUSES: readonly string[] = ['pending', 'approved', 'rejected'];

function requireV2(ctx: Context, what: string): void {
  if (ctx.version !== 'v2') throw new UsageError(`${what} need API v2`);
}

/** `users/{orcid}`, or `users/me?email=…` / `?username=…` (the placeholder segment of the reference client). */
function memberPath(pid: string, who: MemberRef): { path: string; query?: Record<string, string> } {
  const base = `projects/${id(pid, 'project id')}/users`;
  const given = (['orcid', 'email', 'username'] as const).filter(
    (k) =>
      typeof (who as Record<string, unknown>)?.[k] === 'string' && (who as Record<string, string>)[k]?.trim(),
  );
  if (given.length !== 1) throw new UsageError('Name the user by exactly one of orcid, email or username');
  const key = given[0] as 'orcid' | 'email' | 'username';
  const value = ((who as Record<string, string>)[key] as string).trim();
  if (key === 'orcid') return { path: `${base}/${id(value, 'ORCID')}` };
  return { path: `${base}/me`, query: { [key]: value } };
}
