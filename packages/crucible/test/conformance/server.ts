/**
 * The strict Crucible server of the conformance tests: msw handlers written from the spec (crucible.md) alone,
 * not the testkit simulator, with the helpers the tests share (the upload API and GCS session host of §17.1,
 * signed storage URLs). Every request the client makes must be one of the handlers a test installs
 * (`onUnhandledRequest: 'error'`).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { CrucibleClient, type CrucibleClientOptions } from '../../src/index.js';

export const HOST = 'https://crucible.example.org';
export const V2 = `${HOST}/api/v2`;
export const V1 = `${HOST}/testapi`;
export const STORAGE = 'https://storage.googleapis.com';
export const KEY = 'crk_conformance_0123456789abcdef';
export const DSID = '0tfa3k2m7qv1d000c4x9r2h8na';
export const FILE_MFID = '0tfa3m9b1c2d3000e4f5g6h7jk';
export const KIB256 = 256 * 1024;

export interface Seen {
  method: string;
  url: URL;
  authorization: string | null;
  headers: Headers;
}
export const server = setupServer();
/** Every request the client made in the current test. */
export const seen: Seen[] = [];
/** A fresh temporary folder for each test. */
export let dir: string;

/** Starts the strict server for the test file (every request must match a handler) and resets it per test. */
export function useConformanceServer(): void {
  beforeAll(() => {
    server.listen({ onUnhandledRequest: 'error' });
    server.events.on('request:start', ({ request }) => {
      seen.push({
        method: request.method,
        url: new URL(request.url),
        authorization: request.headers.get('authorization'),
        headers: request.headers,
      });
    });
  });
  beforeEach(async () => {
    seen.length = 0;
    dir = await mkdtemp(path.join(tmpdir(), 'sciport-crucible-conformance-'));
  });
  afterEach(async () => {
    server.resetHandlers();
    await rm(dir, { recursive: true, force: true });
  });
  afterAll(() => server.close());
}

export function client(options: CrucibleClientOptions = {}): CrucibleClient {
  return new CrucibleClient({ baseUrl: V2, apiKey: KEY, maxRetries: 2, ...options });
}

/** FastAPI's `{"detail": …}` error body. */
export function detail(status: number, message: unknown, headers: Record<string, string> = {}) {
  return HttpResponse.json({ detail: message }, { status, headers });
}

/** Every API request carries the Bearer key; storage requests never do. */
export function requireKey(request: Request): Response | undefined {
  if (request.headers.get('authorization') !== `Bearer ${KEY}`) return detail(401, 'Not authenticated');
  return undefined;
}

