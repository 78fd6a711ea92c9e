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
  writeOnce,
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
  /** Total bytes (exact). */
  size?: number;
  /** v2: when the data was taken (exact). */
  timestamp?: string;
  /** v1: the main file's bucket path (`api-uploads/<name>`). */
  fileToUpload?: string;
  /** v1: where the data came from. */
  sourceFolder?: string;
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
  /** v1 only: the main file's path in the upload bucket (`api-uploads/<name>`), which ingestion reads. */
  fileToUpload?: string;
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
  fileToUpload: 'file_to_upload',
};

export function datasetBody(input: DatasetInput, version: 'v1' | 'v2'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, wire] of Object.entries(FIELD_NAMES)) {
    const value = input[key as keyof DatasetInput];
    if (value === undefined) continue;
    // v1 had no description/data_type/timestamp: it drops unknown fields, so they are simply not sent.
    if (version === 'v1' && (wire === 'description' || wire === 'data_type')) continue;
    // v2 datasets have no `file_to_upload` any more (files are records of their own).
    if (version === 'v2' && wire === 'file_to_upload') continue;
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
    size: f.size,
    timestamp: version === 'v2' ? f.timestamp : undefined,
    file_to_upload: version === 'v1' ? f.fileToUpload : undefined,
    source_folder: version === 'v1' ? f.sourceFolder : undefined,
    creation_time_gte: version === 'v2' ? f.createdAfter : undefined,
    creation_time_lte: version === 'v2' ? f.createdBefore : undefined,
  };
}

/**
 * Maps a v1 record onto the v2 model (and keeps a v2 one as it is): `creation_date` → `timestamp`, and on v1
 * the metadata record that `include_metadata` nests (`item.scientific_metadata.scientific_metadata`) → the flat
 * object. v2 metadata is already flat and is left alone, whatever keys it has.
 */
