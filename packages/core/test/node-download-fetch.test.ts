import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getActiveResourcesInfo } from 'node:process';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AbortError, ConnectionError, NotFoundError, TimeoutError } from '../src/errors.js';
import { createHttpClient } from '../src/http/client.js';
import { rawBodyOf } from '../src/http/raw-body.js';
import { nodeDownloadFetch } from '../src/node/download-fetch.js';
import { downloadToFile } from '../src/node/files/download.js';
import { until } from './helpers/until.js';

const blob = randomBytes(3 * 1024 * 1024 + 17);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
const closers: Array<() => Promise<void>> = [];
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-raw-'));
});
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
  await rm(dir, { recursive: true, force: true });
});

async function serve(
  handler: Handler,
  tls?: { key: string; cert: string },
): Promise<{ url: string; seen: http.IncomingHttpHeaders[] }> {
  const seen: http.IncomingHttpHeaders[] = [];
  const sockets = new Set<Socket>();
  const wrapped: Handler = (req, res) => {
    seen.push(req.headers);
    handler(req, res);
  };
  const server = tls ? https.createServer(tls, wrapped) : http.createServer(wrapped);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, seen };
}

/** Everything a raw body hands over, copied (the pieces live in a reused buffer). */
async function drainRaw(response: Response): Promise<Buffer> {
  const raw = rawBodyOf(response);
  if (!raw) throw new Error('no raw body');
  const pieces: Buffer[] = [];
  await raw.pipe((chunk) => pieces.push(Buffer.from(chunk)));
  return Buffer.concat(pieces);
}

