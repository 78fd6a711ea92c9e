import { createHmac } from 'node:crypto';
import { HttpResponse, http, type RequestHandler } from 'msw';
import { withFileBody } from '../file-body.js';
import { BlobStore, ChunkLengthError, type SimBlob } from './crucible-blobs.js';
import {
  type AclEntry,
  AUTO_DETECT,
  type CrucibleSimDataset,
  type CrucibleSimFile,
  type CrucibleSimInstrument,
  type CrucibleSimProject,
  type CrucibleSimSample,
  type CrucibleSimUser,
  type CrucibleState,
  INGESTION_CLASSES,
  type IngestionOutcome,
  link,
  type ProcessingRequest,
  seedState,
  type UploadSession,
  unlink,
} from './crucible-model.js';
import {
  clone,
  deepMerge,
  detail,
  googDate,
  isObject,
  type JsonObject,
  type JsonValue,
  json,
  laIso,
  MFID_PATTERN,
  MultipartError,
  mfid,
  naiveIso,
  parseBool,
  parseContentRange,
  parseGoogDate,
  parseIsoMs,
  parseMultipart,
  parseRange,
  token,
  validation,
  xmlError,
} from './crucible-util.js';

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

type Version = 'v1' | 'v2';

interface Ctx {
  readonly request: Request;
  readonly url: URL;
  readonly version: Version;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly user: CrucibleSimUser;
}

type Handler = (ctx: Ctx) => Response | Promise<Response>;

interface Route {
  readonly method: string;
  readonly segments: readonly string[];
  readonly template: string;
  readonly versions: readonly Version[];
  readonly handler: Handler;
  readonly literals: number;
}

const ADMIN_ONLY = 'Requires admin permissions';
const GRANULE = 256 * 1024;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
const BOTH: readonly Version[] = ['v1', 'v2'];
const V1: readonly Version[] = ['v1'];
const V2: readonly Version[] = ['v2'];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function basename(name: string): string {
  const parts = name.split(/[\\/]/);
  return parts[parts.length - 1] ?? name;
}

