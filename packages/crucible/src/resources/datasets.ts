import { type PageIterable, UsageError } from '@sciport/core';
import { z } from 'zod';
import {
  arrayList,
  body,
  type CallOptions,
  type Context,
  call,
  clean,
  getRecord,
  id,
  keysetList,
  type ListOptions,
  offsetOrArrayList,
  setLink,
} from '../context.js';
import {
  type CrucibleDataset,
  type CrucibleKeyword,
  type CrucibleLink,
  type CrucibleSample,
  type CrucibleThumbnail,
  datasetSchema,
  keywordSchema,
  linkSchema,
  metadataWrapperSchema,
  sampleSchema,
  thumbnailSchema,
} from '../schemas.js';

/** Exact-match filters of `GET /datasets`, plus `keyword` (case-insensitive substring). */
export interface DatasetFilters {
  uniqueId?: string;
  datasetName?: string;
  public?: boolean;
  ownerOrcid?: string;
  projectId?: string;
  instrumentName?: string;
  measurement?: string;
  dataType?: string;
  dataFormat?: string;
  sessionName?: string;
  keyword?: string;
  /** ISO dates (v2). */
  createdAfter?: string;
  createdBefore?: string;
}

export interface DatasetListOptions extends ListOptions, DatasetFilters {
  includeMetadata?: boolean;
  includeLinks?: boolean;
  includeOwner?: boolean;
  /** The datasets of this sample. */
  sampleId?: string;
}

/** Fields of a dataset a caller may set. */
export interface DatasetInput {
  uniqueId?: string;
  datasetName?: string;
  description?: string;
  measurement?: string;
  dataType?: string;
  dataFormat?: string;
  sessionName?: string;
  instrumentName?: string;
  projectId?: string;
  timestamp?: string;
  public?: boolean;
  ownerOrcid?: string;
  sourceFolder?: string;
}

const FIELD_NAMES: Record<keyof DatasetInput, string> = {
  uniqueId: 'unique_id',
  datasetName: 'dataset_name',
  description: 'description',
  measurement: 'measurement',
  dataType: 'data_type',
  dataFormat: 'data_format',
  sessionName: 'session_name',
  instrumentName: 'instrument_name',
  projectId: 'project_id',
  timestamp: 'timestamp',
  public: 'public',
  ownerOrcid: 'owner_orcid',
  sourceFolder: 'source_folder',
};

export function datasetBody(input: DatasetInput, version: 'v1' | 'v2'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, wire] of Object.entries(FIELD_NAMES)) {
    const value = input[key as keyof DatasetInput];
    if (value === undefined) continue;
    // v1 had no description/data_type/timestamp: it drops unknown fields, so they are simply not sent.
    if (version === 'v1' && (wire === 'description' || wire === 'data_type')) continue;
    out[version === 'v1' && wire === 'timestamp' ? 'creation_time' : wire] = value;
  }
  return body(out);
}

function filters(f: DatasetFilters, version: 'v1' | 'v2'): Record<string, unknown> {
  return {
    unique_id: f.uniqueId,
    dataset_name: f.datasetName,
    public: f.public,
    owner_orcid: f.ownerOrcid,
    project_id: f.projectId,
    instrument_name: f.instrumentName,
    measurement: f.measurement,
    data_type: version === 'v2' ? f.dataType : undefined,
    data_format: f.dataFormat,
    session_name: f.sessionName,
    keyword: f.keyword,
    creation_time_gte: version === 'v2' ? f.createdAfter : undefined,
    creation_time_lte: version === 'v2' ? f.createdBefore : undefined,
  };
}

/** Maps a v1 record onto the v2 model (and keeps a v2 one as it is). */
export function normaliseDataset(raw: CrucibleDataset): CrucibleDataset {
  const out: CrucibleDataset = { ...raw };
  if (out.timestamp == null && out.creation_date != null) out.timestamp = out.creation_date;
  const md = out.scientific_metadata as Record<string, unknown> | null | undefined;
  // v1 lists nest the whole metadata record: item.scientific_metadata.scientific_metadata.
  if (
    md &&
    typeof md === 'object' &&
    'scientific_metadata' in md &&
    md.scientific_metadata &&
    typeof md.scientific_metadata === 'object'
  ) {
    out.scientific_metadata = md.scientific_metadata as Record<string, unknown>;
  }
  return out;
}

export class Datasets {
  constructor(private readonly ctx: Context) {}

