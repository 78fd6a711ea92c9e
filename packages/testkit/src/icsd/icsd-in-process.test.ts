import { type SetupServer, setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createIcsdSimulator } from './icsd-simulator.js';
import { get, login, searchIds, unzip } from './icsd-test-helpers.js';

// The same handlers as over HTTP, intercepted in-process by msw: any origin, both base paths.
const sim = createIcsdSimulator({ seed: 8, entries: 300 });
let msw: SetupServer;
const unhandled: string[] = [];

beforeAll(() => {
  msw = setupServer(...sim.handlers);
  msw.listen({
    onUnhandledRequest: (request) => {
      unhandled.push(request.url);
    },
  });
});

afterEach(() => {
  unhandled.length = 0;
});

afterAll(() => {
  msw.close();
});

describe('the ICSD simulator in-process (msw setupServer)', () => {
  for (const base of [
    'https://icsd.fiz-karlsruhe.de/ws',
    'https://icsd.fiz-karlsruhe.de/api/ws',
    'http://sim.test/ws',
  ]) {
    it(`serves login, search, csv, cif and logout under ${base}`, async () => {
      const token = await login(base);
      const ids = await searchIds(
        await get(base, '/search/expert', token, [['query', 'COLLECTIONCODE : 1-100']], {
          accept: 'application/json',
        }),
      );
      expect(ids).toEqual(sim.entries.filter((e) => e.collectionCode <= 100).map((e) => e.id));
      const csv = await get(base, '/csv', token, [
        ['idnum', String(ids[0])],
        ['listSelection', 'CollectionCode'],
        ['windowsclient', 'true'],
      ]);
      expect(await csv.text()).toBe(`CollectionCode\t\r\n${sim.entryById(ids[0]!)!.collectionCode}\t\r\n`);
      const cif = await get(base, `/cif/${ids[1]}`, token);
      expect(cif.headers.get('content-type')).toBe('application/cif;charset=UTF-8');
      expect(await cif.text()).toBe(sim.cif(ids[1]!));
      const zip = await get(base, '/cif/multiple', token, [
        ['idnum', String(ids[0])],
        ['idnum', String(ids[1])],
        ['filetype', 'zip'],
      ]);
      expect(unzip(Buffer.from(await zip.arrayBuffer())).map((f) => f.data.toString())).toEqual([
        sim.cif(ids[0]!),
        sim.cif(ids[1]!),
      ]);
      expect((await get(base, '/cif/0', token)).status).toBe(404);
      expect(await (await get(base, '/auth/logout', token)).text()).toBe('Logout successful');
      expect((await get(base, '/cif/0', token)).status).toBe(401);
      expect(unhandled).toEqual([]);
    });
  }

  it('ignores a trailing slash and answers 405 to GET /auth/login', async () => {
    const res = await fetch('https://icsd.fiz-karlsruhe.de/ws/auth/login/');
    expect(res.status).toBe(405);
  });

  it('leaves other paths unhandled', async () => {
    // Port 9 (discard) on loopback: the passed-through requests fail fast.
    await fetch('http://127.0.0.1:9/other/thing').catch(() => undefined);
    await fetch('http://127.0.0.1:9/ws/unknown-endpoint').catch(() => undefined);
    expect(unhandled).toEqual(['http://127.0.0.1:9/other/thing', 'http://127.0.0.1:9/ws/unknown-endpoint']);
  });
});