/** Announces the whole blob, sends 1000 bytes of it and closes the connection. */
function cutShort(res: http.ServerResponse): void {
  const socket = res.socket as Socket;
  socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${blob.length}\r\n\r\n`);
  socket.end(blob.subarray(0, 1000));
}

describe('nodeDownloadFetch', () => {
  it('reads a Content-Length body through the raw pipe and through the web stream alike', async () => {
    const { url, seen } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/zip', 'content-length': blob.length });
      res.end(blob);
    });
    const a = await nodeDownloadFetch(`${url}/a?x=1`, { headers: { authorization: 'Bearer k' } });
    expect(a.status).toBe(200);
    expect(a.headers.get('content-type')).toBe('application/zip');
    expect(a.url).toBe(`${url}/a?x=1`);
    expect(sha(await drainRaw(a))).toBe(sha(blob));
    const b = await nodeDownloadFetch(`${url}/b`);
    expect(sha(new Uint8Array(await b.arrayBuffer()))).toBe(sha(blob));
    expect(rawBodyOf(b)).toBeUndefined();
    expect(seen[0]?.authorization).toBe('Bearer k');
    expect(seen[0]?.['accept-encoding']).toBe('identity');
    expect(seen[0]?.host).toBe(new URL(url).host);
  });

  it('decodes chunked and close-delimited bodies, and bodies after an informational answer', async () => {
    const { url } = await serve((req, res) => {
      if (req.url === '/chunked') {
        res.writeHead(200, { 'content-type': 'x/y' });
        let at = 0;
        const step = () => {
          if (at >= blob.length) return res.end();
          const size = 1 + Math.floor(Math.random() * 200_000);
          res.write(blob.subarray(at, at + size));
          at += size;
          setImmediate(step);
        };
        step();
        return;
      }
      if (req.url === '/close') {
        const socket = res.socket as Socket;
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: x/y\r\nconnection: close\r\n\r\n');
        socket.end(blob);
        return;
      }
      const socket = res.socket as Socket;
      // An informational answer before the final one: 103 Early Hints is skipped; a 100 Continue nobody asked
      // for (no `Expect` is sent) is refused by undici, as by the global fetch.
      socket.write(
        req.url === '/continue' ? 'HTTP/1.1 100 Continue\r\n\r\n' : 'HTTP/1.1 103 Early Hints\r\n\r\n',
      );
      socket.end(`HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello`);
    });
    expect(sha(await drainRaw(await nodeDownloadFetch(`${url}/chunked`)))).toBe(sha(blob));
    const viaStream = await nodeDownloadFetch(`${url}/chunked`);
    expect(sha(new Uint8Array(await viaStream.arrayBuffer()))).toBe(sha(blob));
    expect(sha(await drainRaw(await nodeDownloadFetch(`${url}/close`)))).toBe(sha(blob));
    expect(await (await nodeDownloadFetch(`${url}/hints`)).text()).toBe('hello');
    await expect(nodeDownloadFetch(`${url}/continue`)).rejects.toThrow(TypeError);
  });

  it('reports a body cut short, and a connection that fails, as fetch does', async () => {
    const { url } = await serve((req, res) => {
      if (req.url === '/short') {
        cutShort(res);
        return;
      }
      res.socket?.destroy();
    });
    const short = await nodeDownloadFetch(`${url}/short`);
    await expect(drainRaw(short)).rejects.toThrow(/cut short/);
    await expect((await nodeDownloadFetch(`${url}/short`)).arrayBuffer()).rejects.toThrow(/cut short/);
    await expect(nodeDownloadFetch(`${url}/reset`)).rejects.toThrow(TypeError);
    await expect(nodeDownloadFetch('http://127.0.0.1:1/')).rejects.toThrow(TypeError);
  });

  it('decodes a compressed body on the web stream, and gives HEAD and 204 no body', async () => {
    const gz = gzipSync(blob);
    const { url } = await serve((req, res) => {
      if (req.url === '/empty') {
        res.writeHead(204);
        res.end();
        return;
      }
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': gz.length });
      res.end(req.method === 'HEAD' ? undefined : gz);
    });
    const zipped = await nodeDownloadFetch(`${url}/gz`);
    expect(rawBodyOf(zipped)).toBeUndefined();
    expect(zipped.headers.get('content-length')).toBeNull();
    expect(sha(new Uint8Array(await zipped.arrayBuffer()))).toBe(sha(blob));
    const head = await nodeDownloadFetch(`${url}/gz`, { method: 'HEAD' });
    expect(head.body).toBeNull();
    expect((await nodeDownloadFetch(`${url}/empty`)).status).toBe(204);
  });

  it('speaks TLS, checking the certificate against the trusted authorities', async () => {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1'].concat([
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ]),
      { stdio: 'ignore', timeout: 20_000 },
    );
    const { url } = await serve(
      (_req, res) => {
        res.writeHead(200, { 'content-length': blob.length });
        res.end(blob);
      },
      { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') },
    );
    // Not signed by a trusted authority: refused, as by any client that checks.
    await expect(nodeDownloadFetch(`${url}/x`)).rejects.toThrow(TypeError);
    // Trusted (the built copy in a process that trusts the certificate): the bytes arrive whole.
    const dist = new URL('../dist/node.js', import.meta.url).href;
    const script = `
      const { nodeDownloadFetch } = await import(${JSON.stringify(dist)});
      const { createHash } = await import('node:crypto');
      const r = await nodeDownloadFetch(${JSON.stringify(`${url}/x`)});
      const h = createHash('sha256');
      await r[Symbol.for('@sciport/core.rawBody')].pipe((c) => h.update(c));
      console.log(h.digest('hex'));`;
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--input-type=module', '-e', script],
        { env: { ...process.env, NODE_EXTRA_CA_CERTS: cert }, timeout: 20_000 },
        (error, stdout) => (error ? reject(error) : resolve(stdout.trim())),
      );
    });
    expect(out).toBe(sha(blob));
  }, 40_000);

  it('stops at once on abort, before and during the body', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': blob.length * 10 });
      res.write(blob);
      // never finishes
    });
    const controller = new AbortController();
    const response = await nodeDownloadFetch(`${url}/x`, { signal: controller.signal });
    const raw = rawBodyOf(response);
    let got = 0;
    const piping = raw?.pipe((c) => {
      got += c.byteLength;
      if (got >= blob.length) controller.abort(new Error('enough'));
    });
    await expect(piping).rejects.toThrow('enough');
    const early = new AbortController();
    early.abort(new Error('before'));
    await expect(nodeDownloadFetch(`${url}/x`, { signal: early.signal })).rejects.toThrow('before');
  });
});

describe('nodeDownloadFetch cleans up', () => {
  const listeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length;

  it('leaves no abort listener on the request or pipe signal, however the exchange ends', async () => {
    const { url } = await serve((req, res) => {
      if (req.url === '/short') {
        cutShort(res);
        return;
      }
      if (req.url === '/empty') {
        res.writeHead(204);
        res.end();
        return;
      }
      res.writeHead(200, { 'content-length': blob.length });
      res.end(blob);
    });
    const ends: Array<[string, (signal: AbortSignal, pipeSignal: AbortSignal) => Promise<unknown>]> = [
      [
        'a raw pipe',
        async (signal, pipeSignal) => {
          const raw = rawBodyOf(await nodeDownloadFetch(`${url}/ok`, { signal }));
          await raw?.pipe(() => undefined, { signal: pipeSignal });
        },
      ],
      ['a web stream', async (signal) => (await nodeDownloadFetch(`${url}/ok`, { signal })).arrayBuffer()],
      [
        'a body cut short',
        async (signal, pipeSignal) => {
          const raw = rawBodyOf(await nodeDownloadFetch(`${url}/short`, { signal }));
          await raw?.pipe(() => undefined, { signal: pipeSignal }).catch(() => undefined);
        },
      ],
      [
        'a sink that throws',
        async (signal, pipeSignal) => {
          const raw = rawBodyOf(await nodeDownloadFetch(`${url}/ok`, { signal }));
          await raw
            ?.pipe(
              () => {
                throw new Error('disk full');
              },
              { signal: pipeSignal },
            )
            .catch(() => undefined);
        },
      ],
      [
        'a cancelled stream',
        async (signal) => (await nodeDownloadFetch(`${url}/ok`, { signal })).body?.cancel(),
      ],
      ['a 204', async (signal) => nodeDownloadFetch(`${url}/empty`, { signal })],
      [
        'a refused connection',
        async (signal) => nodeDownloadFetch('http://127.0.0.1:1/', { signal }).catch(() => undefined),
      ],
    ];
    for (const [name, end] of ends) {
      const request = new AbortController();
      const pipe = new AbortController();
      await end(request.signal, pipe.signal);
      expect([name, listeners(request.signal), listeners(pipe.signal)]).toEqual([name, 0, 0]);
    }
  });

  it('through the HTTP client, leaves no listener and no timer after a download or a failed one', async () => {
    const { url } = await serve((req, res) => {
      if (req.url === '/short') {
        cutShort(res);
        return;
      }
      res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-length': blob.length });
      res.end(blob);
    });
    const http = createHttpClient({
      baseUrl: url,
      service: 'storage',
      downloadFetch: nodeDownloadFetch,
      timeout: 60_000,
      maxRetries: 0,
    });
    const timers = () => getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    for (const file of ['ok', 'short', 'missing']) {
      const controller = new AbortController();
      await downloadToFile(
        ({ signal }) => http.stream(`/${file}`, { signal }),
        path.join(dir, `${file}.bin`),
        { signal: controller.signal, maxResumes: 0 },
      ).catch(() => undefined);
      expect([file, listeners(controller.signal)]).toEqual([file, 0]);
    }
    expect(timers()).toBeLessThanOrEqual(before);
  });
});

describe('downloads through the HTTP client over nodeDownloadFetch', () => {
  const client = (
    url: string,
    extra: Parameters<typeof createHttpClient>[0] extends infer O ? Partial<O> : never = {},
  ) =>
    createHttpClient({
      baseUrl: url,
      service: 'storage',
      downloadFetch: nodeDownloadFetch,
      retry: { baseDelayMs: 1, maxDelayMs: 5 },
      ...extra,
    });

  it('writes a byte-identical file, resuming a cut-short transfer with Range', async () => {
    let calls = 0;
    const { url, seen } = await serve((req, res) => {
      calls++;
      const range = /bytes=(\d+)-/.exec(req.headers.range ?? '');
      const start = range ? Number(range[1]) : 0;
      const part = blob.subarray(start);
      const socket = res.socket as Socket;
      const head = range
        ? `HTTP/1.1 206 Partial Content\r\ncontent-range: bytes ${start}-${blob.length - 1}/${blob.length}\r\n`
        : 'HTTP/1.1 200 OK\r\n';
      socket.write(`${head}content-length: ${part.length}\r\n\r\n`);
      // The first answer stops half-way.
      if (calls === 1) socket.end(part.subarray(0, Math.floor(part.length / 2)));
      else socket.end(part);
    });
    const http = client(url, { headers: { authorization: 'Bearer secret' } });
    const target = path.join(dir, 'out.bin');
    const result = await downloadToFile(
      ({ offset, signal }) =>
        http.stream('/file', { headers: offset ? { range: `bytes=${offset}-` } : {}, signal }),
      target,
      { sha256: sha(blob) },
    );
    expect(result.resumes).toBe(1);
    expect((await readFile(target)).equals(blob)).toBe(true);
    expect(seen[1]?.range).toBe(`bytes=${Math.floor(blob.length / 2)}-`);
    expect(await readdir(dir)).toEqual(['out.bin']);
  });

  it('keeps the order of small and large pieces as they arrive', async () => {
    // Small pieces are gathered before they are written, large ones go out at once: in order, whatever the mix.
    const sizes = Array.from({ length: 24 }, (_, i) => (i % 3 === 2 ? 400_000 : 3_000 + i * 500));
    const total = sizes.reduce((a, b) => a + b, 0);
    const bytes = randomBytes(total);
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': total });
      let at = 0;
      let i = 0;
      const next = () => {
        if (i === sizes.length) return res.end();
        const size = sizes[i++] as number;
        res.write(bytes.subarray(at, at + size));
        at += size;
        // A pause between pieces, so that each arrives in a read of its own.
        setTimeout(next, 15);
      };
      next();
    });
    const http = client(url);
    const target = path.join(dir, 'mixed.bin');
    const result = await downloadToFile(() => http.stream('/mixed'), target, { sha256: sha(bytes) });
    expect(result.bytes).toBe(total);
    expect((await readFile(target)).equals(bytes)).toBe(true);
  });

  it('keeps concurrent downloads apart while it reads into the same memory again', async () => {
    // The transport reads into a few regions it reuses once a raw consumer is done with their bytes, while web
    // streams keep theirs: three files at once, two raw and one through the web stream, must arrive intact.
    const files = [
      randomBytes(6 * 1024 * 1024 + 3),
      randomBytes(5 * 1024 * 1024 + 11),
      randomBytes(4 * 1024 * 1024),
    ];
    const { url } = await serve((req, res) => {
      const bytes = files[Number(req.url?.slice(1))] as Buffer;
      res.writeHead(200, { 'content-length': bytes.length });
      let at = 0;
      const next = () => {
        if (at >= bytes.length) return res.end();
        // Uneven pieces, so that reads of the three responses interleave at different sizes.
        const size = 20_000 + ((at * 7919) % 700_000);
        const ok = res.write(bytes.subarray(at, at + size));
        at += size;
        if (ok) setImmediate(next);
        else res.once('drain', next);
      };
      next();
    });
    const http = client(url);
    const [a, b, c] = await Promise.all([
      downloadToFile(() => http.stream('/0'), path.join(dir, '0.bin'), { sha256: sha(files[0] as Buffer) }),
      downloadToFile(() => http.stream('/1'), path.join(dir, '1.bin'), { sha256: sha(files[1] as Buffer) }),
      (async () => {
        const response = await nodeDownloadFetch(`${url}/2`);
        const kept: Uint8Array[] = [];
        for await (const piece of response.body as unknown as AsyncIterable<Uint8Array>) kept.push(piece);
        return Buffer.concat(kept);
      })(),
    ]);
    expect(a.bytes).toBe(files[0]?.length);
    expect(b.bytes).toBe(files[1]?.length);
    expect((await readFile(path.join(dir, '0.bin'))).equals(files[0] as Buffer)).toBe(true);
    expect((await readFile(path.join(dir, '1.bin'))).equals(files[1] as Buffer)).toBe(true);
    // The web stream's pieces were kept until the end, untouched by the raw downloads' reuse of memory.
    expect(c.equals(files[2] as Buffer)).toBe(true);
  });

  it('maps statuses, idle timeouts and aborts to the usual errors, leaving no file behind', async () => {
    const { url, seen } = await serve((req, res) => {
      if (req.url === '/missing') {
        res.writeHead(404, { 'content-type': 'application/xml' });
        res.end('<Error><Code>NoSuchKey</Code></Error>');
        return;
      }
      if (req.url === '/moved') {
        res.writeHead(302, { location: '/file' });
        res.end();
        return;
      }
      if (req.url === '/file') {
        res.writeHead(200, { 'content-length': 5 });
        res.end('hello');
        return;
      }
      res.writeHead(200, { 'content-length': blob.length });
      res.write(blob.subarray(0, 100)); // then silence
    });
    const http = client(url, { timeout: 300, maxRetries: 0 });
    const target = path.join(dir, 'x.bin');
    const missing = await downloadToFile(() => http.stream('/missing'), target).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as Error).message).toMatch(/NoSuchKey/);
    const moved = await downloadToFile(() => http.stream('/moved'), target);
    expect(await readFile(moved.path, 'utf8')).toBe('hello');
    const stalled = await downloadToFile(() => http.stream('/stall'), path.join(dir, 's.bin'), {
      maxResumes: 0,
    }).catch((e: unknown) => e);
    expect(stalled).toBeInstanceOf(ConnectionError);
    expect(TimeoutError.isInstance(stalled)).toBe(true);
    const controller = new AbortController();
    const slow = client(url, { timeout: false });
    const arrived = seen.length;
    const aborted = downloadToFile(
      () => slow.stream('/stall', { signal: controller.signal }),
      path.join(dir, 'a.bin'),
      { signal: controller.signal },
    );
    // Aborted once the server has the request (and has sent the start of a body that stalls).
    await until(() => seen.length > arrived);
    controller.abort();
    await expect(aborted).rejects.toThrow(AbortError);
    expect(await readdir(dir)).toEqual(['x.bin']);
  });
});
