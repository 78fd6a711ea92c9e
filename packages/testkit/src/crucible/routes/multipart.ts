import { createHash, type Hash } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { HttpResponse } from 'msw';
import { route, underPrefix } from '../../routes.js';
import { gatheredWrites } from '../blobs.js';
import {
  type Grant,
  MAX_PARTS,
  MIN_PART,
  type MultipartState,
  multipartState,
  type Part,
  type XmlUpload,
} from '../multipart.js';
import type { CrucibleRoutes, CrucibleSim } from '../state.js';
import { json, token, xmlError } from '../util.js';

const encoder = new TextEncoder();

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function xml(body: string, status = 200): Response {
  const bytes = encoder.encode(`<?xml version="1.0" encoding="UTF-8"?>${body}`);
  return new HttpResponse(bytes, {
    status,
    headers: { 'content-type': 'application/xml; charset=UTF-8', 'content-length': String(bytes.byteLength) },
  });
}

/** Reads and discards a request body (so that an error answer does not race the client's upload). */
async function drain(body: ReadableStream<Uint8Array> | null): Promise<void> {
  if (body === null) return;
  const reader = body.getReader();
  try {
    for (;;) if ((await reader.read()).done) break;
  } catch {
    // the client went away
  }
}

/**
 * The parser of `CompleteMultipartUpload` bodies. fast-xml-parser (a well-kept library) rather than regexes: it
 * checks the document is well-formed (GCS answers `MalformedXML` otherwise) and copes with what clients send
 * (XML declarations, namespaces, whitespace, entities named or numeric in ETags, extra elements). Tag values stay
 * strings; a single `<Part>` is still a list.
 */
const completeParser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  removeNSPrefix: true,
  htmlEntities: true,
  isArray: (_name, jpath) => jpath === 'CompleteMultipartUpload.Part',
});

/** The parts a `CompleteMultipartUpload` body lists, in its order; undefined when it is not one. */
function completeList(text: string): Array<{ n: number; etag: string }> | undefined {
  let doc: unknown;
  try {
    doc = completeParser.parse(text, true);
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null || !('CompleteMultipartUpload' in doc)) return undefined;
  const root = doc.CompleteMultipartUpload;
  const parts = typeof root === 'object' && root !== null && 'Part' in root ? root.Part : [];
  if (!Array.isArray(parts)) return undefined;
  const listed: Array<{ n: number; etag: string }> = [];
  for (const part of parts as unknown[]) {
    if (typeof part !== 'object' || part === null) return undefined;
    const { PartNumber: number, ETag: etag } = part as { PartNumber?: unknown; ETag?: unknown };
    if (typeof number !== 'string' || !/^\s*\d+\s*$/.test(number) || typeof etag !== 'string')
      return undefined;
    listed.push({ n: Number(number), etag });
  }
  return listed;
}

const unquote = (etag: string) => etag.trim().replace(/^"|"$/g, '');

let nextPart = 1;

/** Writes exactly `expected` bytes of `body` to a new file under `dir` (no hashing); removes it on failure. */
async function writePart(
  dir: string,
  body: ReadableStream<Uint8Array> | null,
  expected: number,
): Promise<string> {
  const path = join(dir, `part-${process.pid}-${nextPart++}.bin`);
  const handle = await open(path, 'w');
  let at = 0;
  try {
    const out = gatheredWrites(handle, 0);
    if (body !== null) {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        if (at + chunk.byteLength > expected) throw new Error('body longer than Content-Length');
        await out.write(chunk);
        at += chunk.byteLength;
      }
    }
    if (at !== expected) throw new Error('body shorter than Content-Length');
    await out.flush();
    await handle.close();
    return path;
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw error;
  }
}

const removePart = (p: Part) => void unlink(p.path).catch(() => undefined);

/**
 * Feeds a part's file to the object's SHA-256, through one reused 1 MiB buffer (a read stream would allocate a
 * new one per MiB: a gigabyte of garbage per gigabyte uploaded).
 */
async function hashPart(hash: Hash, part: Part, buffer: Buffer): Promise<void> {
  if (part.size === 0) return;
  const handle = await open(part.path, 'r');
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
}

/** Hashes, in the background, the parts contiguous with what is hashed already. */
function assemble(upload: XmlUpload): Promise<void> {
  upload.assembly ??= { hash: createHash('sha256'), etags: [], running: undefined };
  const a = upload.assembly;
  a.running ??= (async () => {
    const buffer = Buffer.allocUnsafe(1 << 20);
    try {
      for (;;) {
        const part = upload.parts.get(a.etags.length + 1);
        if (!part || upload.state !== 'open' || upload.assembly !== a) return;
        await hashPart(a.hash, part, buffer);
        a.etags.push(part.etag);
      }
    } catch {
      // Part of a part may be in the hash: no list matches this, so complete starts again.
      a.etags.push('"broken"');
    } finally {
      a.running = undefined;
    }
  })();
  return a.running;
}