  /** Datasets visible to the caller, newest first on v2, following every page. */
  list(options: DatasetListOptions = {}): PageIterable<CrucibleDataset, unknown> {
    const v = this.ctx.version;
    const flags = {
      include_metadata: options.includeMetadata,
      ...(v === 'v2' ? { include_links: options.includeLinks, include_owner: options.includeOwner } : {}),
    };
    const query = { ...filters(options, v), ...flags };
    // A sample's datasets come as a bare array on both versions (it honours `limit`, not `offset`).
    const source = options.sampleId
      ? arrayList(
          this.ctx,
          `samples/${id(options.sampleId, 'sample id')}/datasets`,
          datasetSchema,
          query,
          options,
        )
      : v === 'v2'
        ? keysetList(this.ctx, 'datasets', datasetSchema, query, options)
        : arrayList(this.ctx, 'datasets', datasetSchema, query, options);
    return mapIterable(source, normaliseDataset);
  }

  /** One dataset; with `includeMetadata`, its scientific metadata as a flat object (one call on v2). */
  async get(
    dsid: string,
    options: CallOptions & { includeMetadata?: boolean; includeLinks?: boolean; includeOwner?: boolean } = {},
  ): Promise<CrucibleDataset> {
    const path = `datasets/${id(dsid, 'dataset id')}`;
    if (this.ctx.version === 'v2') {
      const query = {
        include_metadata: options.includeMetadata,
        include_links: options.includeLinks,
        include_owner: options.includeOwner,
      };
      return normaliseDataset(
        await getRecord(this.ctx, path, datasetSchema, `dataset ${dsid}`, {
          signal: options.signal,
          query: clean(query),
        }),
      );
    }
    const dataset = normaliseDataset(
      await getRecord(this.ctx, path, datasetSchema, `dataset ${dsid}`, options),
    );
    if (options.includeMetadata) dataset.scientific_metadata = await this.metadata(dsid, options);
    return dataset;
  }

  /** Creates a dataset (the server assigns `unique_id` when not given). */
  async create(input: DatasetInput, options: CallOptions = {}): Promise<CrucibleDataset> {
    // Not repeated on failure: a second POST would create a second dataset.
    return normaliseDataset(
      await call(this.ctx, 'datasets', datasetSchema, {
        method: 'POST',
        json: datasetBody(input, this.ctx.version),
        signal: options.signal,
      }),
    );
  }

  /** Updates the given fields. */
  async update(dsid: string, changes: DatasetInput, options: CallOptions = {}): Promise<CrucibleDataset> {
    const { uniqueId: _ignored, ...rest } = changes;
    return normaliseDataset(
      await call(this.ctx, `datasets/${id(dsid, 'dataset id')}`, datasetSchema, {
        method: 'PATCH',
        json: datasetBody(rest, this.ctx.version),
        signal: options.signal,
        // PATCH with the same fields twice leaves the same record.
        idempotent: true,
      }),
    );
  }

  /** The scientific metadata as a flat object; `{}` when the dataset has none. */
  async metadata(dsid: string, options: CallOptions = {}): Promise<Record<string, unknown>> {
    const path =
      this.ctx.version === 'v2'
        ? `resources/${id(dsid, 'id')}/metadata`
        : `datasets/${id(dsid, 'dataset id')}/scientific_metadata`;
    const wrapper = await call(this.ctx, path, metadataWrapperSchema, options);
    return (wrapper?.scientific_metadata as Record<string, unknown> | null | undefined) ?? {};
  }

  /** Deep-merges `metadata` into the dataset's (creating it when absent). */
  async mergeMetadata(
    dsid: string,
    metadata: Record<string, unknown>,
    options: CallOptions = {},
  ): Promise<Record<string, unknown>> {
    return setMetadata(this.ctx, dsid, metadata, 'merge', options);
  }

  /** Replaces the dataset's metadata with `metadata`. */
  async replaceMetadata(
    dsid: string,
    metadata: Record<string, unknown>,
    options: CallOptions = {},
  ): Promise<Record<string, unknown>> {
    return setMetadata(this.ctx, dsid, metadata, 'replace', options);
  }

  async keywords(dsid: string, options: CallOptions = {}): Promise<CrucibleKeyword[]> {
    return (
      (await call(
        this.ctx,
        `datasets/${id(dsid, 'dataset id')}/keywords`,
        z.array(keywordSchema).nullable(),
        options,
      )) ?? []
    );
  }

  /** Adds keywords (one request each; adding one twice is harmless). */
  async addKeywords(
    dsid: string,
    keywords: readonly string[],
    options: CallOptions = {},
  ): Promise<CrucibleKeyword[]> {
    const out: CrucibleKeyword[] = [];
    for (const keyword of keywords) {
      const k = keyword.trim();
      if (!k) continue;
      out.push(
        await call(this.ctx, `datasets/${id(dsid, 'dataset id')}/keywords`, keywordSchema, {
          method: 'POST',
          query: { keyword: k },
          signal: options.signal,
          idempotent: true,
        }),
      );
    }
    return out;
  }

