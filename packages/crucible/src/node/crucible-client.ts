import { UsageError } from '@sciport/core';
import { nodeDownloadFetch, nodeTransferFetch } from '@sciport/core/node';
import type { CallOptions, CrucibleEvent } from '../context.js';
import { CrucibleClient as BaseCrucibleClient, type CrucibleClientOptions } from '../crucible-client.js';
import { type DatasetParser, getParser, type ParsedDataset } from '../parsers/parsers.js';
import type { DatasetInput } from '../resources/datasets.js';
import type { RequestOutcome, WaitForRequestOptions } from '../resources/files.js';
import type { CrucibleDataset, CrucibleRequest } from '../schemas.js';
import {
  type DownloadedFile,
  type DownloadOptions,
  downloadDataset,
  type UploadOptions,
  type UploadResult,
  uploadMultipart,
  uploadResumable,
} from './transfer.js';

/** The ingestor for files no specific one reads: it copies, sizes and hashes them (spec §8, §17.4). */
export const DEFAULT_INGESTION_CLASS = 'ApiUploadIngestor';

export interface IngestOptions {
  /**
   * The server-side ingestor. Default `ApiUploadIngestor`, as the reference client's file helpers use (the
   * server's auto-detection ends in `not supported` for files no specific ingestor reads, which then never
   * become downloadable); `'auto'` lets the server pick.
   */
  ingestionClass?: string;
  /** Wait for the request to end (default false). */
  wait?: boolean | WaitForRequestOptions;
}

export interface UploadFileResult extends UploadResult {
  /** The ingestion request, when one was made. */
  request?: CrucibleRequest | undefined;
  /** Its end, when waited for. */
  outcome?: RequestOutcome | undefined;
}

export interface CreateFromFilesOptions extends CallOptions, IngestOptions {
  /** A parser name (`lammps`) or object; default: upload the files as they are. */
  parser?: string | DatasetParser;
  /** Fields that override the parser's. */
  dataset?: DatasetInput;
  scientificMetadata?: Record<string, unknown>;
  keywords?: readonly string[];
  onUpload?: (progress: { file: string; bytes: number; total: number }) => void;
}

export interface CreatedDataset {
  dataset: CrucibleDataset;
  parsed: ParsedDataset;
  files: UploadFileResult[];
}

/** The Crucible client with the parts that touch files: uploads, downloads, datasets created from files. */
export class CrucibleClient extends BaseCrucibleClient {
  constructor(options: CrucibleClientOptions = {}) {
    super(options, { transferFetch: nodeTransferFetch, downloadFetch: nodeDownloadFetch });
  }

  /**
   * Uploads a file into a dataset (v2: resumable, chunked, skipped when the server has the bytes; v1: multipart,
   * below its limit), then requests ingestion when `ingestionClass` or `wait` is given (per file on v2, per
   * dataset on v1).
   */
  async uploadFile(
    datasetId: string,
    file: string,
    options: UploadOptions & IngestOptions & { ingest?: boolean } = {},
  ): Promise<UploadFileResult> {
    const result =
      this.apiVersion === 'v2'
        ? await uploadResumable(this.storage, this.ctx, datasetId, file, options)
        : await uploadMultipart(this.ctx, datasetId, file, options);
    const ingest = options.ingest ?? (options.ingestionClass !== undefined || options.wait !== undefined);
    if (!ingest) return result;
    // A deduplicated file that is already ingested needs no second ingestion.
    if (result.skipped && result.file.storage_path && !options.ingestionClass) return result;
    const how = ingestWith(options);
    const request =
      this.apiVersion === 'v2'
        ? await this.requests.ingest({ fileId: requireMfid(result.file.mfid) }, how)
        : await this.requests.ingest(
            {
              datasetId,
              fileToUpload: result.file.filename.startsWith('api-uploads/')
                ? result.file.filename
                : `api-uploads/${basename(file)}`,
            },
            how,
          );
    if (!options.wait) return { ...result, request };
    const waitOptions = typeof options.wait === 'object' ? options.wait : {};
    const outcome = await this.requests.wait(request.id, {
      ...waitOptions,
      signal: options.signal,
      datasetId,
    });
    return { ...result, request, outcome };
  }

