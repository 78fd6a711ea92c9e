import { ServerError } from '@sciport/core';
import { createIcsdSimulator, type FaultRule, startTestServer, type TestServer } from '@sciport/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { IcsdClient as BrowserIcsdClient } from '../src/browser.js';
import {
  CSV_PROPERTY_KEYS,
  IcsdClient,
  type IcsdClientOptions,
  type IcsdError,
  type IcsdEvent,
  type IcsdQuotaError,
} from '../src/index.js';

/**
 * The shape every sciport client shares (docs/guide/index.md, "One shape for every client"): resources as
 * namespaces, lists as `PageIterable`s, per-call `RequestOptions`, records with `raw`, one emitter and a
 * `logger`, literal error codes.
 */

let server: TestServer | undefined;
const clients: IcsdClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose().catch(() => undefined)));
  await server?.close();
  server = undefined;
});

async function setup(clientOptions: IcsdClientOptions = {}, faults?: FaultRule | FaultRule[]) {
  const sim = createIcsdSimulator({ entries: 1200, seed: 5, cifsPerSession: null });
  server = await startTestServer({ handlers: sim.handlers, ...(faults ? { faults } : {}) });
  const events: IcsdEvent[] = [];
  const client = new IcsdClient({
    baseUrl: `${server.url}/ws`,
    username: 'demo',
    password: 'demo-password',
    onEvent: (e) => events.push(e),
    ...clientOptions,
  });
  clients.push(client);
  return { sim, server, client, events };
}

const requestsTo = (s: TestServer, pathEnd: string) => s.requests.filter((r) => r.path.endsWith(pathEnd));

describe('searches as PageIterables', () => {
  it('gives one page per content type, named, and ids in the server order', async () => {
    const { sim, client } = await setup();
    const search = client.entries.expertSearch('COLLECTIONCODE : 1-999999', {
      contentType: ['theoretical', 'inorganic'],
    });
    const pages = [];
    for await (const page of search.pages()) pages.push(page);
    expect(pages.map((p) => p.contentType)).toEqual(['theoretical', 'inorganic']);
    for (const page of pages) {
      const subset =
        page.contentType === 'theoretical' ? 'THERORETICAL_STRUCTURES' : 'EXPERIMENTAL_INORGANIC';
      expect(page.ids).toEqual(sim.entries.filter((e) => e.contentType === subset).map((e) => e.id));
    }
    // Iterating again searches again, with the same answer.
    expect(await search.toArray()).toEqual(pages.flatMap((p) => p.ids));
  });

  it('stops at `limit`, without searching the content types it no longer needs', async () => {
    const { client, server: s } = await setup();
    const ids = await client.entries
      .search('O', { contentType: ['inorganic', 'metalorganic', 'theoretical'], limit: 3 })
      .toArray();
    expect(ids).toHaveLength(3);
    expect(requestsTo(s, '/search/simple')).toHaveLength(1);
  });

  it('feeds properties and CIFs directly: a search is an iterable of ids', async () => {
    const { sim, client } = await setup();
    const found = client.entries.expertSearch({ collectionCode: [1, 300] });
    const rows = await client.entries.properties(found, ['SumFormula']).toArray();
    const expected = sim.entries.filter((e) => e.collectionCode <= 300);
    expect(rows.map((r) => r.id)).toEqual(expected.map((e) => e.id));
    const cifs = await client.cifs.list(found).toArray();
    expect(cifs.map((c) => c.collectionCode)).toEqual(expected.map((e) => e.collectionCode));
  });
});

