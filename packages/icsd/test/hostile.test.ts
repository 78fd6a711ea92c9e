import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AbortError, SciportError, UsageError } from '@sciport/core';
import {
  createIcsdSimulator,
  type IcsdSimulatorOptions,
  type RawRoute,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { endlessBody, fixedAnswer, icsdCifsWithCodes, icsdSearchWith } from '@sciport/testkit/hostile';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IcsdClient, type IcsdClientOptions, type IcsdEvent, IcsdQuotaError } from '../src/index.js';
import { LoginLimiter } from '../src/internal/login-limiter.js';
import { cifFileName } from '../src/schemas/cif.js';

/**
 * ICSD against servers that misbehave: a per-session quota below the batch size or none at all, collection
 * codes and ids that are no entry numbers, damaged files in a mirror, answers that never end. Real sockets;
 * budgets are generous.
 */

let server: TestServer | undefined;
let dir: string;
const clients: IcsdClient[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-icsd-hostile-'));
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
  raw: RawRoute[] = [],
) {
  const sim = createIcsdSimulator({ entries: 1500, seed: 7, ...simOptions });
  server = await startTestServer({ handlers: sim.handlers, raw });
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

const batchSizes = (s: TestServer) =>
  s.requests
    .filter((r) => r.path.endsWith('/cif/multiple'))
    .map((r) => new URL(r.url).searchParams.getAll('idnum').length);

describe('a per-session CIF quota below the batch size (spec §9, §10, Appendix A)', () => {
  it('quota 499: the batches shrink, the mirror completes, with a bounded number of logins', async () => {
    const { sim, client, server: s } = await setup({ cifsPerSession: 499 });
    const report = await client.cifs.mirror(dir);
    expect(report.downloaded).toBe(1500);
    expect((await readdir(dir)).filter((f) => f.endsWith('.cif'))).toHaveLength(1500);
    // One refusal teaches the size (a few more from the batches already in flight); then none.
    expect(sim.stats.quotaRefusals).toBeLessThanOrEqual(4);
    expect(batchSizes(s).slice(-1)[0]).toBeLessThanOrEqual(499);
    // 1500 CIFs at most 499 a session: at least 4 sessions; the bug made thousands.
    expect(sim.stats.logins).toBeGreaterThanOrEqual(4);
    expect(sim.stats.logins).toBeLessThanOrEqual(10);
    await client.dispose();
    expect(sim.stats.liveTokens).toBe(0);
  });

  it('quota 0 (always refused): IcsdQuotaError with the count fetched, in bounded time and logins, no session left', async () => {
    const { sim, client, server: s, events } = await setup({ cifsPerSession: 0 });
    const started = Date.now();
    const error = await client.cifs.mirror(dir).catch((e: unknown) => e);
    expect(IcsdQuotaError.isInstance(error)).toBe(true);
    expect((error as IcsdQuotaError).cifsFetched).toBe(0);
    expect((error as Error).message).toMatch(/after 0 /);
    // Budget: the back-off adds up to a few seconds; 30 s is generous.
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(sim.stats.logins).toBeLessThanOrEqual(3);
    // The batch estimate shrinks by halves (500, 499, 249, …, 1), one request at a time: about ten refusals.
    expect(sim.stats.quotaRefusals).toBeLessThanOrEqual(16);
    // Consecutive refusals back off.
    expect(events.some((e) => e.type === 'quota' && e.action === 'backoff')).toBe(true);
    // Nothing runs on behind the error: the requests seen now are all there will be.
    const seen = s.requests.length;
    await client.dispose();
    expect(s.requests.length).toBe(seen + 1);
    expect(sim.stats.liveTokens).toBe(0);
    expect((await readdir(dir)).filter((f) => f.endsWith('.cif'))).toEqual([]);
  });

  it('an abort mid-mirror keeps what was written, and dispose leaves no session open', async () => {
    const { sim, client } = await setup({ cifsPerSession: 499 }, { concurrency: 2 });
    const controller = new AbortController();
    const error = await client.cifs
      .mirror(dir, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.done > 0) controller.abort();
        },
      })
      .catch((e: unknown) => e);
    expect(AbortError.isInstance(error)).toBe(true);
    await client.dispose();
    expect(sim.stats.liveTokens).toBe(0);
    expect(sim.stats.logins).toBe(sim.stats.logouts);
  });

  it('a disposed client opens no session: calls fail with a UsageError, without a login', async () => {
    const { sim, client } = await setup();
    await client.entries.search('O').toArray();
    await client.dispose();
    const error = await client.entries
      .search('O')
      .toArray()
      .catch((e: unknown) => e);
    expect(UsageError.isInstance(error)).toBe(true);
    expect(sim.stats).toMatchObject({ logins: 1, logouts: 1, liveTokens: 0 });
  });
});

