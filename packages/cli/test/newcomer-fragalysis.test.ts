import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  createFragalysisSimulator,
  type FragalysisSimulator,
  type FragalysisSimulatorOptions,
  startTestServer,
  type TestServer,
  xcaBundle,
} from '@sciport/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { binPath, runCli, tempConfigDir, waitFor } from './helpers.js';

/**
 * Issue 15 (a newcomer's first hour), the Fragalysis items: messages that say what to do (8), `whoami` without a
 * token (9), builds and loads that show what they are doing (11), SMILES with their compound codes (15). The
 * built CLI as a child process, over real sockets, against the simulator.
 */

let sim: FragalysisSimulator;
let server: TestServer | undefined;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  await server?.close();
  server = undefined;
  for (const c of cleanups.splice(0)) await c();
});

/**
 * The simulator's clock, which stands still until moved: a build stays RUNNING until `finishBuilds` moves it,
 * once the CLI has polled the build's status `polls` times (states, not the wall clock).
 */
function simClock() {
  let time = Date.parse('2026-03-01T12:00:00Z');
  return {
    now: () => time,
    finishBuilds: async (polls: number) => {
      const count = () =>
        server?.requests.filter((q) => q.path.startsWith('/viewer/task_status/')).length ?? 0;
      const before = count();
      await waitFor(() => count() >= before + polls, 30_000);
      time += 10 * 60_000;
    },
  };
}

let clock: ReturnType<typeof simClock>;

async function setup(options: FragalysisSimulatorOptions = {}) {
  clock = simClock();
  sim = createFragalysisSimulator({ seed: 15, buildMs: 30, ...options });
  server = await startTestServer({ handlers: sim.handlers });
  const { root, dir, cleanup } = await tempConfigDir();
  const work = await mkdtemp(path.join(os.tmpdir(), 'sciport-newcomer-frag-'));
  cleanups.push(cleanup, () => rm(work, { recursive: true, force: true }));
  const url = server.url;
  /** A fresh user: no token unless `env` gives one. */
  const env = (extra: Record<string, string | undefined> = {}) => ({
    SCIPORT_CONFIG_DIR: dir,
    HOME: root,
    XDG_CACHE_HOME: path.join(root, 'cache'),
    FRAGALYSIS_STACK: url,
    FRAGALYSIS_TOKEN: undefined,
    FRAGALYSIS_ACCESS_TOKEN: undefined,
    ...extra,
  });
  const cli = (args: string[], extra: Record<string, string | undefined> = {}) =>
    runCli(['fragalysis', ...args], { env: env(extra) });
  return { cli, work, env, url, demo: { FRAGALYSIS_TOKEN: sim.tokenFor('demo') } };
}

