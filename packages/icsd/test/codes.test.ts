import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UsageError } from '@sciport/core';
import { createIcsdSimulator, type IcsdSimulator, startTestServer, type TestServer } from '@sciport/testkit';
import { icsdCifsWithCodes } from '@sciport/testkit/hostile';
import { HttpResponse, http } from 'msw';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cifFileName, IcsdClient, type IcsdEvent } from '../src/index.js';

/** Collection codes as the user's identifiers: `cifs.listByCode` and `cifs.downloadByCode`, over real sockets. */

let server: TestServer | undefined;
let dir: string;
const clients: IcsdClient[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-icsd-codes-'));
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose().catch(() => undefined)));
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function setup(raw: Parameters<typeof startTestServer>[0]['raw'] = [], sim?: IcsdSimulator) {
  const s = sim ?? createIcsdSimulator({ entries: 600, seed: 5, cifsPerSession: null });
  server = await startTestServer({ handlers: s.handlers, raw });
  const events: IcsdEvent[] = [];
  const client = new IcsdClient({
    baseUrl: `${server.url}/ws`,
    username: 'demo',
    password: 'demo-password',
    onEvent: (e) => events.push(e),
  });
  clients.push(client);
  return { sim: s, server, client, events };
}

/** A collection code no entry has, between two that exist (a search answer would shift after it). */
function gapCode(sim: IcsdSimulator, from = 10): number {
  for (let i = from; i < sim.entries.length - 1; i++) {
    const a = sim.entries[i]!.collectionCode;
    if (sim.entries[i + 1]!.collectionCode - a > 1) return a + 1;
  }
  throw new Error('no gap');
}

const warnings = (events: IcsdEvent[]) =>
  events.flatMap((e) => (e.type === 'warning' ? [(e as { message: string }).message] : []));

describe('cifs.listByCode', () => {
  it('delivers the CIFs of the codes, byte-identical, in the order asked, and reports a code that does not exist', async () => {
    const { sim, client, events } = await setup();
    const missing = gapCode(sim);
    const picked = [sim.entries[40]!, sim.entries[3]!, sim.entries[300]!];
    const codes = [picked[0]!.collectionCode, missing, picked[1]!.collectionCode, picked[2]!.collectionCode];
    const stream = client.cifs.listByCode(codes);
    const cifs = await stream.toArray();
    expect(cifs.map((c) => c.collectionCode)).toEqual(picked.map((e) => e.collectionCode));
    for (const [i, e] of picked.entries()) {
      expect(cifs[i]!.id).toBe(e.id);
      expect(cifs[i]!.text).toBe(sim.cif(e.id));
    }
    expect(stream.missingCodes).toEqual([missing]);
    expect(stream.duplicates).toEqual([]);
    expect(stream.badIds).toEqual([]);
    expect(warnings(events).some((m) => m.includes(String(missing)))).toBe(true);
    // One search, one /csv, one /cif/multiple for the group.
    expect(sim.stats.requests['search/expert']).toBe(1);
    expect(sim.stats.requests.csv).toBe(1);
    expect(sim.stats.requests['cif/multiple']).toBe(1);
  });

  it('refuses anything but positive whole numbers before sending a request', async () => {
    const { sim, client } = await setup();
    for (const bad of [0, -3, 1.5, Number.NaN, 2 ** 60]) {
      expect(() => client.cifs.listByCode([1, bad])).toThrow(UsageError);
      expect(() => client.cifs.listByCode([bad])).toThrow(/positive whole numbers/);
    }
    await expect(client.cifs.downloadByCode([12, 0], dir)).rejects.toThrow(UsageError);
    expect(sim.stats.logins).toBe(0);
  });

  it('with no code that exists: nothing delivered, every code reported, no CIF request', async () => {
    const { sim, client } = await setup();
    const a = gapCode(sim, 10);
    const b = gapCode(sim, 200);
    const stream = client.cifs.listByCode([a, b, 99_999_999]);
    expect(await stream.toArray()).toEqual([]);
    expect(stream.missingCodes).toEqual([a, b, 99_999_999]);
    expect(sim.stats.requests['cif/multiple'] + sim.stats.requests.cif).toBe(0);
  });

  it('refuses a CIF whose _database_code_ICSD is not the code asked (a mix-up), delivering the others', async () => {
    const sim = createIcsdSimulator({ entries: 200, seed: 9, cifsPerSession: null });
    const [a, b, c] = [sim.entries[5]!, sim.entries[6]!, sim.entries[7]!];
    // The server answers b's id with a document that says it is another entry.
    const other = sim.entries[150]!;
    const route = icsdCifsWithCodes(sim, { [b.id]: String(other.collectionCode) });
    const { client, events } = await setup([route], sim);
    const stream = client.cifs.listByCode([a.collectionCode, b.collectionCode, c.collectionCode]);
    const cifs = await stream.toArray();
    expect(cifs.map((x) => x.collectionCode)).toEqual([a.collectionCode, c.collectionCode]);
    expect(stream.mismatches).toEqual([
      { id: b.id, expected: b.collectionCode, received: other.collectionCode },
    ]);
    expect(stream.badIds).toEqual([b.id]);
    expect(warnings(events).some((m) => m.includes(`collection code ${other.collectionCode}`))).toBe(true);
  });

  it('reports a code that several ids carry and delivers it once, from the first id', async () => {
    const { sim, server, client, events } = await setup();
    const [a, c] = [sim.entries[20]!, sim.entries[30]!];
    const twin = 987_654; // an id the service gives the same code as `a`
    server.use(
      http.get('*/ws/search/expert', ({ request }) => {
        const q = new URL(request.url).searchParams.get('query') ?? '';
        if (!q.includes(String(a.collectionCode))) return undefined;
        return HttpResponse.json({ idnums: [String(a.id), String(twin), String(c.id)] });
      }),
      http.get('*/ws/csv', ({ request }) => {
        const ids = new URL(request.url).searchParams.getAll('idnum').map(Number);
        if (!ids.includes(twin)) return undefined;
        const rows = ids.map(
          (id) => `${id === twin ? a.collectionCode : sim.entryById(id)!.collectionCode}\t`,
        );
        return new HttpResponse(`CollectionCode\t\n${rows.join('\n')}\n`, {
          headers: { 'content-type': 'application/csv;charset=UTF-8' },
        });
      }),
    );
    const stream = client.cifs.listByCode([a.collectionCode, c.collectionCode]);
    const cifs = await stream.toArray();
    expect(cifs.map((x) => x.text)).toEqual([sim.cif(a.id), sim.cif(c.id)]);
    expect(stream.duplicates).toEqual([{ collectionCode: a.collectionCode, ids: [a.id, twin], kept: a.id }]);
    expect(warnings(events).some((m) => m.includes('several internal ids'))).toBe(true);
  });

  it('pairs ids with codes through /csv, not by the search answer order', async () => {
    const { sim, server, client } = await setup();
    const picked = [sim.entries[50]!, sim.entries[51]!, sim.entries[52]!];
    // A search answer in reverse order: pairing by position would give each code another entry's id.
    server.use(
      http.get('*/ws/search/expert', ({ request }) => {
        const q = new URL(request.url).searchParams.get('query') ?? '';
        if (!q.includes(String(picked[0]!.collectionCode))) return undefined;
        return HttpResponse.json({ idnums: picked.map((e) => String(e.id)).reverse() });
      }),
    );
    const cifs = await client.cifs.listByCode(picked.map((e) => e.collectionCode)).toArray();
    expect(cifs.map((x) => [x.collectionCode, x.id])).toEqual(picked.map((e) => [e.collectionCode, e.id]));
  });

  it('falls back to codes joined by "or" when the service refuses a comma list', async () => {
    const { sim, server, client, events } = await setup();
    let refused = 0;
    server.use(
      http.get('*/ws/search/expert', ({ request }) => {
        const q = new URL(request.url).searchParams.get('query') ?? '';
        if (!q.includes(',')) return undefined;
        refused += 1;
        return new HttpResponse('Invalid query', { status: 400, headers: { 'content-type': 'text/plain' } });
      }),
    );
    const picked = [sim.entries[1]!, sim.entries[2]!];
    const cifs = await client.cifs.listByCode(picked.map((e) => e.collectionCode)).toArray();
    expect(cifs.map((x) => x.text)).toEqual(picked.map((e) => sim.cif(e.id)));
    expect(refused).toBe(1);
    expect(warnings(events).some((m) => m.includes('"or"'))).toBe(true);
  });

  it('resolves more codes than one search and one batch hold (1,100 codes, 200 a search)', async () => {
    const sim = createIcsdSimulator({ entries: 1200, seed: 4, cifsPerSession: null });
    const { client } = await setup([], sim);
    const codes = sim.entries.slice(0, 1100).map((e) => e.collectionCode);
    const cifs = await client.cifs.listByCode(codes, { concurrency: 2 }).toArray();
    expect(cifs.map((c) => c.collectionCode)).toEqual(codes);
    expect(sim.stats.requests['search/expert']).toBe(7); // 500 + 500 + 100 codes: 3 + 3 + 1 searches
    expect(sim.stats.requests['cif/multiple']).toBe(3);
  });
});

