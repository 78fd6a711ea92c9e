import type { RequestHandler } from 'msw';
import { composeRoutes } from '../routes.js';
import type { SimBlob } from './blobs.js';
import { basename } from './common.js';
import type {
  CrucibleSimDataset,
  CrucibleSimFile,
  CrucibleSimInstrument,
  CrucibleSimProject,
  CrucibleSimSample,
  CrucibleSimUser,
  IngestionOutcome,
} from './model.js';
import { type CrucibleSimMultipart, type CrucibleSimMultipartOptions, multipartState } from './multipart.js';
import { datasetRoutes } from './routes/datasets.js';
import { fastApiFallback, fastApiGate, healthRoutes } from './routes/fastapi.js';
import { fileRoutes } from './routes/files.js';
import { graphRoutes } from './routes/graph.js';
import { instrumentRoutes } from './routes/instruments.js';
import { multipartStorageRoutes } from './routes/multipart.js';
import { projectRoutes } from './routes/projects.js';
import { requestRoutes } from './routes/requests.js';
import { resourceRoutes } from './routes/resources.js';
import { sampleRoutes } from './routes/samples.js';
import { storageRoutes } from './routes/storage.js';
import { uploadRoutes } from './routes/uploads.js';
import { userRoutes } from './routes/users.js';
import { type CrucibleMount, type CrucibleRoutes, createCrucibleSim } from './state.js';

/**
 * A simulated Crucible (Molecular Foundry data lakehouse, spec crucible.md): API v1 (§1–§9, what pycrucible
 * uses) and API v2 (§15–§18) served by one simulator over the same data, plus a Google-Cloud-Storage-like
 * storage host for signed downloads and resumable uploads.
 *
 * - Paths are exact, as FastAPI routes them: a trailing slash answers 307 to the path without it, an empty
 *   segment 404.
 * - Bearer keys per user (`admin`, `demo`, `outsider`, and a service account `ingest-worker`); a missing key is
 *   401, an unknown key 400 on v1 ("no account found", as the reference tests expect) and 401 on v2.
 * - Access: admin, owner, project member (through access groups) or `public` reads; the same minus `public`
 *   writes; other users' private records are 403 with a `detail` reason.
 * - v1 lists are bare arrays (`limit` honoured by `GET /datasets` and `GET /samples/{id}/datasets`, default
 *   `pageSize`, no cap, no offset); v2 `GET /datasets` and `GET /samples` are keyset envelopes (newest first,
 *   `total` on the first page only), other v2 lists offset envelopes; `limit` above 1000 is clamped.
 * - Files: v1 multipart upload (limit 1e8 bytes, 413 above) into the shared `api-uploads/<basename>` folder;
 *   v2 initiate → resumable session URI (chunked `PUT`s with `Content-Range`, 308 + `Range`, probes) → complete
 *   with a SHA-256 check; de-duplication by SHA-256 in the dataset. Bytes are streamed to temp files under
 *   `os.tmpdir()` (running SHA-256/CRC32C), never held in memory; downloads stream from disk with `Range`.
 * - Ingestion requests (per dataset on v1, per file on v2) and SciCat requests (v1) move `requested` →
 *   `started` → a terminal status as the injected clock advances; on `complete` the files are copied to
 *   `mf-storage-prod/<dsid>/…` and become downloadable.
 * - Signed URLs carry `X-Goog-*` query parameters (HMAC signature, date, expiry); storage rejects requests
 *   with an `Authorization` header (400), forged signatures and expired links (403), with GCS XML errors.
 */

