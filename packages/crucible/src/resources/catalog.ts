import { ConflictError, NotFoundError, type PageIterable, UsageError } from '@sciport/core';
import { z } from 'zod';
import {
  arrayList,
  body,
  type CallOptions,
  type Context,
  call,
  getRecord,
  id,
  keysetList,
  type ListOptions,
  offsetList,
  offsetOrArrayList,
  setLink,
} from '../context.js';
import {
  accountSchema,
  type CrucibleAccount,
  type CrucibleInstrument,
  type CrucibleProject,
  type CrucibleSample,
  type CrucibleUser,
  instrumentSchema,
  projectSchema,
  sampleSchema,
  userSchema,
} from '../schemas.js';
import { mapIterable, setMetadata } from './datasets.js';

/** Samples (spec §5.3, §16.5). */
export interface SampleInput {
  uniqueId?: string;
  sampleName?: string;
  sampleType?: string;
  description?: string;
  projectId?: string;
  ownerOrcid?: string;
  timestamp?: string;
  public?: boolean;
}

export function normaliseSample(raw: CrucibleSample): CrucibleSample {
  const out = { ...raw };
  if (out.timestamp == null && out.date_created != null) out.timestamp = out.date_created;
  return out;
}

function sampleBody(input: SampleInput, version: 'v1' | 'v2'): Record<string, unknown> {
  return body({
    unique_id: input.uniqueId,
    sample_name: input.sampleName,
    sample_type: input.sampleType,
    description: input.description,
    project_id: input.projectId,
    owner_orcid: input.ownerOrcid,
    [version === 'v1' ? 'date_created' : 'timestamp']: input.timestamp,
    public: version === 'v2' ? input.public : undefined,
  });
}

export class Samples {
  constructor(private readonly ctx: Context) {}

  list(
    options: ListOptions & {
      projectId?: string;
      sampleType?: string;
      sampleName?: string;
      ownerOrcid?: string;
      datasetId?: string;
    } = {},
  ): PageIterable<CrucibleSample, unknown> {
    const query = {
      project_id: options.projectId,
      sample_type: options.sampleType,
      sample_name: options.sampleName,
      owner_orcid: options.ownerOrcid,
    };
    const v2 = this.ctx.version === 'v2';
    const path = options.datasetId ? `datasets/${id(options.datasetId, 'dataset id')}/samples` : 'samples';
    const source = options.datasetId
      ? offsetOrArrayList(this.ctx, path, sampleSchema, query, options)
      : v2
        ? keysetList(this.ctx, path, sampleSchema, query, options)
        : arrayList(this.ctx, path, sampleSchema, query, { ...options, sendLimit: false });
    return mapIterable(source, normaliseSample);
  }

  async get(sid: string, options: CallOptions = {}): Promise<CrucibleSample> {
    return normaliseSample(
      await getRecord(this.ctx, `samples/${id(sid, 'sample id')}`, sampleSchema, `sample ${sid}`, options),
    );
  }

  /**
   * Creates a sample, then links it under each of `parents` and over each of `children` (sample ids), one
   * `POST /samples/{parent}/children/{child}` per relation, as the reference client's `add_sample` does.
   */
  async create(
    input: SampleInput,
    options: CallOptions & { parents?: readonly string[]; children?: readonly string[] } = {},
  ): Promise<CrucibleSample> {
    if (!input.sampleName && !input.uniqueId) throw new UsageError('A sample needs a name');
    const sample = normaliseSample(
      await call(this.ctx, 'samples', sampleSchema, {
        method: 'POST',
        json: sampleBody(input, this.ctx.version),
        signal: options.signal,
      }),
    );
    for (const parent of options.parents ?? []) await this.linkChild(parent, sample.unique_id, options);
    for (const child of options.children ?? []) await this.linkChild(sample.unique_id, child, options);
    return sample;
  }

