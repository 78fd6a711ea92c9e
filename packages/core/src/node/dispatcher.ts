import http from 'node:http';
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher, EnvHttpProxyAgent } from 'undici';
import { readEnv } from '../env.js';

/**
 * The undici dispatchers of the Node transports, one set per process: the environment's proxy agent
 * (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`, either case) when a proxy is set, a plain keep-alive `Agent`
 * otherwise. API calls (the global fetch with `dispatcher`), downloads and upload chunks all go through the same
 * one, so that a proxy applies to all of them alike.
 */

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'] as const;
// undici's EnvHttpProxyAgent reads the proxy variables when it is built (NO_PROXY at each request): an agent is
// kept for as long as they have the values it was built with.
const ENV_KEY_VARIABLES = [...PROXY_VARIABLES, 'NO_PROXY', 'no_proxy'] as const;

// Plain sockets read into regions of 1 MiB instead of Node's fresh 64 KiB buffer per read: a fast transfer
// then arrives in a sixteenth of the pieces (and of undici's parser calls). Each piece is pushed to the socket
// as a view of its region, which is never written again: undici and its consumers own what they were given.
const READ_REGION = 1024 * 1024;
const MIN_READ = 64 * 1024;
let nextRegion: Buffer | undefined;
// undici hands its connect options on to net.connect (and tls.connect, which has no `onread`), whose option
// `onread` its type does not list.
const AGENT_OPTIONS: Agent.Options = {
  connect: {
    onread: {
      // Called right after `callback` on the same socket (and once when it is made): the rest of the region
      // that socket just read into, or a new one.
      buffer: () => {
        const region = nextRegion ?? Buffer.allocUnsafeSlow(READ_REGION);
        nextRegion = undefined;
        return region;
      },
      callback(this: Readable, n: number, region: Uint8Array): boolean {
        const piece = Buffer.from(region.buffer, region.byteOffset, n);
        nextRegion =
          region.byteLength - n >= MIN_READ
            ? Buffer.from(region.buffer, region.byteOffset + n, region.byteLength - n)
            : undefined;
        return this.push(piece);
      },
    },
  } as NonNullable<Agent.Options['connect']>,
};

let proxy: { key: string; agent: EnvHttpProxyAgent } | undefined;
let direct: Agent | undefined;

/**
 * The undici dispatcher for the proxy the environment names (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`, in upper
 * or lower case), or undefined when none is set. One agent serves the whole process while the variables keep
 * their values.
 */
export function proxyDispatcher(): EnvHttpProxyAgent | undefined {
  if (PROXY_VARIABLES.every((name) => readEnv(name) === undefined)) return undefined;
  const key = ENV_KEY_VARIABLES.map((name) => readEnv(name) ?? '').join('\n');
  if (proxy?.key !== key) {
    // Requests still under way on the previous agent finish there; its idle connections close.
    proxy?.agent.close().catch(() => undefined);
    proxy = { key, agent: new EnvHttpProxyAgent(AGENT_OPTIONS) };
  }
  return proxy.agent;
}

/** The dispatcher of downloads and upload chunks: the environment's proxy agent, or a plain shared `Agent`. */
export function transferDispatcher(): Dispatcher {
  const viaProxy = proxyDispatcher();
  if (viaProxy) return viaProxy;
  direct ??= new Agent(AGENT_OPTIONS);
  return direct;
}

/**
 * Forgets the process-wide agents (closing their connections), so that the next request builds them anew from
 * the environment. For tests that change the proxy variables.
 * @internal
 */
export async function resetDispatchers(): Promise<void> {
  const agents = [proxy?.agent, direct];
  proxy = undefined;
  direct = undefined;
  await Promise.all(agents.map((agent) => agent?.destroy().catch(() => undefined)));
}

// Captured at load: a test double that patches `http.request` (msw's interceptors, nock) or the global fetch
// (msw, `vi.stubGlobal`) is honoured by sending the request through the global fetch, which they intercept;
// undici's own dispatchers are invisible to them.
const loadedRequest = http.request;
const loadedFetch = globalThis.fetch;

/** Whether an in-process mock has replaced `http.request` or the global `fetch`. */
export function intercepted(): boolean {
  if (http.request !== loadedRequest || globalThis.fetch !== loadedFetch) return true;
  // msw wraps them in Proxies, whose source reads as native code; Node's own are JavaScript.
  return isNative(http.request) || isNative(globalThis.fetch);
}

function isNative(fn: unknown): boolean {
  return typeof fn === 'function' && /\[native code\]/.test(Function.prototype.toString.call(fn));
}