describe('cifs.downloadByCode', () => {
  it('writes the files byte-identical, reports the missing code, and resumes without a CIF request', async () => {
    const { sim, client, events } = await setup();
    const missing = gapCode(sim);
    const picked = sim.entries.slice(100, 104);
    const codes = [...picked.map((e) => e.collectionCode), missing];
    const report = await client.cifs.downloadByCode(codes, dir);
    expect(report.downloaded).toBe(4);
    expect(report.missingCodes).toEqual([missing]);
    expect(report.badIds).toEqual([]);
    expect(report.files.sort()).toEqual(picked.map((e) => cifFileName(e.collectionCode)).sort());
    for (const e of picked) {
      const bytes = await readFile(path.join(dir, cifFileName(e.collectionCode)));
      expect(bytes.equals(Buffer.from(sim.cif(e.id), 'utf8'))).toBe(true);
    }
    expect(warnings(events).some((m) => m.includes(String(missing)))).toBe(true);
    const served = sim.stats.cifsServed;
    const again = await client.cifs.downloadByCode(codes, dir);
    expect(again).toMatchObject({ downloaded: 0, skipped: 4, missingCodes: [missing] });
    expect(sim.stats.cifsServed).toBe(served);
  });

  it('does not write a CIF that is another entry than the code asked', async () => {
    const sim = createIcsdSimulator({ entries: 200, seed: 9, cifsPerSession: null });
    const [a, b] = [sim.entries[10]!, sim.entries[11]!];
    const other = sim.entries[180]!;
    const { client } = await setup([icsdCifsWithCodes(sim, { [a.id]: String(other.collectionCode) })], sim);
    const report = await client.cifs.downloadByCode([a.collectionCode, b.collectionCode], dir);
    expect(report.downloaded).toBe(1);
    expect(report.badIds).toEqual([a.id]);
    expect(report.mismatches).toEqual([
      { id: a.id, expected: a.collectionCode, received: other.collectionCode },
    ]);
    const names = (await readdir(dir)).filter((f) => f.endsWith('.cif'));
    expect(names).toEqual([cifFileName(b.collectionCode)]);
  });
});
