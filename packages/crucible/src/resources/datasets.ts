import {
  type ListOptions,
  type PageIterable,
  type RequestOptions,
  requestOptions,
  singlePage,
  UsageError,
} from '@sciport/core';
import { body, type Context, call, clean, getRecord, id, setLink } from '../internal/context.js';
import { arrayList, keysetList, offsetOrArrayList } from '../internal/lists.js';
import { isObject, readMetadata, setMetadata } from '../internal/metadata.js';
import { type SearchOptions, searchList } from '../internal/search.js';
import { itemsOf } from '../schemas/common.js';
import {
  type CrucibleDataset,
  type CrucibleKeyword,
  type CrucibleLink,
  datasetSchema,
  datasetSchemaV1,
  linkSchema,
} from '../schemas/datasets.js';
import { type CrucibleSample, sampleSchema } from '../schemas/samples.js';
import { Keywords } from './keywords.js';

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

/** The dataset schema of an API version (v1 records are mapped onto the v2 names). */
export function datasetSchemaFor(ctx: Context) {
  return ctx.version === 'v2' ? datasetSchema : datasetSchemaV1;
}

/** Options of `datasets.get`. */
export interface DatasetGetOptions extends RequestOptions {
  /** With its scientific metadata, as a flat object (one call on v2, two on v1). */
  includeMetadata?: boolean;
  /** v2: with its links. */
  includeLinks?: boolean;
  /** v2: with its owner's user record. */
  includeOwner?: boolean;
}

/** Datasets: records, scientific metadata, and their links to samples and to each other (spec §4, §16.6). */
export class Datasets {
  constructor(protected readonly ctx: Context) {}

  /** Datasets visible to the caller, newest first on v2, following every page. */
  list(options: DatasetListOptions = {}): PageIterable<CrucibleDataset, unknown> {
    const v = this.ctx.version;
    const schema = datasetSchemaFor(this.ctx);
    const flags = {
      include_metadata: options.includeMetadata,
      ...(v === 'v2' ? { include_links: options.includeLinks, include_owner: options.includeOwner } : {}),
    };
    const query = { ...filters(options, v), ...flags };
    // A sample's datasets come as a bare array on both versions (it honours `limit`, not `offset`).
    if (options.sampleId) {
      const path = `samples/${id(options.sampleId, 'sample id')}/datasets`;
      return arrayList(this.ctx, path, schema, query, options);
    }
    return v === 'v2'
      ? keysetList(this.ctx, 'datasets', schema, query, options)
      : arrayList(this.ctx, 'datasets', schema, query, options);
  }

  // issue 13: basics
  /**
   * Datasets whose name matches `text` (fuzzy, best first; spec §19.2), readable ones only, optionally of one
   * project. One request, sent when iterated; `text` under 3 characters is a `UsageError`.
   */
  search(
    text: string,
    options: SearchOptions & { projectId?: string } = {},
  ): PageIterable<CrucibleDataset, unknown> {
    const query = { project_id: options.projectId };
    return searchList(this.ctx, 'datasets/search', datasetSchema, text, query, options);
  }

  /** One dataset; with `includeMetadata`, its scientific metadata as a flat object (one call on v2). */
  async get(dsid: string, options: DatasetGetOptions = {}): Promise<CrucibleDataset> {
    const path = `datasets/${id(dsid, 'dataset id')}`;
    if (this.ctx.version === 'v2') {
      const query = {
        include_metadata: options.includeMetadata,
        include_links: options.includeLinks,
        include_owner: options.includeOwner,
      };
      return getRecord(this.ctx, path, datasetSchema, `dataset ${dsid}`, {
        ...requestOptions(options),
        query: clean(query),
      });
    }
    const dataset = await getRecord(
      this.ctx,
      path,
      datasetSchemaV1,
      `dataset ${dsid}`,
      requestOptions(options),
    );
    if (!options.includeMetadata) return dataset;
    // v1 has no `include_metadata` on a single dataset: the metadata is a second call. `raw` stays the record
    // as the server sent it.
    return { ...dataset, scientificMetadata: await this.metadata(dsid, options) };
  }

  /** Creates a dataset (the server assigns `uniqueId` when not given). Not repeated on failure. */
  async create(input: DatasetInput, options: RequestOptions = {}): Promise<CrucibleDataset> {
    // Not repeated on failure: a second POST would create a second dataset.
    return call(this.ctx, 'datasets', datasetSchemaFor(this.ctx), {
      method: 'POST',
      json: datasetBody(input, this.ctx.version),
      ...requestOptions(options),
    });
  }

