import { mkdtemp, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AbortError,
  AuthenticationError,
  MissingCredentialsError,
  NotFoundError,
  PermissionDeniedError,
  UsageError,
} from '@sciport/core';
import {
  createIcsdSimulator,
  type FaultRule,
  type IcsdSimulator,
  type IcsdSimulatorOptions,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { HttpResponse, http } from 'msw';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IcsdClient, type IcsdClientOptions, type IcsdEvent, IcsdQuotaError } from '../src/index.js';
import { JOURNAL_FILE } from '../src/node/journal.js';

let server: TestServer | undefined;
let dir: string;
const clients: IcsdClient[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-icsd-'));
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose().catch(() => undefined)));
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function setup(
  simOptions: IcsdSimulatorOptions = {},
  clientOptions: IcsdClientOptions = {},
  faults?: FaultRule | FaultRule[],
  basePath = '/ws',
) {
  const sim = createIcsdSimulator({ entries: 1500, seed: 7, ...simOptions });
  server = await startTestServer({ handlers: sim.handlers, ...(faults ? { faults } : {}), seed: 3 });
  const events: IcsdEvent[] = [];
  const client = new IcsdClient({
    baseUrl: `${server.url}${basePath}`,
    username: 'demo',
    password: 'demo-password',
    maxRetries: 4,
    onEvent: (e) => events.push(e),
    ...clientOptions,
  });
  clients.push(client);
  return { sim, server, client, events };
}

function count(s: TestServer, pathEnd: string): number {
  return s.requests.filter((r) => r.path.endsWith(pathEnd)).length;
}

const codes = (sim: IcsdSimulator, ids: number[]) => ids.map((id) => sim.entryById(id)?.collectionCode);