function extension(name: string): string {
  const base = basename(name);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

export function createCrucibleSimulator(options: CrucibleSimulatorOptions = {}): CrucibleSimulator {
  const seed = options.seed ?? 1;
  const datasetCount = options.datasets ?? 50;
  const now = options.now ?? Date.now;
  const pageSize = options.pageSize ?? 100;
  const maxPage = options.maxPageSize ?? 1000;
  const v2Prefixes = options.v2Prefixes ?? ['/api/v2'];
  const v1Prefixes = options.v1Prefixes ?? ['/api/v1', '/testapi', '/testapi-staging'];
  const storagePrefix = (options.storagePrefix ?? '/storage').replace(/\/+$/, '');
  const linkTtl = options.linkTtlSeconds ?? 3600;
  const chunkHint = options.chunkSizeHint ?? 8 * 1024 * 1024;
  const v1Limit = options.v1UploadLimit ?? 100_000_000;
  const requestedMs = options.ingestionSteps?.requestedMs ?? 100;
  const startedMs = options.ingestionSteps?.startedMs ?? 400;
  const badKey = { v1: options.invalidKeyStatus?.v1 ?? 400, v2: options.invalidKeyStatus?.v2 ?? 401 };
  const missingAsNull = options.v2MissingRecords === 'null';
  const blobs = new BlobStore(options.tmpDir);
  const signingSecret = `crucible-sim-signing-${seed}`;

  let state: CrucibleState = seedState({ seed, datasets: datasetCount, blobs });
  const outcomes = new Map<string, IngestionOutcome>();
  let issued = new Set<string>();
  let revoked = new Set<string>();
  /** How far `expireLinks()` has moved the signing clock: links issued after it carry a later date. */
  let linkClockMs = 0;
  const linkNow = () => now() + linkClockMs;
  let partial: { bytes: number; times: number } | undefined;

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
  let stats = emptyStats();

  // ---------------------------------------------------------------------------------------------------------
  // Lookups and access
  // ---------------------------------------------------------------------------------------------------------

  const userByOrcid = (orcid: string | null) =>
    orcid === null ? undefined : state.users.find((u) => u.orcid === orcid);
  const instrumentByName = (name: string | null) =>
    name === null ? undefined : state.instruments.find((i) => i.name.toLowerCase() === name.toLowerCase());
  const groupId = (name: string) => {
    let id = state.groupIds.get(name);
    if (id === undefined) {
      id = state.next.group++;
      state.groupIds.set(name, id);
    }
    return id;
  };

  function datasetAcl(ds: CrucibleSimDataset): Map<string, AclEntry> {
    const acl = new Map<string, AclEntry>();
    acl.set(ds.ownerOrcid, { read: true, write: true });
    if (ds.projectId !== null) acl.set(ds.projectId, { read: true, write: true });
    if (ds.instrumentName !== null && !acl.has(ds.instrumentName))
      acl.set(ds.instrumentName, { read: true, write: false });
    for (const [g, e] of ds.acl ?? []) acl.set(g, e);
    return acl;
  }

  const grants = (u: CrucibleSimUser, ds: CrucibleSimDataset, what: 'read' | 'write') => {
    if (u.admin) return true;
    if (u.groups.has(ds.ownerOrcid)) return true;
    if (ds.projectId !== null && u.groups.has(ds.projectId)) return true;
    if (what === 'read' && ds.instrumentName !== null && u.groups.has(ds.instrumentName)) return true;
    if (ds.acl) for (const [g, e] of ds.acl) if (e[what] && u.groups.has(g)) return true;
    return false;
  };
  const canRead = (u: CrucibleSimUser, ds: CrucibleSimDataset) => ds.public || grants(u, ds, 'read');
  const canWrite = (u: CrucibleSimUser, ds: CrucibleSimDataset) => grants(u, ds, 'write');
  const sampleWrite = (u: CrucibleSimUser, s: CrucibleSimSample) =>
    u.admin || u.groups.has(s.ownerOrcid) || (s.projectId !== null && u.groups.has(s.projectId));
  const sampleRead = (u: CrucibleSimUser, s: CrucibleSimSample) => s.public || sampleWrite(u, s);
  const isMember = (u: CrucibleSimUser, p: CrucibleSimProject) =>
    u.admin || p.leadOrcid === u.orcid || (state.members.get(p.projectId)?.has(u.orcid) ?? false);
  const isLead = (u: CrucibleSimUser, p: CrucibleSimProject) => u.admin || p.leadOrcid === u.orcid;

  const forbidden = (message: string) => {
    stats.forbidden += 1;
    return detail(403, message);
  };
  const requireAdmin = (ctx: Ctx) => (ctx.user.admin ? undefined : forbidden(ADMIN_ONLY));

  /** A dataset for a sub-resource: 404 when missing, 403 when not allowed. */
  function dataset(ctx: Ctx, id: string | undefined, need: 'read' | 'write'): CrucibleSimDataset | Response {
    const ds = id === undefined ? undefined : state.datasetById.get(id);
    if (!ds) return detail(404, `Dataset ${id} not found`);
    if (need === 'read' && !canRead(ctx.user, ds))
      return forbidden(`You do not have permission to read dataset ${ds.uniqueId}`);
    if (need === 'write' && !canWrite(ctx.user, ds))
      return forbidden(`You do not have permission to modify dataset ${ds.uniqueId}`);
    return ds;
  }

  function sample(ctx: Ctx, id: string | undefined, need: 'read' | 'write'): CrucibleSimSample | Response {
    const s = id === undefined ? undefined : state.sampleById.get(id);
    if (!s) return detail(404, `Sample ${id} not found`);
    if (need === 'read' && !sampleRead(ctx.user, s))
      return forbidden(`You do not have permission to read sample ${s.uniqueId}`);
    if (need === 'write' && !sampleWrite(ctx.user, s))
      return forbidden(`You do not have permission to modify sample ${s.uniqueId}`);
    return s;
  }

  /** The answer for a record GET of something missing: v1 200 `null`; v2 404 or `null` (option). */
  const missingRecord = (ctx: Ctx, what: string) =>
    ctx.version === 'v1' || missingAsNull ? json(null) : detail(404, `${what} not found`);

  // ---------------------------------------------------------------------------------------------------------
  // Serialisation
  // ---------------------------------------------------------------------------------------------------------

  const userV1 = (u: CrucibleSimUser) => ({
    id: u.id,
    orcid: u.orcid,
    first_name: u.firstName,
    last_name: u.lastName,
    email: u.email,
    lbl_email: u.lblEmail,
    employee_number: u.employeeNumber,
  });
  const userV2 = (u: CrucibleSimUser, full: boolean) => ({
    id: u.id,
    unique_id: u.orcid,
    username: u.username,
    first_name: u.firstName,
    last_name: u.lastName,
    ...(full ? { email: u.email } : {}),
    is_service_account: u.serviceAccount,
  });
  const userOut = (ctx: Ctx, u: CrucibleSimUser, full = true) =>
    ctx.version === 'v1' ? userV1(u) : userV2(u, full);

  function projectOut(ctx: Ctx, p: CrucibleSimProject, withMetadata = false) {
    if (ctx.version === 'v1') {
      return {
        id: p.id,
        project_id: p.projectId,
        organization: p.organization,
        title: p.title,
        status: p.status,
        project_lead_email: p.leadEmail,
        project_lead_name: p.leadName,
      };
    }
    const lead = userByOrcid(p.leadOrcid);
    const member = isMember(ctx.user, p);
    return {
      project_id: p.projectId,
      organization: p.organization,
      title: p.title,
      status: p.status,
      project_lead_email: p.leadEmail,
      project_lead_orcid: p.leadOrcid,
      project_lead_username: lead?.username ?? null,
      lead: lead ? userV2(lead, member) : null,
      creation_time: naiveIso(p.creationMs),
      modification_time: naiveIso(p.modificationMs),
      ...(withMetadata && member ? { scientific_metadata: p.metadata } : {}),
    };
  }

  function instrumentOut(ctx: Ctx, i: CrucibleSimInstrument, withMetadata = false) {
    const base = {
      id: i.id,
      unique_id: i.uniqueId,
      instrument_name: i.name,
      manufacturer: i.manufacturer,
      model: i.model,
      owner: i.owner,
      location: i.location,
      description: i.description,
      instrument_type: i.instrumentType,
      other_id: i.otherId,
      other_id_source: i.otherIdSource,
    };
    if (ctx.version === 'v1') return base;
    return {
      ...base,
      resource_type: 'instrument',
      creation_time: naiveIso(i.creationMs),
      modification_time: naiveIso(i.modificationMs),
      ...(withMetadata ? { scientific_metadata: i.metadata } : {}),
    };
  }

  const metadataWrapperV1 = (ds: CrucibleSimDataset) =>
    ds.metadata === null ? null : { id: ds.id, dataset_id: ds.id, scientific_metadata: ds.metadata };

  interface Includes {
    metadata: boolean;
    links: boolean;
    owner: boolean;
  }
  const noIncludes: Includes = { metadata: false, links: false, owner: false };

  function datasetLinks(u: CrucibleSimUser, ds: CrucibleSimDataset) {
    const out: Array<Record<string, unknown>> = [];
    const add = (id: string, relationship: string) => {
      const other = state.datasetById.get(id);
      if (other && canRead(u, other))
        out.push({ unique_id: id, resource_type: 'dataset', name: other.datasetName, relationship });
    };
    for (const id of state.datasetParents.get(ds.uniqueId) ?? []) add(id, 'parent');
    for (const id of state.datasetChildren.get(ds.uniqueId) ?? []) add(id, 'child');
    for (const id of state.datasetSamples.get(ds.uniqueId) ?? []) {
      const s = state.sampleById.get(id);
      if (s && sampleRead(u, s))
        out.push({ unique_id: id, resource_type: 'sample', name: s.sampleName, relationship: 'associated' });
    }
    return out;
  }

  function sampleLinks(u: CrucibleSimUser, s: CrucibleSimSample) {
    const out: Array<Record<string, unknown>> = [];
    const add = (id: string, relationship: string) => {
      const other = state.sampleById.get(id);
      if (other && sampleRead(u, other))
        out.push({ unique_id: id, resource_type: 'sample', name: other.sampleName, relationship });
    };
    for (const id of state.sampleParents.get(s.uniqueId) ?? []) add(id, 'parent');
    for (const id of state.sampleChildren.get(s.uniqueId) ?? []) add(id, 'child');
    for (const id of state.sampleDatasets.get(s.uniqueId) ?? []) {
      const ds = state.datasetById.get(id);
      if (ds && canRead(u, ds))
        out.push({
          unique_id: id,
          resource_type: 'dataset',
          name: ds.datasetName,
          relationship: 'associated',
        });
    }
    return out;
  }

  function datasetOut(ctx: Ctx, ds: CrucibleSimDataset, inc: Includes = noIncludes): Record<string, unknown> {
    if (ctx.version === 'v1') {
      const out: Record<string, unknown> = {
        id: ds.id,
        unique_id: ds.uniqueId,
        dataset_name: ds.datasetName,
        public: ds.public,
        owner_user_id: userByOrcid(ds.ownerOrcid)?.id ?? null,
        owner_orcid: ds.ownerOrcid,
        project_id: ds.projectId,
        instrument_id: instrumentByName(ds.instrumentName)?.id ?? null,
        instrument_name: ds.instrumentName,
        measurement: ds.measurement,
        session_name: ds.sessionName,
        creation_time: naiveIso(ds.creationMs),
        data_format: ds.dataFormat,
        file_to_upload: ds.fileToUpload,
        size: ds.size,
        sha256_hash_file_to_upload: ds.sha256FileToUpload,
        source_folder: ds.sourceFolder,
        json_link: null,
      };
      // v1 double nesting: the whole metadata record (§4.1).
      if (inc.metadata) out.scientific_metadata = metadataWrapperV1(ds);
      return out;
    }
    const out: Record<string, unknown> = {
      unique_id: ds.uniqueId,
      resource_type: 'dataset',
      dataset_name: ds.datasetName,
      description: ds.description,
      measurement: ds.measurement,
      data_type: ds.dataType,
      data_format: ds.dataFormat,
      session_name: ds.sessionName,
      instrument_name: ds.instrumentName,
      project_id: ds.projectId,
      owner_orcid: ds.ownerOrcid,
      public: ds.public,
      size: ds.size,
      timestamp: ds.timestamp,
      creation_time: naiveIso(ds.creationMs),
      modification_time: naiveIso(ds.modificationMs),
      source_folder: ds.sourceFolder,
      deletion_request: null,
    };
    if (inc.metadata) out.scientific_metadata = ds.metadata;
    if (inc.links) out.links = datasetLinks(ctx.user, ds);
    if (inc.owner) {
      const owner = userByOrcid(ds.ownerOrcid);
      out.owner = owner ? userV2(owner, ctx.user.admin || owner === ctx.user) : null;
    }
    return out;
  }

  function sampleOut(ctx: Ctx, s: CrucibleSimSample, inc: Includes = noIncludes): Record<string, unknown> {
    const linked = [...(state.sampleDatasets.get(s.uniqueId) ?? [])]
      .map((id) => state.datasetById.get(id))
      .filter((d): d is CrucibleSimDataset => d !== undefined && canRead(ctx.user, d));
    if (ctx.version === 'v1') {
      return {
        id: s.id,
        unique_id: s.uniqueId,
        sample_name: s.sampleName,
        sample_type: s.sampleType,
        description: s.description,
        owner_orcid: s.ownerOrcid,
        owner_user_id: userByOrcid(s.ownerOrcid)?.id ?? null,
        project_id: s.projectId,
        date_created: s.timestamp,
        datasets: linked.map((d) => datasetOut(ctx, d)),
      };
    }
    const out: Record<string, unknown> = {
      unique_id: s.uniqueId,
      resource_type: 'sample',
      sample_name: s.sampleName,
      sample_type: s.sampleType,
      description: s.description,
      project_id: s.projectId,
      owner_orcid: s.ownerOrcid,
      public: s.public,
      timestamp: s.timestamp,
      creation_time: naiveIso(s.creationMs),
      modification_time: naiveIso(s.modificationMs),
      deletion_request: null,
      datasets: linked.map((d) => ({
        unique_id: d.uniqueId,
        dataset_name: d.datasetName,
        measurement: d.measurement,
      })),
    };
    if (inc.metadata) out.scientific_metadata = s.metadata;
    if (inc.links) out.links = sampleLinks(ctx.user, s);
    if (inc.owner) {
      const owner = userByOrcid(s.ownerOrcid);
      out.owner = owner ? userV2(owner, ctx.user.admin || owner === ctx.user) : null;
    }
    return out;
  }

  function fileOut(ctx: Ctx, f: CrucibleSimFile): Record<string, unknown> {
    if (ctx.version === 'v1') {
      return {
        id: f.id,
        dataset_id: state.datasetById.get(f.datasetId)?.id ?? null,
        filename: f.filename.replace(/^crucible-uploads\//, ''),
        size: f.size,
        sha256_hash: f.sha256,
        file_id: f.mfid,
      };
    }
    return {
      mfid: f.mfid,
      dataset_mfid: f.datasetId,
      filename: f.filename,
      storage_path: f.storagePath,
      size: f.size,
      sha256_hash: f.sha256,
      storage_backend: f.storageBackend,
      access_note: f.accessNote,
    };
  }

  const thumbnailOut = (t: { id: number; datasetId: string; name: string; b64: string }) => ({
    id: t.id,
    dataset_id: state.datasetById.get(t.datasetId)?.id ?? null,
    thumbnail_name: t.name,
    thumbnail_b64str: t.b64,
  });

  // ---------------------------------------------------------------------------------------------------------
  // Processing requests (ingestion, SciCat)
  // ---------------------------------------------------------------------------------------------------------

  function statusOf(r: ProcessingRequest): string {
    if (r.manualStatus !== null) return r.manualStatus;
    if (r.outcome === 'stuck') return 'requested';
    const elapsed = now() - r.createdMs;
    if (elapsed < requestedMs) return 'requested';
    if (elapsed < requestedMs + startedMs) return 'started';
    if (!r.settled) settle(r);
    return r.outcome;
  }

  const referenced = (blob: SimBlob) => {
    for (const b of state.uploadBucket.values()) if (b === blob) return true;
    for (const b of state.production.values()) if (b === blob) return true;
    for (const s of state.sessions.values()) if (s.blob === blob) return true;
    return false;
  };
  function putBlob(map: Map<string, SimBlob>, key: string, blob: SimBlob): void {
    const old = map.get(key);
    map.set(key, blob);
    if (old && old !== blob && !referenced(old)) blobs.release(old);
  }

  function recomputeSize(ds: CrucibleSimDataset): void {
    let total = 0;
    let any = false;
    for (const f of state.filesByDataset.get(ds.uniqueId) ?? []) {
      if (f.storagePath !== null && f.size !== null) {
        total += f.size;
        any = true;
      }
    }
    if (any) ds.size = total;
  }

  function addFileRecord(
    datasetId: string,
    fields: Omit<CrucibleSimFile, 'id' | 'mfid' | 'datasetId' | 'creationMs'>,
  ) {
    const file: CrucibleSimFile = {
      id: state.next.file++,
      mfid: mfid(state.random, now()),
      datasetId,
      creationMs: now(),
      ...fields,
    };
    state.files.set(file.mfid, file);
    const list = state.filesByDataset.get(datasetId) ?? [];
    list.push(file);
    state.filesByDataset.set(datasetId, list);
    return file;
  }

  /** Copies an uploaded object to production storage and marks its record ingested. */
  function ingestFile(ds: CrucibleSimDataset, f: CrucibleSimFile): boolean {
    const blob = f.uploadObject === null ? undefined : state.uploadBucket.get(f.uploadObject);
    if (!blob) return false;
    const storagePath = `mf-storage-prod/${ds.uniqueId}/${basename(f.filename)}`;
    putBlob(state.production, storagePath, blob);
    f.storagePath = storagePath;
    return true;
  }

  function settle(r: ProcessingRequest): void {
    r.settled = true;
    const doneMs = r.createdMs + requestedMs + startedMs;
    r.timeCompleted = laIso(doneMs);
    r.githash ??= '9f36dc4e0b1a7c2d';
    if (r.kind !== 'ingest' || r.outcome !== 'complete') return;
    const ds = state.datasetById.get(r.datasetId);
    if (!ds) return;
    if (r.api === 'v2') {
      const f = r.fileMfid === null ? undefined : state.files.get(r.fileMfid);
      if (f && ingestFile(ds, f)) ds.dataFormat ??= extension(f.filename) || null;
    } else {
      // The v1 worker copies the dataset's uploaded files from the shared folder (§6, §8) [I].
      const main = r.fileToUpload ?? ds.fileToUpload;
      const files = state.filesByDataset.get(ds.uniqueId) ?? [];
      if (main !== null && !files.some((f) => f.uploadObject === main)) {
        const blob = state.uploadBucket.get(main);
        if (blob)
          addFileRecord(ds.uniqueId, {
            filename: main,
            size: blob.size,
            sha256: blob.sha256,
            storagePath: null,
            uploadObject: main,
            storageBackend: 'gcs',
            accessNote: null,
          });
      }
      for (const f of state.filesByDataset.get(ds.uniqueId) ?? []) {
        if (f.storagePath === null || f.uploadObject?.startsWith('api-uploads/')) ingestFile(ds, f);
      }
      const blob = main === null ? undefined : state.uploadBucket.get(main);
      if (blob && main !== null) {
        ds.sha256FileToUpload = blob.sha256;
        ds.dataFormat ??= extension(main) || null;
      }
    }
    recomputeSize(ds);
    ds.modificationMs = Math.max(ds.modificationMs, doneMs);
  }

  function settleAll(): void {
    for (const r of state.requests.values()) if (!r.settled && r.manualStatus === null) statusOf(r);
  }

  function newRequest(
    kind: 'ingest' | 'scicat',
    api: Version,
    ds: CrucibleSimDataset,
    file: CrucibleSimFile | undefined,
    fileToUpload: string | null,
    ingestionClass: string | null,
    overwriteData: boolean,
  ): ProcessingRequest {
    const forced = (file ? outcomes.get(file.mfid) : undefined) ?? outcomes.get(ds.uniqueId);
    let outcome: IngestionOutcome = 'complete';
    let errorMessage: string | null = null;
    let cls = ingestionClass;
    if (kind === 'ingest') {
      const object = api === 'v2' ? (file?.uploadObject ?? null) : (fileToUpload ?? ds.fileToUpload);
      const blob = object === null ? undefined : state.uploadBucket.get(object);
      const name = api === 'v2' ? (file?.filename ?? '') : (object ?? '');
      if (cls !== null && !(INGESTION_CLASSES as readonly string[]).includes(cls)) {
        outcome = 'failed';
        errorMessage = `Unknown ingestion class: ${cls}`;
      } else if (!blob) {
        outcome = 'file not found';
        errorMessage = `${object ?? 'file'} did not appear in storage`;
      } else if (api === 'v1' && blob.size > 1e10) {
        outcome = 'file too large';
      } else if (cls === null) {
        const detected = AUTO_DETECT[extension(name)];
        if (detected === undefined) outcome = 'not supported';
        else cls = detected;
      }
    }
    if (forced !== undefined) {
      outcome = forced;
      errorMessage = forced === 'failed' ? 'Ingestion failed: the ingestor raised an exception' : null;
    }
    const r: ProcessingRequest = {
      id: state.next.request++,
      kind,
      api,
      datasetId: ds.uniqueId,
      fileMfid: file?.mfid ?? null,
      fileToUpload,
      ingestionClass: cls,
      overwriteData,
      createdMs: now(),
      outcome,
      errorMessage: outcome === 'complete' ? null : errorMessage,
      manualStatus: null,
      timeCompleted: null,
      githash: null,
      settled: false,
    };
    state.requests.set(r.id, r);
    return r;
  }

  function requestOut(r: ProcessingRequest): Record<string, unknown> {
    const status = statusOf(r);
    const terminal = status !== 'requested' && status !== 'started';
    const base = {
      id: r.id,
      status,
      time_completed: terminal ? r.timeCompleted : null,
      error_message:
        terminal && status !== 'complete' ? (r.errorMessage ?? `Request ended: ${status}`) : null,
    };
    if (r.api === 'v1') {
      return {
        ...base,
        dataset_id: r.datasetId,
        time_requested: naiveIso(r.createdMs),
        ...(r.kind === 'ingest'
          ? { ingestion_class: r.ingestionClass, file_to_upload: r.fileToUpload }
          : { overwrite_data: r.overwriteData }),
      };
    }
    return {
      ...base,
      ingestion_class: r.ingestionClass,
      file_mfid: r.fileMfid,
      dataset_mfid: r.datasetId,
      time_created: naiveIso(r.createdMs),
      ingestion_githash: terminal ? r.githash : null,
    };
  }

  // ---------------------------------------------------------------------------------------------------------
  // Query helpers: booleans, filters, pages
  // ---------------------------------------------------------------------------------------------------------

  function boolParam(ctx: Ctx, name: string): boolean | Response {
    const text = ctx.query.get(name);
    if (text === null) return false;
    const value = parseBool(text);
    return value ?? validation(['query', name], 'Input should be a valid boolean', 'bool_parsing');
  }
  function includes(ctx: Ctx): Includes | Response {
    const metadata = boolParam(ctx, 'include_metadata');
    if (metadata instanceof Response) return metadata;
    const links = boolParam(ctx, 'include_links');
    if (links instanceof Response) return links;
    const owner = boolParam(ctx, 'include_owner');
    if (owner instanceof Response) return owner;
    return { metadata, links: ctx.version === 'v2' && links, owner: ctx.version === 'v2' && owner };
  }

  function intParam(ctx: Ctx, name: string, fallback: number, min: number): number | Response {
    const text = ctx.query.get(name);
    if (text === null || text === '') return fallback;
    if (!/^-?\d+$/.test(text.trim()))
      return validation(['query', name], 'Input should be a valid integer', 'int_parsing');
    const value = Number(text);
    if (value < min)
      return validation(
        ['query', name],
        `Input should be greater than or equal to ${min}`,
        'greater_than_equal',
      );
    return value;
  }

  /** `limit` of a v2 page: default `pageSize`, clamped to the cap (what the server does above 1000 is [U]). */
  function pageLimit(ctx: Ctx): number | Response {
    const limit = intParam(ctx, 'limit', pageSize, 1);
    return typeof limit === 'number' ? Math.min(limit, maxPage) : limit;
  }

  type Getter<T> = (x: T) => string | number | boolean | null;

  function filterFrom<T extends { creationMs: number }>(
    ctx: Ctx,
    fields: Readonly<Record<string, Getter<T>>>,
    extra?: (name: string, value: string) => ((x: T) => boolean) | undefined,
  ): ((x: T) => boolean) | Response {
    const tests: Array<(x: T) => boolean> = [];
    for (const [name, value] of ctx.query) {
      const special = extra?.(name, value);
      if (special) {
        tests.push(special);
        continue;
      }
      if (ctx.version === 'v2' && (name === 'creation_time_gte' || name === 'creation_time_lte')) {
        const ms = parseIsoMs(value);
        if (ms === undefined)
          return validation(['query', name], 'Input should be a valid datetime', 'datetime_parsing');
        tests.push(name.endsWith('gte') ? (x) => x.creationMs >= ms : (x) => x.creationMs <= ms);
        continue;
      }
      const get = fields[name];
      if (!get) continue; // unknown parameters are ignored (§3)
      if (name === 'public' || name === 'is_service_account') {
        const b = parseBool(value);
        if (b === undefined)
          return validation(['query', name], 'Input should be a valid boolean', 'bool_parsing');
        tests.push((x) => get(x) === b);
      } else if (name === 'size' || name === 'id' || name.endsWith('_user_id') || name === 'instrument_id') {
        if (!/^\d+$/.test(value))
          return validation(['query', name], 'Input should be a valid integer', 'int_parsing');
        const n = Number(value);
        tests.push((x) => get(x) === n);
      } else {
        tests.push((x) => {
          const v = get(x);
          return v !== null && String(v) === value;
        });
      }
    }
    return (x) => tests.every((t) => t(x));
  }

  const datasetFields: Readonly<Record<string, Getter<CrucibleSimDataset>>> = {
    unique_id: (d) => d.uniqueId,
    dataset_name: (d) => d.datasetName,
    public: (d) => d.public,
    owner_orcid: (d) => d.ownerOrcid,
    project_id: (d) => d.projectId,
    instrument_name: (d) => d.instrumentName,
    measurement: (d) => d.measurement,
    data_format: (d) => d.dataFormat,
    session_name: (d) => d.sessionName,
    source_folder: (d) => d.sourceFolder,
    size: (d) => d.size,
  };
  const datasetFieldsV1: Readonly<Record<string, Getter<CrucibleSimDataset>>> = {
    ...datasetFields,
    file_to_upload: (d) => d.fileToUpload,
    sha256_hash_file_to_upload: (d) => d.sha256FileToUpload,
    creation_time: (d) => naiveIso(d.creationMs),
    owner_user_id: (d) => userByOrcid(d.ownerOrcid)?.id ?? null,
    instrument_id: (d) => instrumentByName(d.instrumentName)?.id ?? null,
  };
  const datasetFieldsV2: Readonly<Record<string, Getter<CrucibleSimDataset>>> = {
    ...datasetFields,
    data_type: (d) => d.dataType,
    timestamp: (d) => d.timestamp,
    description: (d) => d.description,
  };
  const datasetFilter = (ctx: Ctx) =>
    filterFrom<CrucibleSimDataset>(
      ctx,
      ctx.version === 'v1' ? datasetFieldsV1 : datasetFieldsV2,
      (name, value) => {
        if (name !== 'keyword') return undefined;
        const needle = value.toLowerCase();
        return (d) => d.keywords.some((k) => k.includes(needle));
      },
    );
  const sampleFields: Readonly<Record<string, Getter<CrucibleSimSample>>> = {
    unique_id: (s) => s.uniqueId,
    sample_name: (s) => s.sampleName,
    sample_type: (s) => s.sampleType,
    owner_orcid: (s) => s.ownerOrcid,
    project_id: (s) => s.projectId,
    description: (s) => s.description,
    public: (s) => s.public,
  };
  const sampleFilter = (ctx: Ctx) => filterFrom<CrucibleSimSample>(ctx, sampleFields);

  const offsetPage = (ctx: Ctx, items: readonly unknown[]): Response => {
    const limit = pageLimit(ctx);
    if (limit instanceof Response) return limit;
    const offset = intParam(ctx, 'offset', 0, 0);
    if (offset instanceof Response) return offset;
    return json({ items: items.slice(offset, offset + limit), total: items.length, limit, offset });
  };

  /** Hash of the filters of a keyset traversal (everything but paging and include flags). */
  function filterKey(query: URLSearchParams): string {
    const entries = [...query]
      .filter(([k]) => k !== 'limit' && k !== 'cursor' && k !== 'offset' && !k.startsWith('include_'))
      .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1));
    return createHmac('sha256', signingSecret)
      .update(JSON.stringify(entries))
      .digest('base64url')
      .slice(0, 10);
  }

  /**
   * A keyset page over `all` (ascending `seq`), newest first. The cursor is opaque (base64url JSON of the last
   * `seq` and a hash of the filters); a cursor used with other filters is 400 — whether the server allows that
   * is [U], this choice catches clients that change filters mid-traversal.
   */
  function keysetPage<T extends { seq: number }>(
    ctx: Ctx,
    all: readonly T[],
    match: (x: T) => boolean,
    out: (x: T) => unknown,
  ): Response {
    const limit = pageLimit(ctx);
    if (limit instanceof Response) return limit;
    const cursorText = ctx.query.get('cursor');
    const key = filterKey(ctx.query);
    let start = all.length - 1;
    if (cursorText !== null && cursorText !== '') {
      let after: number | undefined;
      try {
        const parsed: unknown = JSON.parse(Buffer.from(cursorText, 'base64url').toString('utf8'));
        if (isObject(parsed) && typeof parsed.s === 'number' && parsed.f === key) after = parsed.s;
      } catch {
        after = undefined;
      }
      if (after === undefined) return detail(400, 'Invalid cursor (it must come from the same query)');
      let lo = 0;
      let hi = all.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((all[mid] as T).seq < after) lo = mid + 1;
        else hi = mid;
      }
      start = lo - 1;
    }
    const items: unknown[] = [];
    let last: T | undefined;
    let more = false;
    let i = start;
    for (; i >= 0; i--) {
      const x = all[i] as T;
      if (!match(x)) continue;
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(out(x));
      last = x;
    }
    let total: number | null = null;
    if (cursorText === null || cursorText === '') {
      total = items.length + (more ? 1 : 0);
      for (i -= 1; i >= 0; i--) if (match(all[i] as T)) total += 1;
    }
    const next =
      more && last !== undefined
        ? Buffer.from(JSON.stringify({ s: last.seq, f: key }), 'utf8').toString('base64url')
        : null;
    return json({ items, limit, next_cursor: next, total, offset: null });
  }

  async function readJson(ctx: Ctx): Promise<JsonValue | Response> {
    const text = await ctx.request.text();
    if (text.trim() === '') return validation(['body'], 'Field required', 'missing');
    try {
      return JSON.parse(text) as JsonValue;
    } catch {
      return validation(['body', 0], 'JSON decode error', 'json_invalid');
    }
  }
  async function readObject(ctx: Ctx): Promise<JsonObject | Response> {
    const body = await readJson(ctx);
    if (body instanceof Response) return body;
    if (!isObject(body)) return validation(['body'], 'Input should be a valid dictionary', 'dict_type');
    return body;
  }

  const str = (v: JsonValue | undefined): string | null | undefined =>
    v === undefined ? undefined : v === null ? null : typeof v === 'string' ? v : String(v);

  // ---------------------------------------------------------------------------------------------------------
  // Storage (signed URLs, resumable sessions)
  // ---------------------------------------------------------------------------------------------------------

  const credential = (date: string) =>
    `crucible-sim@crucible-sim.iam.gserviceaccount.com/${date.slice(0, 8)}/auto/storage/goog4_request`;
  const sign = (path: string, date: string, expires: string, cred: string) =>
    createHmac('sha256', signingSecret).update(`GET\n${path}\n${date}\n${expires}\n${cred}`).digest('hex');

  function signedUrl(ctx: Ctx, storagePath: string): string {
    const origin = options.storageOrigin ?? ctx.url.origin;
    const path = `${storagePrefix}/${storagePath.split('/').map(encodeURIComponent).join('/')}`;
    const date = googDate(linkNow());
    const cred = credential(date);
    const signature = sign(path, date, String(linkTtl), cred);
    issued.add(signature);
    const q = new URLSearchParams({
      'X-Goog-Algorithm': 'GOOG4-RSA-SHA256',
      'X-Goog-Credential': cred,
      'X-Goog-Date': date,
      'X-Goog-Expires': String(linkTtl),
      'X-Goog-SignedHeaders': 'host',
      'X-Goog-Signature': signature,
    });
    return `${origin}${path}?${q}`;
  }

  function sessionUri(ctx: Ctx, session: UploadSession): string {
    const origin = options.storageOrigin ?? ctx.url.origin;
    const q = new URLSearchParams({
      uploadType: 'resumable',
      name: session.objectName,
      upload_id: session.uploadId,
    });
    return `${origin}${storagePrefix}/upload/storage/v1/b/crucible-uploads/o?${q}`;
  }

  function objectResource(session: UploadSession, blob: SimBlob): Record<string, unknown> {
    const generation = String(session.createdMs * 1000 + 1);
    return {
      kind: 'storage#object',
      id: `crucible-uploads/${session.objectName}/${generation}`,
      name: session.objectName,
      bucket: 'crucible-uploads',
      generation,
      metageneration: '1',
      contentType: 'application/octet-stream',
      storageClass: 'STANDARD',
      size: String(blob.size),
      crc32c: blob.crc32c,
      etag: blob.sha256.slice(0, 16),
      timeCreated: new Date(now()).toISOString(),
      updated: new Date(now()).toISOString(),
    };
  }

  async function download(request: Request, url: URL, objectPath: string): Promise<Response> {
    const q = url.searchParams;
    const signature = q.get('X-Goog-Signature');
    const date = q.get('X-Goog-Date');
    const expires = q.get('X-Goog-Expires');
    const cred = q.get('X-Goog-Credential');
    if (signature === null || date === null || expires === null || cred === null) {
      return xmlError(
        403,
        'AccessDenied',
        'Access denied.',
        'Anonymous caller does not have storage.objects.get access to the Google Cloud Storage object.',
      );
    }
    if (sign(url.pathname, date, expires, cred) !== signature) {
      stats.badSignatures += 1;
      return xmlError(
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your Google secret key and signing method.',
      );
    }
    const issuedMs = parseGoogDate(date) ?? 0;
    if (revoked.has(signature) || linkNow() > issuedMs + Number(expires) * 1000) {
      stats.expiredLinkHits += 1;
      return xmlError(
        403,
        'ExpiredToken',
        'The provided token has expired.',
        `Request signature expired at: ${new Date(issuedMs + Number(expires) * 1000).toISOString().replace('.000', '')}`,
      );
    }
    const blob = state.production.get(objectPath);
    if (!blob)
      return xmlError(404, 'NoSuchKey', 'The specified key does not exist.', `No such object: ${objectPath}`);
    const etag = `"${blob.sha256.slice(0, 32)}"`;
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      etag,
      'x-goog-hash': `crc32c=${blob.crc32c}`,
      'x-goog-stored-content-length': String(blob.size),
    };
    let range = parseRange(request.headers.get('range'), blob.size);
    const ifRange = request.headers.get('if-range');
    if (range !== undefined && ifRange !== null && ifRange !== etag) range = undefined;
    if (range === 'unsatisfiable') {
      return new HttpResponse(null, {
        status: 416,
        headers: { ...headers, 'content-range': `bytes */${blob.size}`, 'content-length': '0' },
      });
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? blob.size - 1;
    const length = Math.max(0, end - start + 1);
    stats.downloads += 1;
    if (range) stats.rangeDownloads += 1;
    if (request.method !== 'HEAD') stats.bytesServed += length;
    const body = request.method === 'HEAD' || length === 0 ? null : blobs.stream(blob, start, end);
    const response = new HttpResponse(body, {
      status: range ? 206 : 200,
      headers: {
        ...headers,
        'content-length': String(length),
        ...(range ? { 'content-range': `bytes ${start}-${end}/${blob.size}` } : {}),
      },
    });
    const file = body ? blobs.filePath(blob) : undefined;
    return file ? withFileBody(response, { path: file, start, end }) : response;
  }

  async function finalize(session: UploadSession, request: Request): Promise<Response> {
    const blob = await session.writer.finish();
    const hashHeader = request.headers.get('x-goog-hash');
    const crc = hashHeader === null ? undefined : /crc32c=([^,\s]+)/.exec(hashHeader)?.[1];
    if (crc !== undefined && crc !== blob.crc32c) {
      session.state = 'cancelled';
      blobs.release(blob);
      return xmlError(
        400,
        'InvalidChecksum',
        `Provided CRC32C "${crc}" doesn't match calculated CRC32C "${blob.crc32c}".`,
      );
    }
    session.blob = blob;
    putBlob(state.uploadBucket, session.objectName, blob);
    return json(objectResource(session, blob));
  }

  const incomplete = (persisted: number) =>
    new HttpResponse(null, {
      status: 308,
      headers: { 'content-length': '0', ...(persisted > 0 ? { range: `bytes=0-${persisted - 1}` } : {}) },
    });

  async function resumablePut(request: Request, session: UploadSession): Promise<Response> {
    const header = request.headers.get('content-range');
    const lengthHeader = request.headers.get('content-length');
    let cr = parseContentRange(header);
    if (header === null) {
      // No Content-Range: the whole object in one request.
      const length = lengthHeader === null ? Number.NaN : Number(lengthHeader);
      cr =
        length === 0
          ? { kind: 'probe', total: session.size }
          : Number.isFinite(length)
            ? { kind: 'chunk', first: 0, last: length - 1, total: length }
            : undefined;
    }
    if (cr === undefined) {
      stats.rejectedChunks += 1;
      return xmlError(400, 'InvalidArgument', `Failed to parse Content-Range header: ${String(header)}`);
    }
    if (cr.total !== undefined && cr.total !== session.size) {
      stats.rejectedChunks += 1;
      return xmlError(
        400,
        'InvalidArgument',
        `The total size ${cr.total} differs from the ${session.size} bytes declared at initiation.`,
      );
    }
    const total = session.size;
    if (session.blob) return json(objectResource(session, session.blob));
    const persisted = session.writer.persisted;
    if (cr.kind === 'probe') {
      session.probes += 1;
      stats.probes += 1;
      if (cr.total !== undefined && persisted === total) return finalize(session, request);
      return incomplete(persisted);
    }
    const expected = cr.last - cr.first + 1;
    if (lengthHeader !== null && Number(lengthHeader) !== expected) {
      stats.rejectedChunks += 1;
      return xmlError(
        400,
        'InvalidArgument',
        `Content-Length ${lengthHeader} does not match Content-Range ${header}.`,
      );
    }
    if (cr.first > persisted) {
      stats.rejectedChunks += 1;
      return xmlError(
        400,
        'InvalidArgument',
        `Invalid request. According to the Content-Range header, the upload offset is ${cr.first} byte(s), which exceeds the already persisted size of ${persisted} byte(s).`,
      );
    }
    const isLast = cr.total !== undefined && cr.last + 1 === total;
    const end = cr.last + 1;
    let persistEnd = end;
    if (!isLast) {
      persistEnd = Math.floor(end / GRANULE) * GRANULE;
      if (persistEnd !== end) stats.misalignedChunks += 1;
    }
    if (partial && partial.times > 0) {
      partial.times -= 1;
      const limitEnd = Math.floor((persisted + partial.bytes) / GRANULE) * GRANULE;
      if (limitEnd < persistEnd) persistEnd = limitEnd;
    }
    persistEnd = Math.max(persistEnd, persisted);
    if (persistEnd < end) stats.partialChunks += 1;
    const skip = Math.max(0, persisted - cr.first);
    const keep = persistEnd - persisted;
    try {
      await session.writer.writeChunk(request.body, skip, keep, expected);
    } catch (error) {
      stats.rejectedChunks += 1;
      if (error instanceof ChunkLengthError) {
        return xmlError(
          400,
          'InvalidArgument',
          `The request body had ${error.received} bytes, but Content-Range announced ${expected}.`,
        );
      }
      return xmlError(400, 'IncompleteBody', 'The request body ended before Content-Range was satisfied.');
    }
    session.chunkPuts += 1;
    stats.chunkPuts += 1;
    stats.bytesPersisted += keep;
    if (session.writer.persisted === total) return finalize(session, request);
    return incomplete(session.writer.persisted);
  }

  async function storage(request: Request, url: URL, rest: string): Promise<Response> {
    stats.storageRequests += 1;
    if (request.headers.has('authorization')) {
      stats.storageAuthorizationHeaders += 1;
      return xmlError(
        400,
        'InvalidAuthentication',
        'Cannot use multiple authentication methods: the request carries both a signature or session and an Authorization header.',
      );
    }
    const method = request.method.toUpperCase();
    if (rest === '/upload/storage/v1/b/crucible-uploads/o') {
      const session = state.sessions.get(url.searchParams.get('upload_id') ?? '');
      if (!session || session.state === 'expired') {
        return xmlError(404, 'NoSuchUpload', 'The requested upload session does not exist or has expired.');
      }
      if (session.state === 'cancelled') return xmlError(410, 'Gone', 'The upload session was cancelled.');
      if (method === 'DELETE') {
        session.state = 'cancelled';
        void session.writer.discard();
        return new HttpResponse(null, { status: 499, headers: { 'content-length': '0' } });
      }
      if (method !== 'PUT' && method !== 'POST')
        return xmlError(405, 'MethodNotAllowed', `${method} not allowed.`);
      const run = session.lock.then(() => resumablePut(request, session));
      session.lock = run.catch(() => undefined);
      return run;
    }
    if (method !== 'GET' && method !== 'HEAD')
      return xmlError(405, 'MethodNotAllowed', `${method} not allowed.`);
    let objectPath: string;
    try {
      objectPath = rest.split('/').filter(Boolean).map(decodeURIComponent).join('/');
    } catch {
      return xmlError(400, 'InvalidURI', 'Could not parse the specified URI.');
    }
    return download(request, url, objectPath);
  }

  // ---------------------------------------------------------------------------------------------------------
  // API routes
  // ---------------------------------------------------------------------------------------------------------

  const routes: Route[] = [];
  const add = (method: string, template: string, versions: readonly Version[], handler: Handler) => {
    const segments = template.split('/').filter(Boolean);
    routes.push({
      method,
      segments,
      template: `/${segments.join('/')}`,
      versions,
      handler,
      literals: segments.filter((s) => !s.startsWith('{')).length,
    });
  };

  // --- account, health ---
  add('GET', 'account', BOTH, (ctx) => {
    const u = ctx.user;
    const ids = [...u.groups].map(groupId);
    if (ctx.version === 'v1') {
      return json({
        user_info: u.serviceAccount ? null : userV1(u),
        access_group_name: u.orcid,
        access_group_ids: ids,
      });
    }
    return json({ user_unique_id: u.orcid, access_group_ids: ids, user_info: userV2(u, true) });
  });
  add('GET', 'account/profile', V2, (ctx) => json(userV2(ctx.user, true)));
  add('PATCH', 'account/profile', V2, async (ctx) => {
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    if ('is_service_account' in body)
      return validation(['body', 'is_service_account'], 'Extra inputs are not permitted', 'extra_forbidden');
    const applied = applyUserFields(ctx.user, body);
    return applied ?? json(userV2(ctx.user, true));
  });
  add('GET', 'account/apikey', V2, (ctx) =>
    ctx.user.apiKey === null
      ? detail(404, 'No API key found for this account')
      : json({ api_key: ctx.user.apiKey }),
  );
  add('GET', 'account/verify', V2, (ctx) =>
    json({
      valid: true,
      created_at: naiveIso(ctx.user.keyCreatedMs),
      expires_at: naiveIso(ctx.user.keyCreatedMs + 365 * 86_400_000),
    }),
  );

  function applyUserFields(u: CrucibleSimUser, body: JsonObject): Response | undefined {
    if ('username' in body) {
      const name = body.username;
      if (name !== null && (typeof name !== 'string' || !/^[a-z0-9_-]+$/.test(name)))
        return validation(
          ['body', 'username'],
          'Usernames use lowercase letters, digits, - and _',
          'string_pattern_mismatch',
        );
      if (name !== null && state.users.some((o) => o !== u && o.username === name))
        return detail(409, `Username ${name} is taken`);
      u.username = name;
    }
    for (const [key, set] of [
      ['first_name', (v: string) => (u.firstName = v)],
      ['last_name', (v: string) => (u.lastName = v)],
    ] as const) {
      const v = body[key];
      if (typeof v === 'string') set(v);
    }
    if ('email' in body) u.email = str(body.email) ?? null;
    if (typeof body.is_service_account === 'boolean') u.serviceAccount = body.is_service_account;
    return undefined;
  }

  // --- users ---
  add('GET', 'users', BOTH, (ctx) => {
    const denied = requireAdmin(ctx);
    if (denied) return denied;
    const email = ctx.query.get('email');
    const lbl = ctx.query.get('lbl_email');
    const svc = ctx.query.get('is_service_account');
    const svcBool = svc === null ? undefined : parseBool(svc);
    const list = state.users.filter(
      (u) =>
        (email === null || u.email === email) &&
        (lbl === null || u.lblEmail === lbl) &&
        (svcBool === undefined || u.serviceAccount === svcBool),
    );
    return ctx.version === 'v1'
      ? json(list.map(userV1))
      : offsetPage(
          ctx,
          list.map((u) => userV2(u, true)),
        );
  });
  add('POST', 'users', BOTH, async (ctx) => {
    const denied = requireAdmin(ctx);
    if (denied) return denied;
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    const info = body.user_info;
    if (!isObject(info) || typeof info.orcid !== 'string' || info.orcid === '')
      return validation(['body', 'user_info', 'orcid'], 'Field required', 'missing');
    let u = userByOrcid(info.orcid);
    if (!u) {
      u = {
        id: 40 + state.next.user++,
        orcid: info.orcid,
        username: null,
        firstName: str(info.first_name) ?? '',
        lastName: str(info.last_name) ?? '',
        email: null,
        lblEmail: null,
        employeeNumber: null,
        apiKey: null,
        admin: false,
        serviceAccount: false,
        groups: new Set([info.orcid]),
        keyCreatedMs: now(),
      };
      state.users.push(u);
    }
    if (typeof info.first_name === 'string') u.firstName = info.first_name;
    if (typeof info.last_name === 'string') u.lastName = info.last_name;
    if (info.email !== undefined) u.email = str(info.email) ?? null;
    if (info.lbl_email !== undefined) u.lblEmail = str(info.lbl_email) ?? null;
    if (info.employee_number !== undefined) u.employeeNumber = str(info.employee_number) ?? null;
    if (typeof info.is_service_account === 'boolean') u.serviceAccount = info.is_service_account;
    if (Array.isArray(body.project_ids)) {
      for (const pid of body.project_ids) {
        if (typeof pid === 'string' && state.projects.has(pid)) addMember(pid, u);
      }
    }
    return json(userOut(ctx, u), ctx.version === 'v2' ? 201 : 200);
  });
  add('GET', 'users/search', V2, (ctx) => {
    const q = searchQuery(ctx);
    if (q instanceof Response) return q;
    const hits = state.users.filter((u) =>
      [u.username, u.firstName, u.lastName].some((f) => f?.toLowerCase().includes(q.q)),
    );
    return json(hits.slice(0, q.limit).map((u) => userV2(u, false)));
  });
  add('POST', 'users/resolve', V2, async (ctx) => {
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    const out: Record<string, unknown> = {};
    const list = (v: JsonValue | undefined) =>
      Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
    for (const orcid of list(body.orcids)) {
      const u = userByOrcid(orcid as string);
      out[orcid as string] = u ? userV2(u, false) : null;
    }
    for (const name of list(body.usernames)) {
      const u = state.users.find((x) => x.username === name);
      out[u ? u.orcid : (name as string)] = u ? userV2(u, false) : null;
    }
    for (const email of list(body.emails)) {
      const u = state.users.find((x) => x.email === email);
      out[u ? u.orcid : (email as string)] = u ? userV2(u, false) : null;
    }
    return json(out);
  });
  add('GET', 'users/by-username/{username}', V2, (ctx) => {
    const u = state.users.find((x) => x.username === ctx.params.username);
    return u ? json(userV2(u, false)) : detail(404, `User ${ctx.params.username} not found`);
  });
  add('GET', 'users/{orcid}', BOTH, (ctx) => {
    const denied = requireAdmin(ctx);
    if (denied) return denied;
    const u = userByOrcid(ctx.params.orcid ?? '');
    return u ? json(userOut(ctx, u)) : missingRecord(ctx, `User ${ctx.params.orcid}`);
  });
  add('PATCH', 'users/{orcid}', V2, async (ctx) => {
    const denied = requireAdmin(ctx);
    if (denied) return denied;
    const u = userByOrcid(ctx.params.orcid ?? '');
    if (!u) return detail(404, `User ${ctx.params.orcid} not found`);
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    return applyUserFields(u, body) ?? json(userV2(u, true));
  });
  const selfOrAdmin = (ctx: Ctx): CrucibleSimUser | Response => {
    const u = userByOrcid(ctx.params.orcid ?? '');
    if (!ctx.user.admin && ctx.user.orcid !== ctx.params.orcid) return forbidden(ADMIN_ONLY);
    return u ?? detail(404, `User ${ctx.params.orcid} not found`);
  };
  add('GET', 'users/{orcid}/projects', BOTH, (ctx) => {
    const u = selfOrAdmin(ctx);
    if (u instanceof Response) return u;
    const list = [...state.projects.values()].filter(
      (p) => isMember(u, p) && (!u.admin || u.groups.has(p.projectId)),
    );
    const out = list.map((p) => projectOut(ctx, p));
    return ctx.version === 'v1' ? json(out) : offsetPage(ctx, out);
  });
  add('GET', 'users/{orcid}/datasets', BOTH, (ctx) => {
    const u = selfOrAdmin(ctx);
    if (u instanceof Response) return u;
    return json(state.datasets.filter((d) => grants(u, d, 'read')).map((d) => d.uniqueId));
  });
  add('GET', 'users/{orcid}/datasets/{dsid}', BOTH, (ctx) => {
    const u = selfOrAdmin(ctx);
    if (u instanceof Response) return u;
    const ds = state.datasetById.get(ctx.params.dsid ?? '');
    if (!ds) return detail(404, `Dataset ${ctx.params.dsid} not found`);
    return json({ read: canRead(u, ds), write: canWrite(u, ds) });
  });
  add('GET', 'users/{orcid}/access_groups', BOTH, (ctx) => {
    const u = selfOrAdmin(ctx);
    if (u instanceof Response) return u;
    return json([...u.groups]);
  });
  add('POST', 'users/{orcid}/access_groups/{group}', BOTH, (ctx) => {
    const denied = requireAdmin(ctx);
    if (denied) return denied;
    const u = userByOrcid(ctx.params.orcid ?? '');
    if (!u) return detail(404, `User ${ctx.params.orcid} not found`);
    const group = ctx.params.group ?? '';
    u.groups.add(group);
    return json({
      group_name: group,
      id: groupId(group),
      members: state.users.filter((x) => x.groups.has(group)).map((x) => x.orcid),
    });
  });
  add('DELETE', 'users/{orcid}/access_groups/{group}', BOTH, (ctx) => {
    const denied = requireAdmin(ctx);
    if (denied) return denied;
    const u = userByOrcid(ctx.params.orcid ?? '');
    if (!u) return detail(404, `User ${ctx.params.orcid} not found`);
    u.groups.delete(ctx.params.group ?? '');
    return json({ message: `Removed ${u.orcid} from ${ctx.params.group}` });
  });
  add('POST', 'service_accounts', V2, async (ctx) => {
    const denied = requireAdmin(ctx);
    if (denied) return denied;
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    if (typeof body.username !== 'string' || !/^[a-z0-9_-]+$/.test(body.username))
      return validation(['body', 'username'], 'Field required', 'missing');
    const uid = typeof body.unique_id === 'string' ? body.unique_id : mfid(state.random, now());
    if (state.users.some((u) => u.username === body.username || u.orcid === uid))
      return detail(409, 'A user with this username or id exists');
    const u: CrucibleSimUser = {
      id: 40 + state.next.user++,
      orcid: uid,
      username: body.username,
      firstName: body.username,
      lastName: 'service account',
      email: null,
      lblEmail: null,
      employeeNumber: null,
      apiKey: `crk_svc_${token(state.random, 36)}`,
      admin: false,
      serviceAccount: true,
      groups: new Set([uid]),
      keyCreatedMs: now(),
    };
    state.users.push(u);
    return json(
      { unique_id: u.orcid, username: u.username, is_service_account: true, api_key: u.apiKey },
      201,
    );
  });
  add('POST', 'service_accounts/{uid}/rotate_key', V2, (ctx) => {
    const denied = requireAdmin(ctx);
    if (denied) return denied;
    const u = userByOrcid(ctx.params.uid ?? '');
    if (!u?.serviceAccount) return detail(404, `Service account ${ctx.params.uid} not found`);
    u.apiKey = `crk_svc_${token(state.random, 36)}`;
    u.keyCreatedMs = now();
    return json({ unique_id: u.orcid, username: u.username, is_service_account: true, api_key: u.apiKey });
  });

  // --- projects ---
  function addMember(pid: string, u: CrucibleSimUser): void {
    const set = state.members.get(pid) ?? new Set<string>();
    set.add(u.orcid);
    state.members.set(pid, set);
    u.groups.add(pid);
  }
  const projectMembers = (p: CrucibleSimProject) =>
    [...(state.members.get(p.projectId) ?? [])]
      .filter((o) => o !== p.leadOrcid)
      .map((o) => userByOrcid(o))
      .filter((u): u is CrucibleSimUser => u !== undefined);

  add('GET', 'projects', BOTH, (ctx) => {
    if (ctx.version === 'v1') {
      const denied = requireAdmin(ctx);
      if (denied) return denied;
      const filter = filterFrom<CrucibleSimProject>(ctx, {
        project_id: (p) => p.projectId,
        organization: (p) => p.organization,
        status: (p) => p.status,
        title: (p) => p.title,
        project_lead_email: (p) => p.leadEmail,
      });
      if (filter instanceof Response) return filter;
      return json([...state.projects.values()].filter(filter).map((p) => projectOut(ctx, p)));
    }
    const inc = includes(ctx);
    if (inc instanceof Response) return inc;
    const list = [...state.projects.values()].filter((p) => isMember(ctx.user, p));
    return offsetPage(
      ctx,
      list.map((p) => projectOut(ctx, p, inc.metadata)),
    );
  });
  add('POST', 'projects', BOTH, async (ctx) => {
    const denied = requireAdmin(ctx);
    if (denied) return denied;
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    const pid = body.project_id;
    if (typeof pid !== 'string' || pid === '')
      return validation(['body', 'project_id'], 'Field required', 'missing');
    if (typeof body.organization !== 'string')
      return validation(['body', 'organization'], 'Field required', 'missing');
    const leadOrcid = str(body.project_lead_orcid) ?? null;
    const leadEmail = str(body.project_lead_email) ?? null;
    if (ctx.version === 'v1' ? leadEmail === null : leadEmail === null && leadOrcid === null)
      return validation(['body', 'project_lead_email'], 'Field required', 'missing');
    if (state.projects.has(pid)) return detail(409, `Project ${pid} already exists`);
    const lead = leadOrcid !== null ? userByOrcid(leadOrcid) : state.users.find((u) => u.email === leadEmail);
    const p: CrucibleSimProject = {
      id: state.next.project++,
      projectId: pid,
      organization: body.organization,
      title: str(body.title) ?? null,
      status: str(body.status) ?? null,
      leadOrcid: lead?.orcid ?? leadOrcid,
      leadEmail: leadEmail ?? lead?.email ?? null,
      leadName: str(body.project_lead_name) ?? (lead ? `${lead.firstName} ${lead.lastName}` : null),
      metadata: null,
      creationMs: now(),
      modificationMs: now(),
    };
    state.projects.set(pid, p);
    state.members.set(pid, new Set());
    if (lead) lead.groups.add(pid);
    return json(projectOut(ctx, p), ctx.version === 'v2' ? 201 : 200);
  });
  add('GET', 'projects/search', V2, (ctx) => {
    const q = searchQuery(ctx);
    if (q instanceof Response) return q;
    const hits = [...state.projects.values()].filter(
      (p) => p.projectId.toLowerCase().includes(q.q) || (p.title ?? '').toLowerCase().includes(q.q),
    );
    return json({
      items: hits.slice(0, q.limit).map((p) => ({
        project_id: p.projectId,
        organization: p.organization,
        title: p.title,
        status: p.status,
      })),
      limit: q.limit,
      total: hits.length,
    });
  });
  add('GET', 'projects/{pid}', BOTH, (ctx) => {
    const p = state.projects.get(ctx.params.pid ?? '');
    if (!p) return missingRecord(ctx, `Project ${ctx.params.pid}`);
    const inc = includes(ctx);
    if (inc instanceof Response) return inc;
    return json(projectOut(ctx, p, inc.metadata));
  });
  add('PATCH', 'projects/{pid}', V2, async (ctx) => {
    const p = state.projects.get(ctx.params.pid ?? '');
    if (!p) return detail(404, `Project ${ctx.params.pid} not found`);
    if (!isLead(ctx.user, p)) return forbidden(ADMIN_ONLY);
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    if (typeof body.title === 'string' || body.title === null) p.title = str(body.title) ?? null;
    if (typeof body.organization === 'string') p.organization = body.organization;
    if (body.status !== undefined) p.status = str(body.status) ?? null;
    if (body.project_lead_email !== undefined) p.leadEmail = str(body.project_lead_email) ?? null;
    if (typeof body.project_lead_orcid === 'string') p.leadOrcid = body.project_lead_orcid;
    if (typeof body.project_lead_username === 'string') {
      const u = state.users.find((x) => x.username === body.project_lead_username);
      if (!u) return detail(404, `User ${body.project_lead_username} not found`);
      p.leadOrcid = u.orcid;
    }
    p.modificationMs = now();
    return json(projectOut(ctx, p));
  });
  const projectForLead = (ctx: Ctx, v1Admin: boolean): CrucibleSimProject | Response => {
    if (ctx.version === 'v1' && v1Admin && !ctx.user.admin) return forbidden(ADMIN_ONLY);
    const p = state.projects.get(ctx.params.pid ?? '');
    if (!p) return detail(404, `Project ${ctx.params.pid} not found`);
    if (!isLead(ctx.user, p)) return forbidden(ADMIN_ONLY);
    return p;
  };
  add('GET', 'projects/{pid}/users', BOTH, (ctx) => {
    const p = projectForLead(ctx, true);
    if (p instanceof Response) return p;
    const list = projectMembers(p).map((u) => userOut(ctx, u));
    return ctx.version === 'v1' ? json(list) : offsetPage(ctx, list);
  });
  const memberTarget = (ctx: Ctx): CrucibleSimUser | Response => {
    const email = ctx.query.get('email');
    const username = ctx.query.get('username');
    const u =
      email !== null
        ? state.users.find((x) => x.email === email)
        : username !== null
          ? state.users.find((x) => x.username === username)
          : userByOrcid(ctx.params.orcid ?? '');
    return u ?? detail(404, `User ${email ?? username ?? ctx.params.orcid} not found`);
  };
  add('POST', 'projects/{pid}/users/{orcid}', BOTH, (ctx) => {
    const p = projectForLead(ctx, true);
    if (p instanceof Response) return p;
    const u = memberTarget(ctx);
    if (u instanceof Response) return u;
    addMember(p.projectId, u);
    return json(projectMembers(p).map((m) => userOut(ctx, m)));
  });
  add('DELETE', 'projects/{pid}/users/{orcid}', V2, (ctx) => {
    const p = projectForLead(ctx, true);
    if (p instanceof Response) return p;
    const u = memberTarget(ctx);
    if (u instanceof Response) return u;
    state.members.get(p.projectId)?.delete(u.orcid);
    if (p.leadOrcid !== u.orcid) u.groups.delete(p.projectId);
    return json({ message: `Removed ${u.orcid} from ${p.projectId}` });
  });

  // --- instruments ---
  add('GET', 'instruments', BOTH, (ctx) => {
    const name = ctx.query.get('instrument_name');
    const filter = filterFrom<CrucibleSimInstrument>(
      ctx,
      {
        unique_id: (i) => i.uniqueId,
        location: (i) => i.location,
        owner: (i) => i.owner,
        manufacturer: (i) => i.manufacturer,
        model: (i) => i.model,
        instrument_type: (i) => i.instrumentType,
        id: (i) => i.id,
      },
      (n) =>
        n === 'instrument_name' && name !== null
          ? (i) => i.name.toLowerCase() === name.toLowerCase()
          : undefined,
    );
    if (filter instanceof Response) return filter;
    const inc = includes(ctx);
    if (inc instanceof Response) return inc;
    const list = state.instruments.filter(filter).map((i) => instrumentOut(ctx, i, inc.metadata));
    return ctx.version === 'v1' ? json(list) : offsetPage(ctx, list);
  });
  add('POST', 'instruments', BOTH, async (ctx) => {
    if (ctx.version === 'v2') {
      const denied = requireAdmin(ctx);
      if (denied) return denied;
    }
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    for (const k of ['instrument_name', 'location', 'owner'])
      if (typeof body[k] !== 'string') return validation(['body', k], 'Field required', 'missing');
    if (instrumentByName(body.instrument_name as string))
      return detail(409, `Instrument ${String(body.instrument_name)} already exists`);
    const i: CrucibleSimInstrument = {
      id: state.next.instrument++,
      uniqueId: typeof body.unique_id === 'string' ? body.unique_id : mfid(state.random, now()),
      name: body.instrument_name as string,
      manufacturer: str(body.manufacturer) ?? null,
      model: str(body.model) ?? null,
      owner: str(body.owner) ?? null,
      location: str(body.location) ?? null,
      description: str(body.description) ?? null,
      instrumentType: str(body.instrument_type) ?? null,
      otherId: null,
      otherIdSource: null,
      metadata: null,
      creationMs: now(),
      modificationMs: now(),
    };
    state.instruments.push(i);
    return json(instrumentOut(ctx, i), ctx.version === 'v2' ? 201 : 200);
  });
  add('GET', 'instruments/search', V2, (ctx) => {
    const q = searchQuery(ctx);
    if (q instanceof Response) return q;
    const hits = state.instruments.filter((i) =>
      [i.name, i.instrumentType, i.manufacturer].some((f) => f?.toLowerCase().includes(q.q)),
    );
    return json({
      items: hits.slice(0, q.limit).map((i) => instrumentOut(ctx, i)),
      limit: q.limit,
      total: hits.length,
    });
  });
  add('GET', 'instruments/{iid}', V2, (ctx) => {
    const i = state.instruments.find((x) => x.uniqueId === ctx.params.iid);
    if (!i) return missingRecord(ctx, `Instrument ${ctx.params.iid}`);
    const inc = includes(ctx);
    if (inc instanceof Response) return inc;
    return json(instrumentOut(ctx, i, inc.metadata));
  });
  add('PATCH', 'instruments/{iid}', V2, async (ctx) => {
    const denied = requireAdmin(ctx);
    if (denied) return denied;
    const i = state.instruments.find((x) => x.uniqueId === ctx.params.iid);
    if (!i) return detail(404, `Instrument ${ctx.params.iid} not found`);
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    if (typeof body.instrument_name === 'string') i.name = body.instrument_name;
    if (body.owner !== undefined) i.owner = str(body.owner) ?? null;
    if (body.location !== undefined) i.location = str(body.location) ?? null;
    if (body.manufacturer !== undefined) i.manufacturer = str(body.manufacturer) ?? null;
    if (body.model !== undefined) i.model = str(body.model) ?? null;
    if (body.instrument_type !== undefined) i.instrumentType = str(body.instrument_type) ?? null;
    if (body.description !== undefined) i.description = str(body.description) ?? null;
    i.modificationMs = now();
    return json(instrumentOut(ctx, i));
  });

  // --- search helpers ---
  function searchQuery(ctx: Ctx): { q: string; limit: number } | Response {
    const q = (ctx.query.get('q') ?? '').trim();
    if (q.length < 3)
      return validation(['query', 'q'], 'String should have at least 3 characters', 'string_too_short');
    const limit = intParam(ctx, 'limit', 20, 1);
    if (limit instanceof Response) return limit;
    if (limit > 50)
      return validation(['query', 'limit'], 'Input should be less than or equal to 50', 'less_than_equal');
    return { q: q.toLowerCase(), limit };
  }

  // --- samples ---
  add('GET', 'samples', BOTH, (ctx) => {
    const filter = sampleFilter(ctx);
    if (filter instanceof Response) return filter;
    const inc = includes(ctx);
    if (inc instanceof Response) return inc;
    const match = (s: CrucibleSimSample) => sampleRead(ctx.user, s) && filter(s);
    if (ctx.version === 'v1') return json(state.samples.filter(match).map((s) => sampleOut(ctx, s)));
    return keysetPage(ctx, state.samples, match, (s) => sampleOut(ctx, s, inc));
  });
  add('POST', 'samples', BOTH, async (ctx) => {
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    const uid = str(body.unique_id) ?? null;
    const name = str(body.sample_name) ?? null;
    if (uid === null && name === null)
      return validation(['body', 'sample_name'], 'Field required', 'missing');
    if (uid !== null && !MFID_PATTERN.test(uid))
      return validation(['body', 'unique_id'], 'Not a valid MFID', 'string_pattern_mismatch');
    if (uid !== null && state.sampleById.has(uid)) return detail(409, `Sample ${uid} already exists`);
    const pid = str(body.project_id) ?? null;
    const owner = pickOwner(ctx, body);
    if (owner instanceof Response) return owner;
    if (pid !== null) {
      const p = state.projects.get(pid);
      if (!p) return detail(404, `Project ${pid} not found`);
      if (!isMember(ctx.user, p)) return forbidden(`You are not a member of project ${pid}`);
    }
    const s: CrucibleSimSample = {
      id: state.next.sample++,
      seq: (state.samples.at(-1)?.seq ?? 0) + 1,
      uniqueId: uid ?? mfid(state.random, now()),
      sampleName: name,
      sampleType: str(body.sample_type) ?? null,
      description: str(body.description) ?? null,
      ownerOrcid: owner,
      projectId: pid,
      public: body.public === true,
      timestamp: str(body.timestamp) ?? str(body.date_created) ?? null,
      creationMs: now(),
      modificationMs: now(),
      metadata: null,
    };
    state.samples.push(s);
    state.sampleById.set(s.uniqueId, s);
    return json(sampleOut(ctx, s), ctx.version === 'v2' ? 201 : 200);
  });
  add('GET', 'samples/search', V2, (ctx) => {
    const q = searchQuery(ctx);
    if (q instanceof Response) return q;
    const pid = ctx.query.get('project_id');
    const hits = state.samples.filter(
      (s) =>
        sampleRead(ctx.user, s) &&
        (pid === null || s.projectId === pid) &&
        (s.sampleName ?? '').toLowerCase().includes(q.q),
    );
    return json({
      items: hits.slice(0, q.limit).map((s) => sampleOut(ctx, s)),
      limit: q.limit,
      total: hits.length,
    });
  });
  add('GET', 'samples/{sid}', BOTH, (ctx) => {
    const s = state.sampleById.get(ctx.params.sid ?? '');
    if (!s) return missingRecord(ctx, `Sample ${ctx.params.sid}`);
    if (!sampleRead(ctx.user, s)) return forbidden(`You do not have permission to read sample ${s.uniqueId}`);
    const inc = includes(ctx);
    if (inc instanceof Response) return inc;
    return json(sampleOut(ctx, s, inc));
  });
  add('PATCH', 'samples/{sid}', BOTH, async (ctx) => {
    const s = sample(ctx, ctx.params.sid, 'write');
    if (s instanceof Response) return s;
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    const set = <K extends keyof CrucibleSimSample>(key: string, field: K, value: CrucibleSimSample[K]) => {
      if (body[key] !== undefined && body[key] !== null) s[field] = value;
    };
    set('sample_name', 'sampleName', str(body.sample_name) ?? null);
    set('sample_type', 'sampleType', str(body.sample_type) ?? null);
    set('description', 'description', str(body.description) ?? null);
    set('project_id', 'projectId', str(body.project_id) ?? null);
    set('timestamp', 'timestamp', str(body.timestamp) ?? null);
    set('date_created', 'timestamp', str(body.date_created) ?? null);
    if (typeof body.public === 'boolean') s.public = body.public;
    if (typeof body.owner_orcid === 'string' && userByOrcid(body.owner_orcid))
      s.ownerOrcid = body.owner_orcid;
    s.modificationMs = now();
    return json(sampleOut(ctx, s));
  });
  add('GET', 'samples/{sid}/datasets', BOTH, (ctx) => {
    const s = sample(ctx, ctx.params.sid, 'read');
    if (s instanceof Response) return s;
    const filter = datasetFilter(ctx);
    if (filter instanceof Response) return filter;
    const inc = includes(ctx);
    if (inc instanceof Response) return inc;
    const limit = intParam(ctx, 'limit', ctx.version === 'v1' ? pageSize : maxPage, 1);
    if (limit instanceof Response) return limit;
    const list = [...(state.sampleDatasets.get(s.uniqueId) ?? [])]
      .map((id) => state.datasetById.get(id))
      .filter((d): d is CrucibleSimDataset => d !== undefined && canRead(ctx.user, d) && filter(d));
    return json(list.slice(0, limit).map((d) => datasetOut(ctx, d, inc)));
  });
  for (const which of ['parents', 'children'] as const) {
    add('GET', `samples/{sid}/${which}`, BOTH, (ctx) => {
      const s = sample(ctx, ctx.params.sid, 'read');
      if (s instanceof Response) return s;
      const filter = sampleFilter(ctx);
      if (filter instanceof Response) return filter;
      const index = which === 'parents' ? state.sampleParents : state.sampleChildren;
      const list = [...(index.get(s.uniqueId) ?? [])]
        .map((id) => state.sampleById.get(id))
        .filter((x): x is CrucibleSimSample => x !== undefined && sampleRead(ctx.user, x) && filter(x))
        .map((x) => sampleOut(ctx, x));
      return ctx.version === 'v1' ? json(list) : offsetPage(ctx, list);
    });
  }
  add('POST', 'samples/{parent}/children/{child}', BOTH, (ctx) => {
    const parent = sample(ctx, ctx.params.parent, 'write');
    if (parent instanceof Response) return parent;
    const child = sample(ctx, ctx.params.child, 'read');
    if (child instanceof Response) return child;
    if (parent === child) return detail(400, 'A sample cannot be its own child');
    link(state.sampleChildren, state.sampleParents, parent.uniqueId, child.uniqueId);
    return json({ parent_id: parent.uniqueId, child_id: child.uniqueId, relationship: 'parent-child' });
  });
  add('DELETE', 'samples/{parent}/children/{child}', BOTH, (ctx) => {
    const parent = sample(ctx, ctx.params.parent, 'write');
    if (parent instanceof Response) return parent;
    if (!unlink(state.sampleChildren, state.sampleParents, parent.uniqueId, ctx.params.child ?? ''))
      return detail(404, 'No such link');
    return json({ message: `Removed link ${parent.uniqueId} → ${ctx.params.child}` });
  });

  // --- datasets: records ---
  function pickOwner(ctx: Ctx, body: JsonObject): string | Response {
    const requested = str(body.owner_orcid) ?? null;
    if (requested === null || requested === ctx.user.orcid) return ctx.user.orcid;
    if (!ctx.user.admin) return forbidden('Only admins may create records owned by another user');
    if (!userByOrcid(requested)) return detail(404, `User ${requested} not found`);
    return requested;
  }

  add('GET', 'datasets', BOTH, (ctx) => {
    const filter = datasetFilter(ctx);
    if (filter instanceof Response) return filter;
    const inc = includes(ctx);
    if (inc instanceof Response) return inc;
    const match = (d: CrucibleSimDataset) => canRead(ctx.user, d) && filter(d);
    if (ctx.version === 'v2') return keysetPage(ctx, state.datasets, match, (d) => datasetOut(ctx, d, inc));
    const limit = intParam(ctx, 'limit', pageSize, 1);
    if (limit instanceof Response) return limit;
    const out: unknown[] = [];
    for (const d of state.datasets) {
      if (out.length >= limit) break;
      if (match(d)) out.push(datasetOut(ctx, d, inc));
    }
    return json(out);
  });
  add('POST', 'datasets', BOTH, async (ctx) => {
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    const uid = str(body.unique_id) ?? null;
    if (uid !== null && !MFID_PATTERN.test(uid))
      return validation(['body', 'unique_id'], 'Not a valid MFID', 'string_pattern_mismatch');
    if (uid !== null && state.datasetById.has(uid)) return detail(409, `Dataset ${uid} already exists`);
    const owner = pickOwner(ctx, body);
    if (owner instanceof Response) return owner;
    const pid = str(body.project_id) ?? null;
    if (pid !== null) {
      const p = state.projects.get(pid);
      if (!p) return detail(404, `Project ${pid} not found`);
      if (!isMember(ctx.user, p)) return forbidden(`You are not a member of project ${pid}`);
    }
    let instrumentName = str(body.instrument_name) ?? null;
    if (instrumentName === null && typeof body.instrument_id === 'number') {
      const i = state.instruments.find((x) => x.id === body.instrument_id);
      if (!i) return detail(404, `Instrument ${body.instrument_id} not found`);
      instrumentName = i.name;
    }
    const created = typeof body.creation_time === 'string' ? parseIsoMs(body.creation_time) : undefined;
    const ms = now();
    const ds: CrucibleSimDataset = {
      id: state.next.dataset++,
      seq: (state.datasets.at(-1)?.seq ?? 0) + 1,
      uniqueId: uid ?? mfid(state.random, ms),
      datasetName: str(body.dataset_name) ?? null,
      description: str(body.description) ?? null,
      public: body.public === true,
      ownerOrcid: owner,
      projectId: pid,
      instrumentName,
      measurement: str(body.measurement) ?? null,
      dataType: str(body.data_type) ?? null,
      dataFormat: str(body.data_format) ?? null,
      sessionName: str(body.session_name) ?? null,
      sourceFolder: str(body.source_folder) ?? null,
      timestamp: str(body.timestamp) ?? str(body.creation_date) ?? null,
      fileToUpload: str(body.file_to_upload) ?? null,
      sha256FileToUpload: str(body.sha256_hash_file_to_upload) ?? null,
      size: typeof body.size === 'number' && ctx.version === 'v1' ? body.size : null,
      creationMs: ctx.version === 'v1' && created !== undefined ? created : ms,
      modificationMs: ms,
      keywords: [],
      metadata: null,
      acl: undefined,
    };
    state.datasets.push(ds);
    state.datasetById.set(ds.uniqueId, ds);
    return json(datasetOut(ctx, ds), ctx.version === 'v2' ? 201 : 200);
  });
  add('GET', 'datasets/search', V2, (ctx) => {
    const q = searchQuery(ctx);
    if (q instanceof Response) return q;
    const pid = ctx.query.get('project_id');
    const hits: CrucibleSimDataset[] = [];
    let total = 0;
    for (let i = state.datasets.length - 1; i >= 0; i--) {
      const d = state.datasets[i] as CrucibleSimDataset;
      if (
        canRead(ctx.user, d) &&
        (pid === null || d.projectId === pid) &&
        (d.datasetName ?? '').toLowerCase().includes(q.q)
      ) {
        total += 1;
        if (hits.length < q.limit) hits.push(d);
      }
    }
    return json({ items: hits.map((d) => datasetOut(ctx, d)), limit: q.limit, total });
  });
  add('GET', 'datasets/{dsid}', BOTH, (ctx) => {
    const ds = state.datasetById.get(ctx.params.dsid ?? '');
    if (!ds) return missingRecord(ctx, `Dataset ${ctx.params.dsid}`);
    if (!canRead(ctx.user, ds)) return forbidden(`You do not have permission to read dataset ${ds.uniqueId}`);
    const inc = includes(ctx);
    if (inc instanceof Response) return inc;
    // v1 fetches metadata separately (§5.4): include_metadata is a list-only flag there.
    return json(datasetOut(ctx, ds, ctx.version === 'v1' ? noIncludes : inc));
  });
  add('PATCH', 'datasets/{dsid}', BOTH, async (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    const strings: ReadonlyArray<readonly [string, keyof CrucibleSimDataset]> = [
      ['dataset_name', 'datasetName'],
      ['description', 'description'],
      ['measurement', 'measurement'],
      ['data_type', 'dataType'],
      ['data_format', 'dataFormat'],
      ['session_name', 'sessionName'],
      ['source_folder', 'sourceFolder'],
      ['timestamp', 'timestamp'],
      ['instrument_name', 'instrumentName'],
      ...(ctx.version === 'v1'
        ? ([
            ['file_to_upload', 'fileToUpload'],
            ['sha256_hash_file_to_upload', 'sha256FileToUpload'],
          ] as const)
        : []),
    ];
    const record = ds as unknown as Record<string, unknown>;
    for (const [key, field] of strings) if (key in body) record[field] = str(body[key]) ?? null;
    if (typeof body.public === 'boolean') ds.public = body.public;
    if (ctx.version === 'v1' && typeof body.size === 'number') ds.size = body.size;
    if (typeof body.project_id === 'string') {
      const p = state.projects.get(body.project_id);
      if (!p) return detail(404, `Project ${body.project_id} not found`);
      ds.projectId = p.projectId;
    }
    if (typeof body.owner_orcid === 'string' && body.owner_orcid !== ds.ownerOrcid) {
      if (!ctx.user.admin) return forbidden('Only admins may change the owner');
      ds.ownerOrcid = body.owner_orcid;
    }
    ds.modificationMs = now();
    return json(datasetOut(ctx, ds));
  });

  // --- datasets: access groups ---
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
  add('GET', 'datasets/{dsid}/access_groups', V1, (ctx) => {
    const denied = requireAdmin(ctx);
    if (denied) return denied;
    const ds = dataset(ctx, ctx.params.dsid, 'read');
    return ds instanceof Response ? ds : aclGet(ds);
  });
  add('POST', 'datasets/{dsid}/access_groups', V1, (ctx) => {
    const denied = requireAdmin(ctx);
    if (denied) return denied;
    const ds = dataset(ctx, ctx.params.dsid, 'read');
    return ds instanceof Response ? ds : aclAdd(ctx, ds);
  });

  // --- datasets: metadata (v1) ---
  add('GET', 'datasets/{dsid}/scientific_metadata', V1, (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'read');
    return ds instanceof Response ? ds : json(metadataWrapperV1(ds));
  });
  for (const method of ['POST', 'PATCH'] as const) {
    add(method, 'datasets/{dsid}/scientific_metadata', V1, async (ctx) => {
      const ds = dataset(ctx, ctx.params.dsid, 'write');
      if (ds instanceof Response) return ds;
      const body = await readObject(ctx);
      if (body instanceof Response) return body;
      // POST replaces; PATCH merges top-level keys (depth is [U] in v1; top-level is the cautious reading).
      ds.metadata = method === 'POST' ? clone(body) : { ...(ds.metadata ?? {}), ...clone(body) };
      ds.modificationMs = now();
      return json(metadataWrapperV1(ds));
    });
  }

  // --- keywords ---
  add('GET', 'keywords', BOTH, () =>
    json([...state.keywords.values()].map((k) => ({ id: k.id, keyword: k.keyword, num_datasets: k.count }))),
  );
  add('GET', 'datasets/{dsid}/keywords', BOTH, (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'read');
    if (ds instanceof Response) return ds;
    return json(
      ds.keywords
        .map((k) => state.keywords.get(k))
        .filter((k) => k !== undefined)
        .map((k) => ({ id: k.id, keyword: k.keyword, num_datasets: k.count })),
    );
  });
  add('POST', 'datasets/{dsid}/keywords', BOTH, (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const text = (ctx.query.get('keyword') ?? '').trim();
    if (text === '') return validation(['query', 'keyword'], 'Field required', 'missing');
    // Keywords are global; a new spelling of an existing one reuses it (case normalisation is [U]).
    const key = text.toLowerCase();
    let entry = state.keywords.get(key);
    if (!entry) {
      entry = { id: state.next.keyword++, keyword: text, count: 0 };
      state.keywords.set(key, entry);
    }
    if (!ds.keywords.includes(key)) {
      ds.keywords.push(key);
      entry.count += 1;
    }
    return json({ id: entry.id, keyword: entry.keyword, num_datasets: entry.count });
  });

  // --- thumbnails ---
  add('GET', 'datasets/{dsid}/thumbnails', BOTH, (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'read');
    if (ds instanceof Response) return ds;
    return json((state.thumbnails.get(ds.uniqueId) ?? []).map(thumbnailOut));
  });
  add('POST', 'datasets/{dsid}/thumbnails', BOTH, async (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    if (typeof body.thumbnail_name !== 'string')
      return validation(['body', 'thumbnail_name'], 'Field required', 'missing');
    if (typeof body.thumbnail_b64str !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(body.thumbnail_b64str))
      return validation(['body', 'thumbnail_b64str'], 'Field required (base64)', 'missing');
    const t = {
      id: state.next.thumbnail++,
      datasetId: ds.uniqueId,
      name: body.thumbnail_name,
      b64: body.thumbnail_b64str,
    };
    const list = state.thumbnails.get(ds.uniqueId) ?? [];
    list.push(t);
    state.thumbnails.set(ds.uniqueId, list);
    return json(thumbnailOut(t), ctx.version === 'v2' ? 201 : 200);
  });
  add('DELETE', 'datasets/{dsid}/thumbnails/{tid}', V2, (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const list = state.thumbnails.get(ds.uniqueId) ?? [];
    const at = list.findIndex((t) => String(t.id) === ctx.params.tid);
    if (at < 0) return detail(404, `Thumbnail ${ctx.params.tid} not found`);
    list.splice(at, 1);
    return json({ message: `Thumbnail ${ctx.params.tid} deleted` });
  });

  // --- files ---
  add('GET', 'datasets/{dsid}/associated_files', V1, (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'read');
    if (ds instanceof Response) return ds;
    return json((state.filesByDataset.get(ds.uniqueId) ?? []).map((f) => fileOut(ctx, f)));
  });
  add('POST', 'datasets/{dsid}/associated_files', V1, async (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    if (typeof body.filename !== 'string' || body.filename === '')
      return validation(['body', 'filename'], 'Field required', 'missing');
    // A metadata-only record: nothing verifies it; ingestion later looks for the bytes under its name.
    const f = addFileRecord(ds.uniqueId, {
      filename: body.filename,
      size: typeof body.size === 'number' ? body.size : null,
      sha256: typeof body.sha256_hash === 'string' ? body.sha256_hash.toLowerCase() : null,
      storagePath: null,
      uploadObject: body.filename,
      storageBackend: 'gcs',
      accessNote: null,
    });
    return json(fileOut(ctx, f));
  });
  add('GET', 'datasets/{dsid}/files', V2, (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'read');
    if (ds instanceof Response) return ds;
    return json((state.filesByDataset.get(ds.uniqueId) ?? []).map((f) => fileOut(ctx, f)));
  });
  add('POST', 'datasets/{dsid}/files', V2, async (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    if (typeof body.filename !== 'string')
      return validation(['body', 'filename'], 'Field required', 'missing');
    const backend = str(body.storage_backend) ?? 'gcs';
    if (backend === 'gcs')
      return validation(['body', 'storage_backend'], 'Catalogue-only files need a non-gcs storage_backend');
    const f = addFileRecord(ds.uniqueId, {
      filename: body.filename,
      size: typeof body.size === 'number' ? body.size : null,
      sha256: typeof body.sha256_hash === 'string' ? body.sha256_hash.toLowerCase() : null,
      storagePath: null,
      uploadObject: null,
      storageBackend: backend,
      accessNote: str(body.access_note) ?? null,
    });
    return json(fileOut(ctx, f), 201);
  });
  add('GET', 'files', V2, (ctx) => {
    const sha = ctx.query.get('sha256_hash')?.toLowerCase();
    const list: unknown[] = [];
    for (const f of state.files.values()) {
      if (sha !== undefined && f.sha256 !== sha) continue;
      const ds = state.datasetById.get(f.datasetId);
      if (ds && canRead(ctx.user, ds)) list.push(fileOut(ctx, f));
    }
    return offsetPage(ctx, list);
  });
  const fileFor = (
    ctx: Ctx,
    need: 'read' | 'write',
  ): { f: CrucibleSimFile; ds: CrucibleSimDataset } | Response => {
    const f = state.files.get(ctx.params.mfid ?? '');
    if (!f) return detail(404, `File ${ctx.params.mfid} not found`);
    const ds = dataset(ctx, f.datasetId, need);
    return ds instanceof Response ? ds : { f, ds };
  };
  add('GET', 'files/{mfid}', V2, (ctx) => {
    const r = fileFor(ctx, 'read');
    return r instanceof Response ? r : json(fileOut(ctx, r.f));
  });
  add('PATCH', 'files/{mfid}', V2, async (ctx) => {
    const r = fileFor(ctx, 'write');
    if (r instanceof Response) return r;
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    if (body.storage_path !== undefined) r.f.storagePath = str(body.storage_path) ?? null;
    if (body.access_note !== undefined) r.f.accessNote = str(body.access_note) ?? null;
    if (typeof body.size === 'number') r.f.size = body.size;
    if (typeof body.sha256_hash === 'string') r.f.sha256 = body.sha256_hash.toLowerCase();
    return json(fileOut(ctx, r.f));
  });
  add('DELETE', 'files/{mfid}', V2, (ctx) => {
    const r = fileFor(ctx, 'write');
    if (r instanceof Response) return r;
    state.files.delete(r.f.mfid);
    const list = state.filesByDataset.get(r.ds.uniqueId) ?? [];
    list.splice(list.indexOf(r.f), 1);
    recomputeSize(r.ds);
    return json({ detail: `File ${r.f.mfid} deleted` });
  });

  // --- downloads ---
  const downloadable = (f: CrucibleSimFile) =>
    f.storagePath !== null && f.storageBackend === 'gcs' && state.production.has(f.storagePath);
  add('GET', 'files/{mfid}/download_link', V2, (ctx) => {
    const r = fileFor(ctx, 'read');
    if (r instanceof Response) return r;
    if (!downloadable(r.f)) return detail(404, `File ${r.f.mfid} has not been ingested`);
    return json({ url: signedUrl(ctx, r.f.storagePath as string), expires_in: linkTtl });
  });
  add('GET', 'datasets/{dsid}/download_links', BOTH, (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'read');
    if (ds instanceof Response) return ds;
    const out: Record<string, string> = {};
    const prefix = `mf-storage-prod/${ds.uniqueId}/`;
    for (const f of state.filesByDataset.get(ds.uniqueId) ?? []) {
      if (!downloadable(f)) continue;
      const path = f.storagePath as string;
      const key =
        ctx.version === 'v1'
          ? `${ds.uniqueId}/${path.startsWith(prefix) ? path.slice(prefix.length) : basename(path)}`
          : f.mfid;
      out[key] = signedUrl(ctx, path);
    }
    if (ctx.version === 'v2' && Object.keys(out).length === 0) {
      return options.emptyDownloadLinks === 'detail'
        ? json({ detail: `No files found for dataset ${ds.uniqueId}` })
        : detail(404, `No ingested files for dataset ${ds.uniqueId}`);
    }
    return json(out);
  });

  // --- uploads (v2) ---
  async function initiate(ctx: Ctx, multipart: boolean): Promise<Response> {
    const ds = dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    if (typeof body.filename !== 'string' || basename(body.filename) === '')
      return validation(['body', 'filename'], 'Field required', 'missing');
    if (typeof body.size !== 'number' || !Number.isSafeInteger(body.size) || body.size < 0)
      return validation(['body', 'size'], 'Input should be a non-negative integer', 'int_type');
    if (typeof body.sha256_hash !== 'string' || !SHA256_HEX.test(body.sha256_hash))
      return validation(
        ['body', 'sha256_hash'],
        'A 64-character hex SHA-256 is required',
        'string_pattern_mismatch',
      );
    const sha = body.sha256_hash.toLowerCase();
    const existing = (state.filesByDataset.get(ds.uniqueId) ?? []).find((f) => f.sha256 === sha);
    if (existing) {
      stats.dedupHits += 1;
      return json(
        multipart
          ? {
              upload_id: null,
              access_token: null,
              project: null,
              bucket: null,
              object_prefix: null,
              existing_file: fileOut(ctx, existing),
            }
          : {
              upload_id: null,
              resumable_uri: null,
              chunk_size_hint: null,
              existing_file: fileOut(ctx, existing),
            },
      );
    }
    if (multipart) {
      return detail(
        501,
        'The simulator does not vend storage credentials (GCS XML multipart); use /upload/initiate',
      );
    }
    const name = basename(body.filename);
    const session: UploadSession = {
      uploadId: token(state.random, 32),
      datasetId: ds.uniqueId,
      filename: name,
      objectName: `api-uploads/${ds.uniqueId}/${name}`,
      size: body.size,
      declaredSha256: sha,
      createdMs: now(),
      writer: blobs.writer(),
      blob: undefined,
      fileMfid: null,
      chunkPuts: 0,
      probes: 0,
      state: 'active',
      lock: Promise.resolve(),
    };
    state.sessions.set(session.uploadId, session);
    return json({
      upload_id: session.uploadId,
      resumable_uri: sessionUri(ctx, session),
      chunk_size_hint: chunkHint,
      existing_file: null,
    });
  }
  add('POST', 'datasets/{dsid}/upload/initiate', V2, (ctx) => initiate(ctx, false));
  add('POST', 'datasets/{dsid}/upload/initiate/multipart', V2, (ctx) => initiate(ctx, true));
  add('POST', 'datasets/{dsid}/upload/complete', V2, async (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    if (typeof body.upload_id !== 'string')
      return validation(['body', 'upload_id'], 'Field required', 'missing');
    if (typeof body.sha256_hash !== 'string')
      return validation(['body', 'sha256_hash'], 'Field required', 'missing');
    const session = state.sessions.get(body.upload_id);
    if (!session || session.datasetId !== ds.uniqueId || session.state !== 'active')
      return detail(404, `Upload ${body.upload_id} not found`);
    if (session.fileMfid !== null) {
      stats.repeatedCompletes += 1;
      const f = state.files.get(session.fileMfid);
      if (f) return json(fileOut(ctx, f));
    }
    const blob = session.blob;
    if (!blob) {
      return detail(409, `Upload incomplete: ${session.writer.persisted} of ${session.size} bytes received`);
    }
    if (body.sha256_hash.toLowerCase() !== blob.sha256) {
      return detail(
        400,
        `SHA-256 mismatch: the stored object hashes to ${blob.sha256}, the request says ${body.sha256_hash.toLowerCase()}`,
      );
    }
    const f = addFileRecord(ds.uniqueId, {
      filename: `crucible-uploads/${session.objectName}`,
      size: blob.size,
      sha256: blob.sha256,
      storagePath: null,
      uploadObject: session.objectName,
      storageBackend: 'gcs',
      accessNote: null,
    });
    session.fileMfid = f.mfid;
    stats.uploadsCompleted += 1;
    return json(fileOut(ctx, f));
  });

  // --- upload (v1 multipart) ---
  add('POST', 'datasets/{dsid}/upload', V1, async (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const type = ctx.request.headers.get('content-type') ?? '';
    const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(type);
    if (!/^multipart\/form-data/i.test(type) || !boundary || ctx.request.body === null)
      return validation(['body', 'files'], 'Field required', 'missing');
    const tooLarge = () => {
      stats.uploadsTooLarge += 1;
      return detail(413, `Request entity too large: direct uploads take files up to ${v1Limit} bytes`);
    };
    const declared = Number(ctx.request.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(declared) && declared > v1Limit + 1024 * 1024) return tooLarge();
    const parts: Array<{ filename: string; writer: ReturnType<BlobStore['writer']> }> = [];
    class TooLarge extends Error {}
    try {
      await parseMultipart(ctx.request.body, boundary[1] ?? boundary[2] ?? '', (info) => {
        if (info.filename === undefined || info.filename === '') return { write() {}, end() {} };
        const writer = blobs.writer();
        parts.push({ filename: info.filename, writer });
        return {
          async write(chunk) {
            if (writer.persisted + chunk.byteLength > v1Limit) throw new TooLarge();
            await writer.append(chunk);
          },
          end() {},
        };
      });
    } catch (error) {
      for (const p of parts) await p.writer.discard();
      if (error instanceof TooLarge) return tooLarge();
      if (error instanceof MultipartError)
        return validation(['body'], `Malformed multipart body: ${error.message}`);
      return detail(400, 'The upload was interrupted');
    }
    if (parts.length === 0) return validation(['body', 'files'], 'Field required', 'missing');
    const out: unknown[] = [];
    for (const part of parts) {
      const blob = await part.writer.finish();
      const object = `api-uploads/${basename(part.filename)}`;
      putBlob(state.uploadBucket, object, blob);
      stats.v1Uploads += 1;
      stats.v1UploadBytes += blob.size;
      const files = state.filesByDataset.get(ds.uniqueId) ?? [];
      let f = files.find((x) => x.filename === object);
      if (f) {
        f.size = blob.size;
        f.sha256 = blob.sha256;
        f.uploadObject = object;
      } else {
        f = addFileRecord(ds.uniqueId, {
          filename: object,
          size: blob.size,
          sha256: blob.sha256,
          storagePath: null,
          uploadObject: object,
          storageBackend: 'gcs',
          accessNote: null,
        });
      }
      out.push(fileOut(ctx, f));
    }
    // One part → the record; several → a list (the reference sends one per request; §6 leaves it [U]).
    return json(out.length === 1 ? out[0] : out);
  });

  // --- dataset ↔ sample, dataset ↔ dataset ---
  add('GET', 'datasets/{dsid}/samples', BOTH, (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'read');
    if (ds instanceof Response) return ds;
    const filter = sampleFilter(ctx);
    if (filter instanceof Response) return filter;
    const list = [...(state.datasetSamples.get(ds.uniqueId) ?? [])]
      .map((id) => state.sampleById.get(id))
      .filter((s): s is CrucibleSimSample => s !== undefined && sampleRead(ctx.user, s) && filter(s))
      .map((s) => sampleOut(ctx, s));
    return ctx.version === 'v1' ? json(list) : offsetPage(ctx, list);
  });
  add('POST', 'datasets/{dsid}/samples/{sid}', BOTH, (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const s = sample(ctx, ctx.params.sid, 'read');
    if (s instanceof Response) return s;
    link(state.datasetSamples, state.sampleDatasets, ds.uniqueId, s.uniqueId);
    return json({ dataset_id: ds.uniqueId, sample_id: s.uniqueId });
  });
  add('DELETE', 'datasets/{dsid}/samples/{sid}', BOTH, (ctx) => {
    // Admin-only per the reference and the successor's docstring (§5.6, §16.6 [U]).
    const denied = requireAdmin(ctx);
    if (denied) return denied;
    const ds = dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    if (!unlink(state.datasetSamples, state.sampleDatasets, ds.uniqueId, ctx.params.sid ?? ''))
      return detail(404, 'No such link');
    return json({ message: `Removed sample ${ctx.params.sid} from dataset ${ds.uniqueId}` });
  });
  for (const which of ['parents', 'children'] as const) {
    add('GET', `datasets/{dsid}/${which}`, BOTH, (ctx) => {
      const ds = dataset(ctx, ctx.params.dsid, 'read');
      if (ds instanceof Response) return ds;
      const filter = datasetFilter(ctx);
      if (filter instanceof Response) return filter;
      const index = which === 'parents' ? state.datasetParents : state.datasetChildren;
      const list = [...(index.get(ds.uniqueId) ?? [])]
        .map((id) => state.datasetById.get(id))
        .filter((d): d is CrucibleSimDataset => d !== undefined && canRead(ctx.user, d) && filter(d))
        .map((d) => datasetOut(ctx, d));
      return ctx.version === 'v1' ? json(list) : offsetPage(ctx, list);
    });
  }
  add('POST', 'datasets/{parent}/children/{child}', BOTH, (ctx) => {
    const parent = dataset(ctx, ctx.params.parent, 'write');
    if (parent instanceof Response) return parent;
    const child = dataset(ctx, ctx.params.child, 'read');
    if (child instanceof Response) return child;
    if (parent === child) return detail(400, 'A dataset cannot be its own child');
    link(state.datasetChildren, state.datasetParents, parent.uniqueId, child.uniqueId);
    return json({ parent_id: parent.uniqueId, child_id: child.uniqueId, relationship: 'derived' });
  });
  add('DELETE', 'datasets/{parent}/children/{child}', BOTH, (ctx) => {
    const parent = dataset(ctx, ctx.params.parent, 'write');
    if (parent instanceof Response) return parent;
    if (!unlink(state.datasetChildren, state.datasetParents, parent.uniqueId, ctx.params.child ?? ''))
      return detail(404, 'No such link');
    return json({ message: `Removed link ${parent.uniqueId} → ${ctx.params.child}` });
  });

  // --- processing requests (v1) ---
  add('POST', 'datasets/{dsid}/ingest', V1, (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    stats.ingestionRequests += 1;
    const r = newRequest(
      'ingest',
      'v1',
      ds,
      undefined,
      ctx.query.get('file_to_upload'),
      ctx.query.get('ingestion_class'),
      false,
    );
    return json(requestOut(r));
  });
  add('POST', 'datasets/{dsid}/scicat_update', V1, (ctx) => {
    const ds = dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    stats.scicatRequests += 1;
    const overwrite = parseBool(ctx.query.get('overwrite_data') ?? 'false') === true;
    const r = newRequest('scicat', 'v1', ds, undefined, null, null, overwrite);
    return json(requestOut(r));
  });
  for (const [kind, segment] of [
    ['ingest', 'ingest'],
    ['scicat', 'scicat_update'],
  ] as const) {
    const find = (ctx: Ctx, need: 'read' | 'write'): ProcessingRequest | Response => {
      const ds = dataset(ctx, ctx.params.dsid, need);
      if (ds instanceof Response) return ds;
      const r = state.requests.get(Number(ctx.params.rid));
      if (!r || r.kind !== kind || r.datasetId !== ds.uniqueId)
        return detail(404, `Request ${ctx.params.rid} not found`);
      return r;
    };
    add('GET', `datasets/{dsid}/${segment}/{rid}`, V1, (ctx) => {
      const r = find(ctx, 'read');
      return r instanceof Response ? r : json(requestOut(r));
    });
    add('PATCH', `datasets/{dsid}/${segment}/{rid}`, V1, async (ctx) => {
      const denied = requireAdmin(ctx);
      if (denied) return denied;
      const r = find(ctx, 'read');
      if (r instanceof Response) return r;
      return patchRequest(ctx, r);
    });
  }
  add('PATCH', 'datasets/{dsid}/google_drive_transfer/{rid}', V1, (ctx) => {
    const denied = requireAdmin(ctx);
    return denied ?? json({ id: Number(ctx.params.rid), status: 'ok' });
  });

  async function patchRequest(ctx: Ctx, r: ProcessingRequest): Promise<Response> {
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    if (typeof body.status !== 'string') return validation(['body', 'status'], 'Field required', 'missing');
    r.manualStatus = body.status;
    if (typeof body.time_completed === 'string') r.timeCompleted = body.time_completed;
    if (typeof body.ingestion_githash === 'string') r.githash = body.ingestion_githash;
    if (typeof body.ingestion_class === 'string') r.ingestionClass = body.ingestion_class;
    if (body.status === 'complete' && !r.settled) {
      const saved = r.timeCompleted;
      settle(r);
      if (saved !== null) r.timeCompleted = saved;
    }
    return json(requestOut(r));
  }

  // --- ingestion (v2) ---
  add('POST', 'files/{mfid}/ingest', V2, (ctx) => {
    const r = fileFor(ctx, 'write');
    if (r instanceof Response) return r;
    stats.ingestionRequests += 1;
    const req = newRequest('ingest', 'v2', r.ds, r.f, null, ctx.query.get('ingestion_class'), false);
    return json(requestOut(req));
  });
  add('GET', 'ingestion_requests', V2, (ctx) => {
    const dsid = ctx.query.get('dataset_id');
    const fid = ctx.query.get('file_id');
    const list: unknown[] = [];
    for (const r of state.requests.values()) {
      if (r.kind !== 'ingest' || r.api !== 'v2') continue;
      if (dsid !== null && r.datasetId !== dsid) continue;
      if (fid !== null && r.fileMfid !== fid) continue;
      const ds = state.datasetById.get(r.datasetId);
      if (ds && canRead(ctx.user, ds)) list.push(requestOut(r));
    }
    return offsetPage(ctx, list.reverse());
  });
  const v2Request = (ctx: Ctx): ProcessingRequest | Response => {
    const r = state.requests.get(Number(ctx.params.id));
    if (r?.api !== 'v2') return detail(404, `Ingestion request ${ctx.params.id} not found`);
    const ds = dataset(ctx, r.datasetId, 'read');
    return ds instanceof Response ? ds : r;
  };
  add('GET', 'ingestion_requests/{id}', V2, (ctx) => {
    const r = v2Request(ctx);
    return r instanceof Response ? r : json(requestOut(r));
  });
  add('PATCH', 'ingestion_requests/{id}', V2, (ctx) => {
    const denied = requireAdmin(ctx);
    if (denied) return denied;
    const r = v2Request(ctx);
    return r instanceof Response ? r : patchRequest(ctx, r);
  });
  add('GET', 'ingestors', V2, () => json([...INGESTION_CLASSES]));

  // --- resources (v2) ---
  type Resource =
    | { kind: 'dataset'; ds: CrucibleSimDataset }
    | { kind: 'sample'; s: CrucibleSimSample }
    | { kind: 'instrument'; i: CrucibleSimInstrument }
    | { kind: 'project'; p: CrucibleSimProject };
  function resource(ctx: Ctx, need: 'read' | 'write', projects: boolean): Resource | Response {
    const id = ctx.params.id ?? '';
    const ds = state.datasetById.get(id);
    if (ds) {
      const r = dataset(ctx, id, need);
      return r instanceof Response ? r : { kind: 'dataset', ds };
    }
    const s = state.sampleById.get(id);
    if (s) {
      const r = sample(ctx, id, need);
      return r instanceof Response ? r : { kind: 'sample', s };
    }
    const i = state.instruments.find((x) => x.uniqueId === id);
    if (i) {
      if (need === 'write' && !ctx.user.admin) return forbidden(ADMIN_ONLY);
      return { kind: 'instrument', i };
    }
    const p = projects ? state.projects.get(id) : undefined;
    if (p) {
      if (need === 'read' && !isMember(ctx.user, p))
        return forbidden(`You are not a member of project ${id}`);
      if (need === 'write' && !isLead(ctx.user, p)) return forbidden(ADMIN_ONLY);
      return { kind: 'project', p };
    }
    return detail(404, `Resource ${id} not found`);
  }
  const resourceMetadata = (r: Resource): JsonObject | null =>
    r.kind === 'dataset'
      ? r.ds.metadata
      : r.kind === 'sample'
        ? r.s.metadata
        : r.kind === 'instrument'
          ? r.i.metadata
          : r.p.metadata;
  function setResourceMetadata(r: Resource, md: JsonObject): void {
    const ms = now();
    if (r.kind === 'dataset') {
      r.ds.metadata = md;
      r.ds.modificationMs = ms;
    } else if (r.kind === 'sample') {
      r.s.metadata = md;
      r.s.modificationMs = ms;
    } else if (r.kind === 'instrument') {
      r.i.metadata = md;
      r.i.modificationMs = ms;
    } else {
      r.p.metadata = md;
      r.p.modificationMs = ms;
    }
  }
  const resourceId = (r: Resource) =>
    r.kind === 'dataset'
      ? r.ds.uniqueId
      : r.kind === 'sample'
        ? r.s.uniqueId
        : r.kind === 'instrument'
          ? r.i.uniqueId
          : r.p.projectId;
  const wrapper = (r: Resource) => {
    const md = resourceMetadata(r);
    return md === null ? null : { unique_id: resourceId(r), scientific_metadata: md };
  };

  add('GET', 'resources/metadata/search', V2, (ctx) => {
    const q = searchQuery(ctx);
    if (q instanceof Response) return q;
    const hits: Array<Record<string, unknown>> = [];
    const consider = (
      uniqueId: string,
      type: string,
      name: string | null,
      owner: string | null,
      md: JsonObject | null,
      created: number,
      modified: number,
    ) => {
      if (md === null) return;
      const text = JSON.stringify(md).toLowerCase();
      const count = text.split(q.q).length - 1;
      if (count > 0)
        hits.push({
          unique_id: uniqueId,
          resource_type: type,
          name,
          owner_orcid: owner,
          creation_time: naiveIso(created),
          modification_time: naiveIso(modified),
          rank: count / (1 + text.length / 100),
          scientific_metadata: md,
        });
    };
    for (const d of state.datasets)
      if (canRead(ctx.user, d))
        consider(
          d.uniqueId,
          'dataset',
          d.datasetName,
          d.ownerOrcid,
          d.metadata,
          d.creationMs,
          d.modificationMs,
        );
    for (const s of state.samples)
      if (sampleRead(ctx.user, s))
        consider(
          s.uniqueId,
          'sample',
          s.sampleName,
          s.ownerOrcid,
          s.metadata,
          s.creationMs,
          s.modificationMs,
        );
    for (const i of state.instruments)
      consider(i.uniqueId, 'instrument', i.name, null, i.metadata, i.creationMs, i.modificationMs);
    hits.sort((a, b) => (b.rank as number) - (a.rank as number));
    return json({ items: hits.slice(0, q.limit), limit: q.limit, total: hits.length });
  });
  add('GET', 'resources/{id}', V2, (ctx) => {
    const r = resource(ctx, 'read', false);
    if (r instanceof Response) return r;
    const inc = includes(ctx);
    if (inc instanceof Response) return inc;
    if (r.kind === 'dataset') return json(datasetOut(ctx, r.ds, inc));
    if (r.kind === 'sample') return json(sampleOut(ctx, r.s, inc));
    if (r.kind === 'instrument') return json(instrumentOut(ctx, r.i, inc.metadata));
    return json(projectOut(ctx, r.p, inc.metadata));
  });
  add('GET', 'resources/{id}/links', V2, (ctx) => {
    const r = resource(ctx, 'read', false);
    if (r instanceof Response) return r;
    if (r.kind === 'dataset') return json(datasetLinks(ctx.user, r.ds));
    if (r.kind === 'sample') return json(sampleLinks(ctx.user, r.s));
    return json([]);
  });
  add('GET', 'resources/{id}/metadata', V2, (ctx) => {
    const r = resource(ctx, 'read', true);
    return r instanceof Response ? r : json(wrapper(r));
  });
  add('POST', 'resources/{id}/metadata', V2, async (ctx) => {
    const r = resource(ctx, 'write', true);
    if (r instanceof Response) return r;
    const overwrite = boolParam(ctx, 'overwrite');
    if (overwrite instanceof Response) return overwrite;
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    if (!overwrite && resourceMetadata(r) !== null)
      return detail(
        409,
        `Metadata for ${resourceId(r)} already exists; use PATCH to merge or overwrite=true to replace`,
      );
    setResourceMetadata(r, clone(body));
    return json(wrapper(r));
  });
  add('PATCH', 'resources/{id}/metadata', V2, async (ctx) => {
    const r = resource(ctx, 'write', true);
    if (r instanceof Response) return r;
    const body = await readObject(ctx);
    if (body instanceof Response) return body;
    setResourceMetadata(r, deepMerge(resourceMetadata(r) ?? {}, clone(body)));
    return json(wrapper(r));
  });
  add('GET', 'resources/{id}/access_groups', V2, (ctx) => {
    const denied = requireAdmin(ctx);
    if (denied) return denied;
    const r = resource(ctx, 'read', false);
    if (r instanceof Response) return r;
    if (r.kind !== 'dataset') return json([]);
    return aclGet(r.ds);
  });
  add('POST', 'resources/{id}/access_groups', V2, (ctx) => {
    const denied = requireAdmin(ctx);
    if (denied) return denied;
    const r = resource(ctx, 'read', false);
    if (r instanceof Response) return r;
    if (r.kind !== 'dataset') return detail(400, 'Access groups are simulated on datasets only');
    return aclAdd(ctx, r.ds);
  });

  // ---------------------------------------------------------------------------------------------------------
  // Dispatch
  // ---------------------------------------------------------------------------------------------------------

  const prefixes: Array<{ prefix: string; version: Version }> = [
    ...v2Prefixes.map((p) => ({ prefix: p.replace(/\/+$/, ''), version: 'v2' as const })),
    ...v1Prefixes.map((p) => ({ prefix: p.replace(/\/+$/, ''), version: 'v1' as const })),
  ].sort((a, b) => b.prefix.length - a.prefix.length);

  function authenticate(request: Request, version: Version): CrucibleSimUser | Response {
    const header = request.headers.get('authorization');
    const m = header === null ? null : /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
    if (m === null) {
      stats.authFailures += 1;
      return detail(401, 'Not authenticated', { 'www-authenticate': 'Bearer' });
    }
    const u = state.users.find((x) => x.apiKey !== null && x.apiKey === m[1]);
    if (!u) {
      stats.authFailures += 1;
      const status = badKey[version];
      return detail(
        status,
        version === 'v1' ? 'No account found for this API key' : 'Invalid or expired API key',
        status === 401 ? { 'www-authenticate': 'Bearer' } : {},
      );
    }
    return u;
  }

  async function api(request: Request, url: URL, version: Version, rest: string): Promise<Response> {
    stats.apiRequests += 1;
    const method = request.method.toUpperCase() === 'HEAD' ? 'GET' : request.method.toUpperCase();
    // Paths are exact, as FastAPI routes them: an empty segment matches nothing, and a trailing slash is
    // answered with a redirect to the path without it (redirect_slashes), as the live server would.
    if (/\/\/|^[^/]/.test(rest)) return detail(404, 'Not Found');
    if (rest.length > 1 && rest.endsWith('/')) {
      const target = new URL(url.href);
      target.pathname = target.pathname.replace(/\/+$/, '');
      return new HttpResponse(null, { status: 307, headers: { location: target.href } });
    }
    const segments = rest.split('/').filter(Boolean);
    if (version === 'v2' && method === 'GET' && segments[0] === 'health' && segments.length === 2) {
      if (segments[1] === 'live') return json({ status: 'ok' });
      if (segments[1] === 'ready')
        return json({ status: 'ok', db: 'ok', db_ms: 1.2, version: 'crucible-sim' });
    }
    let best: { route: Route; params: Record<string, string> } | undefined;
    let pathMatched = false;
    for (const r of routes) {
      if (r.segments.length !== segments.length || !r.versions.includes(version)) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segments.length && ok; i++) {
        const pattern = r.segments[i] as string;
        let actual: string;
        try {
          actual = decodeURIComponent(segments[i] as string);
        } catch {
          actual = segments[i] as string;
        }
        if (pattern.startsWith('{')) params[pattern.slice(1, -1)] = actual;
        else ok = pattern === actual;
      }
      if (!ok) continue;
      pathMatched = true;
      if (r.method !== method) continue;
      if (!best || r.literals > best.route.literals) best = { route: r, params };
    }
    if (!best) return pathMatched ? detail(405, 'Method Not Allowed') : detail(404, 'Not Found');
    const user = authenticate(request, version);
    if (user instanceof Response) return user;
    const key = `${method} ${best.route.template}`;
    stats.routes[key] = (stats.routes[key] ?? 0) + 1;
    if (method !== 'GET') stats.writes[key] = (stats.writes[key] ?? 0) + 1;
    settleAll();
    const ctx: Ctx = { request, url, version, params: best.params, query: url.searchParams, user };
    const response = await best.route.handler(ctx);
    return request.method.toUpperCase() === 'HEAD' ? new HttpResponse(null, response) : response;
  }

  async function dispatch(request: Request): Promise<Response | undefined> {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path === storagePrefix || path.startsWith(`${storagePrefix}/`)) {
      stats.requests += 1;
      settleAll();
      return storage(request, url, path.slice(storagePrefix.length));
    }
    for (const { prefix, version } of prefixes) {
      if (path === prefix || path.startsWith(`${prefix}/`)) {
        stats.requests += 1;
        return api(request, url, version, path.slice(prefix.length));
      }
    }
    return undefined;
  }

  const all = [storagePrefix, ...prefixes.map((p) => p.prefix)].map(escapeRegExp).join('|');
  const handlers: RequestHandler[] = [
    http.all(new RegExp(`^[a-z]+://[^/]+(?:${all})(?:/|$)`), ({ request }) => dispatch(request)),
  ];

  // ---------------------------------------------------------------------------------------------------------
  // Test helpers
  // ---------------------------------------------------------------------------------------------------------

  const blobOf = (f: CrucibleSimFile): SimBlob | undefined =>
    (f.storagePath === null ? undefined : state.production.get(f.storagePath)) ??
    (f.uploadObject === null ? undefined : state.uploadBucket.get(f.uploadObject));

  function dropState(): void {
    for (const s of state.sessions.values()) if (!s.blob) void s.writer.discard();
    blobs.disposeSync();
  }

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
    get requests() {
      return [...state.requests.values()].map((r) => ({
        id: r.id,
        kind: r.kind,
        datasetId: r.datasetId,
        fileMfid: r.fileMfid,
        status: statusOf(r),
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
      for (const s of issued) revoked.add(s);
      issued = new Set();
      // As after the links' hour: the ones issued so far are past their expiry, new ones are dated later.
      linkClockMs += (linkTtl + 1) * 1000;
    },
    expireUploadSessions() {
      for (const s of state.sessions.values()) {
        if (s.state !== 'active') continue;
        s.state = 'expired';
        if (!s.blob) void s.writer.discard();
      }
    },
    persistPartially(bytes, times = 1) {
      partial = { bytes, times };
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
      putBlob(state.uploadBucket, object, blob);
      const f = addFileRecord(ds.uniqueId, {
        filename: `crucible-uploads/${object}`,
        size: blob.size,
        sha256: blob.sha256,
        storagePath: null,
        uploadObject: object,
        storageBackend: 'gcs',
        accessNote: null,
      });
      if (opts.ingested ?? true) {
        ingestFile(ds, f);
        recomputeSize(ds);
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
      return blob && blob.source.kind !== 'generated' ? blob.source.path : undefined;
    },
    servedSha256(id) {
      const f = state.files.get(id);
      return f ? blobOf(f)?.sha256 : undefined;
    },
    reset() {
      dropState();
      state = seedState({ seed, datasets: datasetCount, blobs });
      outcomes.clear();
      issued = new Set();
      revoked = new Set();
      linkClockMs = 0;
      partial = undefined;
      stats = emptyStats();
    },
    async dispose() {
      for (const s of state.sessions.values()) if (!s.blob) await s.writer.discard();
      await blobs.dispose();
    },
  };
}
