import type { FaultMatch } from '../faults.js';
import {
  type HostileRoute,
  type HostileStats,
  type RawHeaders,
  rawHead,
  untilClosed,
  writeRaw,
} from './scenarios.js';

/**
 * Hostile Fragalysis archive fetches (spec §4.6): bodies that begin like an archive, so that a client's check of
 * the first bytes lets them through, and then misbehave: more bytes than announced, no end, or silence.
 */

/** The archive fetch of every stack: `GET /api/download_structures/?file_url=…`. */
export const FRAGALYSIS_ARCHIVE_FETCH: FaultMatch = { method: 'GET', path: '/api/download_structures/' };

const MAGIC = {
  'tar.gz': Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]),
  zip: Buffer.from([0x50, 0x4b, 0x03, 0x04]),
} as const;

const PIECE = 64 * 1024;

export interface ArchiveBodyOptions {
  /** Which archive the body's first bytes claim (default `tar.gz`). */
  format?: 'tar.gz' | 'zip';
  /** `Content-Length` to declare; without it the body is delimited by the connection's close. */
  declared?: number;
  /** Body bytes to send, first bytes included (default: `declared`, or without it no end at all). */
  sent?: number;
  /** After the bytes sent, keep the connection open and silent instead of closing it (default false). */
  stall?: boolean;
  headers?: RawHeaders;
}

/**
 * A 200 for an archive, as the stack sends one (`application/zip`, an attachment), whose body begins with a gzip
 * or zip header and goes on with filler: `sent` bytes in 64 KiB pieces (as fast as the client reads them), then
 * a close, or silence with `stall`. `stats.bytesSent` counts the body bytes put on the wire.
 */
export function archiveBody(match: FaultMatch, options: ArchiveBodyOptions = {}): HostileRoute {
  const stats: HostileStats = { requests: 0, bytesSent: 0 };
  const format = options.format ?? 'tar.gz';
  const sent = options.sent ?? options.declared ?? Number.POSITIVE_INFINITY;
  const first = Buffer.alloc(PIECE, 0x41);
  MAGIC[format].copy(first);
  const fill = Buffer.alloc(PIECE, 0x41);
  return {
    match,
    stats,
    async handle(req, _res, { signal }) {
      stats.requests += 1;
      req.resume();
      const socket = req.socket;
      try {
        const head: RawHeaders = {
          'content-type': 'application/zip',
          'content-disposition': `attachment; filename="Hostile.${format}"`,
          ...(options.declared === undefined ? {} : { 'content-length': options.declared }),
          connection: 'close',
          ...options.headers,
        };
        if (!(await writeRaw(socket, rawHead(200, head)))) return;
        let left = sent;
        let piece: Buffer = first;
        while (left > 0) {
          const part = left >= piece.byteLength ? piece : piece.subarray(0, left);
          if (!(await writeRaw(socket, part))) return;
          stats.bytesSent += part.byteLength;
          left -= part.byteLength;
          piece = fill;
        }
        if (options.stall) {
          await Promise.race([untilClosed(signal), new Promise((resolve) => socket.once('close', resolve))]);
        } else {
          await new Promise<void>((resolve) => socket.end(resolve));
        }
      } finally {
        if (!socket.destroyed) socket.destroy();
      }
    },
  };
}
