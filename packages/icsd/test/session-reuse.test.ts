import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApiError, ServerError } from '@sciport/core';
import { ConfigStore } from '@sciport/core/node';
import {
  createIcsdSimulator,
  type IcsdSimulator,
  type IcsdSimulatorOptions,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  configTokenStore,
  IcsdClient,
  type IcsdClientOptions,
  type IcsdEvent,
  type IcsdTokenStore,
  KEPT_SESSION_MAX_AGE_MS,
  keptSessionKey,
  memoryTokenStore,
} from '../src/index.js';

/** Session reuse across clients (spec §14.6) against the simulator over real sockets. */

const servers: TestServer[] = [];
const clients: IcsdClient[] = [];
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-session-'));
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose().catch(() => undefined)));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

async function serve(
  options: IcsdSimulatorOptions = {},
): Promise<{ sim: IcsdSimulator; server: TestServer }> {
  const sim = createIcsdSimulator({
    entries: 60,
    seed: 5,
    credentials: { demo: 'demo-password', other: 'other-password' },
    ...options,
  });
  const server = await startTestServer({ handlers: sim.handlers });
  servers.push(server);
  return { sim, server };
}

function client(server: TestServer, store: IcsdTokenStore | undefined, options: IcsdClientOptions = {}) {
  const events: IcsdEvent[] = [];
  const c = new IcsdClient({
    baseUrl: `${server.url}/ws`,
    username: 'demo',
    password: 'demo-password',
    maxRetries: 1,
    tokenStore: store,
    onEvent: (e) => events.push(e),
    ...options,
  });
  clients.push(c);
  return { client: c, events };
}

const key = (server: TestServer, username = 'demo') => ({ baseUrl: `${server.url}/ws`, username });
const probes = (server: TestServer) => server.requests.filter((r) => r.path === '/ws/cif/0').length;