  async update(sid: string, changes: SampleInput, options: CallOptions = {}): Promise<CrucibleSample> {
    const { uniqueId: _ignored, ...rest } = changes;
    const updated = await call(this.ctx, `samples/${id(sid, 'sample id')}`, sampleSchema.nullable(), {
      method: 'PATCH',
      json: sampleBody(rest, this.ctx.version),
      signal: options.signal,
      idempotent: true,
    });
    // A 2xx without a body (spec §3): the record as it is now.
    return updated === null ? this.get(sid, options) : normaliseSample(updated);
  }

  /** Links a child sample to its parent. */
  async linkChild(parent: string, child: string, options: CallOptions = {}): Promise<void> {
    await setLink(
      this.ctx,
      `samples/${id(parent, 'sample id')}/children/${id(child, 'sample id')}`,
      true,
      options,
    );
  }

  async unlinkChild(parent: string, child: string, options: CallOptions = {}): Promise<void> {
    await setLink(
      this.ctx,
      `samples/${id(parent, 'sample id')}/children/${id(child, 'sample id')}`,
      false,
      options,
    );
  }

  children(sid: string, options: ListOptions = {}): PageIterable<CrucibleSample, unknown> {
    return this.relatives(sid, 'children', options);
  }

  parents(sid: string, options: ListOptions = {}): PageIterable<CrucibleSample, unknown> {
    return this.relatives(sid, 'parents', options);
  }

  private relatives(sid: string, which: 'children' | 'parents', options: ListOptions) {
    const path = `samples/${id(sid, 'sample id')}/${which}`;
    return mapIterable(offsetOrArrayList(this.ctx, path, sampleSchema, {}, options), normaliseSample);
  }

  async mergeMetadata(sid: string, metadata: Record<string, unknown>, options: CallOptions = {}) {
    this.requireV2('sample metadata');
    return setMetadata(this.ctx, sid, metadata, 'merge', options);
  }

  private requireV2(what: string): void {
    if (this.ctx.version !== 'v2') throw new UsageError(`${what} needs API v2`);
  }
}

/** Instruments (spec §5.2, §16.4). */
export interface InstrumentInput {
  instrumentName: string;
  owner?: string;
  location?: string;
  manufacturer?: string;
  model?: string;
  instrumentType?: string;
  description?: string;
}

export class Instruments {
  constructor(private readonly ctx: Context) {}

  list(options: ListOptions & { name?: string } = {}): PageIterable<CrucibleInstrument, unknown> {
    const query = { instrument_name: options.name };
    return offsetOrArrayList(this.ctx, 'instruments', instrumentSchema, query, options);
  }

  /** By id (MFID), or by name when `byName` (v1 names are case-insensitive). */
  async get(key: string, options: CallOptions & { byName?: boolean } = {}): Promise<CrucibleInstrument> {
    if (options.byName || this.ctx.version === 'v1') {
      const query = options.byName ? { instrument_name: key } : { unique_id: key };
      const found = await call(
        this.ctx,
        'instruments',
        z.union([z.array(instrumentSchema), z.looseObject({ items: z.array(instrumentSchema) })]),
        {
          query,
          signal: options.signal,
        },
      );
      const items = Array.isArray(found) ? found : found.items;
      const match = items[items.length - 1];
      if (!match) {
        throw new NotFoundError(
          {
            status: 404,
            method: 'GET',
            url: this.ctx.http.url('instruments', query).href,
            service: 'crucible',
          },
          `No instrument ${options.byName ? 'named ' : ''}${key}`,
        );
      }
      return match;
    }
    return getRecord(
      this.ctx,
      `instruments/${id(key, 'instrument id')}`,
      instrumentSchema,
      `instrument ${key}`,
      options,
    );
  }

  /**
   * The instrument of this name, created when there is none and `owner` and `location` are given (the
   * reference client's `get_or_add_instrument`).
   */
  async getOrCreate(input: InstrumentInput, options: CallOptions = {}): Promise<CrucibleInstrument> {
    try {
      return await this.get(input.instrumentName, { ...options, byName: true });
    } catch (error) {
      if (!NotFoundError.isInstance(error) || !input.owner || !input.location) throw error;
    }
    return this.create(input, options);
  }