/** Where a behaviour the spec leaves open can be switched. */
export interface CrucibleSimulatorOptions {
  seed?: number;
  /** Generated datasets (default 50). 20,000 are fine: only the oldest 120 carry files. */
  datasets?: number;
  /** Page size when `limit` is absent: v2 envelopes and v1 `GET /datasets` (default 100). */
  pageSize?: number;
  /** The v2 page cap; larger `limit`s are clamped (default 1000). */
  maxPageSize?: number;
  /** Path prefixes served as API v2 (default `['/api/v2']`). */
  v2Prefixes?: readonly string[];
  /** Path prefixes served as API v1 (default `['/api/v1', '/testapi', '/testapi-staging']`). */
  v1Prefixes?: readonly string[];
  /** Path prefix of the storage host routes (default `/storage`). */
  storagePrefix?: string;
  /** Origin put in signed URLs and session URIs (default: the origin of the API request). */
  storageOrigin?: string;
  /** Lifetime of signed download URLs in seconds (default 3600). */
  linkTtlSeconds?: number;
  /** `chunk_size_hint` of upload initiation (default 8 MiB). */
  chunkSizeHint?: number;
  /** Largest file part the v1 multipart upload accepts; above it answers 413 (default 100,000,000). */
  v1UploadLimit?: number;
  /** How long an ingestion or SciCat request stays `requested`, then `started` (defaults 100 ms, 400 ms). */
  ingestionSteps?: { requestedMs?: number; startedMs?: number };
  /** Status for an unknown API key (defaults: v1 400, v2 401). A missing header is always 401. */
  invalidKeyStatus?: { v1?: 400 | 401 | 403; v2?: 400 | 401 | 403 };
  /** v2 `GET` of a missing dataset/sample/project/user/instrument: 404 (default) or 200 `null` (as v1). */
  v2MissingRecords?: '404' | 'null';
  /** v2 `GET /datasets/{id}/download_links` without ingested files: 404 (default) or 200 `{"detail": …}`. */
  emptyDownloadLinks?: '404' | 'detail';
  /** Where the temp directory for uploaded bytes is created (default `os.tmpdir()`). */
  tmpDir?: string;
  /** Multipart uploads (§19.9): given, `initiate/multipart` vends a storage token; absent, it answers 501. */
  multipart?: CrucibleSimMultipartOptions;
  now?: () => number;
}

export interface CrucibleSimStats {
  requests: number;
  apiRequests: number;
  storageRequests: number;
  /** Storage requests that carried an `Authorization` header: a correct client keeps this at 0. */
  storageAuthorizationHeaders: number;
  /** 401s and bad-key answers. */
  authFailures: number;
  forbidden: number;
  /** API calls per route template, e.g. `GET /datasets/{dsid}`. */
  routes: Record<string, number>;
  /** Non-GET API calls per route template, e.g. `POST /datasets/{dsid}/keywords` (double writes show here). */
  writes: Record<string, number>;
  chunkPuts: number;
  probes: number;
  /** Chunks of which less than sent was persisted (forced with `persistPartially`, or not 256 KiB aligned). */
  partialChunks: number;
  misalignedChunks: number;
  /** Chunks refused (gap after the persisted offset, wrong length, bad `Content-Range`). */
  rejectedChunks: number;
  bytesPersisted: number;
  uploadsCompleted: number;
  /** `complete` calls for an upload that was already completed (answered with the same record). */
  repeatedCompletes: number;
  dedupHits: number;
  v1Uploads: number;
  v1UploadBytes: number;
  uploadsTooLarge: number;
  downloads: number;
  rangeDownloads: number;
  bytesServed: number;
  expiredLinkHits: number;
  badSignatures: number;
  ingestionRequests: number;
  scicatRequests: number;
}

/** A resumable upload session as tests see it. */
export interface CrucibleSimSessionInfo {
  uploadId: string;
  datasetId: string;
  filename: string;
  objectName: string;
  size: number;
  persisted: number;
  completed: boolean;
  fileMfid: string | null;
  chunkPuts: number;
  probes: number;
  state: 'active' | 'expired' | 'cancelled';
}

export interface CrucibleSimRequestInfo {
  id: number;
  kind: 'ingest' | 'scicat';
  datasetId: string;
  fileMfid: string | null;
  status: string;
}

export interface AddFileOptions {
  filename: string;
  /** The content: bytes, a file on disk (served as is), or generated content of `size` bytes. */
  bytes?: Uint8Array;
  path?: string;
  size?: number;
  /** Whether the file is already in production storage (downloadable). Default true. */
  ingested?: boolean;
  /**
   * Its path in the dataset once ingested (`storage_path` = `mf-storage-prod/<dsid>/<datasetPath>`), which may
   * contain `/` (ingestors copy folders) or anything a server might send. Default: the basename of `filename`.
   */
  datasetPath?: string;
}