  /** Downloads a dataset's ingested files into `dir` (verified, atomic, resumable; the key never goes to storage). */
  async downloadDataset(
    datasetId: string,
    dir: string,
    options: DownloadOptions = {},
  ): Promise<DownloadedFile[]> {
    return downloadDataset(this.ctx, this.storage, this.files, datasetId, dir, options);
  }

  /**
   * A dataset from local files: a parser reads them into fields, metadata and keywords; the dataset is created,
   * its metadata merged and keywords added, each file uploaded and (optionally) ingested and waited for.
   * Creation is not repeated on a failure (no duplicate datasets); a later step that fails leaves the dataset
   * in place and the error names it, so the upload can be finished with `uploadFile`.
   */
  async createDatasetFromFiles(
    files: readonly string[],
    options: CreateFromFilesOptions = {},
  ): Promise<CreatedDataset> {
    const parser =
      typeof options.parser === 'object' ? options.parser : getParser(options.parser ?? 'generic');
    const parsed = await parser.parse(files);
    const input: DatasetInput = { ...parsed.dataset, ...options.dataset };
    if (!input.datasetName && parsed.files[0]) input.datasetName = basename(parsed.files[0]);
    const v1 = this.apiVersion === 'v1';
    // v1 ingestion is per dataset and reads the dataset's main file from the shared upload folder.
    if (v1 && input.fileToUpload === undefined && parsed.files[0])
      input.fileToUpload = `api-uploads/${basename(parsed.files[0])}`;
    const dataset = await this.datasets.create(input, options);
    const dsid = dataset.unique_id;
    const ingest = options.ingestionClass !== undefined || options.wait !== undefined;
    try {
      const metadata = { ...parsed.scientificMetadata, ...options.scientificMetadata };
      if (Object.keys(metadata).length > 0) await this.datasets.mergeMetadata(dsid, metadata, options);
      const keywords = [...new Set([...parsed.keywords, ...(options.keywords ?? [])])];
      if (keywords.length > 0) await this.datasets.addKeywords(dsid, keywords, options);
      const uploaded: UploadFileResult[] = [];
      for (const file of parsed.files) {
        uploaded.push(
          await this.uploadFile(dsid, file, {
            ...options,
            ...(options.onUpload ? { onProgress: options.onUpload } : {}),
            // v2: one ingestion per file; v1: one for the dataset, below.
            ingest: ingest && !v1,
          }),
        );
      }
      if (ingest && v1 && uploaded[0]) {
        const request = await this.requests.ingest(
          { datasetId: dsid, ...(input.fileToUpload ? { fileToUpload: input.fileToUpload } : {}) },
          {
            signal: options.signal,
            ...(options.ingestionClass ? { ingestionClass: options.ingestionClass } : {}),
          },
        );
        let outcome: RequestOutcome | undefined;
        if (options.wait) {
          const waitOptions = typeof options.wait === 'object' ? options.wait : {};
          outcome = await this.requests.wait(request.id, {
            ...waitOptions,
            signal: options.signal,
            datasetId: dsid,
          });
        }
        // The dataset's request is reported with its main (first) file.
        uploaded[0] = { ...uploaded[0], request, outcome };
      }
      return { dataset, parsed, files: uploaded };
    } catch (error) {
      throw Object.assign(error as object, { datasetId: dsid });
    }
  }

  /** Emits an event (for the CLI's logs). */
  protected note(event: CrucibleEvent): void {
    this.ctx.emit(event);
  }
}

/** The request options of an ingestion: the signal and the class (`auto`: none, the server picks). */
function ingestWith(options: CallOptions & IngestOptions): CallOptions & { ingestionClass?: string } {
  const chosen = options.ingestionClass ?? DEFAULT_INGESTION_CLASS;
  return { signal: options.signal, ...(chosen === 'auto' ? {} : { ingestionClass: chosen }) };
}

function requireMfid(mfid: string | null | undefined): string {
  if (!mfid)
    throw new UsageError('The server returned a file record without an mfid: cannot request its ingestion');
  return mfid;
}

function basename(file: string): string {
  return file.replace(/\\/g, '/').split('/').pop() ?? file;
}
