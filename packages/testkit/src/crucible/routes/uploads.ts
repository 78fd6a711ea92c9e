import type { BlobStore } from '../blobs.js';
import { basename, type Ctx, SHA256_HEX, V1, V2 } from '../common.js';
import type { UploadSession } from '../model.js';
import { initiateMultipart } from '../multipart.js';
import { apiRouter } from '../router.js';
import type { CrucibleRoutes } from '../state.js';
import { detail, json, MultipartError, parseMultipart, token, validation } from '../util.js';

/** Uploads: v2 initiate → resumable session → complete (spec §17), v1 multipart (spec §8). */
export const uploadRoutes: CrucibleRoutes = (sim, mount) => {
  const add = apiRouter(sim, mount);

  // --- uploads (v2) ---
  async function initiate(ctx: Ctx, multipart: boolean): Promise<Response> {
    const ds = sim.dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const body = await sim.readObject(ctx);
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
    const existing = (sim.db.filesByDataset.get(ds.uniqueId) ?? []).find((f) => f.sha256 === sha);
    if (existing) {
      sim.stats.dedupHits += 1;
      return json(
        multipart
          ? {
              upload_id: null,
              access_token: null,
              project: null,
              bucket: null,
              object_prefix: null,
              existing_file: sim.fileOut(ctx, existing),
            }
          : {
              upload_id: null,
              resumable_uri: null,
              chunk_size_hint: null,
              existing_file: sim.fileOut(ctx, existing),
            },
      );
    }
    if (multipart) return initiateMultipart(sim, ds, body.filename, body.size, sha);
    const name = basename(body.filename);
    const session: UploadSession = {
      uploadId: token(sim.db.random, 32),
      datasetId: ds.uniqueId,
      filename: name,
      objectName: `api-uploads/${ds.uniqueId}/${name}`,
      size: body.size,
      declaredSha256: sha,
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
    return json({
      upload_id: session.uploadId,
      resumable_uri: sim.sessionUri(ctx, session),
      chunk_size_hint: sim.chunkHint,
      existing_file: null,
    });
  }
  add('POST', 'datasets/{dsid}/upload/initiate', V2, (ctx) => initiate(ctx, false));
  add('POST', 'datasets/{dsid}/upload/initiate/multipart', V2, (ctx) => initiate(ctx, true));
  add('POST', 'datasets/{dsid}/upload/complete', V2, async (ctx) => {
    const ds = sim.dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const body = await sim.readObject(ctx);
    if (body instanceof Response) return body;
    if (typeof body.upload_id !== 'string')
      return validation(['body', 'upload_id'], 'Field required', 'missing');
    if (typeof body.sha256_hash !== 'string')
      return validation(['body', 'sha256_hash'], 'Field required', 'missing');
    const session = sim.db.sessions.get(body.upload_id);
    if (!session || session.datasetId !== ds.uniqueId || session.state !== 'active')
      return detail(404, `Upload ${body.upload_id} not found`);
    if (session.fileMfid !== null) {
      sim.stats.repeatedCompletes += 1;
      const f = sim.db.files.get(session.fileMfid);
      if (f) return json(sim.fileOut(ctx, f));
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
    const f = sim.addFileRecord(ds.uniqueId, {
      filename: `crucible-uploads/${session.objectName}`,
      size: blob.size,
      sha256: blob.sha256,
      storagePath: null,
      uploadObject: session.objectName,
      storageBackend: 'gcs',
      accessNote: null,
    });
    session.fileMfid = f.mfid;
    sim.stats.uploadsCompleted += 1;
    return json(sim.fileOut(ctx, f));
  });

  // --- upload (v1 multipart) ---
  add('POST', 'datasets/{dsid}/upload', V1, async (ctx) => {
    const ds = sim.dataset(ctx, ctx.params.dsid, 'write');
    if (ds instanceof Response) return ds;
    const type = ctx.request.headers.get('content-type') ?? '';
    const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(type);
    if (!/^multipart\/form-data/i.test(type) || !boundary || ctx.request.body === null)
      return validation(['body', 'files'], 'Field required', 'missing');
    const tooLarge = () => {
      sim.stats.uploadsTooLarge += 1;
      return detail(413, `Request entity too large: direct uploads take files up to ${sim.v1Limit} bytes`);
    };
    const declared = Number(ctx.request.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(declared) && declared > sim.v1Limit + 1024 * 1024) return tooLarge();
    const parts: Array<{ filename: string; writer: ReturnType<BlobStore['writer']> }> = [];
    class TooLarge extends Error {}
    try {
      await parseMultipart(ctx.request.body, boundary[1] ?? boundary[2] ?? '', (info) => {
        if (info.filename === undefined || info.filename === '') return { write() {}, end() {} };
        const writer = sim.blobs.writer();
        parts.push({ filename: info.filename, writer });
        return {
          async write(chunk) {
            if (writer.persisted + chunk.byteLength > sim.v1Limit) throw new TooLarge();
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
      sim.putBlob(sim.db.uploadBucket, object, blob);
      sim.stats.v1Uploads += 1;
      sim.stats.v1UploadBytes += blob.size;
      const files = sim.db.filesByDataset.get(ds.uniqueId) ?? [];
      let f = files.find((x) => x.filename === object);
      if (f) {
        f.size = blob.size;
        f.sha256 = blob.sha256;
        f.uploadObject = object;
      } else {
        f = sim.addFileRecord(ds.uniqueId, {
          filename: object,
          size: blob.size,
          sha256: blob.sha256,
          storagePath: null,
          uploadObject: object,
          storageBackend: 'gcs',
          accessNote: null,
        });
      }
      out.push(sim.fileOut(ctx, f));
    }
    // One part → the record; several → a list (the reference sends one per request; §6 leaves it [U]).
    return json(out.length === 1 ? out[0] : out);
  });

  return add.handlers();
};
