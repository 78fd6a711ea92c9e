import { UsageError } from '@sciport/core';
import type { Context } from '../internal/context.js';
import { Files } from '../resources/files.js';
import { type RequestOutcome, Requests, type WaitForRequestOptions } from '../resources/requests.js';
import type { CrucibleRequest } from '../schemas/requests.js';
import { uploadV2 } from './multipart.js';
import { type UploadOptions, type UploadResult, uploadMultipart } from './upload.js';

export interface IngestOptions {
  /**
   * The server-side ingestor. Default none: no `ingestion_class` is sent and the server picks one by file type
   * (spec §19.1; `'auto'` means the same). Files no specific ingestor reads then end `not supported`: name
   * `ApiUploadIngestor` to have them copied, sized and hashed as they are.
   */
  ingestionClass?: string;
  /** Wait for the request to end (default false), with these options. */
  wait?: boolean | Omit<WaitForRequestOptions, 'datasetId' | 'kind'>;
}

export interface FileUploadOptions extends UploadOptions, IngestOptions {
  /** Request ingestion (default: when `ingestionClass` or `wait` is given). */
  ingest?: boolean;
}

export interface UploadFileResult extends UploadResult {
  /** The ingestion request, when one was made. */
  request?: CrucibleRequest | undefined;
  /** Its end, when waited for. */
  outcome?: RequestOutcome | undefined;
}

/** Files, with uploads (Node). */
export class NodeFiles extends Files {
  /**
   * Uploads a file into a dataset (v2: resumable, chunked, skipped when the server has the bytes; v1: multipart,
   * below its limit), then requests ingestion when `ingestionClass` or `wait` is given (per file on v2, per
   * dataset on v1).
   */
  async upload(datasetId: string, file: string, options: FileUploadOptions = {}): Promise<UploadFileResult> {
    return uploadFile(this.ctx, datasetId, file, options);
  }
}

export async function uploadFile(
  ctx: Context,
  datasetId: string,
  file: string,
  options: FileUploadOptions,
): Promise<UploadFileResult> {
  const result =
    ctx.version === 'v2'
      ? await uploadV2(ctx, datasetId, file, options)
      : await uploadMultipart(ctx, datasetId, file, options);
  const ingest = options.ingest ?? (options.ingestionClass !== undefined || options.wait !== undefined);
  if (!ingest) return result;
  // A deduplicated file that is already ingested needs no second ingestion.
  if (result.skipped && result.file.storagePath && !options.ingestionClass) return result;
  const requests = new Requests(ctx);
  const how = ingestWith(options);
  const request =
    ctx.version === 'v2'
      ? await requests.ingest({ fileId: requireMfid(result.file.mfid) }, how)
      : await requests.ingest(
          {
            datasetId,
            fileToUpload: result.file.filename.startsWith('api-uploads/')
              ? result.file.filename
              : `api-uploads/${basename(file)}`,
          },
          how,
        );
  if (!options.wait) return { ...result, request };
  const outcome = await requests.wait(request.id, waitWith(options, datasetId));
  return { ...result, request, outcome };
}

/** The options of the wait that follows an ingestion. */
export function waitWith(options: UploadOptions & IngestOptions, datasetId: string): WaitForRequestOptions {
  const waitOptions = typeof options.wait === 'object' ? options.wait : {};
  return { ...waitOptions, signal: options.signal, datasetId };
}

/** The request options of an ingestion: per call, and the class (none or `auto`: the server picks). */
export function ingestWith(options: UploadOptions & IngestOptions) {
  const chosen = options.ingestionClass;
  return {
    signal: options.signal,
    timeout: options.timeout,
    maxRetries: options.maxRetries,
    ...(chosen === undefined || chosen === 'auto' ? {} : { ingestionClass: chosen }),
  };
}

function requireMfid(mfid: string | null | undefined): string {
  if (!mfid)
    throw new UsageError('The server returned a file record without an mfid: cannot request its ingestion');
  return mfid;
}

export function basename(file: string): string {
  return file.replace(/\\/g, '/').split('/').pop() ?? file;
}