describe('a kept session', () => {
  it('is reused by the next client after the probe answers 404, and not logged out on dispose', async () => {
    const { sim, server } = await serve();
    const store = memoryTokenStore();
    const first = client(server, store);
    await first.client.entries.search('O').toArray();
    await first.client.dispose();
    const kept = await store.load(key(server));
    expect(kept?.token).toBeTruthy();
    expect(sim.stats).toMatchObject({ logins: 1, logouts: 0, liveTokens: 1 });

    const second = client(server, store);
    await second.client.entries.search('O').toArray();
    const id = sim.entries[0]!.id;
    expect((await second.client.cifs.get(id)).text).toBe(sim.cif(id));
    await second.client.dispose();
    expect(sim.stats).toMatchObject({ logins: 1, logouts: 0, liveTokens: 1 });
    expect(probes(server)).toBe(1);
    expect(second.events).toContainEqual(expect.objectContaining({ type: 'keptSession', action: 'reuse' }));
    expect((await store.load(key(server)))?.token).toBe(kept?.token);
  });

  it('is forgotten when the probe answers 401, and the new login is kept', async () => {
    const { sim, server } = await serve();
    const store = memoryTokenStore();
    await client(server, store).client.login();
    const old = (await store.load(key(server)))?.token;
    sim.expireTokens();
    const next = client(server, store);
    await next.client.entries.search('O').toArray();
    expect(sim.stats.logins).toBe(2);
    const kept = await store.load(key(server));
    expect(kept?.token).toBeTruthy();
    expect(kept?.token).not.toBe(old);
    expect(next.events).toContainEqual({ type: 'keptSession', action: 'forget', reason: 'unauthorized' });
  });

  it('is kept, and no login made, when the probe answers 503 (it says nothing about the token)', async () => {
    const { sim, server } = await serve();
    const store = memoryTokenStore();
    await client(server, store).client.login();
    const old = (await store.load(key(server)))?.token;
    server.setFaults({ match: { path: '/ws/cif/0' }, failRate: 1, failStatus: 503, retryAfter: 0 });
    const next = client(server, store);
    const error = await next.client.entries
      .search('O')
      .toArray()
      .catch((e: unknown) => e);
    expect(ServerError.isInstance(error)).toBe(true);
    expect(probes(server)).toBe(2); // the first try and one retry (maxRetries 1)
    expect(sim.stats.logins).toBe(1);
    expect((await store.load(key(server)))?.token).toBe(old);
    expect(String((error as Error).message)).not.toContain(old as string);

    // Once the service answers again, the same token is reused.
    server.setFaults(undefined);
    const later = client(server, store);
    await later.client.entries.search('O').toArray();
    expect(sim.stats.logins).toBe(1);
  });

  it('is not probed but replaced by a login 55 minutes after its login time (injected clock)', async () => {
    const { sim, server } = await serve();
    const store = memoryTokenStore();
    const t0 = Date.now();
    let clock = t0;
    const now = () => clock;
    await client(server, store, { now }).client.login();
    const old = await store.load(key(server));
    expect(old?.loginTime).toBe(t0);

    // 54 minutes on: still reused, after the probe.
    clock = t0 + 54 * 60_000;
    await client(server, store, { now }).client.entries.search('O').toArray();
    expect(sim.stats.logins).toBe(1);
    expect(probes(server)).toBe(1);

    // 55 minutes on: a login, no probe; the new token is kept with the new login time.
    clock = t0 + KEPT_SESSION_MAX_AGE_MS;
    await client(server, store, { now }).client.entries.search('O').toArray();
    expect(sim.stats.logins).toBe(2);
    expect(probes(server)).toBe(1);
    const kept = await store.load(key(server));
    expect(kept?.token).not.toBe(old?.token);
    expect(kept?.loginTime).toBe(clock);
  });

  it('meets a 401 during a call: one login, the new token kept, the call retried', async () => {
    const { sim, server } = await serve();
    const store = memoryTokenStore();
    await client(server, store).client.login();
    const { client: c, events } = client(server, store);
    await c.entries.search('O').toArray();
    const old = (await store.load(key(server)))?.token;
    sim.expireTokens();
    const ids = await c.entries.search('O').toArray();
    expect(ids.length).toBeGreaterThan(0);
    expect(sim.stats.logins).toBe(2);
    expect(events.filter((e) => e.type === 'auth' && e.action === 'relogin')).toHaveLength(1);
    const kept = await store.load(key(server));
    expect(kept?.token).toBeTruthy();
    expect(kept?.token).not.toBe(old);
    await c.dispose();
    expect(sim.stats).toMatchObject({ logouts: 0, liveTokens: 1 });
  });

  it('keeps the new token of a quota rotation, and a reused session refused once only rotates', async () => {
    const { sim, server } = await serve({ cifsPerSession: 5 });
    const store = memoryTokenStore();
    const ids = sim.entries.slice(0, 12).map((e) => e.id);
    const first = client(server, store, { cifsPerSession: 5 });
    for await (const _ of first.client.cifs.list(ids.slice(0, 4))) void _;
    await first.client.dispose();
    expect(sim.stats.logins).toBe(1);

    // The kept session has 1 CIF left; the next client does not know and asks for 3 at once.
    const second = client(server, store, { cifsPerSession: 5 });
    const got: number[] = [];
    for await (const cif of second.client.cifs.list(ids.slice(4, 12))) got.push(cif.id);
    expect(got.sort()).toEqual(ids.slice(4, 12).sort());
    expect(sim.stats.quotaRefusals).toBeGreaterThan(0);
    expect(second.events.filter((e) => e.type === 'quota' && e.action === 'lower')).toHaveLength(0);
    expect(sim.stats.logins).toBeGreaterThanOrEqual(2);
    // The last session's token is the kept one, and it is live.
    const kept = await store.load(key(server));
    const lastSent = server.requests.at(-1)?.headers['icsd-auth-token'];
    expect(kept?.token).toBe(lastSent);
    await second.client.dispose();
    expect(sim.stats.liveTokens).toBe(1);
  });
});

describe('a session no longer the kept one', () => {
  it('is logged out on dispose (another process kept a newer one meanwhile)', async () => {
    const { sim, server } = await serve();
    const store = memoryTokenStore();
    const a = client(server, store);
    await a.client.entries.search('O').toArray();
    await store.save({ ...key(server), token: 'a-newer-token-of-another-process', loginTime: Date.now() });
    await a.client.dispose();
    expect(sim.stats.logouts).toBe(1);
    expect((await store.load(key(server)))?.token).toBe('a-newer-token-of-another-process');
  });
});

describe('without a token store', () => {
  it('logs in and out per client, as before', async () => {
    const { sim, server } = await serve();
    const a = client(server, undefined);
    await a.client.entries.search('O').toArray();
    await a.client.dispose();
    const b = client(server, undefined);
    await b.client.entries.search('O').toArray();
    await b.client.dispose();
    expect(sim.stats).toMatchObject({ logins: 2, logouts: 2, liveTokens: 0 });
    expect(probes(server)).toBe(0);
  });
});

