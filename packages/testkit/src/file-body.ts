/**
 * A response body that is a byte range of a file on disk. Handlers give the `Response` its usual web-stream
 * body (for msw's in-process use) and mark it with `withFileBody`; the test server then sends the range
 * straight from the file to the socket, skipping the web streams: for gigabyte objects that is about a fifth
 * of the server's CPU time, which on a small machine otherwise competes with the client being measured.
 */
export interface FileBody {
  path: string;
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

const FILE_BODY: unique symbol = Symbol.for('@sciport/testkit.fileBody');

/** Marks `response` as carrying `file` (its body must hold the same bytes). Returns `response`. */
export function withFileBody<R extends Response>(response: R, file: FileBody): R {
  Object.defineProperty(response, FILE_BODY, { value: { ...file } });
  return response;
}

/** The file range a response was marked with, if any. */
export function fileBodyOf(response: Response): FileBody | undefined {
  return (response as Response & { [FILE_BODY]?: FileBody })[FILE_BODY];
}
