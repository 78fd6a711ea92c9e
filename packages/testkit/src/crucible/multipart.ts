import type { Hash } from 'node:crypto';
import { basename } from './common.js';
import type { CrucibleSimDataset, UploadSession } from './model.js';
import type { CrucibleSim, CrucibleSimState } from './state.js';
import { detail, json, token } from './util.js';

/**
 * Multipart uploads with credential vending (spec §17.2, §19.9): `initiate/multipart` vends a short-lived
 * storage token for `gs://crucible-uploads/api-uploads/<dsid>/`, the storage mount speaks the GCS XML
 * multipart API (routes/multipart.ts), and the usual `upload/complete` checks the SHA-256 of the assembled
 * object. This module holds the state and the test controls; the routes are in routes/multipart.ts.
 */

/** How `initiate/multipart` answers: offered, or "not offered" with one of these statuses. */
export type MultipartOffer = true | 404 | 405 | 501;

export interface CrucibleSimMultipartOptions {
  /** Default `true` when the option is given (without it: 501, the endpoint is not offered). */
  offered?: MultipartOffer;
  /** `chunk_size_hint` of the answer (bytes); default none (the client picks its part size). */
  chunkSizeHint?: number;
}

/** A fault for one part `PUT`. `drop` resets the connection; `401` expires the upload's token. */
export type MultipartPartFault = 429 | 500 | 502 | 503 | 'drop' | 401;

export interface CrucibleSimMultipartStats {
  /** `initiate/multipart` answers that vended a token. */
  vended: number;
  /** XML initiations (`POST …?uploads`). */
  xmlInitiates: number;
  /** Part `PUT`s received (all, including failed and held ones). */
  partPuts: number;
  /** Parts stored (answered 200 with an ETag). */
  partsStored: number;
  partBytes: number;
  /** Most part `PUT`s in flight at once. */
  maxConcurrentPuts: number;
  listParts: number;
  completes: number;
  aborts: number;
  metadataReads: number;
  /** Storage requests carrying a Crucible API key: a correct client keeps this at 0. */
  crucibleKeys: number;
  /** Storage requests without a valid token (missing, unknown, expired, other object). */
  badTokens: number;
  /** Faults injected by `failPut` and `failComplete`. */
  faults: number;
  /** Part `PUT`s held by `holdAfter` (never stored). */
  held: number;
}

export interface CrucibleSimMultipartUpload {
  uploadId: string;
  object: string;
  /** Part numbers stored, ascending. */
  parts: number[];
  state: 'open' | 'completed' | 'aborted';
}

/** The test controls of the multipart upload (`sim.multipart`). */
export interface CrucibleSimMultipart {
  /** How `initiate/multipart` answers now (changeable at any time). */
  offered: MultipartOffer;
  chunkSizeHint: number | undefined;
  readonly stats: CrucibleSimMultipartStats;
  readonly uploads: readonly CrucibleSimMultipartUpload[];
  /** The `nth` part `PUT` from now (1 = the next one) fails with `fault` (its bytes are not stored). */
  failPut(nth: number, fault: MultipartPartFault): void;
  /** The next XML complete answers `status`; with `acted` it completes the object first (a lost answer). */
  failComplete(status: number, acted?: boolean): void;
  /** Once `parts` more parts are stored, every further part `PUT` is held unanswered until `release()`. */
  holdAfter(parts: number): void;
  /** Resolves once at least `count` part `PUT`s are held. */
  whenHeld(count?: number): Promise<void>;
  /** Ends the hold: held `PUT`s answer 503 (nothing stored), later ones are served. */
  release(): void;
  /** Every token vended so far answers 401 from now on. */
  expireTokens(): void;
}

export interface Grant {
  readonly token: string;
  readonly sessionId: string;
  readonly bucket: string;
  readonly prefix: string;
  expired: boolean;
}

/** A stored part: a plain temp file (not hashed: only the assembled object is). */
export interface Part {
  readonly path: string;
  readonly size: number;
  readonly etag: string;
  readonly modifiedMs: number;
}

export interface XmlUpload {
  readonly id: string;
  readonly grant: Grant;
  readonly object: string;
  readonly parts: Map<number, Part>;
  state: 'open' | 'completed' | 'aborted';
  /**
   * The object's SHA-256 computed in the background from part 1 on, as far as the parts are contiguous (the
   * parts are read back, never copied: the completed object is made of the part files): the ETags hashed, in
   * order, and the work under way. `complete` goes on from there when its list starts with the same parts, else
   * it starts again.
   */
  assembly: { hash: Hash; etags: string[]; running: Promise<void> | undefined } | undefined;
  /** Parts replaced by a later PUT of the same number (their files go when the upload ends). */
  readonly replaced: Part[];
}

