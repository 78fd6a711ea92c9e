import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createIcsdSimulator, type IcsdSimulator, startTestServer, type TestServer } from '@sciport/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { icsdEnv, runCli, tempConfigDir, waitFor } from './helpers.js';

/** `sciport icsd …` end to end: the built CLI as a child process, over real sockets, against the simulator. */

let sim: IcsdSimulator;
let server: TestServer;
let root: string;
let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  sim = createIcsdSimulator({ entries: 800, seed: 11 });
  server = await startTestServer({ handlers: sim.handlers });
  ({ root, dir, cleanup } = await tempConfigDir());
});

afterEach(async () => {
  await server.close();
  await cleanup();
});

function icsd(args: string[], options: Parameters<typeof runCli>[1] = {}) {
  return runCli(['icsd', ...args], {
    ...options,
    env: icsdEnv(server.url, { root, dir }, options.env),
  });
}

function token(): string | undefined {
  return server.requests.find((r) => r.headers['icsd-auth-token'])?.headers['icsd-auth-token'];
}

describe('sciport icsd login', () => {
  // issue 12: `login` keeps the session (test/icsd-session.test.ts has the rest); `logout` ends it.
  it('logs in and keeps the session, prints no token; logout ends it', async () => {
    const r = await icsd(['login']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('the session is kept');
    expect(sim.stats).toMatchObject({ logins: 1, logouts: 0, liveTokens: 1 });
    const out = await icsd(['logout']);
    expect(out.code).toBe(0);
    expect(sim.stats).toMatchObject({ logins: 1, logouts: 1, liveTokens: 0 });
    const t = token();
    expect(t).toBeTruthy();
    expect(r.stdout + r.stderr + out.stdout + out.stderr).not.toContain(t as string);
  });

  it('exits 3 with one clear line on a wrong password, never showing it', async () => {
    const r = await icsd(['login'], { env: { ICSD_PASSWORD: 'not-the-password' } });
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^sciport: ICSD login failed \(401/);
    expect(r.stderr).not.toContain('not-the-password');
  });

  it('exits 3 when ICSD refuses the login for too many open sessions, after one attempt', async () => {
    const limited = createIcsdSimulator({ entries: 50, seed: 3, sessionLimit: 1 });
    await using other = await startTestServer({ handlers: limited.handlers });
    // Another client holds the account's only session.
    const held = await fetch(`${other.url}/ws/auth/login`, {
      method: 'POST',
      body: new URLSearchParams({ loginid: 'demo', password: 'demo-password' }),
    });
    expect(held.status).toBe(200);
    const r = await icsd(
      ['fetch', '--idnum', String(limited.entries[0]!.id), '--out', path.join(root, 'x')],
      {
        env: { ICSD_BASE_URL: `${other.url}/ws` },
      },
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/ICSD refused the login \(403/);
    expect(r.stderr).toMatch(/sessions/);
    expect(r.stderr).not.toContain('demo-password');
    expect(limited.stats.refusedLogins).toBe(1);
    expect(limited.stats.requests.cif + limited.stats.requests['cif/multiple']).toBe(0);
  });

  it('exits 3 saying what to set when there are no credentials', async () => {
    const r = await icsd(['login'], { env: { ICSD_USERNAME: undefined, ICSD_PASSWORD: undefined } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('ICSD_USERNAME');
    expect(r.stderr).toContain('sciport config set icsd.username');
  });

  it('takes the credentials from the config file and another base path from --base-url', async () => {
    expect(
      (await runCli(['config', 'set', 'icsd.username', 'demo'], { env: { SCIPORT_CONFIG_DIR: dir } })).code,
    ).toBe(0);
    expect(
      (
        await runCli(['config', 'set', 'icsd.password'], {
          env: { SCIPORT_CONFIG_DIR: dir },
          input: 'demo-password\n',
        })
      ).code,
    ).toBe(0);
    const r = await icsd(['login', '--base-url', `${server.url}/api/ws`], {
      env: { ICSD_USERNAME: undefined, ICSD_PASSWORD: undefined, ICSD_BASE_URL: undefined },
    });
    expect(r.code).toBe(0);
    expect(server.requests[0]?.path).toBe('/api/ws/auth/login');
  });
});

describe('sciport icsd search', () => {
  it('prints ids, one a line, or JSON', async () => {
    const expected = sim.entries.filter((e) => e.collectionCode <= 200).map((e) => e.id);
    const r = await icsd(['search', '--expert', 'COLLECTIONCODE : 1-200']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').map(Number)).toEqual(expected);
    const j = await icsd(['--json', 'search', '--expert', 'COLLECTIONCODE : 1-200', '--limit', '3']);
    expect(JSON.parse(j.stdout)).toEqual({ ids: expected.slice(0, 3) });
    expect(sim.stats.liveTokens).toBe(0);
  });

  it('shows properties as CSV with the right values for each entry', async () => {
    const r = await icsd([
      'search',
      '--expert',
      'COLLECTIONCODE : 1-300',
      '--properties',
      'StructuredFormula,Authors',
      '--csv',
    ]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('id,collectionCode,StructuredFormula,Authors');
    const expected = sim.entries.filter((e) => e.collectionCode <= 300);
    expect(lines).toHaveLength(expected.length + 1);
    const first = expected[0]!;
    expect(lines).toContain(
      `${first.id},${first.collectionCode},${first.structuredFormula},${csvCell(first.authors.join('; '))}`,
    );
  });

  it('shows properties as a table and as NDJSON', async () => {
    const t = await icsd(['search', '--expert', 'COLLECTIONCODE : 1-40', '--properties', 'SumFormula']);
    expect(t.code).toBe(0);
    expect(t.stdout.split('\n')[0]).toMatch(/^ID\s+CODE\s+SUMFORMULA$/);
    const j = await icsd([
      '--json',
      'search',
      '--expert',
      'COLLECTIONCODE : 1-40',
      '--properties',
      'CellVolume',
    ]);
    const rows = j.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const entry = sim.entryByCode(rows[0].collectionCode)!;
    expect(rows[0].id).toBe(entry.id);
    if (entry.cellVolume) expect(rows[0].CellVolume.text).toBe(entry.cellVolume);
  });

  it('exits 2 on an unknown field or property, before any request', async () => {
    const a = await icsd(['search', '--expert', 'SPACEGRUPNUMBER : 225']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/did you mean "spaceGroupNumber"/);
    const b = await icsd(['search', 'Li', '--properties', 'SumFormla']);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('did you mean SumFormula');
    expect(server.requests.filter((r) => r.path.includes('/search/'))).toHaveLength(0);
  });
});

function csvCell(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

describe('sciport icsd fetch and mirror', () => {
  it('fetch writes the CIFs of the ids, byte-identical', async () => {
    const out = path.join(root, 'cifs');
    const entries = sim.entries.slice(3, 9);
    const r = await icsd(['fetch', '--idnum', ...entries.map((e) => String(e.id)), '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('6 written');
    for (const e of entries) {
      const file = path.join(out, `icsd_${String(e.collectionCode).padStart(6, '0')}.cif`);
      expect((await readFile(file)).equals(Buffer.from(sim.cif(e.id), 'utf8'))).toBe(true);
    }
  });

  it('fetch exits 4 naming the ids ICSD cannot serve, after writing the others', async () => {
    const out = path.join(root, 'cifs');
    const entry = sim.entries[2]!;
    const r = await icsd(['fetch', '--idnum', String(entry.id), '999999991', '--out', out]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('999999991');
    expect(r.stderr).toMatch(/not collection codes/);
    const file = path.join(out, `icsd_${String(entry.collectionCode).padStart(6, '0')}.cif`);
    expect((await readFile(file)).equals(Buffer.from(sim.cif(entry.id), 'utf8'))).toBe(true);
    const j = await icsd(['--json', 'fetch', '--idnum', '999999991', '--out', out]);
    expect(j.code).toBe(4);
    expect(JSON.parse(j.stdout)).toMatchObject({ downloaded: 0, badIds: [999999991] });
    expect(sim.stats.liveTokens).toBe(0);
  });

  it('mirror writes a range, resumes, and reports with --json', async () => {
    const out = path.join(root, 'mirror');
    const r = await icsd(['--json', 'mirror', '--out', out, '--from', '1', '--to', '1000']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    const expected = sim.entries.filter((e) => e.collectionCode <= 1000).length;
    expect(report.downloaded).toBe(expected);
    expect((await readdir(out)).filter((f) => f.endsWith('.cif'))).toHaveLength(expected);
    const again = JSON.parse(
      (await icsd(['--json', 'mirror', '--out', out, '--from', '1', '--to', '1000'])).stdout,
    );
    expect(again).toMatchObject({ downloaded: 0, skipped: expected });
    expect(sim.stats.liveTokens).toBe(0);
  });

  it('Ctrl-C stops a mirror, logs out, and exits 130; the next run resumes', async () => {
    // CIF batches are held (until the client goes away), so the mirror cannot finish before the Ctrl-C,
    // however slow the machine: the interrupt comes once the server has seen the first batch request.
    server.setFaults({ match: { path: '/ws/cif/multiple' }, latencyMs: 600_000 });
    const out = path.join(root, 'mirror');
    const r = await icsd(['mirror', '--out', out, '--concurrency', '1'], {
      onSpawn: (child) => {
        waitFor(() => server.requests.some((q) => q.path.endsWith('/cif/multiple')), 60_000).then(
          () => child.kill('SIGINT'),
          () => child.kill('SIGKILL'),
        );
      },
    });
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('Interrupted');
    expect(sim.stats.liveTokens).toBe(0);
    expect(sim.stats.logouts).toBe(sim.stats.logins);
    expect(sim.stats.cifsServed).toBe(0);
    server.setFaults(undefined);
    const done = await icsd(['--json', 'mirror', '--out', out]);
    expect(done.code).toBe(0);
    expect((await readdir(out)).filter((f) => f.endsWith('.cif'))).toHaveLength(sim.entries.length);
  });
});

describe('sciport icsd fields', () => {
  it('lists search fields and properties', async () => {
    const r = await icsd(['--json', 'fields'], {
      env: { ICSD_USERNAME: undefined, ICSD_PASSWORD: undefined },
    });
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout);
    expect(body.searchFields.map((f: { field: string }) => f.field)).toContain('SPACEGROUPNUMBER');
    expect(body.properties).toContain('StandardisedCellParameter');
    expect(server.requests).toHaveLength(0);
  });
});
