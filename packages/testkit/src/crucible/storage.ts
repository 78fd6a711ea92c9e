import { createHmac } from 'node:crypto';
import { HttpResponse } from 'msw';
import { withFileBody } from './../file-body.js';
import { ChunkLengthError, type SimBlob } from './blobs.js';
import { type Ctx, GRANULE } from './common.js';
import type { UploadSession } from './model.js';
import type { Processing } from './processing.js';
import type { CrucibleSimState } from './state.js';
import { googDate, json, parseContentRange, parseGoogDate, parseRange, xmlError } from './util.js';

/** The storage host: signed URLs, downloads with `Range`, resumable upload sessions. */
export function createStorage(sim: CrucibleSimState & Processing) {
  const {
    now,
    storagePrefix,
    linkTtl,
    blobs,
    signingSecret,
    db,
    issued,
    revoked,
    linkNow,
    stats,
    options,
    putBlob,
  } = sim;

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
    const blob = db.production.get(objectPath);
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
    putBlob(db.uploadBucket, session.objectName, blob);
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
    if (sim.partial && sim.partial.times > 0) {
      sim.partial.times -= 1;
      const limitEnd = Math.floor((persisted + sim.partial.bytes) / GRANULE) * GRANULE;
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

  return {
    credential,
    sign,
    signedUrl,
    sessionUri,
    objectResource,
    download,
    finalize,
    incomplete,
    resumablePut,
  };
}

export type Storage = ReturnType<typeof createStorage>;