  /**
   * A dataset from a JSON record in the API's own field names (`dataset_name`, `project_id`, …), as the
   * reference client's `build_new_dataset_from_json`: the record is created (nulls left out), then its
   * `scientific_metadata` merged and its `keywords` added, when the record (or `options`) has them.
   */
  async createFromJson(
    record: Record<string, unknown>,
    options: RequestOptions & {
      scientificMetadata?: Record<string, unknown>;
      keywords?: readonly string[];
    } = {},
  ): Promise<{
    dataset: CrucibleDataset;
    scientificMetadata: Record<string, unknown>;
    keywords: CrucibleKeyword[];
  }> {
    if (!isObject(record)) throw new UsageError('A dataset record must be a JSON object');
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
    const dataset = await call(this.ctx, 'datasets', datasetSchemaFor(this.ctx), {
      method: 'POST',
      json: body(fields),
      ...requestOptions(options),
    });
    const scientificMetadata =
      Object.keys(metadata).length > 0 ? await this.mergeMetadata(dataset.uniqueId, metadata, options) : {};
    const added =
      keywords.length > 0 ? await new Keywords(this.ctx).add(dataset.uniqueId, keywords, options) : [];
    return { dataset, scientificMetadata, keywords: added };
  }

  /** Updates the given fields. */
  async update(dsid: string, changes: DatasetInput, options: RequestOptions = {}): Promise<CrucibleDataset> {
    const { uniqueId: _ignored, ...rest } = changes;
    const updated = await call(
      this.ctx,
      `datasets/${id(dsid, 'dataset id')}`,
      datasetSchemaFor(this.ctx).nullable(),
      {
        method: 'PATCH',
        json: datasetBody(rest, this.ctx.version),
        ...requestOptions(options),
        // PATCH with the same fields twice leaves the same record.
        idempotent: true,
      },
    );
    // A 2xx without a body (spec §3): the record as it is now.
    return updated ?? this.get(dsid, requestOptions(options));
  }

  /** The scientific metadata as a flat object; `{}` when the dataset has none. */
  async metadata(dsid: string, options: RequestOptions = {}): Promise<Record<string, unknown>> {
    return readMetadata(this.ctx, dsid, options);
  }

  /** Deep-merges `metadata` into the dataset's (creating it when absent). */
  async mergeMetadata(
    dsid: string,
    metadata: Record<string, unknown>,
    options: RequestOptions = {},
  ): Promise<Record<string, unknown>> {
    return setMetadata(this.ctx, dsid, metadata, 'merge', options);
  }

  /** Replaces the dataset's metadata with `metadata` (not repeated blindly: the state is read first). */
  async replaceMetadata(
    dsid: string,
    metadata: Record<string, unknown>,
    options: RequestOptions = {},
  ): Promise<Record<string, unknown>> {
    return setMetadata(this.ctx, dsid, metadata, 'replace', options);
  }

  /** Samples linked to the dataset. */
  samples(dsid: string, options: ListOptions = {}): PageIterable<CrucibleSample, unknown> {
    const path = `datasets/${id(dsid, 'dataset id')}/samples`;
    return offsetOrArrayList(this.ctx, path, sampleSchema, {}, options);
  }

  async linkSample(dsid: string, sid: string, options: RequestOptions = {}): Promise<void> {
    await setLink(
      this.ctx,
      `datasets/${id(dsid, 'dataset id')}/samples/${id(sid, 'sample id')}`,
      true,
      options,
    );
  }

  async unlinkSample(dsid: string, sid: string, options: RequestOptions = {}): Promise<void> {
    await setLink(
      this.ctx,
      `datasets/${id(dsid, 'dataset id')}/samples/${id(sid, 'sample id')}`,
      false,
      options,
    );
  }

  /** Links a derived dataset to the dataset it was made from. */
  async linkChild(parent: string, child: string, options: RequestOptions = {}): Promise<void> {
    await setLink(this.ctx, childPath(parent, child), true, options);
  }

  async unlinkChild(parent: string, child: string, options: RequestOptions = {}): Promise<void> {
    await setLink(this.ctx, childPath(parent, child), false, options);
  }

  children(dsid: string, options: ListOptions = {}): PageIterable<CrucibleDataset, unknown> {
    return this.relatives(dsid, 'children', options);
  }

  parents(dsid: string, options: ListOptions = {}): PageIterable<CrucibleDataset, unknown> {
    return this.relatives(dsid, 'parents', options);
  }

  private relatives(dsid: string, which: 'children' | 'parents', options: ListOptions) {
    const path = `datasets/${id(dsid, 'dataset id')}/${which}`;
    return offsetOrArrayList(this.ctx, path, datasetSchemaFor(this.ctx), {}, options);
  }

  /** Links of any resource (v2): parents, children and associated samples or datasets. */
  links(resourceId: string, options: ListOptions = {}): PageIterable<CrucibleLink, unknown> {
    const path = `resources/${id(resourceId, 'id')}/links`;
    return singlePage(
      async (signal) => call(this.ctx, path, itemsOf(linkSchema), { ...requestOptions(options), signal }),
      options,
    );
  }
}

function childPath(parent: string, child: string): string {
  return `datasets/${id(parent, 'dataset id')}/children/${id(child, 'dataset id')}`;
}
