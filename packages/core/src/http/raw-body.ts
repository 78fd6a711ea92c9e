/**
 * A response body readable without a copy (from `nodeDownloadFetch` on Node): `pipe(sink)` hands the sink each
 * piece as the transport received it, valid only during the call (write it or hash it, never keep it: the
 * transport reads into that memory again once the sink returns). A body is read once, either through `pipe` or
 * through the response's web stream.
 */
export interface RawBody {
  /** Resolves when the body has ended (all of it, by its framing); rejects when it is cut short or aborted. */
  pipe(sink: (chunk: Uint8Array) => void, options?: { signal?: AbortSignal | undefined }): Promise<void>;
}

/** Where a response of `nodeDownloadFetch` keeps its `RawBody`. */
export const RAW_BODY: unique symbol = Symbol.for('@sciport/core.rawBody');

/** The `RawBody` of a response, when it has one and its body has not been read. */
export function rawBodyOf(response: unknown): RawBody | undefined {
  if (typeof response !== 'object' || response === null) return undefined;
  const raw = (response as { [RAW_BODY]?: RawBody })[RAW_BODY];
  const body = (response as { body?: ReadableStream | null }).body;
  if (!raw || body?.locked) return undefined;
  return raw;
}