  async create(input: InstrumentInput, options: CallOptions = {}): Promise<CrucibleInstrument> {
    if (!input.instrumentName?.trim()) throw new UsageError('An instrument needs a name');
    if (!input.owner || !input.location) throw new UsageError('An instrument needs an owner and a location');
    return call(this.ctx, 'instruments', instrumentSchema, {
      method: 'POST',
      adminOnly: 'Creating an instrument',
      json: body({
        instrument_name: input.instrumentName,
        owner: input.owner,
        location: input.location,
        manufacturer: input.manufacturer,
        model: input.model,
        instrument_type: input.instrumentType,
        description: input.description,
      }),
      signal: options.signal,
    });
  }
}

/** Projects (spec §5.1, §16.3). */
export interface ProjectInput {
  projectId: string;
  organization: string;
  title?: string;
  status?: string;
  leadEmail?: string;
  leadOrcid?: string;
}

export class Projects {
  constructor(private readonly ctx: Context) {}

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
            const account = await call(ctx, 'account', accountSchema.nullable(), { signal: options.signal });
            const orcid =
              account?.user_info?.orcid ?? account?.user_info?.unique_id ?? account?.user_unique_id;
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

  async get(pid: string, options: CallOptions = {}): Promise<CrucibleProject> {
    return getRecord(this.ctx, `projects/${id(pid, 'project id')}`, projectSchema, `project ${pid}`, options);
  }

  /** The project, created when there is none (the reference client's `get_or_add_project`; creating is admin-only). */
  async getOrCreate(input: ProjectInput, options: CallOptions = {}): Promise<CrucibleProject> {
    try {
      return await this.get(input.projectId, options);
    } catch (error) {
      if (!NotFoundError.isInstance(error)) throw error;
    }
    return this.create(input, options);
  }

  async create(input: ProjectInput, options: CallOptions = {}): Promise<CrucibleProject> {
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
      signal: options.signal,
    });
  }

  /** Members of a project, the lead excepted (admin, or on v2 the lead). */
  users(pid: string, options: ListOptions = {}): PageIterable<CrucibleUser, unknown> {
    const path = `projects/${id(pid, 'project id')}/users`;
    return mapIterable(
      offsetOrArrayList(this.ctx, path, userSchema, {}, { ...options, adminOnly: 'Listing project members' }),
      normaliseUser,
    );
  }

  /** Adds a user to a project (admin, or on v2 the lead); one who is a member already (409) is fine. */
  async addUser(pid: string, orcid: string, options: CallOptions = {}): Promise<void> {
    try {
      await call(this.ctx, `projects/${id(pid, 'project id')}/users/${id(orcid, 'ORCID')}`, z.unknown(), {
        method: 'POST',
        signal: options.signal,
        // Safe to repeat: a repeat that finds the user a member already answers 409, which means done.
        idempotent: true,
        adminOnly: 'Adding a project member',
      });
    } catch (error) {
      if (!ConflictError.isInstance(error)) throw error;
    }
  }
}

/** A user to create (admin): `orcid` and names; on v1 also the LBL email and employee number. */
export interface UserInput {
  orcid: string;
  firstName?: string;
  lastName?: string;
  email?: string;
  lblEmail?: string;
  employeeNumber?: string;
  isServiceAccount?: boolean;
  projectIds?: readonly string[];
}

/** Users, the caller's account, and access groups (spec §5.1, §16.1, §16.2, §16.7). */
export class Users {
  constructor(private readonly ctx: Context) {}

  /** The caller (`GET /account`): the cheapest check that the key works. */
  async account(options: CallOptions = {}): Promise<CrucibleAccount> {
    const account = await call(this.ctx, 'account', accountSchema.nullable(), options);
    if (!account) throw new UsageError('The server answered the account request with nothing');
    return account;
  }

