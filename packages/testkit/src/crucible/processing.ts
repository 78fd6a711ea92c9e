import type { Access } from './access.js';
import type { SimBlob } from './blobs.js';
import { basename, extension, type Version } from './common.js';
import {
  AUTO_DETECT,
  type CrucibleSimDataset,
  type CrucibleSimFile,
  INGESTION_CLASSES,
  type IngestionOutcome,
  type ProcessingRequest,
} from './model.js';
import type { CrucibleSimState } from './state.js';
import { laIso, mfid, naiveIso } from './util.js';

/** Processing requests (ingestion, SciCat): their clock-driven statuses, and the files they move. */
export function createProcessing(sim: CrucibleSimState & Access) {
  const { now, requestedMs, startedMs, blobs, db, outcomes } = sim;

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
    for (const b of db.uploadBucket.values()) if (b === blob) return true;
    for (const b of db.production.values()) if (b === blob) return true;
    for (const s of db.sessions.values()) if (s.blob === blob) return true;
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
    for (const f of db.filesByDataset.get(ds.uniqueId) ?? []) {
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
      id: db.next.file++,
      mfid: mfid(db.random, now()),
      datasetId,
      creationMs: now(),
      ...fields,
    };
    db.files.set(file.mfid, file);
    const list = db.filesByDataset.get(datasetId) ?? [];
    list.push(file);
    db.filesByDataset.set(datasetId, list);
    return file;
  }

  /** Copies an uploaded object to production storage and marks its record ingested. */
  function ingestFile(ds: CrucibleSimDataset, f: CrucibleSimFile): boolean {
    const blob = f.uploadObject === null ? undefined : db.uploadBucket.get(f.uploadObject);
    if (!blob) return false;
    const storagePath = `mf-storage-prod/${ds.uniqueId}/${basename(f.filename)}`;
    putBlob(db.production, storagePath, blob);
    f.storagePath = storagePath;
    return true;
  }

  function settle(r: ProcessingRequest): void {
    r.settled = true;
    const doneMs = r.createdMs + requestedMs + startedMs;
    r.timeCompleted = laIso(doneMs);
    r.githash ??= '9f36dc4e0b1a7c2d';
    if (r.kind !== 'ingest' || r.outcome !== 'complete') return;
    const ds = db.datasetById.get(r.datasetId);
    if (!ds) return;
    if (r.api === 'v2') {
      const f = r.fileMfid === null ? undefined : db.files.get(r.fileMfid);
      if (f && ingestFile(ds, f)) ds.dataFormat ??= extension(f.filename) || null;
    } else {
      // The v1 worker copies the dataset's uploaded files from the shared folder (§6, §8) [I].
      const main = r.fileToUpload ?? ds.fileToUpload;
      const files = db.filesByDataset.get(ds.uniqueId) ?? [];
      if (main !== null && !files.some((f) => f.uploadObject === main)) {
        const blob = db.uploadBucket.get(main);
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
      for (const f of db.filesByDataset.get(ds.uniqueId) ?? []) {
        if (f.storagePath === null || f.uploadObject?.startsWith('api-uploads/')) ingestFile(ds, f);
      }
      const blob = main === null ? undefined : db.uploadBucket.get(main);
      if (blob && main !== null) {
        ds.sha256FileToUpload = blob.sha256;
        ds.dataFormat ??= extension(main) || null;
      }
    }
    recomputeSize(ds);
    ds.modificationMs = Math.max(ds.modificationMs, doneMs);
  }

  function settleAll(): void {
    for (const r of db.requests.values()) if (!r.settled && r.manualStatus === null) statusOf(r);
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
      const blob = object === null ? undefined : db.uploadBucket.get(object);
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
      id: db.next.request++,
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
    db.requests.set(r.id, r);
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

  return {
    statusOf,
    referenced,
    putBlob,
    recomputeSize,
    addFileRecord,
    ingestFile,
    settle,
    settleAll,
    newRequest,
    requestOut,
  };
}

export type Processing = ReturnType<typeof createProcessing>;
