import { describe, expect, it } from 'vitest';
import { client, type Json, serve } from './crucible-test-helpers.js';

describe('Crucible simulator: authentication and account', () => {
  it('routes exact paths: a trailing slash is redirected (as FastAPI does), an empty segment is 404', async () => {
    const { sim, server, v2 } = await serve();
    const slash = await fetch(`${server.url}/api/v2/account/`, {
      headers: { authorization: `Bearer ${sim.keyFor('demo')}` },
      redirect: 'manual',
    });
    expect(slash.status).toBe(307);
    expect(slash.headers.get('location')).toBe(`${server.url}/api/v2/account`);
    expect((await v2().call('GET', 'datasets//keywords')).status).toBe(404);
    expect((await v2().get('account')).status).toBe(200);
  });

  it('answers /account on v1 and v2 with each version’s shape', async () => {
    const { sim, server, v1, v2 } = await serve();
    const one = await v1().get('account');
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      user_info: { orcid: sim.user('demo').orcid, first_name: 'Dee', lbl_email: 'demo@lbl.gov' },
      access_group_name: sim.user('demo').orcid,
    });
    expect((one.body as Json).access_group_ids).toEqual(expect.arrayContaining([expect.any(Number)]));
    const two = await v2().get('account');
    expect(two.body).toMatchObject({
      user_unique_id: sim.user('demo').orcid,
      user_info: { unique_id: sim.user('demo').orcid, username: 'demo', is_service_account: false },
    });
    expect((two.body as Json).user_info).not.toHaveProperty('orcid');
    const svc = await client(`${server.url}/api/v1`, sim.keyFor('ingest-worker')).get('account');
    expect((svc.body as Json).user_info).toBeNull();
  });

  it('rejects a missing key with 401 and an unknown key with 400 on v1, 401 on v2 (configurable)', async () => {
    const { server, as, sim } = await serve();
    const none = await as('v1').call('GET', 'account');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    const wrong1 = await client(`${server.url}/api/v1`, 'not-a-key').get('account');
    expect(wrong1).toEqual({ status: 400, body: { detail: 'No account found for this API key' } });
    const wrong2 = await client(`${server.url}/api/v2`, 'not-a-key').get('datasets');
    expect(wrong2.status).toBe(401);
    expect(sim.stats.authFailures).toBe(3);
    const other = await serve({ invalidKeyStatus: { v1: 403 } });
    expect((await client(`${other.server.url}/api/v1`, 'nope').get('account')).status).toBe(403);
  });

  it('serves /testapi as v1 too, health checks without a key on v2 only, 404 and 405 with detail', async () => {
    const { server, sim, as } = await serve();
    const legacy = await client(`${server.url}/testapi`, sim.keyFor('demo')).get('datasets?limit=1');
    expect(Array.isArray(legacy.body)).toBe(true);
    expect((await as('v2').get('health/live')).body).toEqual({ status: 'ok' });
    expect((await as('v2').get('health/ready')).body).toMatchObject({ status: 'ok', db: 'ok' });
    expect((await as('v1', 'demo').get('health/ready')).status).toBe(404);
    const ds = sim.datasets[0]?.uniqueId as string;
    const del = await as('v1', 'demo').send('DELETE', `datasets/${ds}`);
    expect(del).toEqual({ status: 405, body: { detail: 'Method Not Allowed' } });
    expect(await as('v2', 'demo').get('nothing/here')).toEqual({
      status: 404,
      body: { detail: 'Not Found' },
    });
    // Trailing slash of a base stored with one (crucible-lens) still routes.
    expect(
      (
        await fetch(`${server.url}/api/v2/account/`, {
          headers: { authorization: `Bearer ${sim.keyFor('demo')}` },
        })
      ).status,
    ).toBe(200);
  });

  it('v2 self-service: profile, api key, verify; username rules', async () => {
    const { v2 } = await serve();
    const me = v2();
    expect((await me.get('account/profile')).body).toMatchObject({
      username: 'demo',
      email: 'demo@example.org',
    });
    expect((await me.send('PATCH', 'account/profile', { username: 'Bad Name' })).status).toBe(422);
    expect((await me.send('PATCH', 'account/profile', { username: 'admin' })).status).toBe(409);
    expect((await me.send('PATCH', 'account/profile', { is_service_account: true })).status).toBe(422);
    expect((await me.send('PATCH', 'account/profile', { username: 'dee' })).body).toMatchObject({
      username: 'dee',
    });
    expect((await me.get('account/apikey')).body).toMatchObject({ api_key: expect.stringMatching(/^crk_/) });
    expect((await me.get('account/verify')).body).toMatchObject({ valid: true });
  });
});
