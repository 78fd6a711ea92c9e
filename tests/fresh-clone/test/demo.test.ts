import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createCrucibleSimulator, startTestServer } from '@sciport/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCommand } from '../../../scripts/shell-quote.mjs';
import { root, run } from './helpers.js';

/**
 * `pnpm demo` prints every command shell-quoted, exactly as it ran: each printed `$ …` line, run by `sh`,
 * gives the very arguments (and environment variables) the demo used; and a printed command pasted into a
 * shell runs (exit 0) against a simulator of one's own.
 */

type Traced = { args: string[] } | { export: string; value: string };

let work: string;
let output: string;
let traced: Traced[];
let printed: string[];

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'sciport-demo-test-'));
  const trace = path.join(work, 'trace.jsonl');
  // The packages are built before this test (turbo: ^build); the demo's own build is skipped.
  const r = await run(process.execPath, [path.join(root, 'scripts', 'demo.mjs')], {
    env: { ...process.env, SCIPORT_DEMO_SKIP_BUILD: '1', SCIPORT_DEMO_TRACE: trace, NO_COLOR: '1' },
  });
  output = r.stdout + r.stderr;
  expect(r.code, output).toBe(0);
  traced = readFileSync(trace, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Traced);
  printed = output.split('\n').filter((l) => l.startsWith('$ '));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs `lines` in one `sh`, `sciport` a function that records its arguments; returns what each line gave. */
async function throughSh(lines: string[]): Promise<Traced[]> {
  const script = [
    // One record per call: RS, C, then every argument followed by NUL; per export: RS, E, name, value.
    `sciport() { printf '\\036C\\0'; printf '%s\\0' "$@"; }`,
    ...lines.map((line) => {
      const exported = /^export ([A-Z_][A-Z0-9_]*)=/.exec(line)?.[1];
      return exported ? `${line}\nprintf '\\036E\\0%s\\0%s\\0' ${exported} "$${exported}"` : line;
    }),
  ].join('\n');
  const r = await run('sh', ['-c', script]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .split('\x1e')
    .slice(1)
    .map((record) => {
      const [kind, ...fields] = record.split('\0').slice(0, -1);
      return kind === 'E' ? { export: fields[0] as string, value: fields[1] as string } : { args: fields };
    });
}

describe('the demo', () => {
  it('prints every command and variable it used, and sh reads back exactly those arguments', async () => {
    expect(printed.length).toBeGreaterThan(40);
    expect(printed.length).toBe(traced.length);
    const back = await throughSh(printed.map((l) => l.slice(2)));
    expect(back).toEqual(traced);
  });

  it('quotes what needs quoting: the dataset name and the JSON metadata', () => {
    expect(output).toContain(
      `$ sciport crucible datasets create --name 'XRD scan 5' --project DEMO-0001 --measurement XRD --metadata '{"beam": {"energy_keV": 12.4}, "sample_temperature_K": 295}'`,
    );
  });

  it('a printed command, pasted into sh, runs (exit 0) and creates what the demo created', async () => {
    const line = printed.find((l) => l.startsWith('$ sciport crucible datasets create'));
    expect(line).toBeDefined();
    const sim = createCrucibleSimulator({ seed: 7 });
    const server = await startTestServer({ handlers: sim.handlers });
    try {
      const cli = path.join(root, 'packages', 'cli', 'dist', 'bin.js');
      const r = await run(
        'sh',
        ['-c', `sciport() { "${process.execPath}" "${cli}" "$@"; }\n${line?.slice(2)}`],
        {
          env: {
            ...process.env,
            CRUCIBLE_API_URL: `${server.url}/api/v2`,
            CRUCIBLE_API_KEY: sim.keyFor('demo'),
            SCIPORT_CONFIG_DIR: path.join(work, 'config'),
          },
        },
      );
      expect(r.code, r.stderr).toBe(0);
      const id = r.stdout.trim().split('\n')[0] ?? '';
      const shown = await run(process.execPath, [cli, 'crucible', 'metadata', 'get', id], {
        env: {
          ...process.env,
          CRUCIBLE_API_URL: `${server.url}/api/v2`,
          CRUCIBLE_API_KEY: sim.keyFor('demo'),
        },
      });
      expect(shown.code, shown.stderr).toBe(0);
      expect(JSON.parse(shown.stdout)).toMatchObject({
        beam: { energy_keV: 12.4 },
        sample_temperature_K: 295,
      });
    } finally {
      await server.close();
      await sim.dispose();
    }
  });

  it('shows what a Fragalysis token adds to the anonymous target listing', () => {
    expect(output).toMatch(
      /What the token adds: [1-9]\d* private targets? \([^)]*\S+@\S+[^)]*\) to the \d+ open ones/,
    );
  });

  it('never prints the secrets it sets (only their names)', () => {
    expect(output).toMatch(/# CRUCIBLE_API_KEY is set to .* \(not printed\)/);
    expect(output).not.toMatch(
      /export (CRUCIBLE_API_KEY=(?!not-a-key)|FRAGALYSIS_TOKEN=(?!expired-session-id))/,
    );
  });
});

describe('shell quoting', () => {
  it('round-trips awkward arguments through sh', async () => {
    const args = ['x', 'XRD scan 5', '{"a": 1}', "it's", '', '*.h5', 'a$b', '~/x', '-n', 'a\nb', '#c', 'é ü'];
    const [back] = await throughSh([formatCommand(['sciport', ...args])]);
    expect(back).toEqual({ args });
  });
});