/** The JSON lines of a `--json` stderr. */
function jsonLines(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('messages that say what to do (item 8)', { timeout: 60_000 }, () => {
  it('a private target without a token suggests FRAGALYSIS_TOKEN or FRAGALYSIS_ACCESS_TOKEN (exit 4)', async () => {
    const { cli, work } = await setup();
    const r = await cli(['download', 'NSP3@lb00000-1', '--out', work]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('User "|anon|" is not a member of lb00000-1');
    expect(r.stderr).toMatch(/set FRAGALYSIS_TOKEN .* or FRAGALYSIS_ACCESS_TOKEN/);
    expect(await readdir(work)).toEqual([]);
    // By title alone, the target is just not visible: the same advice.
    const byTitle = await cli(['smiles', 'NSP3']);
    expect(byTitle.code).toBe(4);
    expect(byTitle.stderr).toMatch(/No visible target NSP3.*set FRAGALYSIS_TOKEN/s);
    // A member refusal with a token points at whoami instead.
    const outsider = await cli(['download', 'NSP3@lb00000-1', '--out', work], {
      FRAGALYSIS_TOKEN: sim.tokenFor('outsider'),
    });
    expect(outsider.code).toBe(4);
    expect(outsider.stderr).toMatch(/not a member of lb00000-1.*sciport fragalysis whoami/s);
  });

  it('an ambiguous title lists the candidates as Title@TAS and shows the --tas and Title@TAS forms (exit 2)', async () => {
    const { cli, work, demo } = await setup();
    const r = await cli(['download', 'Mpro', '--out', work], demo);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Mpro@lb18145-1, Mpro@sw30864-12');
    expect(r.stderr).toMatch(/Title@TAS \(Mpro@lb18145-1\)/);
    expect(r.stderr).toContain('--tas lb18145-1');
    // Following the advice works.
    const ok = await cli(['smiles', 'Mpro@lb18145-1'], demo);
    expect(ok.code).toBe(0);
  });

  it('a wrong-case title suggests the right one (exit 4), in text and in --json', async () => {
    const { cli } = await setup();
    const r = await cli(['smiles', 'mpro']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/No visible target mpro; did you mean Mpro\?/);
    const json = await cli(['smiles', 'mpro', '--json']);
    expect(json.code).toBe(4);
    expect(json.stdout).toBe('');
    expect(JSON.stringify(jsonLines(json.stderr))).toMatch(/did you mean Mpro\?/);
  });

  it('a stack URL with a path is refused (exit 2) with the origin to use, before any request', async () => {
    const { cli, url } = await setup();
    const r = await cli(['targets'], { FRAGALYSIS_STACK: `${url}/viewer/react/landing/` });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`Use ${url} (in --stack, FRAGALYSIS_STACK`);
    const flag = await cli(['targets', '--stack', `${url}/api`]);
    expect(flag.code).toBe(2);
    expect(server?.requests.length).toBe(0);
  });
});

describe('whoami without a token (item 9)', { timeout: 60_000 }, () => {
  it('says "anonymous" and how to set a token; --json has user null and anonymous true', async () => {
    const { cli, url, demo } = await setup();
    const r = await cli(['whoami']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`anonymous on ${url}\n`);
    expect(r.stderr).toMatch(/No token: public proposals only.*FRAGALYSIS_TOKEN/);
    const json = await cli(['whoami', '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ stack: url, user: null, anonymous: true, targetAccess: [] });
    const me = await cli(['whoami', '--json'], demo);
    expect(JSON.parse(me.stdout)).toMatchObject({ user: 'demo', anonymous: false });
    expect((await cli(['whoami'], demo)).stdout).toMatch(/^demo on /);
  });
});

describe('long work shows what it is doing (item 11)', { timeout: 60_000 }, () => {
  it('--json: one result on stdout, the build status as NDJSON events on stderr', async () => {
    const { cli, work, demo } = await setup({ buildMs: 60_000, now: () => clock.now() });
    const [r] = await Promise.all([
      cli(['download', 'NSP3@lb00000-1', '--out', work, '--json'], demo),
      clock.finishBuilds(2),
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ target: 'NSP3', tas: 'lb00000-1', immediate: false });
    const events = jsonLines(r.stderr).filter((e) => e.event === 'task');
    expect(events.length).toBeGreaterThanOrEqual(2);
    for (const e of events) {
      expect(e).toMatchObject({ level: 'info', task: 'archive', target: 'NSP3', tas: 'lb00000-1' });
      expect(typeof e.elapsedMs).toBe('number');
      expect(typeof e.message).toBe('string');
    }
    expect(events.some((e) => e.state === 'RUNNING' && typeof e.detail === 'string')).toBe(true);
    expect(events.at(-1)).toMatchObject({ state: 'SUCCESS', end: true });
    expect(events.filter((e) => e.end === true)).toHaveLength(1);
  });

  it('without a terminal: one status line per change; --quiet: none', async () => {
    const { cli, work, demo } = await setup({ buildMs: 60_000, now: () => clock.now() });
    const [r] = await Promise.all([
      cli(['download', 'NSP3@lb00000-1', '--out', work], demo),
      clock.finishBuilds(2),
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/archive build NSP3 \(lb00000-1\): RUNNING: .* \(\d+ s\)/);
    expect(r.stderr).toMatch(/archive build NSP3 \(lb00000-1\): SUCCESS \(\d+ s\)/);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('archive build'));
    expect(new Set(lines.map((l) => l.replace(/ \(\d+ s\)$/, ''))).size).toBe(lines.length);
    const [quiet] = await Promise.all([
      cli(['download', 'NSP3@lb00000-1', '--out', path.join(work, 'q'), '--quiet', '--event-file'], demo),
      clock.finishBuilds(2),
    ]);
    expect(quiet.stderr).toBe('');
    expect(quiet.code).toBe(0);
  });

  it('on a terminal: a spinner with the elapsed time and the server state, then a summary line', async () => {
    const { env, work, demo } = await setup({ buildMs: 60_000, now: () => clock.now() });
    // A real pseudo-terminal (util-linux `script`), so that stderr is a TTY as for a user.
    const command = [process.execPath, binPath, 'fragalysis', 'download', 'NSP3@lb00000-1', '--out', work]
      .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
      .join(' ');
    const running = new Promise<{ code: number | null; text: string }>((resolve, reject) => {
      const child = spawn('script', ['-qfec', command, '/dev/null'], {
        env: { ...process.env, ...env(demo), TERM: 'xterm', COLUMNS: '120' } as NodeJS.ProcessEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        text += d;
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, text }));
    });
    const [out] = await Promise.all([running, clock.finishBuilds(2)]);
    expect(out.code).toBe(0);
    // Frames of the spinner, the label, the server's state and the elapsed time, redrawn in place.
    expect(out.text).toMatch(
      /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] archive build NSP3 \(lb00000-1\) · (UNKNOWN|RUNNING)[^\r\n]* · \d+ s/,
    );
    expect(out.text).toMatch(/RUNNING: /);
    expect(out.text).toMatch(/archive build NSP3 \(lb00000-1\): SUCCESS \(\d+ s\)\r?\n/);
    // The line is redrawn (carriage returns), not printed once per poll.
    expect(out.text.split(/\r?\n/).filter((l) => l.includes(' · ')).length).toBeLessThanOrEqual(2);
  });

  it('compound-set and XCA waits report their task states as events with --json', async () => {
    const { cli, work, demo } = await setup();
    const sdf = path.join(work, 'set.sdf');
    const mol = (name: string, props: Record<string, string>) =>
      `${name}\n     RDKit          3D\n\n  1  0  0  0  0  0  0  0  0  0999 V2000\n` +
      `    1.0000    2.0000    3.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\nM  END\n` +
      Object.entries(props)
        .map(([k, v]) => `> <${k}>\n${v}\n\n`)
        .join('') +
      '$$$$\n';
    await writeFile(
      sdf,
      mol('ver_1.2', {
        submitter_name: 'A',
        submitter_email: 'a@example.org',
        submitter_institution: 'Lab',
        generation_date: '2026-01-01',
        method: 'dock2',
      }) + mol('m-1', { ref_mols: 'A0001a', 'original SMILES': 'CCO' }),
    );
    const cset = await cli(
      ['csets', 'upload', sdf, '--target', 'NSP3', '--tas', 'lb00000-1', '--wait', '--json'],
      demo,
    );
    expect(cset.code).toBe(0);
    expect(() => JSON.parse(cset.stdout)).not.toThrow();
    const csetEvents = jsonLines(cset.stderr).filter((e) => e.event === 'task');
    expect(csetEvents[0]).toMatchObject({ task: 'cset-upload', target: 'NSP3', tas: 'lb00000-1' });
    expect(csetEvents.at(-1)).toMatchObject({ state: 'SUCCESS', end: true });

    const bundle = path.join(work, 'Mpro-v5.tgz');
    await writeFile(bundle, xcaBundle({ target: 'Mpro', version: 5 }));
    const xca = await cli(
      ['upload', bundle, '--target', 'Mpro', '--tas', 'sw30864-12', '--wait', '--json'],
      demo,
    );
    expect(xca.code).toBe(0);
    expect(JSON.parse(xca.stdout)).toMatchObject({ status: 'loaded', uploadIndex: 5 });
    const xcaEvents = jsonLines(xca.stderr).filter((e) => e.event === 'task');
    expect(xcaEvents[0]).toMatchObject({ task: 'xca-upload', target: 'Mpro', tas: 'sw30864-12' });
    expect(xcaEvents.at(-1)).toMatchObject({ state: 'SUCCESS', end: true });
  });
});

describe('fragalysis smiles with compound codes (item 15)', { timeout: 60_000 }, () => {
  it('prints SMILES<TAB>code (a SMILES file), a compound_code column in csv, and compounds in json', async () => {
    const { cli } = await setup();
    const target = sim.targets.find((t) => t.title === 'Mpro' && t.tas === 'lb18145-1');
    const expected = new Map<string, string>();
    for (const o of target?.observations ?? [])
      if (!expected.has(o.smiles)) expected.set(o.smiles, o.compoundCode);
    expect(expected.size).toBeGreaterThan(1);

    const smi = await cli(['smiles', 'Mpro@lb18145-1']);
    expect(smi.code).toBe(0);
    expect(smi.stdout.trim().split('\n')).toEqual([...expected].map(([s, c]) => `${s}\t${c}`));

    const csv = await cli(['smiles', 'Mpro@lb18145-1', '--format', 'csv']);
    const rows = csv.stdout.trim().split('\n');
    expect(rows[0]).toBe('target,tas,smiles,compound_code');
    expect(rows).toHaveLength(expected.size + 1);
    expect(rows[1]?.endsWith(`,${[...expected.values()][0]}`)).toBe(true);

    const json = JSON.parse((await cli(['smiles', 'Mpro@lb18145-1', '--format', 'json'])).stdout);
    expect(json.smiles).toEqual([...expected.keys()]);
    expect(json.compounds.map((c: { compoundCode: string }) => c.compoundCode)).toEqual([
      ...expected.values(),
    ]);
    expect(json.compounds[0].observations.length).toBeGreaterThan(0);
  });
});
