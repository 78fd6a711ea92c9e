import { rename } from 'node:fs/promises';
import path from 'node:path';
import { ApiError, NotFoundError, type RequestOptions, requestOptions, ServerError } from '@sciport/core';
import { detectArchiveFormat } from '@sciport/core/extract';
import { type DownloadProgress, type DownloadResult, downloadToFile, safeJoin } from '@sciport/core/node';
import { type Context, explain } from '../internal/context.js';
import { ARCHIVE_ACCEPT, type ArchiveLocation } from '../resources/archives.js';
import { archiveChecked } from './archive-check.js';

/** Saving a built archive to disk (spec §4.6): its fetch, its format, and what a failed fetch means. */

export type ArchiveFormat = 'tar.gz' | 'zip';

export interface SavedArchive {
  path: string;
  format: ArchiveFormat;
  bytes: number;
  sha256: string | undefined;
}

/** A file-system-safe name for a target: `<title>_<tas>` (the server's own naming of upload folders). */
export function targetFolderName(title: string, tas: string): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_');
  return `${clean(title)}_${clean(tas)}`;
}

/**
 * Streams an archive to `<destination>/<name>.<format>` atomically (a temporary file renamed into place once
 * its size is checked; a transfer cut short is fetched again from the start: the server has no Range support),
 * explaining a missing archive. A body that does not begin as a gzip or zip (a login page served with a 200) is
 * refused at its first bytes with an `IntegrityError`, and nothing is saved. The format is read from the file
 * itself (the server calls every archive `application/zip`), then from `Content-Disposition`, then from the
 * server path's suffix.
 */
export async function saveArchive(
  ctx: Context,
  location: ArchiveLocation,
  destination: string,
  name: string,
  options: RequestOptions & {
    onProgress?: ((progress: DownloadProgress) => void) | undefined;
    checksum?: boolean | undefined;
  },
): Promise<SavedArchive> {
  const { fileUrl } = location;
  let disposition: string | null = null;
  const guess = formatOfName(fileUrl) ?? 'tar.gz';
  const target = safeJoin(destination, `${name}.${guess}`);
  let saved: Omit<DownloadResult, 'sha256'> & { sha256: string | undefined };
  try {
    saved = await downloadToFile(
      // No Range: the server ignores it (a cut-short transfer starts again from zero).
      async ({ signal }) => {
        const response = await ctx.http.stream('/api/download_structures/', {
          ...requestOptions(options),
          signal,
          query: { file_url: fileUrl },
          headers: { accept: ARCHIVE_ACCEPT },
        });
        disposition = response.headers.get('content-disposition');
        // A page where the archive was expected (a login page, a proxy's error) ends at its first bytes.
        return archiveChecked(response, path.basename(target));
      },
      target,
      {
        signal: options.signal,
        maxResumes: 3,
        service: 'fragalysis',
        hash: options.checksum === true,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      },
    );
  } catch (error) {
    throw explainArchiveError(explain(ctx.baseUrl, error), location);
  }
  const format =
    toArchiveFormat(await detectArchiveFormat(saved.path)) ??
    formatOfName(dispositionFilename(disposition) ?? '') ??
    guess;
  let file = saved.path;
  if (format !== guess) {
    file = safeJoin(destination, `${name}.${format}`);
    await rename(saved.path, file);
  }
  return { path: file, format, bytes: saved.bytes, sha256: saved.sha256 };
}

/** The archive is gone (deleted after expiry, or its record missing): worth one new build. */
export function archiveGone(error: unknown): boolean {
  return ApiError.isInstance(error) && (error.status === 500 || error.status === 404);
}

/** A 500 or 404 on the archive fetch names what most likely happened (spec §4.6). */
function explainArchiveError(error: unknown, location: ArchiveLocation): unknown {
  if (!ApiError.isInstance(error)) return error;
  const init = {
    status: error.status,
    method: error.method,
    url: error.url,
    service: 'fragalysis',
    body: error.body,
    detail: error.detail,
  };
  const again = location.immediate
    ? 'ask for the archive again (a new build)'
    : 'ask for the archive again; if this persists, the stack is in trouble';
  if (error.status === 500) {
    return new ServerError(
      init,
      'Fragalysis failed to serve the archive (500): it is most likely no longer on the server ' +
        `(downloads expire and are deleted after a while); ${again}`,
    );
  }
  if (error.status === 404) {
    return new NotFoundError(
      init,
      `Fragalysis does not know this archive (${error.detail ?? 'not found'}): it has expired or was never ` +
        `finished; ${again}`,
    );
  }
  return error;
}

function formatOfName(name: string): ArchiveFormat | undefined {
  const clean = name.trim().replace(/[?#].*$/, '');
  if (/\.zip$/i.test(clean)) return 'zip';
  if (/\.(tar\.gz|tgz)$/i.test(clean)) return 'tar.gz';
  return undefined;
}

function toArchiveFormat(format: string | undefined): ArchiveFormat | undefined {
  return format === 'zip' || format === 'tar.gz' ? format : undefined;
}

/** `attachment; filename="Mpro.tar.gz"` (or `filename*=UTF-8''…`) → `Mpro.tar.gz`. */
function dispositionFilename(header: string | null): string | undefined {
  if (!header) return undefined;
  const star = /filename\*\s*=\s*[^']*'[^']*'([^;]+)/i.exec(header)?.[1];
  if (star) {
    try {
      return decodeURIComponent(star.trim());
    } catch {
      return star.trim();
    }
  }
  return /filename\s*=\s*"?([^";]+)"?/i.exec(header)?.[1]?.trim();
}