export interface CrucibleSimulator {
  readonly handlers: RequestHandler[];
  readonly users: readonly CrucibleSimUser[];
  readonly projects: readonly CrucibleSimProject[];
  readonly instruments: readonly CrucibleSimInstrument[];
  /** Datasets in creation order (the last is the newest). */
  readonly datasets: readonly CrucibleSimDataset[];
  readonly samples: readonly CrucibleSimSample[];
  /** A snapshot of the counters. */
  readonly stats: CrucibleSimStats;
  /** Snapshots of the resumable upload sessions. */
  readonly sessions: readonly CrucibleSimSessionInfo[];
  /** Multipart uploads (§19.9): whether offered, counters, uploads, faults and holds. */
  readonly multipart: CrucibleSimMultipart;
  /** Snapshots of the ingestion and SciCat requests, with their current status. */
  readonly requests: readonly CrucibleSimRequestInfo[];
  /** The API key of a user (`admin`, `demo`, `outsider`, `ingest-worker`). */
  keyFor(username: string): string;
  user(username: string): CrucibleSimUser;
  dataset(uniqueId: string): CrucibleSimDataset | undefined;
  file(mfid: string): CrucibleSimFile | undefined;
  filesOf(datasetId: string): readonly CrucibleSimFile[];
  /**
   * Forces what the next ingestion requests of a dataset (by its `unique_id`) or of a file (by its `mfid`) end
   * in; `'stuck'` leaves them `requested` (no worker). `undefined` restores the natural outcome. Also applies
   * to SciCat requests of that dataset.
   */
  setIngestionOutcome(id: string, outcome: IngestionOutcome | undefined): void;
  /** Makes every signed URL issued so far answer 403 (as after its hour). */
  expireLinks(): void;
  /** Makes every resumable session answer 404 (as after its week), removing its bytes. */
  expireUploadSessions(): void;
  /** The next `times` chunk PUTs persist at most `bytes` more bytes (rounded down to 256 KiB) and answer 308. */
  persistPartially(bytes: number, times?: number): void;
  /** `false`: `GET /health/ready` answers 503 `{status: "degraded", db: "error"}` until set back (or `reset()`). */
  setDatabaseHealth(healthy: boolean): void;
  /** Adds a file record to a dataset, with its bytes in storage; returns the record. */
  addFile(datasetId: string, options: AddFileOptions): Promise<CrucibleSimFile>;
  /** The bytes a file's download serves (production copy, else the uploaded object). Small files only. */
  fileBytes(mfid: string): Promise<Uint8Array | undefined>;
  /** The temp or external file backing a file record's bytes, for big comparisons (not for generated content). */
  filePath(mfid: string): string | undefined;
  /** The SHA-256 of the bytes a file's download serves. */
  servedSha256(mfid: string): string | undefined;
  /** Back to the seeded state; counters zeroed; uploaded bytes removed. */
  reset(): void;
  /** Removes the temp directory. */
  dispose(): Promise<void>;
}

/** The API route modules (each declares its routes for v1, v2 or both). */
const API_ROUTES: readonly CrucibleRoutes[] = [
  userRoutes,
  projectRoutes,
  instrumentRoutes,
  sampleRoutes,
  datasetRoutes,
  fileRoutes,
  uploadRoutes,
  requestRoutes,
  resourceRoutes,
  graphRoutes,
];

/**
 * Every route module, in the order their handlers are tried on a mount: the storage host on its mount; on an API
 * mount FastAPI's path rules, health, the API routes, then 404/405.
 */
const ROUTES: readonly CrucibleRoutes[] = [
  multipartStorageRoutes,
  storageRoutes,
  fastApiGate,
  healthRoutes,
  ...API_ROUTES,
  fastApiFallback(API_ROUTES),
];

