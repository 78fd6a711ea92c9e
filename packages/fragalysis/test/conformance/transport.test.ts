import {
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  PermissionDeniedError,
  ServerError,
} from '@sciport/core';
import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { connect, dir, mock, QUICK, useConformanceStack } from './harness.js';
import { BASE, CSRF, cookiesOf, htmlPage, json, members, TOKEN } from './server.js';

/** Conformance: transport and authentication (spec §1, §2, §3). */

useConformanceStack();

describe('transport (spec §1, §2)', () => {
  it('sends every request with the trailing slash, the right method and Accept: application/json, so never meets a 301 or the browsable API', async () => {
    const { stack, client } = connect();
    const targets = await client.targets.list().toArray();
    expect(targets.length).toBeGreaterThan(0);
    await client.uploads.list().toArray();
    await client.observations.smiles('Mpro', 'lb18145-1').toArray();
    await client.archives.download({ target: 'Mpro', tas: 'sw30864-12', destination: dir, ...QUICK });
    expect(stack.log.length).toBeGreaterThan(5);
    for (const r of stack.log) {
      expect(r.url.pathname.endsWith('/'), r.url.href).toBe(true);
      expect(r.status, `${r.method} ${r.url.pathname}`).not.toBe(301);
      if (r.url.pathname.startsWith('/api/')) expect(r.headers.get('accept')).toContain('application/json');
    }
    // The stack named with a trailing slash is the same stack.
    expect(client.baseUrl).toBe(BASE);
  });

  it('follows every page, re-basing `next` links that name the internal host on the configured stack', async () => {
    const { stack, client } = connect({ maxLimit: 2 });
    const targets = await client.targets.list().toArray();
    expect(targets.map((t) => `${t.title}@${t.tas}`)).toEqual([
      'Mpro@lb18145-1',
      'Mpro@sw30864-12',
      'A71EV2A@lb32627-66',
      'NSP3@sw30864-12',
    ]);
    const pages = stack.log.filter((r) => r.url.pathname === '/api/targets/');
    expect(pages.map((r) => r.url.searchParams.get('offset'))).toEqual([null, '2']);
    expect(stack.foreign).toEqual([]);
    // Every page carried the session, and only to the stack's host.
    expect(pages.every((r) => cookiesOf(r.headers).get('sessionid') === TOKEN)).toBe(true);
  });

  it('joins targets with projects on an old server without `project_title`, both paginated', async () => {
    const { stack, client } = connect({ oldServer: true, maxLimit: 1 }, { anonymous: true });
    const targets = await client.targets.list().toArray();
    expect(targets.map((t) => `${t.title}@${t.tas}`)).toEqual(['Mpro@lb18145-1', 'A71EV2A@lb32627-66']);
    expect(targets[0]?.raw).toHaveProperty('brand_new_field');
    expect(stack.log.filter((r) => r.url.pathname === '/api/projects/').length).toBe(2);
    expect(stack.foreign).toEqual([]);
  });

  it('reports error bodies whatever their shape: message, error, detail, field arrays, HTML', async () => {
    const { client } = connect();
    const notMember = await client.archives
      .download({ target: 'Secret', tas: 'lb99999-9', destination: dir, ...QUICK })
      .catch((e: unknown) => e);
    expect(notMember).toBeInstanceOf(NotFoundError);
    expect((notMember as Error).message).toContain('User "alice" is not a member of lb99999-9');

    const ghost = await client.archives
      .download({ target: 'Ghost', tas: 'lb18145-1', destination: dir, ...QUICK })
      .catch((e: unknown) => e);
    expect(ghost).toBeInstanceOf(NotFoundError);
    expect((ghost as Error).message).toContain('Target "Ghost" does not exist under project lb18145-1');

    mock.use(
      http.post(`${BASE}/api/download_structures/`, () =>
        json({ cif_info: ['Must be a valid boolean.'] }, 400),
      ),
      http.get(`${BASE}/api/compound-sets/`, () =>
        json({ detail: 'Authentication credentials were not provided.' }, 403),
      ),
      http.get(`${BASE}/viewer/task_status/*`, () => json({ error: 'Proposal lb0 not found' }, 404)),
      http.get(`${BASE}/api/site_observations/`, () =>
        htmlPage(
          500,
          '<!doctype html><html><head><title>Server Error (500)</title></head><body><h1>Server Error (500)</h1></body></html>',
        ),
      ),
    );
    const bad = await client.archives
      .request({ target: 'Mpro', tas: 'lb18145-1', ...QUICK })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(BadRequestError);
    expect((bad as Error).message).toContain('cif_info: Must be a valid boolean.');
    const denied = await client.compoundSets
      .list()
      .toArray()
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect((denied as Error).message).toContain('Authentication credentials were not provided.');
    const gone = await client.archives
      .wait('/viewer/task_status/0b6c3a52-5a61-4f0e-9a52-3b5d1f0c7e11/', QUICK)
      .catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(NotFoundError);
    expect((gone as Error).message).toContain('Proposal lb0 not found');
    const html = await client.observations
      .smiles('Mpro', 'lb18145-1')
      .toArray()
      .catch((e: unknown) => e);
    expect(html).toBeInstanceOf(ServerError);
    expect((html as Error).message).toContain('Server Error (500)');
    expect((html as Error).message).not.toContain('<h1>');
  }, 60_000);
});

