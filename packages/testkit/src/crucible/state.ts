import type { SimRoutes } from '../routes.js';
import { type Access, createAccess } from './access.js';
import { BlobStore } from './blobs.js';
import type { Version } from './common.js';
import type { CrucibleSimStats, CrucibleSimulatorOptions } from './crucible-simulator.js';
import { createHelpers, type Helpers } from './helpers.js';
import { type CrucibleState, type IngestionOutcome, seedState } from './model.js';
import { createProcessing, type Processing } from './processing.js';
import { createQuery, type Query } from './query.js';
import { createSerializers, type Serializers } from './serialize.js';
import { createStorage, type Storage } from './storage.js';

/**
 * Where routes are served: an API prefix with its version (`/api/v2` → v2, `/testapi` → v1), or the storage
 * host's prefix. Each route module answers only the mounts it belongs to.
 */
export interface CrucibleMount {
  readonly prefix: string;
  readonly api: Version | 'storage';
}

/** A route module of the Crucible simulator. */
export type CrucibleRoutes = SimRoutes<CrucibleSim, CrucibleMount>;

/** The options with their defaults applied, and the simulated service's data and mutable state (seeded). */
export interface CrucibleSimState {
  readonly options: CrucibleSimulatorOptions;
  readonly seed: number;
  readonly datasetCount: number;
  readonly now: () => number;
  readonly pageSize: number;
  readonly maxPage: number;
  readonly v2Prefixes: readonly string[];
  readonly v1Prefixes: readonly string[];
  readonly storagePrefix: string;
  readonly linkTtl: number;
  readonly chunkHint: number;
  readonly v1Limit: number;
  readonly requestedMs: number;
  readonly startedMs: number;
  readonly badKey: { readonly v1: 400 | 401 | 403; readonly v2: 400 | 401 | 403 };
  readonly missingAsNull: boolean;
  readonly blobs: BlobStore;
  readonly signingSecret: string;
  /** The records (users, projects, datasets, files, sessions, requests …); reseeded in place by `reset()`. */
  readonly db: CrucibleState;
  /** Forced outcomes of the next ingestion requests, by dataset `unique_id` or file `mfid`. */
  readonly outcomes: Map<string, IngestionOutcome>;
  /** Signatures of the signed URLs issued, and of those revoked by `expireLinks()`. */
  readonly issued: Set<string>;
  readonly revoked: Set<string>;
  /** How far `expireLinks()` has moved the signing clock: links issued after it carry a later date. */
  linkClockMs: number;
  /** The signing clock. */
  linkNow(): number;
  /** `persistPartially(bytes, times)`: what the next chunk PUTs persist at most. */
  partial: { bytes: number; times: number } | undefined;
  /** `setDatabaseHealth(false)`: `/health/ready` answers 503 `degraded` with `db: "error"`. */
  dbHealthy: boolean;
  /** The counters; zeroed in place by `reset()`. */
  readonly stats: CrucibleSimStats;
  /** Back to the seeded state; counters zeroed; uploaded bytes removed. */
  reset(): void;
}

/** The state and the helpers over it that the route modules share. */
export type CrucibleSim = CrucibleSimState & Access & Serializers & Processing & Query & Storage & Helpers;

const emptyStats = (): CrucibleSimStats => ({
  requests: 0,
  apiRequests: 0,
  storageRequests: 0,
  storageAuthorizationHeaders: 0,
  authFailures: 0,
  forbidden: 0,
  routes: {},
  writes: {},
  chunkPuts: 0,
  probes: 0,
  partialChunks: 0,
  misalignedChunks: 0,
  rejectedChunks: 0,
  bytesPersisted: 0,
  uploadsCompleted: 0,
  repeatedCompletes: 0,
  dedupHits: 0,
  v1Uploads: 0,
  v1UploadBytes: 0,
  uploadsTooLarge: 0,
  downloads: 0,
  rangeDownloads: 0,
  bytesServed: 0,
  expiredLinkHits: 0,
  badSignatures: 0,
  ingestionRequests: 0,
  scicatRequests: 0,
});

/** Applies the defaults and seeds the records. */
export function createCrucibleState(options: CrucibleSimulatorOptions): CrucibleSimState {
  const seed = options.seed ?? 1;
  const datasetCount = options.datasets ?? 50;
  const now = options.now ?? Date.now;
  const blobs = new BlobStore(options.tmpDir);
  const state: CrucibleSimState = {
    options,
    seed,
    datasetCount,
    now,
    pageSize: options.pageSize ?? 100,
    maxPage: options.maxPageSize ?? 1000,
    v2Prefixes: options.v2Prefixes ?? ['/api/v2'],
    v1Prefixes: options.v1Prefixes ?? ['/api/v1', '/testapi', '/testapi-staging'],
    storagePrefix: (options.storagePrefix ?? '/storage').replace(/\/+$/, ''),
    linkTtl: options.linkTtlSeconds ?? 3600,
    chunkHint: options.chunkSizeHint ?? 8 * 1024 * 1024,
    v1Limit: options.v1UploadLimit ?? 100_000_000,
    requestedMs: options.ingestionSteps?.requestedMs ?? 100,
    startedMs: options.ingestionSteps?.startedMs ?? 400,
    badKey: { v1: options.invalidKeyStatus?.v1 ?? 400, v2: options.invalidKeyStatus?.v2 ?? 401 },
    missingAsNull: options.v2MissingRecords === 'null',
    blobs,
    signingSecret: `crucible-sim-signing-${seed}`,
    db: seedState({ seed, datasets: datasetCount, blobs }),
    outcomes: new Map(),
    issued: new Set(),
    revoked: new Set(),
    linkClockMs: 0,
    linkNow: () => now() + state.linkClockMs,
    partial: undefined,
    dbHealthy: true,
    stats: emptyStats(),
    reset() {
      for (const s of state.db.sessions.values()) if (!s.blob) void s.writer.discard();
      blobs.disposeSync();
      Object.assign(state.db, seedState({ seed, datasets: datasetCount, blobs }));
      state.outcomes.clear();
      state.issued.clear();
      state.revoked.clear();
      state.linkClockMs = 0;
      state.partial = undefined;
      state.dbHealthy = true;
      Object.assign(state.stats, emptyStats());
    },
  };
  return state;
}

/** The state with its helpers, built in dependency order (each helper module sees the ones before it). */
export function createCrucibleSim(options: CrucibleSimulatorOptions): CrucibleSim {
  const state = createCrucibleState(options);
  const access = Object.assign(state, createAccess(state));
  const serializers = Object.assign(access, createSerializers(access));
  const processing = Object.assign(serializers, createProcessing(serializers));
  const query = Object.assign(processing, createQuery(processing));
  const storage = Object.assign(query, createStorage(query));
  return Object.assign(storage, createHelpers(storage));
}
