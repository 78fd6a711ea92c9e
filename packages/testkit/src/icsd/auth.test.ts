import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { serve } from './icsd-serve.js';
import type { IcsdSimulator } from './icsd-simulator.js';
import { DEMO, get, login } from './icsd-test-helpers.js';

describe('login and logout', () => {
  let sim: IcsdSimulator;
  let base: string;
  beforeAll(async () => {
    ({ sim, base } = await serve());
  });
  afterEach(() => sim.reset());

  it('answers 200 with a token header, cookies and the exact body', async () => {
    const res = await fetch(`${base}/auth/login`, { method: 'POST', body: new URLSearchParams(DEMO) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
    expect(res.headers.get('content-language')).toBe('en');
    expect(res.headers.get('content-length')).toBe('25');
    expect(await res.text()).toBe('Authentication successful');
    const token = res.headers.get('icsd-auth-token');
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const cookies = res.headers.getSetCookie().map((c) => c.split('=')[0]);
    expect(cookies).toEqual(['JSESSIONID', 'ICSDCHECK', 'FIZ-Cookie']);
    expect(sim.stats).toMatchObject({ logins: 1, liveTokens: 1 });
  });

  it('answers 401 text/plain of about 104 bytes without a token for wrong credentials', async () => {
    for (const form of [
      { loginid: 'demo', password: 'wrong' },
      { loginid: 'nobody', password: 'demo-password' },
      { loginid: 'constructor', password: '' },
      { loginid: 'demo' },
    ]) {
      const res = await fetch(`${base}/auth/login`, { method: 'POST', body: new URLSearchParams(form) });
      const body = await res.text();
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
      expect(res.headers.get('icsd-auth-token')).toBeNull();
      expect(Buffer.byteLength(body)).toBe(104);
      expect(body).not.toBe('Authentication successful');
    }
    expect(sim.stats).toMatchObject({ logins: 0, failedLogins: 4, liveTokens: 0 });
  });

  it('accepts a multipart form and a password with special characters', async () => {
    const { base: other } = await serve({ credentials: { 'al ice': 's3cr&t=é' } });
    const form = new FormData();
    form.append('loginid', 'al ice');
    form.append('password', 's3cr&t=é');
    const res = await fetch(`${other}/auth/login`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    await expect(login(other, { loginid: 'al ice', password: 's3cr&t=é' })).resolves.toBeTypeOf('string');
  });

  it('answers 405 to GET /auth/login', async () => {
    const res = await fetch(`${base}/auth/login`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(res.headers.get('content-language')).toBe('en');
  });

  it('logs out once; the token is dead afterwards (401), and a second logout is 401', async () => {
    const token = await login(base);
    const out = await get(base, '/auth/logout', token);
    expect(out.status).toBe(200);
    expect(await out.text()).toBe('Logout successful');
    const search = await get(base, '/search/simple', token, [['query', 'O']]);
    expect(search.status).toBe(401);
    expect(search.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
    expect((await get(base, '/auth/logout', token)).status).toBe(401);
    expect((await get(base, '/auth/logout', undefined)).status).toBe(401);
    expect(sim.stats).toMatchObject({ logins: 1, logouts: 1, liveTokens: 0, unauthorized: 3 });
  });

  it('answers 401 for a missing or unknown token on every endpoint', async () => {
    const paths = ['/search/simple', '/search/expert', '/csv', '/cif/1', '/cif/multiple'];
    for (const path of paths) {
      expect((await get(base, path, undefined, [['query', 'O']])).status).toBe(401);
      expect((await get(base, path, 'not-a-token', [['query', 'O']])).status).toBe(401);
    }
  });

  it('kills every token with expireTokens()', async () => {
    const token = await login(base);
    expect((await get(base, '/cif/0', token)).status).toBe(404);
    sim.expireTokens();
    expect((await get(base, '/cif/0', token)).status).toBe(401);
    expect(sim.stats.liveTokens).toBe(0);
  });
});

describe('token lifetime and session limit', () => {
  let clock = Date.UTC(2025, 5, 1);
  let sim: IcsdSimulator;
  let base: string;
  beforeAll(async () => {
    ({ sim, base } = await serve({ now: () => clock, tokenLifetimeMs: 60_000, sessionLimit: 2 }));
  });
  afterEach(() => sim.reset());

  it('expires a token a fixed time after login, whatever the activity', async () => {
    const token = await login(base);
    clock += 59_999;
    expect((await get(base, '/cif/0', token)).status).toBe(404);
    clock += 1;
    const res = await get(base, '/cif/0', token);
    expect(res.status).toBe(401);
    expect(await res.text()).toMatch(/expired/);
    expect((await get(base, '/auth/logout', token)).status).toBe(401);
  });

  it('refuses with 403 a login while K tokens of the account are live', async () => {
    const first = await login(base);
    await login(base);
    const refused = await fetch(`${base}/auth/login`, { method: 'POST', body: new URLSearchParams(DEMO) });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
    expect(refused.headers.get('icsd-auth-token')).toBeNull();
    expect(await refused.text()).toMatch(/session/);
    // A logout frees a slot.
    expect((await get(base, '/auth/logout', first)).status).toBe(200);
    const third = await login(base);
    expect(sim.stats).toMatchObject({ logins: 3, refusedLogins: 1, liveTokens: 2 });
    // Expiry frees every slot.
    clock += 60_000;
    await login(base);
    expect((await get(base, '/cif/0', third)).status).toBe(401);
  });
});
