import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { createIcsdSimulator, type IcsdSimulator, startTestServer, type TestServer } from '@sciport/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { icsdEnv, type RunResult, runCli, tempConfigDir } from './helpers.js';

/**
 * `sciport icsd login` keeps the session for the other commands (spec §14.6): the built CLI as child processes,
 * over real sockets, against the simulator, with an isolated config folder.
 */

let sim: IcsdSimulator;
let server: TestServer;
let root: string;
let dir: string;
let cleanup: () => Promise<void>;
/** Every output of every run of a test, to search for the token. */
let outputs: string[];

beforeEach(async () => {
  sim = createIcsdSimulator({ entries: 120, seed: 12 });
  server = await startTestServer({ handlers: sim.handlers });
  ({ root, dir, cleanup } = await tempConfigDir());
  outputs = [];
});

afterEach(async () => {
  await server.close();
  await cleanup();
});

async function icsd(args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  const r = await runCli(['icsd', ...args], {
    env: icsdEnv(server.url, { root, dir }, env),
  });
  outputs.push(r.stdout, r.stderr);
  return r;
}

/** Every token the simulator saw. */
function tokensSent(): string[] {
  return [
    ...new Set(server.requests.map((r) => r.headers['icsd-auth-token']).filter((t) => t !== undefined)),
  ];
}

/** The token kept in the credentials file, if any. */
async function keptToken(): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(dir, 'credentials.json'), 'utf8');
  } catch {
    return undefined;
  }
  const sessions = (JSON.parse(text) as { icsd?: { sessions?: Record<string, { token: string }> } }).icsd
    ?.sessions;
  const entries = Object.values(sessions ?? {});
  expect(entries.length).toBeLessThanOrEqual(1);
  return entries[0] ? (JSON.parse(entries[0].token) as { token: string }).token : undefined;
}

/** The token in none of the outputs: as is, URL-encoded, Base64. */
function expectNoToken(token: string): void {
  expect(token.length).toBeGreaterThan(8);
  const all = outputs.join('\n');
  for (const form of [
    token,
    encodeURIComponent(token),
    Buffer.from(token).toString('base64'),
    Buffer.from(token).toString('base64url'),
  ]) {
    expect(all).not.toContain(form);
  }
}

