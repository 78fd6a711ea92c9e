import {
  type ListOptions,
  type PageIterable,
  type RequestOptions,
  requestOptions,
  UsageError,
} from '@sciport/core';
import { body, type Context, call, getRecord, id, setLink } from '../internal/context.js';
import { arrayList, keysetList, offsetOrArrayList } from '../internal/lists.js';
import { readMetadata, setMetadata, v2Only } from '../internal/metadata.js';
import { type SearchOptions, searchList } from '../internal/search.js';
import { type CrucibleSample, sampleSchema } from '../schemas/samples.js';

/** Fields of a sample a caller may set (spec §5.3, §16.5). */
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

export interface SampleListOptions extends ListOptions {
  projectId?: string;
  sampleType?: string;
  sampleName?: string;
  ownerOrcid?: string;
  /** The samples of this dataset. */
  datasetId?: string;
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

/** Samples and their family (parents, children). */
export class Samples {
  constructor(protected readonly ctx: Context) {}

  list(options: SampleListOptions = {}): PageIterable<CrucibleSample, unknown> {
    const query = {
      project_id: options.projectId,
      sample_type: options.sampleType,
      sample_name: options.sampleName,
      owner_orcid: options.ownerOrcid,
    };
    if (options.datasetId) {
      const path = `datasets/${id(options.datasetId, 'dataset id')}/samples`;
      return offsetOrArrayList(this.ctx, path, sampleSchema, query, options);
    }
    return this.ctx.version === 'v2'
      ? keysetList(this.ctx, 'samples', sampleSchema, query, options)
      : arrayList(this.ctx, 'samples', sampleSchema, query, { ...options, sendLimit: false });
  }

  // issue 13: basics
  /**
   * Samples whose name matches `text` (fuzzy, best first; spec §19.2), readable ones only, optionally of one
   * project. One request, sent when iterated; `text` under 3 characters is a `UsageError`.
   */
  search(
    text: string,
    options: SearchOptions & { projectId?: string } = {},
  ): PageIterable<CrucibleSample, unknown> {
    const query = { project_id: options.projectId };
    return searchList(this.ctx, 'samples/search', sampleSchema, text, query, options);
  }

  /** The sample's scientific metadata as a flat object; `{}` when it has none (v2). */
  async metadata(sid: string, options: RequestOptions = {}): Promise<Record<string, unknown>> {
    return readMetadata(this.ctx, v2Only(this.ctx, sid, 'sample'), options);
  }

  /** Replaces the sample's scientific metadata with `metadata` (v2; not repeated blindly). */
  async replaceMetadata(
    sid: string,
    metadata: Record<string, unknown>,
    options: RequestOptions = {},
  ): Promise<Record<string, unknown>> {
    return setMetadata(this.ctx, v2Only(this.ctx, sid, 'sample'), metadata, 'replace', options);
  }

  async get(sid: string, options: RequestOptions = {}): Promise<CrucibleSample> {
    return getRecord(
      this.ctx,
      `samples/${id(sid, 'sample id')}`,
      sampleSchema,
      `sample ${sid}`,
      requestOptions(options),
    );
  }

  /**
   * Creates a sample, then links it under each of `parents` and over each of `children` (sample ids), one
   * `POST /samples/{parent}/children/{child}` per relation, as the reference client's `add_sample` does.
   */
  async create(
    input: SampleInput,
    options: RequestOptions & { parents?: readonly string[]; children?: readonly string[] } = {},
  ): Promise<CrucibleSample> {
    if (!input.sampleName && !input.uniqueId) throw new UsageError('A sample needs a name');
    const sample = await call(this.ctx, 'samples', sampleSchema, {
      method: 'POST',
      json: sampleBody(input, this.ctx.version),
      ...requestOptions(options),
    });
    for (const parent of options.parents ?? []) await this.linkChild(parent, sample.uniqueId, options);
    for (const child of options.children ?? []) await this.linkChild(sample.uniqueId, child, options);
    return sample;
  }

  async update(sid: string, changes: SampleInput, options: RequestOptions = {}): Promise<CrucibleSample> {
    const { uniqueId: _ignored, ...rest } = changes;
    const updated = await call(this.ctx, `samples/${id(sid, 'sample id')}`, sampleSchema.nullable(), {
      method: 'PATCH',
      json: sampleBody(rest, this.ctx.version),
      ...requestOptions(options),
      idempotent: true,
    });
    // A 2xx without a body (spec §3): the record as it is now.
    return updated ?? this.get(sid, options);
  }

  /** Links a child sample to its parent. */
  async linkChild(parent: string, child: string, options: RequestOptions = {}): Promise<void> {
    await setLink(this.ctx, childPath(parent, child), true, options);
  }

  async unlinkChild(parent: string, child: string, options: RequestOptions = {}): Promise<void> {
    await setLink(this.ctx, childPath(parent, child), false, options);
  }

  children(sid: string, options: ListOptions = {}): PageIterable<CrucibleSample, unknown> {
    return this.relatives(sid, 'children', options);
  }

  parents(sid: string, options: ListOptions = {}): PageIterable<CrucibleSample, unknown> {
    return this.relatives(sid, 'parents', options);
  }

  private relatives(sid: string, which: 'children' | 'parents', options: ListOptions) {
    return offsetOrArrayList(this.ctx, `samples/${id(sid, 'sample id')}/${which}`, sampleSchema, {}, options);
  }

  /** Deep-merges `metadata` into the sample's scientific metadata (v2). */
  async mergeMetadata(
    sid: string,
    metadata: Record<string, unknown>,
    options: RequestOptions = {},
  ): Promise<Record<string, unknown>> {
    if (this.ctx.version !== 'v2') throw new UsageError('sample metadata needs API v2');
    return setMetadata(this.ctx, sid, metadata, 'merge', options);
  }
}

function childPath(parent: string, child: string): string {
  return `samples/${id(parent, 'sample id')}/children/${id(child, 'sample id')}`;
}
