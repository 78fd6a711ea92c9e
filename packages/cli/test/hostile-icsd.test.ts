import { readdir } from 'node:fs/promises';
import path from 'node:path';
import {
  createIcsdSimulator,
  type IcsdSimulator,
  type IcsdSimulatorOptions,
  type RawRoute,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { endlessBody, icsdCifsWithCodes, stallAfterHeaders } from '@sciport/testkit/hostile';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempConfigDir, waitFor } from './helpers.js';

/**
 * `sciport icsd …` as a child process against an ICSD simulator that misbehaves: a per-session quota below the
 * batch size or none at all, a search that stalls after its headers, collection codes that are no numbers,
 * answers that never end. Budgets are generous; what is asserted is that the CLI ends, with the right exit code,
 * within them, leaving no session open on the server.
 */

let server: TestServer | undefined;
let root: string;
let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ root, dir, cleanup } = await tempConfigDir());
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  await cleanup();
});

async function serve(options: IcsdSimulatorOptions, raw: RawRoute[] = []): Promise<IcsdSimulator> {
  const sim = createIcsdSimulator({ entries: 1500, seed: 21, ...options });
  server = await startTestServer({ handlers: sim.handlers, raw });
  return sim;
}

function icsd(args: string[], options: Parameters<typeof runCli>[1] = {}) {
  return runCli(['icsd', ...args], {
    ...options,
    env: {
      SCIPORT_CONFIG_DIR: dir,
      HOME: root,
      ICSD_BASE_URL: `${server?.url}/ws`,
      ICSD_USERNAME: 'demo',
      ICSD_PASSWORD: 'demo-password',
      ...options.env,
    },
  });
}

async function timed<T>(work: Promise<T>): Promise<T & { ms: number }> {
  const started = Date.now();
  const result = await work;
  return { ...result, ms: Date.now() - started };
}

const cifFiles = async (out: string) => (await readdir(out)).filter((f) => f.endsWith('.cif'));

describe('sciport icsd mirror against a per-session quota below the batch size', () => {
  it('quota 499: the batches shrink and the mirror completes, with few logins and none left open', {
    timeout: 90_000,
  }, async () => {
    const sim = await serve({ cifsPerSession: 499 });
    const out = path.join(root, 'mq');
    const r = await timed(icsd(['--json', 'mirror', '--out', out]));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ downloaded: 1500 });
    expect(await cifFiles(out)).toHaveLength(1500);
    // 1500 CIFs, at most 499 a session: 4 sessions at least. The bug made 12,000 in 30 s.
    expect(sim.stats.logins).toBeGreaterThanOrEqual(4);
    expect(sim.stats.logins).toBeLessThanOrEqual(10);
    expect(sim.stats.quotaRefusals).toBeLessThanOrEqual(4);
    expect(sim.stats.liveTokens).toBe(0);
    // Budget: a few seconds of work; 60 s is generous.
    expect(r.ms).toBeLessThan(60_000);
  });

  it('quota 0 (always refused): ends with the quota error and exit 1, in bounded time and logins, none left open', {
    timeout: 90_000,
  }, async () => {
    const sim = await serve({ cifsPerSession: 0 });
    const out = path.join(root, 'mq0');
    const r = await timed(icsd(['mirror', '--out', out]));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sciport: ICSD refused further CIFs after 0 /m);
    // No stack trace without --verbose.
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.ms).toBeLessThan(60_000);
    expect(sim.stats.logins).toBeLessThanOrEqual(3);
    expect(sim.stats.quotaRefusals).toBeLessThanOrEqual(16);
    expect(sim.stats.liveTokens).toBe(0);
    expect(await cifFiles(out)).toEqual([]);
  });

  it('Ctrl-C while a new session is being opened: exit 130, and that session is logged out too', {
    timeout: 90_000,
  }, async () => {
    const sim = await serve({ cifsPerSession: 499 });
    // Every login takes 1.5 s: the interrupt comes while the session after the first is being opened.
    server?.setFaults({ match: { path: '/ws/auth/login' }, latencyMs: 1_500 });
    const out = path.join(root, 'mq');
    const logins = () => server?.requests.filter((q) => q.path.endsWith('/auth/login')).length ?? 0;
    const r = await icsd(['mirror', '--out', out], {
      onSpawn: (child) => {
        waitFor(() => logins() >= 2, 60_000).then(
          () => child.kill('SIGINT'),
          () => child.kill('SIGKILL'),
        );
      },
    });
    expect(r.code).toBe(130);
    // The login in flight completes (within its latency) and is logged out by the cleanup.
    await waitFor(() => sim.stats.logins === logins(), 10_000);
    expect(sim.stats.liveTokens).toBe(0);
    expect(sim.stats.logouts).toBe(sim.stats.logins);
  });
});

describe('sciport icsd against answers that stall or never end', () => {
  // Depends on core (issue 11, item 2): a buffered body that stalls after its headers must time out.
  it('search "Li O" --timeout 5 against a search that stalls after its headers: a timeout error, exit 5', {
    timeout: 90_000,
  }, async () => {
    const stall = stallAfterHeaders({ path: '/ws/search/simple' });
    const sim = await serve({ entries: 50 }, [stall]);
    const r = await timed(icsd(['search', 'Li O', '--timeout', '5']));
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/tim(e|ed) ?out/i);
    // Budget: 5 s per attempt, a few retries, then the exit; 60 s is generous.
    expect(r.ms).toBeLessThan(60_000);
    expect(stall.stats.requests).toBeGreaterThanOrEqual(1);
    expect(sim.stats.liveTokens).toBe(0);
  });

  it('a CIF answer that never ends: a clear error after a bounded read, and the CLI exits promptly', {
    timeout: 90_000,
  }, async () => {
    const sim = await serve({ entries: 50, cifsPerSession: null });
    const endless = endlessBody({ path: '/ws/cif/*' }, { headers: { 'content-type': 'application/cif' } });
    server?.useRaw(endless);
    const out = path.join(root, 'x');
    const r = await timed(icsd(['fetch', '--idnum', String(sim.entries[0]!.id), '--out', out]));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^sciport: /m);
    // Each attempt stops at the bound for its CIFs (9 MiB for one); budget 256 MiB over all retries.
    expect(endless.stats.bytesSent).toBeLessThan(256 * 1024 * 1024);
    expect(r.ms).toBeLessThan(60_000);
    expect(sim.stats.liveTokens).toBe(0);
    expect((await readdir(out)).filter((f) => !f.startsWith('.sciport-icsd'))).toEqual([]);
  });
});

describe('sciport icsd fetch with collection codes that are no numbers', () => {
  it('refuses the CIF whose code is 1e30, writes the others, and exits 4 naming the id', {
    timeout: 90_000,
  }, async () => {
    const sim = createIcsdSimulator({ entries: 30, seed: 21, cifsPerSession: null });
    const ids = sim.entries.slice(0, 5).map((e) => e.id);
    const bad = ids[2] as number;
    const route = icsdCifsWithCodes(sim, { [bad]: `1${'0'.repeat(30)}` });
    server = await startTestServer({ handlers: sim.handlers, raw: [route] });
    const out = path.join(root, 'codes');
    const r = await icsd(['fetch', '--idnum', ids.join(','), '--out', out]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('is not a positive whole number');
    expect(r.stderr).toContain(String(bad));
    const files = await cifFiles(out);
    expect(files).toHaveLength(4);
    for (const f of files) expect(f).toMatch(/^icsd_\d{6,16}\.cif$/);
    expect(sim.stats.liveTokens).toBe(0);
  });
});
