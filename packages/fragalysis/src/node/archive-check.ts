import { IntegrityError, type RawBody, type StreamResponse } from '@sciport/core';
import type { DownloadResponse } from '@sciport/core/node';

/**
 * The first bytes of an archive fetch (spec §4.6, §4.7): a Fragalysis archive is a gzip (`1f 8b`) or a zip
 * (`PK\x03\x04`, or `PK\x05\x06` when empty). Anything else (a login page of an expired session, a proxy's error
 * page, all served with a 200) is refused as it arrives: the transfer stops at its first bytes and nothing is
 * saved, neither under the archive's name nor as a temporary file.
 */

const NEEDED = 4;

/** Whether `head` (the first bytes so far) can still begin an archive, and whether enough was seen to say. */
function judge(head: Uint8Array): 'archive' | 'not' | 'more' {
  if (head.length === 0) return 'more';
  if (head[0] === 0x1f) {
    if (head.length < 2) return 'more';
    return head[1] === 0x8b ? 'archive' : 'not';
  }
  if (head[0] !== 0x50) return 'not';
  const zip = [0x50, 0x4b];
  for (let i = 1; i < Math.min(head.length, 2); i++) if (head[i] !== zip[i]) return 'not';
  if (head.length < NEEDED) return 'more';
  const ok = (head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6);
  return ok ? 'archive' : 'not';
}

/** A short, printable description of what came instead of an archive (no server text beyond a media type). */
function whatCame(head: Uint8Array, contentType: string | null): string {
  const type = /^\s*([A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+)/
    .exec(contentType ?? '')?.[1]
    ?.toLowerCase();
  const text = Buffer.from(head).toString('latin1').trimStart().toLowerCase();
  const html = type === 'text/html' || text.startsWith('<!doctype html') || text.startsWith('<html');
  if (html) return 'an HTML page (a login page of an expired session, or a proxy’s error page?)';
  if (head.length === 0) return 'an empty body';
  if (text.startsWith('{') || text.startsWith('[') || type === 'application/json') return 'a JSON answer';
  return type ? `data of type ${type}` : 'data that is neither gzip nor zip';
}

function notAnArchive(name: string, head: Uint8Array, contentType: string | null): IntegrityError {
  return new IntegrityError(
    `Fragalysis sent ${whatCame(head, contentType)} instead of the archive ${name}: it was not saved`,
    { expected: 'a gzip or zip archive', actual: 'other data', retryable: false },
  );
}

/** Gathers the first bytes of a body, piece by piece, until they tell an archive from anything else. */
class Sniffer {
  private head = new Uint8Array(0);
  private decided = false;
  constructor(
    private readonly name: string,
    private readonly contentType: string | null,
  ) {}

  /** Looks at a piece; throws at the first piece that shows this is not an archive. */
  see(piece: Uint8Array): void {
    if (this.decided || piece.byteLength === 0) return;
    const take = piece.subarray(0, NEEDED - this.head.length);
    const head = new Uint8Array(this.head.length + take.length);
    head.set(this.head);
    head.set(take, this.head.length);
    this.head = head;
    const verdict = judge(head);
    if (verdict === 'not') throw notAnArchive(this.name, piece.subarray(0, 256), this.contentType);
    if (verdict === 'archive') this.decided = true;
  }

  /** At the end of the body: throws when it ended before showing an archive. */
  end(): void {
    if (!this.decided) throw notAnArchive(this.name, this.head, this.contentType);
  }
}

/**
 * The response of an archive fetch, with its body checked as it is read: the first bytes must be those of a
 * gzip or zip. An error status is passed on as it is (core turns it into an `ApiError`).
 */
export function archiveChecked(
  response: StreamResponse,
  name: string,
): DownloadResponse & Pick<StreamResponse, 'cancel'> {
  if (response.status < 200 || response.status >= 300) return response;
  const sniffer = new Sniffer(name, response.headers.get('content-type'));
  const original = response.body;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  // Pulled only when read (highWaterMark 0): when core reads `raw` instead, the original stream stays untouched.
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        reader ??= original.getReader();
        const { done, value } = await reader.read();
        try {
          if (done) {
            sniffer.end();
            controller.close();
            return;
          }
          sniffer.see(value);
        } catch (error) {
          await reader.cancel(error).catch(() => undefined);
          throw error;
        }
        controller.enqueue(value);
      },
      cancel: (reason) => (reader ? reader.cancel(reason) : original.cancel(reason)),
    },
    { highWaterMark: 0 },
  );
  const inner = response.raw;
  const raw: RawBody | undefined = inner && {
    async pipe(sink, options) {
      await inner.pipe((piece) => {
        sniffer.see(piece);
        sink(piece);
      }, options);
      sniffer.end();
    },
  };
  return {
    status: response.status,
    headers: response.headers,
    url: response.url,
    body,
    raw,
    // What core calls to release a response it will not read (its connection and timers).
    cancel: (reason?: unknown) => response.cancel(reason),
  };
}
