import { stat } from 'node:fs/promises';
import path from 'node:path';
import { ApiError, type RequestOptions, registerSecret, requestOptions, SciportError } from '@sciport/core';
import { downloadToFile, rangeHeader, safeJoin, sha256File } from '@sciport/core/node';
import { z } from 'zod';
import { type Context, getRecord, id } from '../internal/context.js';
import { type Files, listFiles } from '../resources/files.js';
import type { CrucibleFile } from '../schemas/files.js';

export interface DownloadOptions extends RequestOptions {
  /** Which files: a predicate on the local relative name (default: all). */
  include?: (name: string) => boolean;
  onProgress?: (progress: { file: string; bytes: number; total: number | undefined }) => void;
}

export interface DownloadedFile {
  name: string;
  path: string;
  bytes: number;
  sha256: string;
  /** Already complete on disk (same size and SHA-256): not fetched. */
  skipped: boolean;
}

/** Where a file lands locally: its path inside the dataset folder of the production bucket, else its basename. */
export function localName(file: CrucibleFile, datasetId: string): string {
  const prefix = `mf-storage-prod/${datasetId}/`;
  const fallback = path.posix.basename(file.filename.replace(/\\/g, '/'));
  if (file.storagePath?.startsWith(prefix))
    return sanitiseName(file.storagePath.slice(prefix.length), fallback);
  return sanitiseName(fallback, file.mfid ?? 'file');
}

/**
 * A server-given relative name made safe to join below the output folder: `..`, `.`, empty and drive
 * components dropped, separators unified, control characters removed. Empty after that: `fallback`.
 */
export function sanitiseName(name: string, fallback: string): string {
  const parts = name
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
    .replace(/[\u0000-\u001f]/g, '')
    .split(/[\\/]+/)
    .filter((p) => p !== '' && p !== '.' && p !== '..' && !/^[a-zA-Z]:$/.test(p));
  return parts.length > 0 ? parts.join('/') : fallback === name ? 'file' : sanitiseName(fallback, 'file');
}

/**
 * Downloads a dataset's ingested files into `dir` through their signed URLs, with a storage client that never
 * carries the API key: streamed to a temporary file, checked against the record's size and SHA-256, renamed
 * into place; an error page (an expired or refused link) is never saved; an expired link is renewed once; a
 * transfer cut short resumes with `Range`; files already complete on disk are not fetched again.
 */
export async function downloadDataset(
  ctx: Context,
  files: Pick<Files, 'links' | 'link'>,
  datasetId: string,
  dir: string,
  options: DownloadOptions = {},
): Promise<DownloadedFile[]> {
  const signal = options.signal;
  const call = requestOptions(options);
  const records = await listFiles(ctx, datasetId, call);
  let links = await files.links(datasetId, call);
  if (Object.keys(links).length === 0) {
    // No links: a dataset with nothing ingested yet, or (some servers answer alike) no dataset at all.
    await getRecord(
      ctx,
      `datasets/${id(datasetId, 'dataset id')}`,
      z.looseObject({}),
      `dataset ${datasetId}`,
      call,
    );
  }
  const root = path.resolve(dir);
  const jobs: Array<{ name: string; record: CrucibleFile | undefined; key: string }> = [];
  for (const key of Object.keys(links)) {
    let record: CrucibleFile | undefined;
    let name: string;
    if (ctx.version === 'v2') {
      record = records.find((r) => r.mfid === key);
      name = record ? localName(record, datasetId) : sanitiseName(key, 'file');
    } else {
      // v1 keys are `<dataset id>/<path>`; records are matched by basename.
      name = sanitiseName(key.startsWith(`${datasetId}/`) ? key.slice(datasetId.length + 1) : key, key);
      const base = path.posix.basename(name);
      record = records.find((r) => path.posix.basename(r.filename.replace(/\\/g, '/')) === base);
    }
    if (options.include && !options.include(name)) continue;
    jobs.push({ name, record, key });
  }
  const out: DownloadedFile[] = [];
  for (const job of jobs) {
    const target = safeJoin(root, job.name);
    const expectedSize = typeof job.record?.size === 'number' ? job.record.size : undefined;
    const expectedSha = job.record?.sha256Hash?.toLowerCase() || undefined;
    if (expectedSha && (await isComplete(target, expectedSize, expectedSha, signal))) {
      out.push({
        name: job.name,
        path: target,
        bytes: expectedSize ?? 0,
        sha256: expectedSha,
        skipped: true,
      });
      continue;
    }
    let url = links[job.key] as string;
    registerSecret(signedPart(url));
    let renewed = false;
    const fetchAt = async ({ offset, signal: s }: { offset: number; signal: AbortSignal | undefined }) => {
      for (;;) {
        try {
          return await ctx.storage.stream(url, {
            headers: { range: rangeHeader(offset) },
            auth: false,
            timeout: options.timeout,
            signal: s,
          });
        } catch (error) {
          const refused =
            ApiError.isInstance(error) &&
            (error.status === 400 || error.status === 401 || error.status === 403);
          if (!refused) throw error;
          if (renewed) {
            // Still refused with a fresh link: say so plainly (the error page is never saved).
            throw new SciportError(
              `Storage refused the download of ${job.name} (${error.status}${error.detail ? `: ${error.detail}` : ''}), also with a freshly issued link`,
              {
                cause: error,
                hint: 'The link may have expired on the way or the file may have moved; try again later',
              },
            );
          }
          // An expired or refused signed URL: ask once for a fresh one.
          renewed = true;
          if (ctx.version === 'v2' && job.record?.mfid)
            url = (await files.link(job.record.mfid, { ...call, signal: s })).url;
          else {
            links = await files.links(datasetId, { ...call, signal: s });
            url = links[job.key] ?? url;
          }
          registerSecret(signedPart(url));
        }
      }
    };
    const saved = await downloadToFile(fetchAt, target, {
      ...(expectedSize !== undefined ? { expectedSize } : {}),
      ...(expectedSha ? { sha256: expectedSha } : {}),
      keepPartial: true,
      signal,
      service: 'crucible',
      ...(options.onProgress
        ? { onProgress: (p) => options.onProgress?.({ file: job.name, bytes: p.bytes, total: p.total }) }
        : {}),
    });
    out.push({ name: job.name, path: target, bytes: saved.bytes, sha256: saved.sha256, skipped: false });
  }
  return out;
}

async function isComplete(
  file: string,
  size: number | undefined,
  sha256: string,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  try {
    const s = await stat(file);
    if (!s.isFile() || (size !== undefined && s.size !== size)) return false;
    return (await sha256File(file, signal)) === sha256;
  } catch {
    return false;
  }
}

/** The capability part of a signed URL (its query), registered as a secret so that it never shows. */
function signedPart(url: string): string | undefined {
  try {
    const search = new URL(url).search;
    return search.length > 8 ? search.slice(1) : undefined;
  } catch {
    return undefined;
  }
}
