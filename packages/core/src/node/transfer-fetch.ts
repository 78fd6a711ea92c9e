import { dispatchFetch } from './dispatch-fetch.js';

/**
 * A `fetch` for bulk request bodies (upload chunks), over undici (`dispatchFetch`: the process-wide agent, or
 * the environment's proxy). The bytes are handed to the socket as they are: the global fetch copies every byte
 * body, and ky's retry clone copies it again (bench/crucible-transfer.mjs). Any method, headers, a string or
 * bytes body (others go to the global fetch), `signal`; no redirects followed (the client follows them itself);
 * the response body as a web stream, decoded when the server compressed it anyway. Give it to
 * `createHttpClient({ transferFetch: nodeTransferFetch })`.
 */
export const nodeTransferFetch: typeof globalThis.fetch = dispatchFetch(false);
