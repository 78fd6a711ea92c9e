import type { FaultMatch } from '../faults.js';
import type { RawRoute } from '../http-server.js';
import type { HostileStats } from './scenarios.js';

/**
 * A server that repeats what it was sent: the request line, every header (cookies and tokens included) and
 * the body, in its error message. Login pages that echo the form are the classic case; a client must not let
 * a secret it sent come back into a message, a log or `--json` output.
 */
export function echoRequest(
  match: FaultMatch,
  options: { status?: number; contentType?: string; prefix?: string } = {},
): RawRoute & { readonly stats: HostileStats } {
  const stats: HostileStats = { requests: 0, bytesSent: 0 };
  return {
    match,
    stats,
    async handle(req, res) {
      stats.requests += 1;
      const parts: Buffer[] = [];
      let size = 0;
      for await (const chunk of req as AsyncIterable<Buffer>) {
        // Bounded, like any sensible echo: the first 64 KiB.
        if (size < 64 * 1024) parts.push(chunk);
        size += chunk.byteLength;
      }
      const headers = Object.entries(req.headers)
        .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`)
        .join('\n');
      const text =
        `${options.prefix ?? 'Authentication failed for'} ${Buffer.concat(parts).toString('utf8')}\n` +
        `${req.method} ${req.url}\n${headers}\n`;
      const contentType = options.contentType ?? 'text/plain; charset=utf-8';
      const body = contentType.includes('json') ? JSON.stringify({ detail: text }) : text;
      stats.bytesSent += Buffer.byteLength(body);
      res.writeHead(options.status ?? 401, { 'content-type': contentType, connection: 'close' });
      res.end(body);
    },
  };
}