describe('bulk streams', () => {
  it('properties: one page per /csv request, rows with camelCase keys and the cells as sent under raw', async () => {
    const { sim, client, server: s } = await setup();
    const ids = sim.entries.slice(0, 1100).map((e) => e.id);
    const pageSizes: number[] = [];
    for await (const page of client.entries.properties(ids, ['StructuredFormula', 'RValue']).pages()) {
      pageSizes.push(page.length);
      for (const row of page) {
        expect(new Set(Object.keys(row))).toEqual(
          new Set(['id', 'collectionCode', 'structuredFormula', 'rValue', 'raw']),
        );
        expect(row.raw.StructuredFormula ?? '').toBe(row.structuredFormula ?? '');
        expect(row.raw.RValue ?? '').toBe(row.rValue?.text ?? '');
      }
    }
    expect(pageSizes).toEqual([500, 500, 100]);
    expect(requestsTo(s, '/csv')).toHaveLength(3);
    expect(CSV_PROPERTY_KEYS.StructuredFormula).toBe('structuredFormula');
  });

  it('cifs.list: one page per /cif/multiple request; each CIF has its document as text and as raw', async () => {
    const { sim, client } = await setup();
    const ids = sim.entries.slice(0, 700).map((e) => e.id);
    const pages = [];
    for await (const page of client.cifs.list(ids, { batchSize: 300 }).pages()) pages.push(page);
    expect(pages.map((p) => p.length)).toEqual([300, 300, 100]);
    for (const cif of pages.flat()) {
      expect(cif.raw).toBe(sim.cif(cif.id));
      expect(cif.text).toBe(cif.raw);
    }
  });
});

describe('per-call RequestOptions', () => {
  it('maxRetries of a call reaches its requests: 0 fails at the first 503, the client default rides it out', async () => {
    const { sim, client } = await setup({ maxRetries: 4 }, [
      { match: { path: '/ws/search/expert' }, failRate: 1, failStatus: 503, times: 1 },
    ]);
    await client.login();
    const error = await client.entries
      .expertSearch('COLLECTIONCODE : 1-10', { maxRetries: 0 })
      .toArray()
      .catch((e: unknown) => e);
    expect(ServerError.isInstance(error), String(error)).toBe(true);
    server?.setFaults({ match: { path: '/ws/search/expert' }, failRate: 1, failStatus: 503, times: 1 });
    const ids = await client.entries.expertSearch('COLLECTIONCODE : 1-10').toArray();
    expect(ids).toEqual(sim.entries.filter((e) => e.collectionCode <= 10).map((e) => e.id));
  });

  it('an aborted signal stops a list before any request', async () => {
    const { client, server: s } = await setup();
    const controller = new AbortController();
    controller.abort();
    const error = await client.cifs
      .list([1, 2, 3], { signal: controller.signal })
      .toArray()
      .catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('aborted');
    expect(s.requests).toHaveLength(0);
  });
});

describe('the client', () => {
  it('writes its events to `logger`: warnings as warn, requests as debug', async () => {
    const lines: Record<'debug' | 'warn', string[]> = { debug: [], warn: [] };
    const logger = { debug: (m: string) => lines.debug.push(m), warn: (m: string) => lines.warn.push(m) };
    const { client } = await setup({ logger });
    const stream = client.entries.properties([987_654_321], ['SumFormula']);
    expect(await stream.toArray()).toEqual([]);
    expect(lines.warn.join('\n')).toMatch(/1 of 1 ids produced no row/);
    expect(lines.debug.some((l) => l.startsWith('→ GET') && l.includes('/ws/csv'))).toBe(true);
  });

  it('onEvent subscribes and unsubscribes; dispose logs out and may be called again', async () => {
    const { sim, client } = await setup({ onEvent: undefined });
    const seen: string[] = [];
    const off = client.onEvent((e) => seen.push(e.type));
    await client.login();
    off();
    const before = seen.length;
    await client.entries.search('O').toArray();
    expect(seen.length).toBe(before);
    expect(seen).toContain('auth');
    await client.dispose();
    await client[Symbol.asyncDispose]();
    expect(sim.stats.liveTokens).toBe(0);
    expect(client.baseUrl).toBe(`${server?.url}/ws`);
  });

  it('has the file-writing methods on Node only', () => {
    const node = new IcsdClient({ baseUrl: 'http://127.0.0.1:9/ws', username: 'u', password: 'p' });
    const browser = new BrowserIcsdClient({ baseUrl: 'http://127.0.0.1:9/ws', username: 'u', password: 'p' });
    expect(typeof node.cifs.download).toBe('function');
    expect(typeof node.cifs.mirror).toBe('function');
    expect('download' in browser.cifs).toBe(false);
    expect(typeof browser.cifs.list).toBe('function');
  });

  it('gives its errors literal codes', () => {
    const codes = (e: IcsdError): 'icsd_quota' | 'icsd_login_refused' => e.code;
    const quota: IcsdQuotaError['code'] = 'icsd_quota';
    expect(typeof codes).toBe('function');
    expect(quota).toBe('icsd_quota');
  });
});