export function normaliseDataset(raw: CrucibleDataset, version: 'v1' | 'v2' = 'v2'): CrucibleDataset {
  const out: CrucibleDataset = { ...raw };
  if (out.timestamp == null && out.creation_date != null) out.timestamp = out.creation_date;
  const md = out.scientific_metadata as Record<string, unknown> | null | undefined;
  if (version === 'v1' && md && typeof md === 'object' && 'scientific_metadata' in md) {
    const inner = md.scientific_metadata;
    out.scientific_metadata =
      inner && typeof inner === 'object' && !Array.isArray(inner) ? (inner as Record<string, unknown>) : {};
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
    return mapIterable(source, (d) => normaliseDataset(d, v));
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
      await getRecord(this.ctx, path, datasetSchema, `dataset ${dsid}`, { signal: options.signal }),
      'v1',
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
      this.ctx.version,
    );
  }

  /**
   * A dataset from a JSON record in the API's own field names (`dataset_name`, `project_id`, …), as the
   * reference client's `build_new_dataset_from_json`: the record is created (nulls left out), then its
   * `scientific_metadata` merged and its `keywords` added, when the record (or `options`) has them.
   */
  async createFromJson(
    record: Record<string, unknown>,
    options: CallOptions & {
      scientificMetadata?: Record<string, unknown>;
      keywords?: readonly string[];
    } = {},
  ): Promise<{
    dataset: CrucibleDataset;
    scientificMetadata: Record<string, unknown>;
    keywords: CrucibleKeyword[];
  }> {
    if (record === null || typeof record !== 'object' || Array.isArray(record))
      throw new UsageError('A dataset record must be a JSON object');
    const { scientific_metadata: inlineMetadata, keywords: inlineKeywords, ...fields } = record;
    const metadata = {
      ...(isObject(inlineMetadata) ? inlineMetadata : {}),
      ...(options.scientificMetadata ?? {}),
    };
    const keywords = [
      ...(Array.isArray(inlineKeywords)
        ? inlineKeywords.filter((k): k is string => typeof k === 'string')
        : []),
      ...(options.keywords ?? []),
    ];
    const dataset = normaliseDataset(
      await call(this.ctx, 'datasets', datasetSchema, {
        method: 'POST',
        json: body(fields),
        signal: options.signal,
      }),
      this.ctx.version,
    );
    const scientificMetadata =
      Object.keys(metadata).length > 0 ? await this.mergeMetadata(dataset.unique_id, metadata, options) : {};
    const added = keywords.length > 0 ? await this.addKeywords(dataset.unique_id, keywords, options) : [];
    return { dataset, scientificMetadata, keywords: added };
  }

  /** Updates the given fields. */
  async update(dsid: string, changes: DatasetInput, options: CallOptions = {}): Promise<CrucibleDataset> {
    const { uniqueId: _ignored, ...rest } = changes;
    const updated = await call(this.ctx, `datasets/${id(dsid, 'dataset id')}`, datasetSchema.nullable(), {
      method: 'PATCH',
      json: datasetBody(rest, this.ctx.version),
      signal: options.signal,
      // PATCH with the same fields twice leaves the same record.
      idempotent: true,
    });
    // A 2xx without a body (spec §3): the record as it is now.
    if (updated === null) return this.get(dsid, { signal: options.signal });
    return normaliseDataset(updated, this.ctx.version);
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

  /**
   * Adds keywords, one request each. A request whose outcome is unknown (a dropped connection, a 5xx) is
   * sent again only when the dataset's keywords do not show it yet.
   */
  async addKeywords(
    dsid: string,
    keywords: readonly string[],
    options: CallOptions = {},
  ): Promise<CrucibleKeyword[]> {
    const path = `datasets/${id(dsid, 'dataset id')}/keywords`;
    const out: CrucibleKeyword[] = [];
    for (const keyword of keywords) {
      const k = keyword.trim();
      if (!k) continue;
      out.push(
        await writeOnce(
          this.ctx,
          async () =>
            // A 2xx without a body (spec §3) still added it.
            (await call(this.ctx, path, keywordSchema.nullable(), {
              method: 'POST',
              query: { keyword: k },
              signal: options.signal,
            })) ?? { keyword: k },
          async () =>
            // The server may keep another spelling (case) of the keyword: compare case-insensitively.
            (await this.keywords(dsid, options)).find((x) => x.keyword.toLowerCase() === k.toLowerCase()),
          options.signal,
        ),
      );
    }
    return out;
  }

  /** Every keyword in use, with how many datasets carry it (`GET /keywords`; v1, and v2 where it is served). */
  async allKeywords(options: CallOptions = {}): Promise<CrucibleKeyword[]> {
    return (await call(this.ctx, 'keywords', z.array(keywordSchema).nullable(), options)) ?? [];
  }

  /** Removes a thumbnail (v2). */
  async deleteThumbnail(dsid: string, thumbnailId: number, options: CallOptions = {}): Promise<void> {
    if (this.ctx.version !== 'v2') throw new UsageError('Deleting thumbnails needs API v2');
    await call(
      this.ctx,
      `datasets/${id(dsid, 'dataset id')}/thumbnails/${id(thumbnailId, 'thumbnail id')}`,
      z.unknown(),
      {
        method: 'DELETE',
        signal: options.signal,
      },
    );
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
    const sent = { thumbnail_name: name, thumbnail_b64str: toBase64(image) };
    const made = await call(
      this.ctx,
      `datasets/${id(dsid, 'dataset id')}/thumbnails`,
      thumbnailSchema.nullable(),
      { method: 'POST', json: sent, signal: options.signal },
    );
    return made ?? sent;
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
    return mapIterable(offsetOrArrayList(this.ctx, path, datasetSchema, {}, options), (d) =>
      normaliseDataset(d, this.ctx.version),
    );
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
  const write = async () => {
    const request =
      mode === 'merge'
        ? // A deep merge of the same object twice leaves the same metadata.
          { method: 'PATCH' as const, json: metadata, idempotent: true }
        : v2
          ? { method: 'POST' as const, json: metadata, query: { overwrite: true } }
          : { method: 'POST' as const, json: metadata };
    const wrapper = await call(ctx, path, metadataWrapperSchema, { ...request, signal: options.signal });
    return (wrapper?.scientific_metadata as Record<string, unknown> | null | undefined) ?? metadata;
  };
  if (mode === 'merge') return write();
  // A replace whose outcome is unknown is sent again only when the metadata is not what was sent.
  return writeOnce(
    ctx,
    write,
    async () => {
      const wrapper = await call(ctx, path, metadataWrapperSchema, { signal: options.signal });
      const now = wrapper?.scientific_metadata ?? null;
      return now !== null && sameJson(now, metadata) ? (now as Record<string, unknown>) : undefined;
    },
    options.signal,
  );
}

/** Deep equality of JSON values, key order aside. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]))
    );
  }
  if (!isObject(a) || !isObject(b)) return false;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => k in b && sameJson(a[k], b[k]));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
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