/**
 * The GCS XML multipart API and the object metadata of the JSON API on the storage mount (spec §19.9), with a
 * vended token (`Authorization: Bearer …`) on every call: initiate `POST /<bucket>/<object>?uploads`, parts
 * `PUT ?partNumber=N&uploadId=U`, list `GET ?uploadId=U`, complete `POST ?uploadId=U`, abort `DELETE
 * ?uploadId=U`, metadata `GET /storage/v1/b/<bucket>/o/<object>`. Served before the signed-URL routes (which
 * refuse any `Authorization` header); requests of neither shape fall through to them.
 */
export const multipartStorageRoutes: CrucibleRoutes = (sim, mount) => {
  if (mount.api !== 'storage') return [];
  const { prefix } = mount;
  return [
    route('*', underPrefix(prefix), async ({ request }) => {
      const mp = multipartState(sim);
      const url = new URL(request.url);
      const rest = url.pathname.slice(prefix.length + 1);
      let segments: string[];
      try {
        segments = rest.split('/').map(decodeURIComponent);
      } catch {
        return undefined;
      }
      const method = request.method.toUpperCase();
      const q = url.searchParams;
      if (segments[0] === 'storage' && segments[1] === 'v1' && segments[2] === 'b' && segments[4] === 'o') {
        if (method !== 'GET' || segments.length !== 6) return undefined;
        count(sim);
        return metadata(sim, mp, request, segments[3] ?? '', segments[5] ?? '');
      }
      if (!q.has('uploads') && !q.has('uploadId')) return undefined;
      const bucket = segments[0] ?? '';
      const object = segments.slice(1).join('/');
      if (bucket === '' || object === '') return undefined;
      count(sim);
      const grant = authorize(sim, mp, request, bucket, object);
      if (grant instanceof Response) {
        await drain(request.body);
        return grant;
      }
      if (q.has('uploads')) {
        if (method !== 'POST') return xmlError(405, 'MethodNotAllowed', `${method} not allowed.`);
        const upload: XmlUpload = {
          id: `ABPnzm${token(sim.db.random, 40)}`,
          grant,
          object,
          parts: new Map(),
          state: 'open',
          assembly: undefined,
          replaced: [],
        };
        mp.uploads.set(upload.id, upload);
        mp.stats.xmlInitiates += 1;
        return xml(
          `<InitiateMultipartUploadResult><Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(object)}</Key><UploadId>${upload.id}</UploadId></InitiateMultipartUploadResult>`,
        );
      }
      const upload = mp.uploads.get(q.get('uploadId') ?? '');
      if (upload?.state !== 'open' || upload.object !== object) {
        await drain(request.body);
        return xmlError(404, 'NoSuchUpload', 'The requested upload was not found.');
      }
      if (method === 'PUT') return putPart(sim, mp, request, upload, q.get('partNumber'));
      if (method === 'GET') return listParts(mp, upload, bucket, q);
      if (method === 'POST') return complete(sim, mp, request, upload, bucket);
      if (method === 'DELETE') {
        upload.state = 'aborted';
        for (const p of [...upload.parts.values(), ...upload.replaced]) removePart(p);
        upload.parts.clear();
        await dropAssembly(upload);
        mp.stats.aborts += 1;
        return new HttpResponse(null, { status: 204 });
      }
      return xmlError(405, 'MethodNotAllowed', `${method} not allowed.`);
    }),
  ];
};

async function dropAssembly(upload: XmlUpload): Promise<void> {
  const a = upload.assembly;
  upload.assembly = undefined;
  await a?.running?.catch(() => undefined);
}

function count(sim: CrucibleSim): void {
  sim.stats.requests += 1;
  sim.stats.storageRequests += 1;
}