describe('the login limiter', () => {
  it('lets 20 logins a minute through and makes the 21st wait for the oldest to leave the window', async () => {
    vi.useFakeTimers();
    try {
      const waits: number[] = [];
      const limiter = new LoginLimiter({ onWait: (ms) => waits.push(ms) });
      for (let i = 0; i < 20; i++) await limiter.take();
      let done = false;
      const next = limiter.take().then(() => {
        done = true;
      });
      await vi.advanceTimersByTimeAsync(59_000);
      expect(done).toBe(false);
      await vi.advanceTimersByTimeAsync(1_000);
      await next;
      expect(done).toBe(true);
      expect(waits).toEqual([60_000]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('an abort ends a wait without counting it', async () => {
    vi.useFakeTimers();
    try {
      const limiter = new LoginLimiter({ max: 1, windowMs: 1_000 });
      await limiter.take();
      const controller = new AbortController();
      const waiting = limiter.take(controller.signal).catch((e: unknown) => e);
      controller.abort();
      expect(AbortError.isInstance(await waiting)).toBe(true);
      expect(limiter.delay()).toBe(1_000);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('collection codes and ids that are no entry numbers', () => {
  const BIG = `1${'0'.repeat(30)}`;

  it('mirror: a CIF whose code is 0 or 1e30 is refused alone and reported; the others are written', async () => {
    const sim = createIcsdSimulator({ entries: 40, seed: 4, cifsPerSession: null });
    const [a, b] = [sim.entries[3]!.id, sim.entries[17]!.id];
    const route = icsdCifsWithCodes(sim, { [a]: BIG, [b]: '0' });
    server = await startTestServer({ handlers: sim.handlers, raw: [route] });
    const events: IcsdEvent[] = [];
    const client = new IcsdClient({
      baseUrl: `${server.url}/ws`,
      username: 'demo',
      password: 'demo-password',
      onEvent: (e) => events.push(e),
    });
    clients.push(client);
    const report = await client.cifs.mirror(dir);
    expect(report.downloaded).toBe(38);
    expect(report.badIds.sort()).toEqual([a, b].sort());
    const files = (await readdir(dir)).filter((f) => f.endsWith('.cif'));
    expect(files).toHaveLength(38);
    for (const f of files) expect(f).toMatch(/^icsd_\d{6,16}\.cif$/);
    const warnings = events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));
    expect(warnings.some((m) => m.includes(BIG) && m.includes(`id ${a}`))).toBe(true);
    expect(warnings.some((m) => m.includes('"0"') && m.includes(`id ${b}`))).toBe(true);
    // The next run does not take them for done.
    const again = await client.cifs.mirror(dir);
    expect(again.skipped).toBe(38);
    expect(again.badIds.sort()).toEqual([a, b].sort());
  });

  it('cifs.list and get: the bad document is left out and reported; get refuses it clearly', async () => {
    const sim = createIcsdSimulator({ entries: 20, seed: 4, cifsPerSession: null });
    const bad = sim.entries[5]!.id;
    server = await startTestServer({ handlers: sim.handlers, raw: [icsdCifsWithCodes(sim, { [bad]: BIG })] });
    const client = new IcsdClient({
      baseUrl: `${server.url}/ws`,
      username: 'demo',
      password: 'demo-password',
    });
    clients.push(client);
    const ids = sim.entries.map((e) => e.id);
    const stream = client.cifs.list(ids);
    const got = await stream.toArray();
    expect(got.map((c) => c.id).sort()).toEqual(ids.filter((id) => id !== bad).sort());
    expect(stream.badIds).toEqual([bad]);
    const error = await client.cifs.get(bad).catch((e: unknown) => e);
    expect(SciportError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /collection code "1000000000000000000000000000000" is not a positive whole number/,
    );
  });

  it('search: ids 0 and beyond the safe integers are left out with a warning, the others kept', async () => {
    const { client, events } = await setup({}, {}, [icsdSearchWith(['12', '0', BIG, 1e30, '34'])]);
    const ids = await client.entries.search('Li O').toArray();
    expect(ids).toEqual([12, 34]);
    const warning = events.find((e) => e.type === 'warning' && /not an id/.test(e.message));
    expect(warning).toBeDefined();
  });

  it('properties: a /csv row whose collection code is 1e30 is left out with a warning, the others kept', async () => {
    const sim = createIcsdSimulator({ entries: 20, seed: 4 });
    const [e0, e1] = [sim.entries[0]!, sim.entries[1]!];
    const csv = fixedAnswer(
      { path: '/ws/csv' },
      {
        status: 200,
        headers: { 'content-type': 'application/csv;charset=UTF-8' },
        body: `CollectionCode\tStructuredFormula\t\n${BIG}\tNa Cl\t\n${e0.collectionCode}\tCo O\t\n`,
      },
    );
    server = await startTestServer({ handlers: sim.handlers, raw: [csv] });
    const events: IcsdEvent[] = [];
    const client = new IcsdClient({
      baseUrl: `${server.url}/ws`,
      username: 'demo',
      password: 'demo-password',
      onEvent: (e) => events.push(e),
    });
    clients.push(client);
    const rows = await client.entries.properties([e0.id, e1.id], ['StructuredFormula']).toArray();
    expect(rows.map((r) => [r.id, r.collectionCode])).toEqual([[e0.id, e0.collectionCode]]);
    expect(
      events.some((e) => e.type === 'warning' && e.message.includes(BIG) && /left out/.test(e.message)),
    ).toBe(true);
  });

  it('cifFileName refuses what is not a positive safe integer', () => {
    expect(cifFileName(1975)).toBe('icsd_001975.cif');
    for (const bad of [0, -1, 1.5, 1e30, Number.NaN]) expect(() => cifFileName(bad)).toThrow(RangeError);
  });
});

describe('a mirror with damaged files', () => {
  it('fetches only the damaged files again, not their batches', async () => {
    const { sim, client } = await setup({ entries: 1000, cifsPerSession: null });
    const first = await client.cifs.mirror(dir);
    expect(first.downloaded).toBe(1000);
    const served = sim.stats.cifsServed;
    // One file in each batch of 500: one cut short, one the same length but its end line changed, one grown.
    const [x, y, z] = [sim.entries[10]!, sim.entries[700]!, sim.entries[990]!];
    const fx = path.join(dir, cifFileName(x.collectionCode));
    await truncate(fx, (await stat(fx)).size - 40);
    const fy = path.join(dir, cifFileName(y.collectionCode));
    const text = await readFile(fy, 'utf8');
    const end = `#End of TTdata_${y.collectionCode}-ICSD`;
    const altered = end.replace(/\d(?=-ICSD)/, (d) => String((Number(d) + 1) % 10));
    await writeFile(fy, text.replace(end, altered));
    const fz = path.join(dir, cifFileName(z.collectionCode));
    await writeFile(fz, `${await readFile(fz, 'utf8')}# appended\n`);
    const second = await client.cifs.mirror(dir);
    expect(sim.stats.cifsServed - served).toBe(3);
    expect(second.downloaded).toBe(3);
    expect(second.skipped).toBe(997);
    for (const e of [x, y, z]) {
      expect(await readFile(path.join(dir, cifFileName(e.collectionCode)), 'utf8')).toBe(sim.cif(e.id));
    }
    // And the run after that fetches nothing.
    const third = await client.cifs.mirror(dir);
    expect(third.downloaded).toBe(0);
    expect(sim.stats.cifsServed - served).toBe(3);
  });
});

describe('answers that never end are read only up to what they can hold', () => {
  it('a login answer without end: refused after a bounded read, and nothing else is sent', async () => {
    const login = endlessBody({ path: '/ws/auth/login' }, { headers: { 'icsd-auth-token': 'tok' } });
    const { client, server: s } = await setup({}, { maxRetries: 0 }, [login]);
    const error = await client.entries
      .search('O')
      .toArray()
      .catch((e: unknown) => e);
    expect(SciportError.isInstance(error)).toBe(true);
    // 32 KiB are read; socket buffers add some more. Budget: 16 MiB.
    expect(login.stats.bytesSent).toBeLessThan(16 * 1024 * 1024);
    expect(s.requests.filter((r) => r.path.includes('/search/'))).toHaveLength(0);
  });

  it('a CIF answer without end: refused at a bound that fits one CIF', async () => {
    const cif = endlessBody({ path: '/ws/cif/*' }, { headers: { 'content-type': 'application/cif' } });
    const { sim, client } = await setup({ cifsPerSession: null }, { maxRetries: 0 }, [cif]);
    const error = await client.cifs.get(sim.entries[0]!.id).catch((e: unknown) => e);
    expect(SciportError.isInstance(error)).toBe(true);
    // 9 MiB for one CIF; budget 64 MiB with what the socket buffers hold.
    expect(cif.stats.bytesSent).toBeLessThan(64 * 1024 * 1024);
  });
});
