import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { createHttpClient } from '../src/http/client.js';
import type { HttpClientOptions } from '../src/http/types.js';
import { resetDispatchers } from '../src/node/dispatcher.js';
import { downloadToFile } from '../src/node/files/download.js';
import { nodeTransport } from '../src/node/transport.js';

const file = randomBytes(1024 * 1024 + 5);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const closers: Array<() => Promise<void>> = [];
let dir: string;

/** Stops `server`, ending the connections it still holds (keep-alive, tunnels). */
function closing(server: http.Server): () => Promise<void> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

async function listen(server: http.Server): Promise<string> {
  closers.push(closing(server));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A service: a JSON API call, a file to download, and an upload endpoint answering the SHA-256 it received. */
async function service(): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.url === '/api/thing') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 7 }));
      return;
    }
    if (req.url === '/file') {
      res.writeHead(200, { 'content-length': file.length });
      res.end(file);
      return;
    }
    const hash = createHash('sha256');
    req.on('data', (c: Buffer) => hash.update(c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ sha: hash.digest('hex') }));
    });
  });
  return { url: await listen(server), seen };
}

/**
 * A forward proxy on 127.0.0.1 that counts the requests it forwards: absolute-URI requests (`GET http://…`),
 * and requests inside `CONNECT` tunnels (which undici's ProxyAgent opens by default), read by a second HTTP
 * server that the tunnel's socket is handed to, so that every request on a kept-alive tunnel counts.
 */
async function proxy(): Promise<{ url: string; forwarded: string[] }> {
  const forwarded: string[] = [];
  const forward = (req: http.IncomingMessage, res: http.ServerResponse, target: URL) => {
    forwarded.push(`${req.method} ${target.host}${target.pathname}`);
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    const upstream = http.request(target, { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };
  // Inside a tunnel the request line has a path only: the target is the Host the client sent.
  const tunnelled = http.createServer((req, res) =>
    forward(req, res, new URL(req.url ?? '/', `http://${req.headers.host}`)),
  );
  closers.push(closing(tunnelled));
  const server = http.createServer((req, res) => forward(req, res, new URL(req.url ?? '')));
  server.on('connect', (_req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) socket.unshift(head);
    tunnelled.emit('connection', socket);
  });
  return { url: await listen(server), forwarded };
}

/** `nodeTransport()` as client options (the ones it sets). */
function transport(): Pick<HttpClientOptions, 'fetch' | 'transferFetch' | 'downloadFetch'> {
  const { fetch, transferFetch, downloadFetch } = nodeTransport();
  return {
    ...(fetch ? { fetch } : {}),
    ...(transferFetch ? { transferFetch } : {}),
    ...(downloadFetch ? { downloadFetch } : {}),
  };
}

function stubProxyEnv(values: { HTTP_PROXY?: string; NO_PROXY?: string }) {
  for (const name of ['HTTPS_PROXY', 'https_proxy', 'http_proxy', 'no_proxy']) vi.stubEnv(name, undefined);
  vi.stubEnv('HTTP_PROXY', values.HTTP_PROXY);
  vi.stubEnv('NO_PROXY', values.NO_PROXY);
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-proxy-'));
  await resetDispatchers();
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await resetDispatchers();
  await Promise.all(closers.splice(0).map((c) => c()));
  await rm(dir, { recursive: true, force: true });
});

describe('proxies from the environment', () => {
  it('sends API calls, downloads and upload chunks through HTTP_PROXY, and none to a host in NO_PROXY', async () => {
    const near = await service();
    const far = await service();
    const { url: proxyUrl, forwarded } = await proxy();
    stubProxyEnv({ HTTP_PROXY: proxyUrl, NO_PROXY: new URL(near.url).host });

    /** One API call, one download and one upload chunk, each checked end to end. */
    const exchange = async (base: string, counts: number[]) => {
      const client = createHttpClient({
        baseUrl: base,
        service: 'storage',
        maxRetries: 0,
        ...transport(),
      });
      await expect(client.json('api/thing', z.object({ id: z.number() }))).resolves.toEqual({ id: 7 });
      counts.push(forwarded.length);
      const target = path.join(dir, `${new URL(base).port}.bin`);
      await downloadToFile(({ signal }) => client.stream('file', { signal }), target, { sha256: sha(file) });
      expect((await readFile(target)).equals(file)).toBe(true);
      counts.push(forwarded.length);
      const chunk = randomBytes(200_000); // large enough to go through the transfer fetch
      const answer = await client.request('upload', { method: 'PUT', body: chunk });
      expect(answer.json()).toEqual({ sha: sha(chunk) });
      counts.push(forwarded.length);
    };

    const through: number[] = [];
    await exchange(far.url, through);
    expect(through).toEqual([1, 2, 3]);
    const host = new URL(far.url).host;
    expect(forwarded).toEqual([`GET ${host}/api/thing`, `GET ${host}/file`, `PUT ${host}/upload`]);
    expect(far.seen).toEqual(['GET /api/thing', 'GET /file', 'PUT /upload']);

    const direct: number[] = [];
    await exchange(near.url, direct);
    expect(direct).toEqual([3, 3, 3]);
    expect(near.seen).toEqual(['GET /api/thing', 'GET /file', 'PUT /upload']);
  });

  it('builds the agent anew when the proxy variables change, and uses none without them', async () => {
    const svc = await service();
    const first = await proxy();
    const second = await proxy();
    const client = createHttpClient({
      baseUrl: svc.url,
      service: 'storage',
      maxRetries: 0,
      ...transport(),
    });
    const call = () => client.json('api/thing', z.object({ id: z.number() }));
    stubProxyEnv({ HTTP_PROXY: first.url });
    await call();
    stubProxyEnv({ HTTP_PROXY: second.url });
    await call();
    stubProxyEnv({});
    await call();
    expect([first.forwarded.length, second.forwarded.length, svc.seen.length]).toEqual([1, 1, 3]);
  });
});
