import {
  type ListOptions,
  NotFoundError,
  type PageIterable,
  type RequestOptions,
  requestOptions,
  singlePage,
  UsageError,
} from '@sciport/core';
import { z } from 'zod';
import { body, type Context, call, explain, getRecord, id } from '../internal/context.js';

import { offsetList } from '../internal/lists.js';
import { itemsOf } from '../schemas/common.js';
import { type CrucibleFile, downloadLinkSchema, fileSchema } from '../schemas/files.js';

/** A file record to add without its bytes (`files.addRecord`). */
export interface FileRecordInput {
  filename: string;
  size?: number;
  sha256?: string;
  /** v2: where the file is kept (`globus`, …); not `gcs`, whose files are recorded by their upload. */
  storageBackend?: string;
  accessNote?: string;
}

/** File records and download links. */
export class Files {
  constructor(protected readonly ctx: Context) {}

  /** The dataset's files (v2: ingested and pending; v1: associated files). */
  list(datasetId: string, options: ListOptions = {}): PageIterable<CrucibleFile, unknown> {
    return singlePage(
      (signal) => listFiles(this.ctx, datasetId, { ...requestOptions(options), signal }),
      options,
    );
  }

  /**
   * Records a file without sending its bytes (the reference client's `add_associated_file`). v1:
   * `POST /datasets/{id}/associated_files {filename, size, sha256_hash}`; v2, only for files kept outside
   * Crucible's storage: `POST /datasets/{id}/files` with a `storageBackend` other than `gcs` (files in Crucible's
   * storage are recorded by their upload).
   */
  async addRecord(
    datasetId: string,
    record: FileRecordInput,
    options: RequestOptions = {},
  ): Promise<CrucibleFile> {
    if (!record.filename?.trim()) throw new UsageError('A file record needs a filename');
    if (record.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(record.sha256))
      throw new UsageError('sha256 must be 64 hexadecimal characters');
    const dsPath = `datasets/${id(datasetId, 'dataset id')}`;
    if (this.ctx.version === 'v1') {
      return call(this.ctx, `${dsPath}/associated_files`, fileSchema, {
        method: 'POST',
        json: body({
          filename: record.filename,
          size: record.size,
          sha256_hash: record.sha256?.toLowerCase(),
        }),
        ...requestOptions(options),
      });
    }
    if (!record.storageBackend || record.storageBackend === 'gcs') {
      throw new UsageError(
        'On API v2 a file in Crucible storage is recorded by uploading it; a catalogue-only record needs a storageBackend other than "gcs" (e.g. "globus")',
      );
    }
    return call(this.ctx, `${dsPath}/files`, fileSchema, {
      method: 'POST',
      json: body({
        filename: record.filename,
        storage_backend: record.storageBackend,
        size: record.size,
        sha256_hash: record.sha256?.toLowerCase(),
        access_note: record.accessNote,
      }),
      ...requestOptions(options),
    });
  }

  /** A file record by its MFID (v2). */
  async get(fileId: string, options: RequestOptions = {}): Promise<CrucibleFile> {
    if (this.ctx.version !== 'v2') throw new UsageError('File records by id need API v2');
    return getRecord(
      this.ctx,
      `files/${id(fileId, 'file id')}`,
      fileSchema,
      `file ${fileId}`,
      requestOptions(options),
    );
  }

  /**
   * Signed download links of a dataset's ingested files: v2 keys them by file MFID, v1 by
   * `<dataset id>/<path>`. Values that are not https URLs (a `{"detail": …}` some servers send with 200)
   * are left out; no ingested file at all is an empty object.
   */
  async links(datasetId: string, options: RequestOptions = {}): Promise<Record<string, string>> {
    let raw: Record<string, unknown> | null;
    try {
      raw = await call(
        this.ctx,
        `datasets/${id(datasetId, 'dataset id')}/download_links`,
        z.record(z.string(), z.unknown()).nullable(),
        requestOptions(options),
      );
    } catch (error) {
      if (NotFoundError.isInstance(error)) {
        // v2 answers 404 when the dataset has no ingested file (and some v1 servers do); a missing dataset is
        // told apart by the callers that need to (`datasets.download` reads the dataset then).
        return {};
      }
      throw error;
    }
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(raw ?? {})) {
      if (typeof value === 'string' && /^https?:\/\//.test(value)) out[key] = value;
    }
    return out;
  }

  /** One file's signed link (v2; 404 until the file is ingested). */
  async link(
    fileId: string,
    options: RequestOptions = {},
  ): Promise<{ url: string; expiresIn: number | undefined }> {
    if (this.ctx.version !== 'v2') throw new UsageError('Links by file need API v2');
    const link = await call(
      this.ctx,
      `files/${id(fileId, 'file id')}/download_link`,
      downloadLinkSchema,
      requestOptions(options),
    );
    return { url: link.url, expiresIn: link.expires_in ?? undefined };
  }

  // issue 13: graph
  /**
   * The files, over every dataset the caller may read, whose content has this SHA-256 (v2
   * `GET /files?sha256_hash=`, spec §19.7): which datasets hold it is their `datasetMfid`.
   */
  find(query: { sha256: string }, options: ListOptions = {}): PageIterable<CrucibleFile, unknown> {
    const sha256 = query?.sha256?.trim() ?? '';
    if (!/^[0-9a-fA-F]{64}$/.test(sha256))
      throw new UsageError(
        `A SHA-256 is 64 hexadecimal characters, got ${JSON.stringify(query?.sha256 ?? '')}`,
      );
    if (this.ctx.version !== 'v2') throw new UsageError('Finding files by content needs API v2');
    return offsetList(this.ctx, 'files', fileSchema, { sha256_hash: sha256.toLowerCase() }, options);
  }

  /** Deletes a file record by its MFID (v2 `DELETE /files/{mfid}`; writers): it leaves its dataset's files. */
  async delete(fileId: string, options: RequestOptions = {}): Promise<void> {
    if (this.ctx.version !== 'v2') throw new UsageError('Deleting files needs API v2');
    const path = `files/${id(fileId, 'file id')}`;
    try {
      // The body of the answer is unused (spec §19.7): not parsed, so an empty or non-JSON 2xx is fine.
      await this.ctx.http.request(path, { method: 'DELETE', ...requestOptions(options) });
    } catch (error) {
      throw explain(error, path);
    }
  }
}

/** A dataset's file records, in one request (v2 `…/files`, v1 `…/associated_files`). */
export async function listFiles(
  ctx: Context,
  datasetId: string,
  options: RequestOptions,
): Promise<CrucibleFile[]> {
  const path =
    ctx.version === 'v2'
      ? `datasets/${id(datasetId, 'dataset id')}/files`
      : `datasets/${id(datasetId, 'dataset id')}/associated_files`;
  return call(ctx, path, itemsOf(fileSchema), requestOptions(options));
}