  /** A user by ORCID (admin). */
  async get(orcid: string, options: CallOptions = {}): Promise<CrucibleUser> {
    return normaliseUser(
      await getRecord(this.ctx, `users/${id(orcid, 'ORCID')}`, userSchema, `user ${orcid}`, {
        ...options,
        adminOnly: 'Looking up a user by ORCID',
      }),
    );
  }

  /** Users by email (admin); on v1, where none has it as `email`, by `lbl_email`. */
  async findByEmail(email: string, options: CallOptions = {}): Promise<CrucibleUser[]> {
    const find = async (query: Record<string, string | boolean>) => {
      const found = await call(
        this.ctx,
        'users',
        z.union([z.array(userSchema), z.looseObject({ items: z.array(userSchema) })]).nullable(),
        { query, signal: options.signal, adminOnly: 'Looking up users by email' },
      );
      return (found === null ? [] : Array.isArray(found) ? found : found.items).map(normaliseUser);
    };
    if (this.ctx.version === 'v2') return find({ email, permissive: false });
    const byEmail = await find({ email });
    return byEmail.length > 0 ? byEmail : find({ lbl_email: email });
  }

  /**
   * Creates a user, or updates the one with this ORCID (admin), and makes it a member of `projectIds`. The
   * body keeps the key `orcid` on both API versions.
   */
  async create(input: UserInput, options: CallOptions = {}): Promise<CrucibleUser> {
    if (!input.orcid?.trim()) throw new UsageError('A user needs an ORCID');
    const v1 = this.ctx.version === 'v1';
    return normaliseUser(
      await call(this.ctx, 'users', userSchema, {
        method: 'POST',
        json: {
          user_info: body({
            orcid: input.orcid,
            first_name: input.firstName,
            last_name: input.lastName,
            email: input.email,
            lbl_email: v1 ? input.lblEmail : undefined,
            employee_number: v1 ? input.employeeNumber : undefined,
            is_service_account: v1 ? undefined : input.isServiceAccount,
          }),
          project_ids: [...(input.projectIds ?? [])],
        },
        signal: options.signal,
        // An upsert by ORCID: sending it twice leaves the same user.
        idempotent: true,
        adminOnly: 'Creating a user',
      }),
    );
  }

  /** Access groups of a resource (admin). */
  async accessGroups(resourceId: string, options: CallOptions = {}): Promise<string[]> {
    const path =
      this.ctx.version === 'v2'
        ? `resources/${id(resourceId, 'id')}/access_groups`
        : `datasets/${id(resourceId, 'dataset id')}/access_groups`;
    const groups = await call(
      this.ctx,
      path,
      z.array(z.union([z.looseObject({ group_name: z.string() }), z.string()])).nullable(),
      { signal: options.signal, adminOnly: 'Reading access groups' },
    );
    return (groups ?? []).map((g) => (typeof g === 'string' ? g : g.group_name));
  }

  /** Grants a group read (and optionally write) access to a resource (admin). */
  async grantAccess(
    resourceId: string,
    group: string,
    access: { read?: boolean; write?: boolean } = {},
    options: CallOptions = {},
  ): Promise<void> {
    const path =
      this.ctx.version === 'v2'
        ? `resources/${id(resourceId, 'id')}/access_groups`
        : `datasets/${id(resourceId, 'dataset id')}/access_groups`;
    await call(this.ctx, path, z.unknown(), {
      method: 'POST',
      query: { group_name: group, read: access.read ?? true, write: access.write ?? false },
      signal: options.signal,
      idempotent: true,
      adminOnly: 'Granting access',
    });
  }
}

export function normaliseUser(raw: CrucibleUser): CrucibleUser {
  const out = { ...raw };
  if (out.unique_id == null && out.orcid != null) out.unique_id = out.orcid;
  return out;
}
