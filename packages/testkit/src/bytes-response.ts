/** Options of {@link bytesResponse}. */
export interface BytesResponseOptions {
  /** The `Content-Type`; defaults to `application/octet-stream`. */
  contentType?: string;
  /**
   * The `ETag`, sent on every answer. A value without quotes (and without a `W/` prefix) is quoted. An
   * `If-Range` request header that differs from it makes a ranged request get the full body (200).
   */
  etag?: string;
  /**
   * Whether `Range` requests are honoured (206 or 416) and `Accept-Ranges: bytes` is sent. Defaults to `true`;
   * when `false` every request gets the full body with 200.
   */
  acceptRanges?: boolean;
  /** Extra response headers; they override the ones set by this helper. */
  headers?: HeadersInit;
}

interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a single-range `Range` header against a body of `size` bytes. Returns the inclusive range,
 * `'unsatisfiable'`, or `undefined` when the header is absent, malformed or asks for several ranges (all of
 * which RFC 9110 allows a server to answer with the full body).
 */
export function parseRange(header: string | null, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === null) return undefined;
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (match === null) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    // Suffix range: the last N bytes.
    const length = Number(last);
    if (length === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) };
}

function quoteEtag(etag: string): string {
  return etag.startsWith('"') || etag.startsWith('W/') ? etag : `"${etag}"`;
}

function asBody(data: Uint8Array): Uint8Array<ArrayBuffer> {
  // The Fetch API only takes views of plain ArrayBuffers; copy views of shared memory.
  return data.buffer instanceof ArrayBuffer ? (data as Uint8Array<ArrayBuffer>) : new Uint8Array(data);
}

/**
 * Answers a request with in-memory bytes, the way a file or blob store does: 200 with `Content-Length`, or,
 * when `acceptRanges` is on (the default) and the request has a single `Range: bytes=N-`, `bytes=N-M` or
 * `bytes=-N` header, 206 with `Content-Range: bytes N-M/size` (416 with `Content-Range: bytes *\/size` when
 * the range starts beyond the end). A `HEAD` request gets the same headers without a body.
 *
 * @param request - The request being answered (its `Range`, `If-Range` and method are read).
 * @param data - The whole body.
 *
 * @example
 * ```ts
 * http.get('*\/files/:name', ({ request }) => bytesResponse(request, fileBytes, { etag: 'v1' }));
 * ```
 */
export function bytesResponse(
  request: Request,
  data: Uint8Array,
  options: BytesResponseOptions = {},
): Response {
  const { contentType = 'application/octet-stream', etag, acceptRanges = true } = options;
  const size = data.byteLength;
  const headers = new Headers({ 'content-type': contentType });
  if (etag !== undefined) headers.set('etag', quoteEtag(etag));
  if (acceptRanges) headers.set('accept-ranges', 'bytes');

  let range: ByteRange | 'unsatisfiable' | undefined;
  if (acceptRanges) {
    range = parseRange(request.headers.get('range'), size);
    const ifRange = request.headers.get('if-range');
    if (range !== undefined && ifRange !== null && (etag === undefined || ifRange !== quoteEtag(etag))) {
      // The client's copy is stale (or cannot be validated): send the whole current body.
      range = undefined;
    }
  }

  let status = 200;
  let body = data;
  if (range === 'unsatisfiable') {
    status = 416;
    body = new Uint8Array(0);
    headers.set('content-range', `bytes */${size}`);
  } else if (range !== undefined) {
    status = 206;
    body = data.subarray(range.start, range.end + 1);
    headers.set('content-range', `bytes ${range.start}-${range.end}/${size}`);
  }
  headers.set('content-length', String(body.byteLength));
  const extra = new Headers(options.headers);
  for (const name of new Set(extra.keys())) headers.delete(name);
  for (const [name, value] of extra) headers.append(name, value);

  const withoutBody = request.method === 'HEAD' || status === 416;
  return new Response(withoutBody ? null : asBody(body), { status, headers });
}

/**
 * Reads a request's whole body. Handler helper for small bodies (it buffers: do not use it on uploads that
 * may be large, read `request.body` as a stream instead).
 *
 * @returns The body bytes; empty when the request has no body.
 */
export async function readBody(request: Request): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await request.arrayBuffer());
}
