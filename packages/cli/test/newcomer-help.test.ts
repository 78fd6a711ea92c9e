import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type CrucibleSimulator,
  createCrucibleSimulator,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempConfigDir } from './helpers.js';

/**
 * Issue 15 (items 12, 14 and Crucible's 15), end to end: the built CLI as a child process against the Crucible
 * simulator over real sockets. Help at the terminal's width (`sciport-sim --help` too), `keywords list`, the
 * keywords in `datasets get`, `datasets list` newest first on both APIs with its dates named in UTC, and sizes
 * in human units. (The progress bar itself is drawn only on a terminal: its rendering is tested with a fake
 * terminal in progress.test.ts.)
 */

let sim: CrucibleSimulator;
let server: TestServer;
let root: string;
let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  sim = createCrucibleSimulator({ seed: 15, datasets: 12 });
  server = await startTestServer({ handlers: sim.handlers });
  ({ root, dir, cleanup } = await tempConfigDir());
});

afterEach(async () => {
  await server.close();
  await sim.dispose();
  await cleanup();
});

function crucible(args: string[], env: Record<string, string> = {}) {
  return runCli(['crucible', ...args], {
    env: {
      SCIPORT_CONFIG_DIR: dir,
      HOME: root,
      XDG_CACHE_HOME: path.join(root, 'cache'),
      CRUCIBLE_API_URL: `${server.url}/api/v2`,
      CRUCIBLE_API_KEY: sim.keyFor('demo'),
      ...env,
    },
  });
}

/** The widest line, but for commands to copy, which stay whole (a hard break would paste as two commands). */
const widest = (text: string) =>
  Math.max(
    ...text
      .split('\n')
      .filter((l) => !/^(\s*\S+ {2,})?\s*(\$ )?(sciport|sciport-sim|source|npx|npm|pnpm|export)\s/.test(l))
      .map((l) => l.length),
  );

describe('help at the terminal width', () => {
  it('wraps every help page at COLUMNS, added text included, and uses a wide terminal', async () => {
    for (const args of [
      ['--help'],
      ['crucible', '--help'],
      ['crucible', 'datasets', 'list', '--help'],
      ['crucible', 'download', '--help'],
      ['icsd', 'mirror', '--help'],
      ['config', '--help'],
    ]) {
      const narrow = await runCli(args, { env: { COLUMNS: '60', HOME: root, SCIPORT_CONFIG_DIR: dir } });
      expect(narrow.code, args.join(' ')).toBe(0);
      expect(widest(narrow.stdout), `${args.join(' ')}\n${narrow.stdout}`).toBeLessThanOrEqual(60);
    }
    const wide = await runCli(['crucible', 'download', '--help'], { env: { COLUMNS: '200', HOME: root } });
    expect(widest(wide.stdout)).toBeGreaterThan(100);
  });

  it('keeps a command to copy on one line, and leaves piped help without COLUMNS unwrapped', async () => {
    const narrow = await runCli(['completion', '--help'], { env: { COLUMNS: '50', HOME: root } });
    expect(narrow.stdout).toContain(
      '  bash  sciport completion bash > ~/.local/share/bash-completion/completions/sciport\n',
    );
    expect(widest(narrow.stdout)).toBeLessThanOrEqual(50);
    const piped = await runCli(['completion', '--help'], { env: { HOME: root } });
    expect(piped.stdout).toMatch(
      /^Or for the current shell only: source <\(sciport completion bash\) +\(zsh: after compinit\)$/m,
    );
  });

  it('sciport-sim --help wraps at COLUMNS too', async () => {
    const bin = fileURLToPath(new URL('../../testkit/dist/bin.js', import.meta.url));
    const run = (columns: string) =>
      new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [bin, '--help'], {
          env: { ...process.env, COLUMNS: columns },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          stdout += d;
        });
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout }));
      });
    const narrow = await run('50');
    expect(narrow.code).toBe(0);
    expect(narrow.stdout).toContain('--seed');
    expect(widest(narrow.stdout), narrow.stdout).toBeLessThanOrEqual(50);
    // Continuation lines sit under the description, not at the margin.
    expect(narrow.stdout).toMatch(/\n {2}--fail-rate R +share of requests.*\n {20,}\S/);
  });
});

describe('sciport crucible keywords and datasets', () => {
  it('lists keywords (of a dataset, and all with counts) and shows them in datasets get', async () => {
    const list = await crucible(['datasets', 'list', '--json', '--limit', '1']);
    expect(list.code, list.stderr).toBe(0);
    const id = String((JSON.parse(list.stdout.trim().split('\n')[0]!) as { unique_id: string }).unique_id);
    const added = await crucible(['keywords', 'add', id, 'Zeolite-15', 'thin film']);
    expect(added.code, added.stderr).toBe(0);

    const mine = await crucible(['keywords', 'list', id]);
    expect(mine.code, mine.stderr).toBe(0);
    expect(mine.stdout.split('\n')).toEqual(expect.arrayContaining(['Zeolite-15', 'thin film']));

    const all = await crucible(['keywords', 'list'], { CRUCIBLE_API_URL: `${server.url}/api/v1` });
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/^KEYWORD +DATASETS\n/);
    expect(all.stdout).toMatch(/\nZeolite-15 +\d+\n/);

    const get = await crucible(['datasets', 'get', id]);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toMatch(/\nkeywords: (.*, )?Zeolite-15, thin film\n|\nkeywords: .*thin film/);
    expect(get.stdout).toMatch(/\ncreation_time: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\n/);
    const json = await crucible(['datasets', 'get', id, '--json']);
    expect((JSON.parse(json.stdout) as { keywords: string[] }).keywords).toEqual(
      expect.arrayContaining(['Zeolite-15', 'thin film']),
    );
  });

  it('lists datasets newest first on v1 as on v2, --limit taking the newest, dates in UTC named in the header', async () => {
    const v2 = await crucible(['datasets', 'list']);
    const v1 = await crucible(['datasets', 'list'], { CRUCIBLE_API_URL: `${server.url}/api/v1` });
    for (const r of [v1, v2]) {
      expect(r.code, r.stderr).toBe(0);
      const [header, ...rows] = r.stdout.trim().split('\n');
      expect(header).toMatch(/ CREATED \(UTC\)$/);
      const created = rows.map((row) => /(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)$/.exec(row)?.[1]);
      expect(created.every(Boolean), r.stdout).toBe(true);
      expect(created, r.stdout).toEqual([...created].sort().reverse());
      expect(rows.length).toBeGreaterThan(2);
    }
    const ids = (stdout: string) =>
      stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((row) => row.split(' ')[0]);
    expect(ids(v1.stdout)).toEqual(ids(v2.stdout));
    const newest = await crucible(['datasets', 'list', '--limit', '2'], {
      CRUCIBLE_API_URL: `${server.url}/api/v1`,
    });
    expect(ids(newest.stdout)).toEqual(ids(v1.stdout).slice(0, 2));
  });
});
