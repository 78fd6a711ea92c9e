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

// Plain sockets read into regions of 1 MiB instead of Node's fresh 64 KiB buffer per read: a fast transfer then
// arrives in far fewer pieces (and undici parser calls). A region takes one read; the piece it holds is pushed to
// the socket as a view of it. A region is used again only once every byte read into it was handed to a consumer
// that is done with it (`releasePiece`, from a raw download's sink, which hashes and writes each piece before it
// returns): a long download then cycles through a few regions instead of leaving one to the garbage collector
// per read, which cost about 60 MB of peak memory per transfer. Pieces that reach anyone else (a web stream,
// undici's own copies, the bytes of headers and chunk framing) are never released: their regions are simply
// collected.
const READ_REGION = 1024 * 1024;
/** Free regions kept for reuse at the most. */
const MAX_FREE_REGIONS = 8;

interface Region {
  /** Bytes read into it (one read). */
  read: number;
  /** Bytes of it that consumers are done with. */
  released: number;
}

const regions = new WeakMap<ArrayBufferLike, Region>();
const freeRegions: Buffer[] = [];

/**
 * The region a socket reads into next. Node asks for it when the socket is made and again right after each read
 * it reported: the socket owns it until its next read.
 */
function takeRegion(): Buffer {
  const region = freeRegions.pop() ?? Buffer.allocUnsafeSlow(READ_REGION);
  regions.set(region.buffer, { read: 0, released: 0 });
  return region;
}

/**
 * Says that a consumer is done with `piece` (written, hashed, never kept): when that was the last of the bytes read
 * into its region, the region is read into again. Pieces from elsewhere are ignored.
 */
export function releasePiece(piece: Uint8Array): void {
  const region = regions.get(piece.buffer);
  if (!region || region.read === 0) return;
  region.released += piece.byteLength;
  if (region.released !== region.read) return;
  regions.delete(piece.buffer);
  if (freeRegions.length < MAX_FREE_REGIONS) freeRegions.push(Buffer.from(piece.buffer, 0, READ_REGION));
}

// undici hands its connect options on to net.connect (and tls.connect, which has no `onread`), whose option
// `onread` its type does not list.
const AGENT_OPTIONS: Agent.Options = {
  connect: {
    onread: {
      buffer: takeRegion,
      callback(this: Readable, n: number, region: Uint8Array): boolean {
        const state = regions.get(region.buffer);
        if (state) state.read = n;
        return this.push(Buffer.from(region.buffer, region.byteOffset, n));
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
