import {
  NotFoundError,
  type PageIterable,
  type RequestOptions,
  requestOptions,
  singlePage,
  UsageError,
} from '@sciport/core';
import { type Context, call, getRecord, id } from '../internal/context.js';
import { readMetadata, setMetadata } from '../internal/metadata.js';
import { type SearchOptions, searchList } from '../internal/search.js';
import { type CrucibleMetadataHit, metadataHitSchema } from '../schemas/basics.js';
import { type CrucibleResourceRecord, resourceSchema } from '../schemas/catalog.js';
import type { CrucibleDataset } from '../schemas/datasets.js';
import { type CrucibleGraph, graphSchema } from '../schemas/graph.js';
import type { CrucibleSample } from '../schemas/samples.js';
import { Datasets } from './datasets.js';
import { Samples } from './samples.js';

/** What an id names: its kind, its project and its record. */
export interface ResourceInfo {
  /** `dataset`, `sample`, `instrument`, … (what the server says; `dataset` when it does not). */
  type: string;
  projectId: string | undefined;
  record: CrucibleResourceRecord | CrucibleDataset | CrucibleSample;
}

/** The kinds of record the metadata search finds (spec §19.2). */
export type MetadataHitType = 'dataset' | 'sample' | 'instrument';
const METADATA_HIT_TYPES: readonly string[] = ['dataset', 'sample', 'instrument'];

/** Any record by its id, whatever its kind (spec §16). */
export class Resources {
  constructor(protected readonly ctx: Context) {}

  /**
   * What kind of record an id names (dataset, sample, instrument) and its project. v2: `GET /resources/{id}`;
   * v1, which has no such lookup: the dataset, else the sample, of that id.
   */
  async get(resourceId: string, options: RequestOptions = {}): Promise<ResourceInfo> {
    if (this.ctx.version === 'v2') {
      const r = await getRecord(
        this.ctx,
        `resources/${id(resourceId, 'id')}`,
        resourceSchema,
        `record ${resourceId}`,
        requestOptions(options),
      );
      return { type: r.resourceType ?? 'dataset', projectId: r.projectId ?? undefined, record: r };
    }
    try {
      const d = await new Datasets(this.ctx).get(resourceId, options);
      return { type: 'dataset', projectId: d.projectId ?? undefined, record: d };
    } catch (error) {
      if (!NotFoundError.isInstance(error)) throw error;
    }
    const sample = await new Samples(this.ctx).get(resourceId, options);
    return { type: 'sample', projectId: sample.projectId ?? undefined, record: sample };
  }

  // issue 13: basics
  /**
   * Full-text search over the scientific metadata of every readable dataset, sample and instrument (spec
   * §19.2), best `rank` first; with `type`, only hits of that kind. One request, sent when iterated; `text`
   * under 3 characters is a `UsageError`.
   */
  searchMetadata(
    text: string,
    options: SearchOptions & { type?: MetadataHitType } = {},
  ): PageIterable<CrucibleMetadataHit, unknown> {
    const type = options.type;
    if (type !== undefined && !METADATA_HIT_TYPES.includes(type))
      throw new UsageError(`Metadata search finds ${METADATA_HIT_TYPES.join(', ')}s, not ${String(type)}`);
    const hits = searchList(this.ctx, 'resources/metadata/search', metadataHitSchema, text, {}, options);
    if (type === undefined) return hits;
    return singlePage(async () => (await hits.toArray()).filter((h) => h.resourceType === type), {
      signal: options.signal,
    });
  }

  /** The scientific metadata of any record (dataset, sample, instrument; a project by `project_id`); `{}` when none. */
  async metadata(resourceId: string, options: RequestOptions = {}): Promise<Record<string, unknown>> {
    return readMetadata(this.ctx, resourceId, options);
  }

  /** Deep-merges `metadata` into any record's (creating it when absent); v1: datasets only. */
  async mergeMetadata(
    resourceId: string,
    metadata: Record<string, unknown>,
    options: RequestOptions = {},
  ): Promise<Record<string, unknown>> {
    return setMetadata(this.ctx, resourceId, metadata, 'merge', options);
  }

  /** Replaces any record's metadata with `metadata` (not repeated blindly); v1: datasets only. */
  async replaceMetadata(
    resourceId: string,
    metadata: Record<string, unknown>,
    options: RequestOptions = {},
  ): Promise<Record<string, unknown>> {
    return setMetadata(this.ctx, resourceId, metadata, 'replace', options);
  }

  // issue 13: graph
  /**
   * The graph around a dataset or sample (v2 `GET /entity_graph_cte/{id}`, spec §19.4): its first-degree
   * neighbours and the edges among them, or with `recursive: true` its whole connected component. Only
   * resources the caller may read appear. Cut it with `cutGraph`, draw it with `renderTree`.
   */
  async graph(
    resourceId: string,
    options: RequestOptions & { recursive?: boolean } = {},
  ): Promise<CrucibleGraph> {
    if (this.ctx.version !== 'v2') throw new UsageError('Resource graphs need API v2');
    return call(this.ctx, `entity_graph_cte/${id(resourceId, 'id')}`, graphSchema, {
      ...(options.recursive ? { query: { recursive: true } } : {}),
      ...requestOptions(options),
    });
  }
}
