import { EnvHttpProxyAgent } from 'undici';
import { readFirstEnv } from '../env.js';
import { nodeDownloadFetch } from './download-fetch.js';
import { nodeTransferFetch } from './transfer-fetch.js';

/**
 * How a client's requests reach the network on Node: `fetch` for API calls, `transferFetch` for bulk request
 * bodies (upload chunks) and `downloadFetch` for downloads. Give it to `createHttpClient`.
 */
export interface Transport {
  fetch?: typeof globalThis.fetch | undefined;
  transferFetch?: typeof globalThis.fetch | undefined;
  downloadFetch?: typeof globalThis.fetch | undefined;
}

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'] as const;

let proxyAgent: EnvHttpProxyAgent | undefined;

/**
 * The undici dispatcher for the proxy the environment names (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`, in upper
 * or lower case), or undefined when none is set. One agent serves the whole process.
 */
export function proxyDispatcher(): EnvHttpProxyAgent | undefined {
  if (readFirstEnv(PROXY_VARIABLES) === undefined) return undefined;
  proxyAgent ??= new EnvHttpProxyAgent();
  return proxyAgent;
}

/**
 * The transport of every client's Node entry point. API calls use the global `fetch` (so that msw and other
 * in-process mocks still see them) with the environment's proxy, when one is set; upload chunks and downloads
 * go over undici directly. A caller's own `fetch` replaces all three.
 */
export function nodeTransport(fetch?: typeof globalThis.fetch): Transport {
  if (fetch) return { fetch };
  const dispatcher = proxyDispatcher();
  return {
    ...(dispatcher
      ? {
          fetch: (input, init) =>
            globalThis.fetch(input, { ...init, dispatcher } as RequestInit & { dispatcher: unknown }),
        }
      : {}),
    transferFetch: nodeTransferFetch,
    downloadFetch: nodeDownloadFetch,
  };
}
