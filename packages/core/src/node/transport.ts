import type { Transport } from '../http/types.js';
import { proxyDispatcher } from './dispatcher.js';
import { nodeDownloadFetch } from './download-fetch.js';
import { nodeTransferFetch } from './transfer-fetch.js';

export type { Transport } from '../http/types.js';
export { proxyDispatcher } from './dispatcher.js';

/**
 * The transport of every client's Node entry point. API calls use the global `fetch` (so that msw and other
 * in-process mocks still see them) with the environment's proxy as its `dispatcher`, when one is set; upload
 * chunks and downloads go over undici directly, through the same proxy (see `dispatchFetch`). A caller's own
 * `fetch` replaces all three.
 */
export function nodeTransport(fetch?: typeof globalThis.fetch): Transport {
  if (fetch) return { fetch };
  return {
    // The proxy is looked up at each call: HTTPS_PROXY and friends set after the client was made still count.
    fetch: (input, init) => {
      const dispatcher = proxyDispatcher();
      return globalThis.fetch(input, dispatcher ? ({ ...init, dispatcher } as RequestInit) : init);
    },
    transferFetch: nodeTransferFetch,
    downloadFetch: nodeDownloadFetch,
  };
}