  async thumbnails(dsid: string, options: CallOptions = {}): Promise<CrucibleThumbnail[]> {
    return (
      (await call(
        this.ctx,
        `datasets/${id(dsid, 'dataset id')}/thumbnails`,
        z.array(thumbnailSchema).nullable(),
        options,
      )) ?? []
    );
  }

  /** Adds a thumbnail from image bytes. */
  async addThumbnail(
    dsid: string,
    name: string,
    image: Uint8Array,
    options: CallOptions = {},
  ): Promise<CrucibleThumbnail> {
    return call(this.ctx, `datasets/${id(dsid, 'dataset id')}/thumbnails`, thumbnailSchema, {
      method: 'POST',
      json: { thumbnail_name: name, thumbnail_b64str: toBase64(image) },
      signal: options.signal,
    });
  }

  /** Samples linked to the dataset. */
  samples(dsid: string, options: ListOptions = {}): PageIterable<CrucibleSample, unknown> {
    const path = `datasets/${id(dsid, 'dataset id')}/samples`;
    return offsetOrArrayList(this.ctx, path, sampleSchema, {}, options);
  }

  async linkSample(dsid: string, sid: string, options: CallOptions = {}): Promise<void> {
    await setLink(
      this.ctx,
      `datasets/${id(dsid, 'dataset id')}/samples/${id(sid, 'sample id')}`,
      true,
      options,
    );
  }

  async unlinkSample(dsid: string, sid: string, options: CallOptions = {}): Promise<void> {
    await setLink(
      this.ctx,
      `datasets/${id(dsid, 'dataset id')}/samples/${id(sid, 'sample id')}`,
      false,
      options,
    );
  }

  /** Links a derived dataset to the dataset it was made from. */
  async linkChild(parent: string, child: string, options: CallOptions = {}): Promise<void> {
    await setLink(
      this.ctx,
      `datasets/${id(parent, 'dataset id')}/children/${id(child, 'dataset id')}`,
      true,
      options,
    );
  }

  async unlinkChild(parent: string, child: string, options: CallOptions = {}): Promise<void> {
    await setLink(
      this.ctx,
      `datasets/${id(parent, 'dataset id')}/children/${id(child, 'dataset id')}`,
      false,
      options,
    );
  }

  children(dsid: string, options: ListOptions = {}): PageIterable<CrucibleDataset, unknown> {
    return this.relatives(dsid, 'children', options);
  }

  parents(dsid: string, options: ListOptions = {}): PageIterable<CrucibleDataset, unknown> {
    return this.relatives(dsid, 'parents', options);
  }

  private relatives(dsid: string, which: 'children' | 'parents', options: ListOptions) {
    const path = `datasets/${id(dsid, 'dataset id')}/${which}`;
    return mapIterable(offsetOrArrayList(this.ctx, path, datasetSchema, {}, options), normaliseDataset);
  }

  /** Links of any resource (v2): parents, children and associated samples or datasets. */
  async links(resourceId: string, options: CallOptions = {}): Promise<CrucibleLink[]> {
    return (
      (await call(
        this.ctx,
        `resources/${id(resourceId, 'id')}/links`,
        z.array(linkSchema).nullable(),
        options,
      )) ?? []
    );
  }
}

/** Metadata writes for any resource (v2: `/resources/{id}/metadata`; v1: datasets only). */
export async function setMetadata(
  ctx: Context,
  resourceId: string,
  metadata: Record<string, unknown>,
  mode: 'merge' | 'replace',
  options: CallOptions,
): Promise<Record<string, unknown>> {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new UsageError('Scientific metadata must be a JSON object');
  }
  const v2 = ctx.version === 'v2';
  const path = v2
    ? `resources/${id(resourceId, 'id')}/metadata`
    : `datasets/${id(resourceId, 'dataset id')}/scientific_metadata`;
  const request =
    mode === 'merge'
      ? { method: 'PATCH' as const, json: metadata, idempotent: true }
      : v2
        ? { method: 'POST' as const, json: metadata, query: { overwrite: true }, idempotent: true }
        : { method: 'POST' as const, json: metadata, idempotent: true };
  const wrapper = await call(ctx, path, metadataWrapperSchema, { ...request, signal: options.signal });
  return (wrapper?.scientific_metadata as Record<string, unknown> | null | undefined) ?? metadata;
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Maps every item of a page iterable, keeping `.pages()` and `.toArray()`. */
export function mapIterable<T, U, P>(source: PageIterable<T, P>, fn: (item: T) => U): PageIterable<U, P> {
  return {
    async *[Symbol.asyncIterator]() {
      for await (const item of source) yield fn(item);
    },
    pages: () => source.pages(),
    async toArray() {
      return (await source.toArray()).map(fn);
    },
  };
}