export function gcsError(status: number, code: string, message: string) {
  return new HttpResponse(
    `<?xml version='1.0' encoding='UTF-8'?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
    {
      status,
      headers: { 'content-type': 'application/xml; charset=UTF-8' },
    },
  );
}

export const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

export function dataset(n: number, extra: Record<string, unknown> = {}) {
  return {
    unique_id: `0tfa3k2m7qv1d000c4x9r2h${String(n).padStart(3, '0')}`,
    resource_type: 'dataset',
    dataset_name: `run ${n}`,
    description: null,
    measurement: 'XRD',
    data_type: null,
    data_format: 'h5',
    session_name: null,
    instrument_name: null,
    project_id: 'MFP12345',
    owner_orcid: '0000-0001-2345-6789',
    public: false,
    size: null,
    timestamp: null,
    creation_time: '2026-05-12T16:40:02.118734',
    modification_time: '2026-05-12T16:41:10.002311',
    deletion_request: null,
    ...extra,
  };
}

export function patternBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + (i >> 8)) & 0xff;
  return out;
}

export function storageRequests(): Seen[] {
  return seen.filter((s) => s.url.origin === STORAGE);
}

// ---------------------------------------------------------------------------------------------------------------
// §17.1: the resumable signed upload, with a storage host that behaves as GCS does
// ---------------------------------------------------------------------------------------------------------------

export interface GcsSession {
  size: number;
  bytes: Uint8Array;
  persisted: number;
  /** Persist this many fewer bytes than received on the next chunks (rounded down to 256 KiB). */
  holdBack: number;
  /** Answer the next chunk PUTs with these statuses instead of taking them. */
  failNext: number[];
  gone: boolean;
  chunkRanges: string[];
  probes: number;
}

/** An upload API + GCS session host, as §17.1 describes them. */
export function uploadServer(
  options: {
    chunkHint?: number | null;
    existing?: Record<string, unknown>;
    /** Adjusts each new session (the nth, from 1) before its first chunk. */
    onSession?: (session: GcsSession, n: number) => void;
  } = {},
) {
  const sessions = new Map<string, GcsSession>();
  const initiations: unknown[] = [];
  const completions: unknown[] = [];
  const files: Array<Record<string, unknown>> = [];
  let next = 0;
  const handlers = [
    http.get(
      `${V2}/datasets/${DSID}/files`,
      ({ request }) => requireKey(request) ?? HttpResponse.json(files),
    ),
    http.post(`${V2}/datasets/${DSID}/upload/initiate`, async ({ request }) => {
      const denied = requireKey(request);
      if (denied) return denied;
      const body = (await request.json()) as { filename: string; size: number; sha256_hash: string };
      initiations.push(body);
      const existing = files.find((f) => f.sha256_hash === body.sha256_hash) ?? options.existing;
      if (existing)
        return HttpResponse.json({
          upload_id: null,
          resumable_uri: null,
          chunk_size_hint: null,
          existing_file: existing,
        });
      next += 1;
      const id = `upl-${next}-opaque`;
      const session: GcsSession = {
        size: body.size,
        bytes: new Uint8Array(body.size),
        persisted: 0,
        holdBack: 0,
        failNext: [],
        gone: false,
        chunkRanges: [],
        probes: 0,
      };
      options.onSession?.(session, next);
      sessions.set(id, session);
      return HttpResponse.json({
        upload_id: id,
        resumable_uri: `${STORAGE}/upload/storage/v1/b/crucible-uploads/o?uploadType=resumable&upload_id=${id}`,
        ...(options.chunkHint === null ? {} : { chunk_size_hint: options.chunkHint ?? KIB256 }),
        existing_file: null,
      });
    }),
    http.put(`${STORAGE}/upload/storage/v1/b/crucible-uploads/o`, async ({ request }) => {
      if (request.headers.has('authorization'))
        return gcsError(400, 'InvalidAuthentication', 'Authorization header sent with a session URI');
      const id = new URL(request.url).searchParams.get('upload_id') ?? '';
      const s = sessions.get(id);
      if (!s || s.gone) return gcsError(404, 'NoSuchUpload', 'No such upload');
      const range = request.headers.get('content-range') ?? '';
      const body = new Uint8Array(await request.arrayBuffer());
      // GCS's 308 says what it persisted in `Range`, and has no `Range` while nothing is.
      const rangeHeader = (): Record<string, string> =>
        s.persisted > 0 ? { range: `bytes=0-${s.persisted - 1}` } : {};
      const probe = /^bytes \*\/(\d+)$/.exec(range);
      if (probe) {
        s.probes += 1;
        if (body.byteLength !== 0) return gcsError(400, 'InvalidArgument', 'probe with a body');
        if (s.persisted === s.size)
          return HttpResponse.json({ name: 'x', size: String(s.size) }, { status: 200 });
        return new HttpResponse(null, { status: 308, headers: rangeHeader() });
      }
      const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(range);
      if (!m) return gcsError(400, 'InvalidArgument', `bad Content-Range ${range}`);
      s.chunkRanges.push(range);
      const failure = s.failNext.shift();
      if (failure !== undefined) return gcsError(failure, 'ServiceUnavailable', 'try again');
      const first = Number(m[1]);
      const last = Number(m[2]);
      if (Number(m[3]) !== s.size) return gcsError(400, 'InvalidArgument', 'total changed');
      if (body.byteLength !== last - first + 1) return gcsError(400, 'InvalidArgument', 'length mismatch');
      if (first > s.persisted) return gcsError(400, 'InvalidArgument', 'gap after the persisted offset');
      const isLast = last + 1 === s.size;
      if (!isLast && body.byteLength % KIB256 !== 0)
        return gcsError(400, 'InvalidArgument', 'not 256 KiB aligned');
      s.bytes.set(body, first);
      let upTo = last + 1;
      if (s.holdBack > 0 && !isLast)
        upTo = Math.max(s.persisted, Math.floor((upTo - s.holdBack) / KIB256) * KIB256);
      s.persisted = Math.max(s.persisted, upTo);
      if (s.persisted === s.size)
        return HttpResponse.json(
          { name: 'object', bucket: 'crucible-uploads', size: String(s.size) },
          { status: 200 },
        );
      return new HttpResponse(null, { status: 308, headers: rangeHeader() });
    }),
    http.post(`${V2}/datasets/${DSID}/upload/complete`, async ({ request }) => {
      const denied = requireKey(request);
      if (denied) return denied;
      const body = (await request.json()) as { upload_id: string; sha256_hash: string };
      completions.push(body);
      const s = sessions.get(body.upload_id);
      if (!s) return detail(404, 'Upload not found');
      if (s.persisted !== s.size) return detail(409, 'Upload incomplete');
      if (sha256(s.bytes) !== body.sha256_hash) return detail(400, 'SHA-256 mismatch');
      const record = {
        mfid: `0tfa3m9b1c2d3000e4f5g6h${String(files.length).padStart(3, '0')}`,
        dataset_mfid: DSID,
        filename: `crucible-uploads/api-uploads/${DSID}/${(initiations.at(-1) as { filename: string }).filename}`,
        storage_path: null,
        size: s.size,
        sha256_hash: sha256(s.bytes),
      };
      files.push(record);
      return HttpResponse.json(record, { status: 201 });
    }),
  ];
  return { handlers, sessions, initiations, completions, files };
}

// ---------------------------------------------------------------------------------------------------------------
// §7, §17.3: downloads through signed URLs
// ---------------------------------------------------------------------------------------------------------------

export function signed(name: string, generation = 1) {
  return `${STORAGE}/mf-storage-prod/${DSID}/${name}?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Expires=3600&X-Goog-Signature=sig${generation}deadbeef`;
}