describe('logout', () => {
  it('ends and forgets the kept session, even one this client never used', async () => {
    const { sim, server } = await serve();
    const store = memoryTokenStore();
    await client(server, store).client.login();
    const result = await client(server, store).client.logout();
    expect(result).toEqual({ sessions: 1, ended: 1, expired: 0, failed: 0 });
    expect(await store.load(key(server))).toBeUndefined();
    expect(sim.stats).toMatchObject({ logouts: 1, liveTokens: 0 });
    expect(await client(server, store).client.logout()).toEqual({
      sessions: 0,
      ended: 0,
      expired: 0,
      failed: 0,
    });
  });

  it('forgets the kept session when the service answers 401', async () => {
    const { sim, server } = await serve();
    const store = memoryTokenStore();
    await client(server, store).client.login();
    sim.expireTokens();
    const result = await client(server, store).client.logout();
    expect(result).toEqual({ sessions: 1, ended: 0, expired: 1, failed: 0 });
    expect(await store.load(key(server))).toBeUndefined();
  });
});

describe('the store is keyed by server and account', () => {
  it('never sends a kept token to another server or uses it for another account', async () => {
    const a = await serve();
    // Another seed: the simulators hand out the same token sequence for the same seed.
    const b = await serve({ seed: 6 });
    const store = memoryTokenStore();
    await client(a.server, store).client.login();
    const token = (await store.load(key(a.server)))?.token as string;

    await client(b.server, store).client.entries.search('O').toArray();
    await client(a.server, store, { username: 'other', password: 'other-password' }).client.login();
    for (const r of [...a.server.requests, ...b.server.requests].filter((r) => r.path !== '/ws/auth/login')) {
      if (r.headers['icsd-auth-token'] === token) expect(r.url.startsWith(a.server.url)).toBe(true);
    }
    expect(b.sim.stats.logins).toBe(1);
    expect(a.sim.stats.logins).toBe(2);
    expect((await store.load(key(a.server)))?.token).toBe(token);
    expect((await store.load(key(a.server, 'other')))?.token).not.toBe(token);
    expect(probes(b.server)).toBe(0);
  });

  it('on disk: in the credentials file (0600, folder 0700), one entry per server and account', async () => {
    const { sim, server } = await serve();
    const configDir = path.join(dir, 'config');
    const store = configTokenStore({ store: new ConfigStore({ dir: configDir }) });
    const { client: c, events } = client(server, store);
    await c.entries.search('O').toArray();
    await c.dispose();
    const file = path.join(configDir, 'credentials.json');
    if (process.platform !== 'win32') {
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect((await stat(configDir)).mode & 0o777).toBe(0o700);
    }
    const token = (await store.load(key(server)))?.token as string;
    expect(await readFile(file, 'utf8')).toContain(token);
    // A record edited to name another server is not handed out for it, nor for this one under another name.
    const raw = new ConfigStore({ dir: configDir });
    const forged = key({ url: 'https://evil.example' } as TestServer);
    await raw.set(keptSessionKey(forged), await (raw.get(keptSessionKey(key(server))) as Promise<string>));
    expect(await store.load(forged)).toBeUndefined();
    // Reused from disk by the next client.
    await client(server, store).client.entries.search('O').toArray();
    expect(sim.stats.logins).toBe(1);
    // The token is in no event.
    expect(JSON.stringify(events)).not.toContain(token);
  });
});

describe('the token', () => {
  it('never appears in events, errors or the history', async () => {
    const { server } = await serve();
    const store = memoryTokenStore();
    const all: IcsdEvent[] = [];
    const a = client(server, store);
    await a.client.entries.search('O').toArray();
    all.push(...a.events);
    const token = (await store.load(key(server)))?.token as string;
    server.setFaults({ match: { path: '/ws/cif/0' }, failRate: 1, failStatus: 403 });
    const b = client(server, store);
    const error = await b.client.entries
      .search('O')
      .toArray()
      .catch((e: unknown) => e);
    all.push(...b.events);
    expect(ApiError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/kept session/);
    const seen = [
      JSON.stringify(all),
      String((error as Error).message),
      JSON.stringify(error),
      String((error as Error).stack),
      JSON.stringify(a.client.history()),
      JSON.stringify(b.client.history()),
    ].join('\n');
    expect(token.length).toBeGreaterThan(8);
    expect(seen).not.toContain(token);
    expect(seen).not.toContain(encodeURIComponent(token));
    expect(seen).not.toContain(Buffer.from(token).toString('base64'));
  });
});