export function createCrucibleSimulator(options: CrucibleSimulatorOptions = {}): CrucibleSimulator {
  const sim = createCrucibleSim(options);
  const { seed, db: state, blobs, stats, outcomes, linkTtl } = sim;
  // The storage host first, then the API prefixes, longest first (`/testapi-staging` before `/testapi`).
  const mounts: CrucibleMount[] = [
    { prefix: sim.storagePrefix, api: 'storage' },
    ...[
      ...sim.v2Prefixes.map((p) => ({ prefix: p.replace(/\/+$/, ''), api: 'v2' as const })),
      ...sim.v1Prefixes.map((p) => ({ prefix: p.replace(/\/+$/, ''), api: 'v1' as const })),
    ].sort((a, b) => b.prefix.length - a.prefix.length),
  ];
  const handlers: RequestHandler[] = composeRoutes(sim, mounts, ROUTES);

  const blobOf = (f: CrucibleSimFile): SimBlob | undefined =>
    (f.storagePath === null ? undefined : state.production.get(f.storagePath)) ??
    (f.uploadObject === null ? undefined : state.uploadBucket.get(f.uploadObject));

  return {
    handlers,
    get users() {
      return state.users;
    },
    get projects() {
      return [...state.projects.values()];
    },
    get instruments() {
      return state.instruments;
    },
    get datasets() {
      return state.datasets;
    },
    get samples() {
      return state.samples;
    },
    get stats() {
      return { ...stats, routes: { ...stats.routes }, writes: { ...stats.writes } };
    },
    get sessions() {
      return [...state.sessions.values()].map((s) => ({
        uploadId: s.uploadId,
        datasetId: s.datasetId,
        filename: s.filename,
        objectName: s.objectName,
        size: s.size,
        persisted: s.blob ? s.blob.size : s.writer.persisted,
        completed: s.blob !== undefined,
        fileMfid: s.fileMfid,
        chunkPuts: s.chunkPuts,
        probes: s.probes,
        state: s.state,
      }));
    },
    multipart: multipartState(sim).control,
    get requests() {
      return [...state.requests.values()].map((r) => ({
        id: r.id,
        kind: r.kind,
        datasetId: r.datasetId,
        fileMfid: r.fileMfid,
        status: sim.statusOf(r),
      }));
    },
    keyFor(username) {
      const key = state.users.find((u) => u.username === username)?.apiKey;
      if (!key) throw new RangeError(`no user ${username} with an API key`);
      return key;
    },
    user(username) {
      const u = state.users.find((x) => x.username === username);
      if (!u) throw new RangeError(`no user ${username}`);
      return u;
    },
    dataset(uniqueId) {
      return state.datasetById.get(uniqueId);
    },
    file(id) {
      return state.files.get(id);
    },
    filesOf(datasetId) {
      return state.filesByDataset.get(datasetId) ?? [];
    },
    setIngestionOutcome(id, outcome) {
      if (outcome === undefined) outcomes.delete(id);
      else outcomes.set(id, outcome);
    },
    expireLinks() {
      for (const s of sim.issued) sim.revoked.add(s);
      sim.issued.clear();
      // As after the links' hour: the ones issued so far are past their expiry, new ones are dated later.
      sim.linkClockMs += (linkTtl + 1) * 1000;
    },
    expireUploadSessions() {
      for (const s of state.sessions.values()) {
        if (s.state !== 'active') continue;
        s.state = 'expired';
        if (!s.blob) void s.writer.discard();
      }
    },
    persistPartially(bytes, times = 1) {
      sim.partial = { bytes, times };
    },
    setDatabaseHealth(healthy) {
      sim.dbHealthy = healthy;
    },
    async addFile(datasetId, opts) {
      const ds = state.datasetById.get(datasetId);
      if (!ds) throw new RangeError(`no dataset ${datasetId}`);
      const blob =
        opts.bytes !== undefined
          ? await blobs.fromBytes(opts.bytes)
          : opts.path !== undefined
            ? await blobs.external(opts.path)
            : await blobs.generated(seed * 104_729 + state.next.file, opts.size ?? 4096);
      const name = basename(opts.filename);
      const object = `api-uploads/${ds.uniqueId}/${name}`;
      sim.putBlob(state.uploadBucket, object, blob);
      const f = sim.addFileRecord(ds.uniqueId, {
        filename: `crucible-uploads/${object}`,
        size: blob.size,
        sha256: blob.sha256,
        storagePath: null,
        uploadObject: object,
        storageBackend: 'gcs',
        accessNote: null,
      });
      if (opts.ingested ?? true) {
        sim.ingestFile(ds, f);
        if (opts.datasetPath !== undefined && f.storagePath !== null) {
          const storagePath = `mf-storage-prod/${ds.uniqueId}/${opts.datasetPath}`;
          state.production.delete(f.storagePath);
          sim.putBlob(state.production, storagePath, blob);
          f.storagePath = storagePath;
        }
        sim.recomputeSize(ds);
      }
      return f;
    },
    async fileBytes(id) {
      const f = state.files.get(id);
      const blob = f ? blobOf(f) : undefined;
      return blob ? blobs.read(blob) : undefined;
    },
    filePath(id) {
      const f = state.files.get(id);
      const blob = f ? blobOf(f) : undefined;
      return blob ? blobs.pathOf(blob) : undefined;
    },
    servedSha256(id) {
      const f = state.files.get(id);
      return f ? blobOf(f)?.sha256 : undefined;
    },
    reset() {
      sim.reset();
    },
    async dispose() {
      for (const s of state.sessions.values()) if (!s.blob) await s.writer.discard();
      await blobs.dispose();
    },
  };
}
