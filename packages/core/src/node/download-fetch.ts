import { dispatchFetch } from './dispatch-fetch.js';

/**
 * A `fetch` for downloads, over undici (`dispatchFetch`: the process-wide agent, or the environment's proxy).
 * The response is a standard `Response` (its body a web stream, for error pages and ordinary readers) that also
 * carries a `RawBody` (`rawBodyOf`) for `downloadToFile`, which hashes and writes each piece undici parsed out of
 * the socket in place, without the web stream's copies and allocations: the global fetch costs about twice the
 * time and memory for a large archive (bench/download-floor.mjs). A compressed body (sent anyway, though
 * `Accept-Encoding: identity` is asked for) is decoded on the web stream and has no raw body. No redirects are
 * followed (the HTTP client follows them itself). While an in-process mock (msw, nock) is installed, requests go
 * to the global fetch, which it intercepts.
 */
export const nodeDownloadFetch: typeof globalThis.fetch = dispatchFetch(true);
