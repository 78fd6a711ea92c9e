import type { RequestOptions } from '@sciport/core';
import { type DatasetInput, Datasets } from '../resources/datasets.js';
import { Files } from '../resources/files.js';
import { Keywords } from '../resources/keywords.js';
import { type RequestOutcome, Requests } from '../resources/requests.js';
import type { CrucibleDataset } from '../schemas/datasets.js';
import { type DownloadedFile, type DownloadOptions, downloadDataset } from './download.js';
import { basename, type IngestOptions, type UploadFileResult, uploadFile, waitWith } from './files.js';
import { type DatasetParser, getParser, type ParsedDataset } from './parsers.js';

export interface CreateFromFilesOptions extends RequestOptions, IngestOptions {
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

/** Datasets, with the methods that read and write local files (Node). */
export class NodeDatasets extends Datasets {
  /**
   * Downloads a dataset's ingested files into `dir`: verified against their size and SHA-256, written
   * atomically, resumed where a transfer was cut; the API key never goes to storage. Returns what it did with
   * each file.
   *
   * With a selection (`include` / `exclude` globs, `files`), only the selected files' links are asked for
   * (v2: `GET /files/{id}/download_link` each, spec §19.3) and each lands at `<dir>/<path in dataset>`;
   * nothing selected throws `NoFilesSelectedError` listing the files there are. `record: true` also saves
   * the dataset's record with its metadata as `<dir>/record.json`.
   *
   * @example
   * ```ts
   * await client.datasets.download(dsid, 'out', { include: ['raw/**'], exclude: ['*.tmp'], record: true });
   * ```
   */
  async download(datasetId: string, dir: string, options: DownloadOptions = {}): Promise<DownloadedFile[]> {
    return downloadDataset(this.ctx, new Files(this.ctx), datasetId, dir, options);
  }

  /**
   * A dataset from local files: a parser reads them into fields, metadata and keywords; the dataset is created,
   * its metadata merged and keywords added, each file uploaded and (optionally) ingested and waited for.
   * Creation is not repeated on a failure (no duplicate datasets); a later step that fails leaves the dataset
   * in place and the error names it (`error.datasetId`), so the upload can be finished with `files.upload`.
   */
  async createFromFiles(
    files: readonly string[],
    options: CreateFromFilesOptions = {},
  ): Promise<CreatedDataset> {
    const parser =
      typeof options.parser === 'object' ? options.parser : getParser(options.parser ?? 'generic');
    const parsed = await parser.parse(files);
    const input: DatasetInput = { ...parsed.dataset, ...options.dataset };
    if (!input.datasetName && parsed.files[0]) input.datasetName = basename(parsed.files[0]);
    const v1 = this.ctx.version === 'v1';
    // v1 ingestion is per dataset and reads the dataset's main file from the shared upload folder.
    if (v1 && input.fileToUpload === undefined && parsed.files[0])
      input.fileToUpload = `api-uploads/${basename(parsed.files[0])}`;
    const call = { signal: options.signal, timeout: options.timeout, maxRetries: options.maxRetries };
    const dataset = await this.create(input, call);
    const dsid = dataset.uniqueId;
    const ingest = options.ingestionClass !== undefined || options.wait !== undefined;
    try {
      const metadata = { ...parsed.scientificMetadata, ...options.scientificMetadata };
      if (Object.keys(metadata).length > 0) await this.mergeMetadata(dsid, metadata, call);
      const keywords = [...new Set([...parsed.keywords, ...(options.keywords ?? [])])];
      if (keywords.length > 0) await new Keywords(this.ctx).add(dsid, keywords, call);
      const uploaded: UploadFileResult[] = [];
      for (const file of parsed.files) {
        uploaded.push(
          await uploadFile(this.ctx, dsid, file, {
            ...call,
            ...(options.ingestionClass !== undefined ? { ingestionClass: options.ingestionClass } : {}),
            ...(options.wait !== undefined ? { wait: options.wait } : {}),
            ...(options.onUpload ? { onProgress: options.onUpload } : {}),
            // v2: one ingestion per file; v1: one for the dataset, below.
            ingest: ingest && !v1,
          }),
        );
      }
      if (ingest && v1 && uploaded[0]) {
        const requests = new Requests(this.ctx);
        const request = await requests.ingest(
          { datasetId: dsid, ...(input.fileToUpload ? { fileToUpload: input.fileToUpload } : {}) },
          { ...call, ...(options.ingestionClass ? { ingestionClass: options.ingestionClass } : {}) },
        );
        let outcome: RequestOutcome | undefined;
        if (options.wait) outcome = await requests.wait(request.id, waitWith(options, dsid));
        // The dataset's request is reported with its main (first) file.
        uploaded[0] = { ...uploaded[0], request, outcome };
      }
      return { dataset, parsed, files: uploaded };
    } catch (error) {
      throw Object.assign(error as object, { datasetId: dsid });
    }
  }
}