/** The token of the request, when it is a live one for this bucket and object prefix; else the 401/403. */
function authorize(
  sim: CrucibleSim,
  mp: MultipartState,
  request: Request,
  bucket: string,
  object: string,
): Grant | Response {
  const header = request.headers.get('authorization') ?? '';
  const bearer = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (bearer !== undefined && sim.db.users.some((u) => u.apiKey === bearer)) mp.stats.crucibleKeys += 1;
  const grant = bearer === undefined ? undefined : mp.grants.get(bearer);
  if (!grant || grant.expired) {
    mp.stats.badTokens += 1;
    return xmlError(
      401,
      grant ? 'AuthenticationRequired' : 'InvalidCredentials',
      grant ? 'The access token has expired.' : 'Invalid Credentials',
    );
  }
  if (grant.bucket !== bucket || !object.startsWith(grant.prefix)) {
    mp.stats.badTokens += 1;
    return xmlError(
      403,
      'AccessDenied',
      'Access denied.',
      `The token does not grant storage.objects.create on gs://${bucket}/${object}.`,
    );
  }
  return grant;
}

async function putPart(
  sim: CrucibleSim,
  mp: MultipartState,
  request: Request,
  upload: XmlUpload,
  partNumber: string | null,
): Promise<Response> {
  const n = Number(partNumber);
  if (partNumber === null || !/^\d+$/.test(partNumber) || n < 1 || n > MAX_PARTS) {
    await drain(request.body);
    return xmlError(400, 'InvalidArgument', `Part number must be an integer between 1 and ${MAX_PARTS}.`);
  }
  const lengthHeader = request.headers.get('content-length');
  const length = lengthHeader === null ? Number.NaN : Number(lengthHeader);
  if (!Number.isSafeInteger(length) || length < 0) {
    await drain(request.body);
    return xmlError(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
  }
  const { stats } = mp;
  mp.putsSeen += 1;
  stats.partPuts += 1;
  const ordinal = mp.putsSeen;
  mp.inFlight += 1;
  stats.maxConcurrentPuts = Math.max(stats.maxConcurrentPuts, mp.inFlight);
  try {
    const fault = mp.putFaults.get(ordinal);
    if (fault !== undefined) {
      mp.putFaults.delete(ordinal);
      stats.faults += 1;
      if (fault === 'drop') return HttpResponse.error();
      await drain(request.body);
      if (fault === 401) {
        upload.grant.expired = true;
        return xmlError(401, 'AuthenticationRequired', 'The access token has expired.');
      }
      return xmlError(fault, fault === 429 ? 'SlowDown' : 'ServiceUnavailable', 'Please try again.');
    }
    if (mp.holding || (mp.holdIn !== undefined && mp.holdIn <= 0)) {
      mp.holding = true;
      stats.held += 1;
      for (const check of [...mp.heldWaiters]) check();
      await new Promise<void>((resolve) => mp.releaseHeld.push(resolve));
      return xmlError(503, 'ServiceUnavailable', 'Please try again.');
    }
    if (mp.holdIn !== undefined) mp.holdIn -= 1;
    let path: string;
    try {
      path = await writePart(sim.blobs.dir, request.body, length);
    } catch {
      return xmlError(400, 'IncompleteBody', 'The request body did not match Content-Length.');
    }
    const part: Part = { path, size: length, etag: `"${token(sim.db.random, 32)}"`, modifiedMs: sim.now() };
    if (upload.state !== 'open') {
      removePart(part);
      return xmlError(404, 'NoSuchUpload', 'The requested upload was not found.');
    }
    // A replaced part's file stays until the upload ends (the assembly may be reading it); the ETags compared
    // at complete tell whether the assembly holds the right one.
    const old = upload.parts.get(n);
    if (old) upload.replaced.push(old);
    upload.parts.set(n, part);
    stats.partsStored += 1;
    stats.partBytes += length;
    void assemble(upload).catch(() => undefined);
    return new HttpResponse(null, { status: 200, headers: { etag: part.etag, 'content-length': '0' } });
  } finally {
    mp.inFlight -= 1;
  }
}

function listParts(mp: MultipartState, upload: XmlUpload, bucket: string, q: URLSearchParams): Response {
  mp.stats.listParts += 1;
  const max = Math.min(1000, Math.max(1, Number(q.get('max-parts') ?? 1000) || 1000));
  const marker = Number(q.get('part-number-marker') ?? 0) || 0;
  const numbers = [...upload.parts.keys()].filter((n) => n > marker).sort((a, b) => a - b);
  const page = numbers.slice(0, max);
  const truncated = numbers.length > page.length;
  const parts = page
    .map((n) => {
      const p = upload.parts.get(n);
      if (!p) return '';
      return `<Part><PartNumber>${n}</PartNumber><LastModified>${new Date(p.modifiedMs).toISOString()}</LastModified><ETag>${escapeXml(p.etag)}</ETag><Size>${p.size}</Size></Part>`;
    })
    .join('');
  return xml(
    `<ListPartsResult><Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(upload.object)}</Key><UploadId>${upload.id}</UploadId><PartNumberMarker>${marker}</PartNumberMarker><NextPartNumberMarker>${page.at(-1) ?? marker}</NextPartNumberMarker><MaxParts>${max}</MaxParts><IsTruncated>${truncated}</IsTruncated>${parts}</ListPartsResult>`,
  );
}

async function complete(
  sim: CrucibleSim,
  mp: MultipartState,
  request: Request,
  upload: XmlUpload,
  bucket: string,
): Promise<Response> {
  mp.stats.completes += 1;
  const fault = mp.completeFault;
  mp.completeFault = undefined;
  if (fault && !fault.acted) {
    mp.stats.faults += 1;
    await drain(request.body);
    return xmlError(fault.status, 'InternalError', 'We encountered an internal error. Please try again.');
  }
  const listed = completeList(await request.text());
  if (listed === undefined || listed.length === 0)
    return xmlError(400, 'MalformedXML', 'The XML you provided was not well-formed.');
  if (listed.some((p, i) => i > 0 && p.n <= (listed[i - 1] as { n: number }).n))
    return xmlError(400, 'InvalidPartOrder', 'The list of parts was not in ascending order.');
  // The parts listed, as they are now (a part PUT again while this completes does not change the object).
  const kept: Part[] = [];
  for (let i = 0; i < listed.length; i++) {
    const { n, etag } = listed[i] as { n: number; etag: string };
    const part = upload.parts.get(n);
    if (!part || unquote(part.etag) !== unquote(etag))
      return xmlError(400, 'InvalidPart', `One or more of the specified parts could not be found (${n}).`);
    kept.push(part);
    if (i < listed.length - 1 && part.size < MIN_PART)
      return xmlError(400, 'EntityTooSmall', `Part ${n} is smaller than the minimum allowed size.`);
  }
  const session = sim.db.sessions.get(upload.grant.sessionId);
  if (session?.state !== 'active')
    return xmlError(404, 'NoSuchUpload', 'The requested upload was not found.');
  if (session.blob) {
    sim.blobs.release(session.blob);
    session.blob = undefined;
  }
  // Go on from the background assembly when it holds the first parts of the list, else start again.
  await upload.assembly?.running;
  const done = upload.assembly?.etags ?? [];
  const reuse =
    done.length <= listed.length &&
    done.every((e, i) => unquote(e) === unquote((listed[i] as { etag: string }).etag));
  if (!reuse) await dropAssembly(upload);
  upload.assembly ??= { hash: createHash('sha256'), etags: [], running: undefined };
  const { hash } = upload.assembly;
  const buffer = Buffer.allocUnsafe(1 << 20);
  for (const part of kept.slice(upload.assembly.etags.length)) await hashPart(hash, part, buffer);
  // The object is its listed parts' files, in order (no copy); the other parts' files go.
  const blob = sim.blobs.segments(
    kept.map((p) => p.path),
    kept.map((p) => p.size),
    hash.digest('hex'),
  );
  upload.assembly = undefined;
  upload.state = 'completed';
  const keep = new Set(kept);
  for (const p of [...upload.parts.values(), ...upload.replaced]) if (!keep.has(p)) removePart(p);
  upload.parts.clear();
  session.blob = blob;
  sim.putBlob(sim.db.uploadBucket, upload.object, blob);
  if (fault) {
    mp.stats.faults += 1;
    return xmlError(fault.status, 'InternalError', 'We encountered an internal error. Please try again.');
  }
  return xml(
    `<CompleteMultipartUploadResult><Location>/${escapeXml(bucket)}/${escapeXml(upload.object)}</Location><Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(upload.object)}</Key><ETag>"${blob.sha256.slice(0, 32)}-${listed.length}"</ETag></CompleteMultipartUploadResult>`,
  );
}

function metadata(
  sim: CrucibleSim,
  mp: MultipartState,
  request: Request,
  bucket: string,
  object: string,
): Response {
  const grant = authorize(sim, mp, request, bucket, object);
  if (grant instanceof Response) return grant;
  mp.stats.metadataReads += 1;
  const blob = sim.db.uploadBucket.get(object);
  if (!blob) {
    return json({ error: { code: 404, message: `No such object: ${bucket}/${object}` } }, 404);
  }
  return json({
    kind: 'storage#object',
    id: `${bucket}/${object}/1`,
    name: object,
    bucket,
    generation: '1',
    metageneration: '1',
    contentType: 'application/octet-stream',
    size: String(blob.size),
    crc32c: blob.crc32c,
    etag: blob.sha256.slice(0, 16),
  });
}