export interface MultipartState {
  readonly control: CrucibleSimMultipart;
  readonly stats: CrucibleSimMultipartStats;
  readonly grants: Map<string, Grant>;
  readonly uploads: Map<string, XmlUpload>;
  /** Part PUT faults, by the ordinal of the PUT. */
  readonly putFaults: Map<number, MultipartPartFault>;
  completeFault: { status: number; acted: boolean } | undefined;
  putsSeen: number;
  inFlight: number;
  /** Parts still to store before the hold starts (undefined: no hold). */
  holdIn: number | undefined;
  holding: boolean;
  readonly heldWaiters: Set<() => void>;
  releaseHeld: Array<() => void>;
}

export const UPLOAD_BUCKET = 'crucible-uploads';
export const MIN_PART = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;

const states = new WeakMap<CrucibleSimState, MultipartState>();

const emptyStats = (): CrucibleSimMultipartStats => ({
  vended: 0,
  xmlInitiates: 0,
  partPuts: 0,
  partsStored: 0,
  partBytes: 0,
  maxConcurrentPuts: 0,
  listParts: 0,
  completes: 0,
  aborts: 0,
  metadataReads: 0,
  crucibleKeys: 0,
  badTokens: 0,
  faults: 0,
  held: 0,
});

/** The multipart state of a simulator (created on first use). */
export function multipartState(sim: CrucibleSimState): MultipartState {
  const existing = states.get(sim);
  if (existing) return existing;
  const stats = emptyStats();
  const opt = sim.options.multipart;
  const state: MultipartState = {
    stats,
    grants: new Map(),
    uploads: new Map(),
    putFaults: new Map(),
    completeFault: undefined,
    putsSeen: 0,
    inFlight: 0,
    holdIn: undefined,
    holding: false,
    heldWaiters: new Set(),
    releaseHeld: [],
    control: {
      offered: opt === undefined ? 501 : (opt.offered ?? true),
      chunkSizeHint: opt?.chunkSizeHint,
      get stats() {
        return { ...stats };
      },
      get uploads() {
        return [...state.uploads.values()].map((u) => ({
          uploadId: u.id,
          object: u.object,
          parts: [...u.parts.keys()].sort((a, b) => a - b),
          state: u.state,
        }));
      },
      failPut(nth, fault) {
        if (!Number.isSafeInteger(nth) || nth < 1)
          throw new RangeError('failPut: nth must be an integer >= 1');
        state.putFaults.set(state.putsSeen + nth, fault);
      },
      failComplete(status, acted = false) {
        state.completeFault = { status, acted };
      },
      holdAfter(parts) {
        state.holdIn = parts;
        state.holding = parts <= 0;
      },
      whenHeld(count = 1) {
        if (stats.held >= count) return Promise.resolve();
        return new Promise<void>((resolve) => {
          const check = () => {
            if (stats.held < count) return;
            state.heldWaiters.delete(check);
            resolve();
          };
          state.heldWaiters.add(check);
        });
      },
      release() {
        state.holdIn = undefined;
        state.holding = false;
        const held = state.releaseHeld;
        state.releaseHeld = [];
        for (const r of held) r();
      },
      expireTokens() {
        for (const g of state.grants.values()) g.expired = true;
      },
    },
  };
  states.set(sim, state);
  return state;
}

/**
 * `POST /datasets/{dsid}/upload/initiate/multipart` after the checks and de-duplication of `initiate`: "not
 * offered" (the configured status), or a new upload session and a token for its object prefix.
 */
export function initiateMultipart(
  sim: CrucibleSim,
  ds: CrucibleSimDataset,
  filename: string,
  size: number,
  sha256: string,
): Response {
  const mp = multipartState(sim);
  const offered = mp.control.offered;
  if (offered !== true) {
    return offered === 501
      ? detail(
          501,
          'The simulator does not vend storage credentials (GCS XML multipart); use /upload/initiate',
        )
      : detail(offered, offered === 404 ? 'Not Found' : 'Method Not Allowed');
  }
  const name = basename(filename);
  const prefix = `api-uploads/${ds.uniqueId}/`;
  const session: UploadSession = {
    uploadId: token(sim.db.random, 32),
    datasetId: ds.uniqueId,
    filename: name,
    objectName: `${prefix}${name}`,
    size,
    declaredSha256: sha256,
    createdMs: sim.now(),
    writer: sim.blobs.writer(),
    blob: undefined,
    fileMfid: null,
    chunkPuts: 0,
    probes: 0,
    state: 'active',
    lock: Promise.resolve(),
  };
  sim.db.sessions.set(session.uploadId, session);
  const grant: Grant = {
    token: `ya29.sim-${token(sim.db.random, 40)}`,
    sessionId: session.uploadId,
    bucket: UPLOAD_BUCKET,
    prefix,
    expired: false,
  };
  mp.grants.set(grant.token, grant);
  mp.stats.vended += 1;
  return json({
    upload_id: session.uploadId,
    access_token: grant.token,
    project: ds.projectId,
    bucket: grant.bucket,
    object_prefix: prefix,
    existing_file: null,
    ...(mp.control.chunkSizeHint !== undefined ? { chunk_size_hint: mp.control.chunkSizeHint } : {}),
  });
}
