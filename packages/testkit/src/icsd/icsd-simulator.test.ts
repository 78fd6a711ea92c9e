import { describe, expect, it } from 'vitest';
import { startTestServer } from '../http-server.js';
import { serve, servers } from './icsd-serve.js';
import { createIcsdSimulator } from './icsd-simulator.js';
import { get, login } from './icsd-test-helpers.js';

describe('testkit integration', () => {
  it('sets Content-Length so that the truncation fault cuts CIF bodies', async () => {
    const sim = createIcsdSimulator({ entries: 50 });
    const server = await startTestServer({
      handlers: sim.handlers,
      faults: { match: { path: '/ws/cif/multiple' }, truncateRate: 1 },
    });
    servers.push(server);
    const base = `${server.url}/ws`;
    const token = await login(base);
    const res = await get(
      base,
      '/cif/multiple',
      token,
      sim.entries.slice(0, 20).map((e) => ['idnum', String(e.id)]),
    );
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    expect(server.requests.at(-1)).toMatchObject({ fault: 'truncate', status: 200 });
  });

  it('counts requests per endpoint', async () => {
    const { sim, base } = await serve();
    const token = await login(base);
    await get(base, '/search/simple', token, [['query', 'O']]);
    await get(base, '/search/simple', token, [['query', 'O']]);
    await get(base, '/cif/0', token);
    expect(sim.stats.requests).toEqual({
      'auth/login': 1,
      'auth/logout': 0,
      'search/simple': 2,
      'search/expert': 0,
      csv: 0,
      cif: 1,
      'cif/multiple': 0,
      reference: 0,
    });
  });
});