describe('sessions', () => {
  it('logs in lazily, shares one session among concurrent calls, and logs out at the end of `await using`', async () => {
    const sim = createIcsdSimulator({ entries: 300, seed: 2 });
    server = await startTestServer({ handlers: sim.handlers });
    {
      await using client = new IcsdClient({
        baseUrl: `${server.url}/ws`,
        username: 'demo',
        password: 'demo-password',
      });
      expect(sim.stats.logins).toBe(0);
      const results = await Promise.all([
        client.entries.search('O').toArray(),
        client.entries.expertSearch({ numberOfElements: 2 }).toArray(),
        client.entries.expertSearch('COLLECTIONCODE : 1-400').toArray(),
      ]);
      expect(results.every((r) => r.length > 0)).toBe(true);
      expect(sim.stats.logins).toBe(1);
      expect(sim.stats.liveTokens).toBe(1);
    }
    expect(sim.stats.logouts).toBe(1);
    expect(sim.stats.liveTokens).toBe(0);
  });

  it('reports wrong credentials as AuthenticationError, with no password anywhere', async () => {
    const { client, events } = await setup({}, { password: 'wrong-password-123' });
    const error = (await client.entries
      .search('Li')
      .toArray()
      .catch((e: unknown) => e)) as Error;
    expect(AuthenticationError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/ICSD login failed \(401/);
    const everything = JSON.stringify([error, error.message, error.stack, events, client.history()]);
    expect(everything).not.toContain('wrong-password-123');
  });

  it('says what to set when there are no credentials', async () => {
    const { client } = await setup({}, { username: '', password: '' });
    await expect(client.login()).rejects.toSatisfy(
      (e) =>
        MissingCredentialsError.isInstance(e) && /ICSD_USERNAME and ICSD_PASSWORD/.test((e as Error).message),
    );
  });

  it('never shows the token in events, history or errors', async () => {
    const { client, events, server: s } = await setup();
    await client.entries.search('O').toArray();
    const token = s.requests.find((r) => r.headers['icsd-auth-token'])?.headers['icsd-auth-token'];
    expect(token).toBeTruthy();
    await client.cifs.get(999_999_999).catch(() => undefined);
    expect(JSON.stringify([events, client.history()])).not.toContain(token as string);
  });

  it('logs in again once when the token dies, and goes on', async () => {
    const { sim, client } = await setup();
    await client.entries.search('O').toArray();
    sim.expireTokens();
    expect((await client.entries.search('O').toArray()).length).toBeGreaterThan(0);
    expect(sim.stats.logins).toBe(2);
    expect(sim.stats.unauthorized).toBe(1);
  });

  it('renews the session before the token expires', async () => {
    // Only the clock is fake (sockets and timers stay real): the client and the simulator read the same one.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const { sim, client } = await setup({ now: () => Date.now(), tokenLifetimeMs: 3_600_000 });
      await client.entries.search('O').toArray();
      // Fifty-six minutes later: within the five-minute renewal window of a one-hour token.
      vi.setSystemTime(Date.now() + 56 * 60_000);
      await client.entries.search('O').toArray();
      expect(sim.stats.logins).toBe(2);
      expect(sim.stats.logouts).toBe(1);
      expect(sim.stats.unauthorized).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('works under a limit of one session per account (rotations log out first)', async () => {
    const { sim, client } = await setup({ sessionLimit: 1, cifsPerSession: 1000 });
    const ids = sim.entries.slice(0, 1400).map((e) => e.id);
    const got = await client.cifs.list(ids).toArray();
    expect(got).toHaveLength(1400);
    expect(sim.stats.refusedLogins).toBe(0);
    expect(sim.stats.logins).toBeGreaterThanOrEqual(2);
  });

  it('works on the /api/ws base path too', async () => {
    const { client } = await setup({}, {}, undefined, '/api/ws');
    expect((await client.entries.search('O').toArray()).length).toBeGreaterThan(0);
  });

  it('keeps a bounded, redacted history', async () => {
    const { client } = await setup({}, { historySize: 3 });
    await client.entries.search('O').toArray();
    await client.entries.search('Li').toArray();
    await client.entries.search('Fe').toArray();
    const history = client.history();
    expect(history).toHaveLength(3);
    expect(history.at(-1)).toMatchObject({ method: 'GET', status: 200, attempt: 1 });
    expect(history.at(-1)?.url).toContain('/ws/search/simple?query=Fe');
    expect(Object.keys(history[0] ?? {})).not.toContain('body');
  });
});

describe('searches', () => {
  it('returns ids in the server order, matching the dataset', async () => {
    const { sim, client } = await setup();
    const ids = await client.entries.expertSearch({ collectionCode: [1, 2000] }).toArray();
    const expected = sim.entries
      .filter((e) => e.collectionCode >= 1 && e.collectionCode <= 2000)
      .map((e) => e.id);
    expect(ids).toEqual(expected);
  });

  it('sends the content type (theoretical with the API spelling) and filters by it', async () => {
    const { sim, client, server: s } = await setup();
    const ids = await client.entries
      .expertSearch('COLLECTIONCODE : 1-999999', { contentType: 'theoretical' })
      .toArray();
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.every((id) => sim.entryById(id)?.contentType === 'THERORETICAL_STRUCTURES')).toBe(true);
    expect(s.requests.at(-1)?.url).toContain('content+type=THERORETICAL_STRUCTURES');
    const both = await client.entries
      .expertSearch('COLLECTIONCODE : 1-999999', {
        contentType: ['inorganic', 'metalorganic'],
      })
      .toArray();
    expect(new Set(both).size).toBe(both.length);
    expect(both.length + ids.length).toBe(sim.entries.length);
  });

  it('refuses an unknown field before sending anything', async () => {
    const { client, server: s } = await setup();
    expect(() => client.entries.expertSearch({ spaceGroupNo: 225 } as never)).toThrow(
      /did you mean "spaceGroupNumber"/,
    );
    expect(() => client.entries.expertSearch('SPACEGRUPNUMBER : 225')).toThrow(UsageError);
    expect(() => client.entries.search('O', { contentType: 'organic' as never })).toThrow(/content type/);
    expect(s.requests).toHaveLength(0);
  });

  it('returns [] for no hits', async () => {
    const { client } = await setup();
    expect(await client.entries.expertSearch({ collectionCode: [9_000_000, 9_000_100] }).toArray()).toEqual(
      [],
    );
  });
});

describe('properties', () => {
  it('gives typed rows, UTF-8 intact, each paired with its id by collection code, 500 ids a request', async () => {
    const { sim, client, server: s } = await setup();
    const ids = sim.entries
      .slice(0, 1100)
      .map((e) => e.id)
      .reverse();
    const rows = await client.entries
      .properties(ids, ['StructuredFormula', 'Authors', 'CellVolume', 'PublicationYear'])
      .toArray();
    expect(rows).toHaveLength(1100);
    expect(count(s, '/csv')).toBe(3);
    for (const row of rows) {
      const entry = sim.entryByCode(row.collectionCode);
      expect(row.id).toBe(entry?.id);
      expect(row.structuredFormula).toBe(entry?.structuredFormula);
      expect(row.authors).toEqual(entry?.authors);
      expect(row.publicationYear).toBe(entry?.publicationYear);
      if (entry?.cellVolume) expect(row.cellVolume?.text).toBe(entry.cellVolume);
      // The cells as sent, keyed by the header.
      expect(row.raw.CollectionCode).toBe(String(row.collectionCode));
      expect(row.raw.Authors).toBe(entry?.authors.join(';'));
    }
    const nonAscii = rows.find((r) => r.authors.some((a) => [...a].some((ch) => ch.charCodeAt(0) > 127)));
    expect(nonAscii).toBeDefined();
  });

  it('reports ids without a row, and refuses unknown properties', async () => {
    const { sim, client } = await setup();
    const ids = [sim.entries[0]!.id, 987_654_321, sim.entries[1]!.id];
    const stream = client.entries.properties(ids, ['SumFormula']);
    const rows = await stream.toArray();
    expect(rows.map((r) => r.id)).toEqual([sim.entries[0]!.id, sim.entries[1]!.id]);
    expect(stream.missingIds).toEqual([987_654_321]);
    expect(() => client.entries.properties(ids, ['SumFormla' as never])).toThrow(/did you mean SumFormula/);
  });
});

describe('CIFs', () => {
  it('fetches one CIF exactly as sent, and reports an unknown id as NotFoundError', async () => {
    const { sim, client } = await setup();
    const entry = sim.entries[10]!;
    const got = await client.cifs.get(entry.id);
    expect(got).toEqual({
      id: entry.id,
      collectionCode: entry.collectionCode,
      text: sim.cif(entry.id),
      raw: sim.cif(entry.id),
    });
    await expect(client.cifs.get(999_999_999)).rejects.toBeInstanceOf(NotFoundError);
    const standardized = await client.cifs.get(entry.id, { cellType: 'standardized' });
    expect(standardized.text).toBe(sim.cif(entry.id, { cellType: 'standardized' }));
  });

  it('fetches many in batches of 500, each document byte-identical and paired with its id', async () => {
    const { sim, client, server: s } = await setup({ cifsPerSession: null });
    const ids = sim.entries.slice(0, 1234).map((e) => e.id);
    const got = await client.cifs.list(ids, { concurrency: 3 }).toArray();
    expect(got.map((c) => c.id)).toEqual(ids);
    for (const c of got) {
      expect(c.collectionCode).toBe(sim.entryById(c.id)?.collectionCode);
      expect(c.text).toBe(sim.cif(c.id));
    }
    const batches = s.requests.filter((r) => r.path.endsWith('/cif/multiple'));
    expect(batches.map((r) => r.query.idnum?.length)).toEqual([500, 500, 234]);
  });

  it('isolates bad ids by bisection; the others still arrive', async () => {
    const { sim, client } = await setup({ cifsPerSession: null });
    const good = sim.entries.slice(0, 300).map((e) => e.id);
    const ids = [
      ...good.slice(0, 100),
      888_888_881,
      ...good.slice(100, 250),
      888_888_882,
      ...good.slice(250),
    ];
    const reported: number[][] = [];
    const stream = client.cifs.list(ids, { onBadIds: (b) => reported.push(b) });
    const got = await stream.toArray();
    expect(got.map((c) => c.id).sort()).toEqual([...good].sort());
    expect(stream.badIds.slice().sort()).toEqual([888_888_881, 888_888_882]);
    expect(reported.flat().sort()).toEqual([888_888_881, 888_888_882]);
    for (const c of got) expect(c.text).toBe(sim.cif(c.id));
  });

  it('rotates the session before the per-session quota is reached (no 403 needed)', async () => {
    const { sim, client } = await setup({ cifsPerSession: 1000 });
    const ids = sim.entries.slice(0, 1450).map((e) => e.id);
    const got = await client.cifs.list(ids, { concurrency: 4 }).toArray();
    expect(got).toHaveLength(1450);
    expect(sim.stats.quotaRefusals).toBe(0);
    expect(sim.stats.logins).toBe(2);
    expect(sim.stats.logouts).toBe(1);
  });

  it('recovers when the server quota is smaller than assumed (403, new session, retry)', async () => {
    const { sim, client, events } = await setup({ cifsPerSession: 600 }, { cifsPerSession: 1000 });
    const ids = sim.entries.slice(0, 1400).map((e) => e.id);
    const got = await client.cifs.list(ids, { concurrency: 1 }).toArray();
    expect(got.map((c) => c.id)).toEqual(ids);
    expect(sim.stats.quotaRefusals).toBeGreaterThan(0);
    expect(events.some((e) => e.type === 'session' && e.reason === 'refused')).toBe(true);
  });

  it('fails with IcsdQuotaError when even a fresh session is refused (throttled account)', async () => {
    const { sim, client, server: s } = await setup();
    s.use(http.get('*/ws/cif/multiple', () => HttpResponse.text('Download limit reached', { status: 403 })));
    const ids = sim.entries.slice(0, 20).map((e) => e.id);
    const error = await client.cifs
      .list(ids)
      .toArray()
      .catch((e: unknown) => e);
    expect(IcsdQuotaError.isInstance(error)).toBe(true);
    expect(PermissionDeniedError.isInstance(error)).toBe(false);
    expect((error as Error).message).toMatch(/throttled/);
    // The batch is halved in case the quota is smaller than it (20, 10, 5, 3, 2, 1), then one fresh session
    // for a single CIF, and it stops: no fast loop.
    expect(count(s, '/cif/multiple')).toBeLessThanOrEqual(8);
    expect(sim.stats.logins).toBe(2);
  });

  it('survives 503s, 429s with Retry-After and truncated bodies, still byte for byte', async () => {
    const faults: FaultRule[] = [
      { match: { path: '/ws/cif/multiple' }, failRate: 0.25, failStatus: 503 },
      { match: { path: '/ws/cif/multiple' }, truncateRate: 0.2 },
      { rateLimitEvery: 7, retryAfter: 0 },
    ];
    const {
      sim,
      client,
      events,
      server: s,
    } = await setup({ cifsPerSession: null }, { maxRetries: 8 }, faults);
    const ids = sim.entries.slice(0, 1000).map((e) => e.id);
    // One request at a time: the seeded faults then fall on the same requests in every run.
    const got = await client.cifs.list(ids, { batchSize: 100, concurrency: 1 }).toArray();
    expect(got).toHaveLength(1000);
    for (const c of got) expect(c.text).toBe(sim.cif(c.id));
    const faulted = new Set(s.requests.map((r) => r.fault));
    for (const kind of ['fail', 'truncate', 'rate-limit'])
      expect(faulted.has(kind as never), kind).toBe(true);
    expect(events.filter((e) => e.type === 'retry').length).toBeGreaterThan(0);
  });
});

describe('download and mirror', () => {
  async function files(d: string) {
    return (await readdir(d)).filter((f) => f.endsWith('.cif')).sort();
  }

  it('download writes icsd_<code>.cif files byte-identical to what was sent', async () => {
    const { sim, client } = await setup();
    const ids = sim.entries.slice(5, 25).map((e) => e.id);
    const report = await client.cifs.download(ids, dir);
    expect(report.downloaded).toBe(20);
    const names = await files(dir);
    expect(names).toEqual(
      codes(sim, ids)
        .map((cc) => `icsd_${String(cc).padStart(6, '0')}.cif`)
        .sort(),
    );
    for (const id of ids) {
      const cc = sim.entryById(id)!.collectionCode;
      const written = await readFile(path.join(dir, `icsd_${String(cc).padStart(6, '0')}.cif`));
      expect(written.equals(Buffer.from(sim.cif(id), 'utf8'))).toBe(true);
    }
    // Again: nothing to fetch.
    const again = await client.cifs.download(ids, dir);
    expect(again).toMatchObject({ downloaded: 0, skipped: 20 });
  });

  it('mirrors the whole database with few requests, and a second run fetches nothing', async () => {
    const { sim, client, server: s } = await setup({ cifsPerSession: null });
    const progress: number[] = [];
    const report = await client.cifs.mirror(dir, { onProgress: (p) => progress.push(p.done) });
    expect(report.downloaded).toBe(sim.entries.length);
    expect((await files(dir)).length).toBe(sim.entries.length);
    // One search per content type (plus a check when a count looks capped), one CIF request per 500.
    expect(count(s, '/cif/multiple')).toBe(Math.ceil(sim.entries.length / 500));
    expect(report.searches).toBeLessThanOrEqual(9);
    expect(progress.at(-1)).toBe(sim.entries.length);
    for (const e of sim.entries.slice(0, 50)) {
      const written = await readFile(
        path.join(dir, `icsd_${String(e.collectionCode).padStart(6, '0')}.cif`),
        'utf8',
      );
      expect(written).toBe(sim.cif(e.id));
    }
    s.clearLog();
    const again = await client.cifs.mirror(dir);
    expect(again.downloaded).toBe(0);
    expect(again.skipped).toBe(sim.entries.length);
    expect(count(s, '/cif/multiple')).toBe(0);
  });

  it('resumes an interrupted mirror without fetching again what is complete', async () => {
    const { sim, client, server: s } = await setup({ cifsPerSession: null }, {}, { latencyMs: 30 });
    const controller = new AbortController();
    await expect(
      client.cifs.mirror(dir, {
        concurrency: 1,
        batchSize: 100,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.done >= 300) controller.abort();
        },
      }),
    ).rejects.toBeInstanceOf(AbortError);
    const first = await files(dir);
    // Batches already fetched when the abort came are still written (and journalled): their work is kept.
    expect(first.length).toBeGreaterThanOrEqual(300);
    expect(first.length).toBeLessThan(sim.entries.length);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    s.clearLog();
    const report = await client.cifs.mirror(dir);
    expect(report.skipped).toBe(first.length);
    expect(report.downloaded).toBe(sim.entries.length - first.length);
    const asked = s.requests
      .filter((r) => r.path.endsWith('/cif/multiple'))
      .flatMap((r) => r.query.idnum ?? []);
    expect(asked.length).toBe(sim.entries.length - first.length);
    expect((await files(dir)).length).toBe(sim.entries.length);
  });

  it('fetches again the batch of a file that went missing or was cut', async () => {
    const { sim, client } = await setup({ cifsPerSession: null });
    await client.cifs.mirror(dir, { from: 1, to: 1000 });
    const names = await files(dir);
    await unlink(path.join(dir, names[3]!));
    const report = await client.cifs.mirror(dir, { from: 1, to: 1000 });
    expect(report.downloaded).toBeGreaterThanOrEqual(1);
    expect(await files(dir)).toEqual(names);
    expect(sim.stats.cifsServed).toBeGreaterThan(names.length);
  });

  it('mirrors a collection-code range and keeps a manifest', async () => {
    const { sim, client } = await setup({ cifsPerSession: null });
    const report = await client.cifs.mirror(dir, { from: 100, to: 900, contentType: 'inorganic' });
    const expected = sim.entries.filter(
      (e) => e.collectionCode >= 100 && e.collectionCode <= 900 && e.contentType === 'EXPERIMENTAL_INORGANIC',
    );
    expect(report.downloaded).toBe(expected.length);
    expect((await readdir(dir)).includes(JOURNAL_FILE)).toBe(true);
  });

  it('refuses to mix cell types in one folder', async () => {
    const { client } = await setup({ cifsPerSession: null });
    await client.cifs.mirror(dir, { from: 1, to: 50 });
    await expect(
      client.cifs.mirror(dir, { from: 1, to: 50, cellType: 'standardized' }),
    ).rejects.toBeInstanceOf(UsageError);
  });
});
