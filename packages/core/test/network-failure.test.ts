import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionError } from '../src/errors.js';
import { createHttpClient } from '../src/http/client.js';
import { describeNetworkFailure, NOT_SENT_FAILURES } from '../src/http/network-failure.js';
import { registerSecret } from '../src/redact.js';
import { suggestSimilar } from '../src/suggest.js';

/** What the global fetch throws: `TypeError: fetch failed` caused by the system's error. */
function fetchFailed(cause: Error & Record<string, unknown>): TypeError {
  return new TypeError('fetch failed', { cause });
}

function systemError(message: string, fields: Record<string, unknown>): Error & Record<string, unknown> {
  return Object.assign(new Error(message), fields);
}

const icsd = new URL('https://icsd.fiz-karlsruhe.de/ws/auth/login');

describe('describeNetworkFailure', () => {
  it('names the host and a failed DNS lookup, with the base-URL setting as the hint', () => {
    const f = describeNetworkFailure(
      fetchFailed(
        systemError('getaddrinfo ENOTFOUND icsd.fiz-karlsruhe.de', {
          code: 'ENOTFOUND',
          syscall: 'getaddrinfo',
          hostname: 'icsd.fiz-karlsruhe.de',
        }),
      ),
      icsd,
      'ICSD_BASE_URL',
    );
    expect(f?.kind).toBe('dns');
    expect(f?.message).toBe('could not reach icsd.fiz-karlsruhe.de (DNS lookup failed; ENOTFOUND)');
    expect(f?.hint).toBe('Check the network or ICSD_BASE_URL');
    expect(f?.viaProxy).toBe(false);
  });

  it('tells a proxy that cannot be found or reached from the service', () => {
    const dns = describeNetworkFailure(
      fetchFailed(
        systemError('getaddrinfo ENOTFOUND proxy.corp', { code: 'ENOTFOUND', hostname: 'proxy.corp' }),
      ),
      icsd,
      'ICSD_BASE_URL',
    );
    expect(dns?.kind).toBe('proxy');
    expect(dns?.message).toContain('could not reach the proxy proxy.corp');
    expect(dns?.hint).toContain('HTTPS_PROXY');
    const refused = describeNetworkFailure(
      fetchFailed(systemError('connect ECONNREFUSED 10.0.0.1:3128', { code: 'ECONNREFUSED', port: 3128 })),
      icsd,
    );
    expect(refused?.kind).toBe('proxy');
    expect(refused?.message).toContain('port 3128');
  });

  it("reads a proxy's refusal of the tunnel, without quoting the proxy URL's credentials", () => {
    registerSecret('hunter2-proxy-secret');
    const tunnel = new Error('Request was cancelled.', {
      cause: Object.assign(new Error('Proxy response (407) !== 200 when HTTP Tunneling'), {
        code: 'UND_ERR_ABORTED',
      }),
    });
    const f = describeNetworkFailure(fetchFailed(tunnel as Error & Record<string, unknown>), icsd);
    expect(f?.kind).toBe('proxy');
    expect(f?.message).toBe(
      'the proxy refused to connect to icsd.fiz-karlsruhe.de (it answered 407: proxy authentication required)',
    );
    expect(`${f?.message} ${f?.hint}`).not.toContain('hunter2');
  });

  it.each([
    ['ECONNREFUSED', 'refused', 'connection refused: nothing listens on port 443; ECONNREFUSED'],
    ['EHOSTUNREACH', 'unreachable', 'no route to it'],
    ['ETIMEDOUT', 'connect-timeout', 'the connection timed out'],
    ['UND_ERR_CONNECT_TIMEOUT', 'connect-timeout', 'the connection timed out'],
    ['CERT_HAS_EXPIRED', 'certificate', 'its certificate has expired'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'certificate', 'another host name'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls', 'TLS handshake'],
    ['ECONNRESET', 'reset', 'was reset'],
    ['UND_ERR_SOCKET', 'closed', 'closed the connection'],
  ])('%s is a "%s" failure', (code, kind, words) => {
    const f = describeNetworkFailure(
      fetchFailed(systemError(`x ${code}`, { code, port: 443 })),
      icsd,
      'ICSD_BASE_URL',
    );
    expect(f?.kind).toBe(kind);
    expect(f?.message).toContain(words);
    expect(f?.message).toContain('icsd.fiz-karlsruhe.de');
  });

  it('knows which failures never reached the server', () => {
    expect(NOT_SENT_FAILURES.has('dns')).toBe(true);
    expect(NOT_SENT_FAILURES.has('certificate')).toBe(true);
    expect(NOT_SENT_FAILURES.has('reset')).toBe(false);
    expect(NOT_SENT_FAILURES.has('closed')).toBe(false);
  });

  it('leaves an unknown failure to the general message', () => {
    expect(describeNetworkFailure(new TypeError('fetch failed'), icsd)).toBeUndefined();
  });
});

describe('a client that cannot connect (real sockets)', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  async function listen(server: http.Server | https.Server): Promise<number> {
    const sockets = new Set<Socket>();
    server.on('connection', (s: Socket) => {
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
    return (server.address() as AddressInfo).port;
  }

  it('a refused connection names host and port, and the base-URL setting', async () => {
    const server = http.createServer();
    const port = await listen(server);
    await closers.pop()?.();
    const client = createHttpClient({
      baseUrl: `http://127.0.0.1:${port}/api/v2`,
      service: 'crucible',
      baseUrlSetting: 'CRUCIBLE_API_URL',
      maxRetries: 0,
    });
    const error = await client.request('account').catch((e: unknown) => e);
    expect(ConnectionError.isInstance(error)).toBe(true);
    const e = error as ConnectionError;
    expect(e.message).toBe(
      `crucible: GET /api/v2/account: could not reach 127.0.0.1:${port} (connection refused: nothing ` +
        `listens on port ${port}; ECONNREFUSED). Check that the service is running, and CRUCIBLE_API_URL`,
    );
    expect(e.failure).toBe('refused');
    expect(e.host).toBe(`127.0.0.1:${port}`);
    expect(e.toJSON()).toMatchObject({ failure: 'refused', status: 0 });
  });

  it('a certificate nobody here trusts says so, and how to trust a proxy that inspects TLS', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sciport-tls-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
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
    const server = https.createServer(
      { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') },
      (_req, res) => res.end('{}'),
    );
    const port = await listen(server);
    const client = createHttpClient({
      baseUrl: `https://127.0.0.1:${port}/ws`,
      service: 'icsd',
      baseUrlSetting: 'ICSD_BASE_URL',
      maxRetries: 0,
    });
    const error = (await client.request('auth/login').catch((e: unknown) => e)) as ConnectionError;
    expect(error.failure).toBe('certificate');
    expect(error.message).toContain(`icsd: GET /ws/auth/login: did not trust 127.0.0.1:${port}`);
    expect(error.message).toContain('self-signed');
    expect(error.hint).toContain('NODE_EXTRA_CA_CERTS');
  });
});

describe('suggestSimilar', () => {
  const keys = ['icsd.baseUrl', 'icsd.username', 'icsd.password', 'crucible.apiKey', 'crucible.apiUrl'];

  it('suggests the nearest keys, best first, ignoring case', () => {
    expect(suggestSimilar('icsd.usrname', keys)).toEqual(['icsd.username']);
    expect(suggestSimilar('crucible.apikey', keys)).toEqual(['crucible.apiKey']);
    expect(suggestSimilar('username', keys)).toEqual(['icsd.username']);
  });

  it('suggests nothing for a word far from every candidate, or for an exact match', () => {
    expect(suggestSimilar('foo', keys)).toEqual([]);
    expect(suggestSimilar('icsd.username', keys)).toEqual([]);
  });
});