describe('authentication (spec §3)', () => {
  it('sends the token only as `Cookie: sessionid=` and only to the stack host, never as a bearer token', async () => {
    const { stack, client } = connect({ maxLimit: 2, taskUrl: 'internal' });
    await client.targets.list().toArray();
    await client.archives.download({ target: 'Mpro', tas: 'sw30864-12', destination: dir, ...QUICK });
    for (const r of stack.log) {
      expect(r.headers.get('authorization')).toBeNull();
      expect(cookiesOf(r.headers).get('sessionid')).toBe(TOKEN);
    }
    expect(stack.foreign).toEqual([]);
  });

  it('accepts a token the server knows, and detects one it treats as anonymous (user_id 1, no target_access) before listing anything', async () => {
    const { client: good } = connect();
    const user = await good.users.me();
    expect(user?.user).toBe('alice');
    expect((await good.targets.list().toArray()).some((t) => t.tas === 'sw30864-12')).toBe(true);

    const { stack, client: bad } = connect({}, { token: 'expired0session0id0abcdefghijklmn' });
    const error = await bad.targets
      .list()
      .toArray()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).toMatch(/token/i);
    expect((error as Error).message).not.toContain('expired0session0id0abcdefghijklmn');
    expect(JSON.stringify(error)).not.toContain('expired0session0id0abcdefghijklmn');
    expect(stack.log.map((r) => r.url.pathname)).toEqual(['/api/user/']);
  });

  it('reports a same-host redirect of /api/user/ to a login page as a session to renew', async () => {
    const { client } = connect();
    mock.use(
      http.get(
        `${BASE}/api/user/`,
        () =>
          new HttpResponse(null, { status: 302, headers: { location: '/accounts/login/?next=/api/user/' } }),
      ),
      http.get(`${BASE}/accounts/login/`, () =>
        htmlPage(200, '<html><body><form>Log in</form></body></html>'),
      ),
    );
    const error = await client.users.me().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).toMatch(/renewal/);
  });

  it('reads the older /api/user/ shape (authenticator block under `version`)', async () => {
    const { client } = connect({ oldServer: true });
    const user = await client.users.me();
    expect(user?.targetAccess).toEqual(members);
  });

  it('stays anonymous without a token: public proposals only, no /api/user/ check, no cookie', async () => {
    const { stack, client } = connect({}, { anonymous: true });
    const targets = await client.targets.list().toArray();
    expect(new Set(targets.map((t) => t.tas))).toEqual(new Set(['lb18145-1', 'lb32627-66']));
    const result = await client.archives.download({
      target: 'A71EV2A',
      tas: 'lb32627-66',
      destination: dir,
      ...QUICK,
    });
    expect(result.bytes).toBeGreaterThan(0);
    expect(stack.log.some((r) => r.url.pathname === '/api/user/')).toBe(false);
    expect(stack.log.every((r) => !cookiesOf(r.headers).has('sessionid'))).toBe(true);
  });

  it('does not follow a stale session to the Keycloak host, and says the session needs renewal', async () => {
    const { stack, client } = connect({ stale: true });
    const error = await client.targets
      .list()
      .toArray()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).toMatch(/renew/i);
    expect((error as Error).message).not.toContain(TOKEN);
    expect(stack.foreign).toEqual([]);
  });

  it('fetches the CSRF cookie once and sends X-CSRFToken, the cookie and a same-origin Referer with every write', async () => {
    const { stack, client } = connect();
    await client.archives.download({ target: 'Mpro', tas: 'sw30864-12', destination: dir, ...QUICK });
    await client.archives.download({ target: 'NSP3', tas: 'sw30864-12', destination: dir, ...QUICK });
    expect(stack.state.landing).toBe(1);
    const posts = stack.log.filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(2);
    for (const r of posts) {
      expect(r.status).toBe(202);
      expect(r.headers.get('x-csrftoken')).toBe(CSRF);
      expect(cookiesOf(r.headers).get('csrftoken')).toBe(CSRF);
      expect(r.headers.get('referer')).toBe(`${BASE}/viewer/react/landing/`);
    }
  });
});