describe('sciport icsd login', () => {
  it('keeps the session: search and fetch reuse it (one login), the file is 0600, no token printed', async () => {
    const login = await icsd(['login']);
    expect(login.code).toBe(0);
    expect(login.stderr).toMatch(/session is kept/);
    expect(sim.stats).toMatchObject({ logins: 1, logouts: 0, liveTokens: 1 });
    if (process.platform !== 'win32') {
      expect((await stat(path.join(dir, 'credentials.json'))).mode & 0o777).toBe(0o600);
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
    }
    const token = await keptToken();
    expect(tokensSent()).toEqual([]);

    const search = await icsd(['search', '--expert', 'COLLECTIONCODE : 1-500']);
    expect(search.code).toBe(0);
    const ids = search.stdout.trim().split('\n').map(Number);
    expect(ids.length).toBeGreaterThan(2);
    const out = path.join(root, 'cifs');
    const fetch = await icsd(['--verbose', 'fetch', '--idnum', String(ids[0]), String(ids[1]), '--out', out]);
    expect(fetch.code).toBe(0);
    expect(fetch.stderr).toMatch(/using the kept ICSD session/);
    const json = await icsd(['--json', 'search', '--expert', 'COLLECTIONCODE : 1-500', '--limit', '2']);
    expect(JSON.parse(json.stdout)).toEqual({ ids: ids.slice(0, 2) });
    const again = await icsd(['--json', 'login']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: true, reused: true });

    expect(sim.stats).toMatchObject({ logins: 1, logouts: 0, liveTokens: 1 });
    expect(tokensSent()).toEqual([token]);
    expect(await keptToken()).toBe(token);
    expectNoToken(token as string);
  });

  it('is mentioned in `sciport icsd --help`', async () => {
    const r = await runCli(['icsd', '--help']);
    expect(r.stdout).toMatch(/sciport icsd login` keeps/);
    expect(r.stdout).toContain('sciport icsd logout');
  });

  it('refuses clearly when all sessions are in use, after one attempt', async () => {
    const limited = createIcsdSimulator({ entries: 20, seed: 3, sessionLimit: 1 });
    await using other = await startTestServer({ handlers: limited.handlers });
    const held = await fetch(`${other.url}/ws/auth/login`, {
      method: 'POST',
      body: new URLSearchParams({ loginid: 'demo', password: 'demo-password' }),
    });
    expect(held.status).toBe(200);
    const r = await icsd(['login'], { ICSD_BASE_URL: `${other.url}/ws` });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/sessions seem to be in use/);
    expect(r.stderr).toContain('sciport icsd logout');
    expect(r.stderr).toMatch(/up to an hour/);
    expect(limited.stats.refusedLogins).toBe(1);
    expect(await keptToken()).toBeUndefined();
  });
});

describe('without login', () => {
  it('each command logs in and out, and keeps nothing', async () => {
    expect((await icsd(['search', 'O'])).code).toBe(0);
    expect((await icsd(['search', 'O'])).code).toBe(0);
    expect(sim.stats).toMatchObject({ logins: 2, logouts: 2, liveTokens: 0 });
    expect(await keptToken()).toBeUndefined();
    expect(server.requests.filter((r) => r.path === '/ws/cif/0')).toHaveLength(0);
  });
});

describe('sciport icsd logout', () => {
  it('ends and forgets the session; the next command logs in (and out) again', async () => {
    expect((await icsd(['login'])).code).toBe(0);
    const token = (await keptToken()) as string;
    const r = await icsd(['logout']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Logged out/);
    expect(sim.stats).toMatchObject({ logins: 1, logouts: 1, liveTokens: 0 });
    expect(await keptToken()).toBeUndefined();
    expect(await readFile(path.join(dir, 'credentials.json'), 'utf8')).not.toContain(token);

    expect((await icsd(['search', 'O'])).code).toBe(0);
    expect(sim.stats).toMatchObject({ logins: 2, logouts: 2, liveTokens: 0 });
    expectNoToken(token);
  });

  it('says there is nothing to log out of without a kept session (exit 0, no request)', async () => {
    const r = await icsd(['logout'], { ICSD_PASSWORD: undefined });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/nothing to log out of/);
    const j = await icsd(['--json', 'logout']);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: true, sessions: 0 });
    expect(server.requests).toHaveLength(0);
  });

  it('forgets the session even when the service answers 401, and says so', async () => {
    expect((await icsd(['login'])).code).toBe(0);
    const token = (await keptToken()) as string;
    sim.expireTokens();
    const r = await icsd(['--json', 'logout']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ sessions: 1, ended: 0, expired: 1 });
    expect(await keptToken()).toBeUndefined();
    expect(server.requests.filter((q) => q.path === '/ws/auth/logout')).toHaveLength(1);
    expect((await icsd(['logout'])).stderr).toMatch(/nothing to log out of/);
    expectNoToken(token);
  });

  it('says the session had ended when the service answers 401 (text)', async () => {
    expect((await icsd(['login'])).code).toBe(0);
    sim.expireTokens();
    const r = await icsd(['logout']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/already ended on the server \(401\); it is forgotten/);
  });
});

describe('a kept session that died on the server', () => {
  it('is replaced by one login, and the new token is kept', async () => {
    expect((await icsd(['login'])).code).toBe(0);
    const old = (await keptToken()) as string;
    sim.expireTokens();
    const r = await icsd(['--verbose', 'search', 'O']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/kept ICSD session had ended/);
    expect(sim.stats).toMatchObject({ logins: 2, logouts: 0, liveTokens: 1 });
    const fresh = (await keptToken()) as string;
    expect(fresh).toBeTruthy();
    expect(fresh).not.toBe(old);
    // The next command reuses the new one.
    expect((await icsd(['search', 'O'])).code).toBe(0);
    expect(sim.stats.logins).toBe(2);
    for (const token of [old, fresh]) expectNoToken(token);
  });
});
