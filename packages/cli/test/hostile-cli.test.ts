import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { secretEncodings } from '@sciport/core';
import {
  type CrucibleSimulator,
  createCrucibleSimulator,
  createIcsdSimulator,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { echoRequest, fixedAnswer } from '@sciport/testkit/hostile';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempConfigDir } from './helpers.js';

/**
 * Hostile servers against the CLI, as a child process over real sockets: servers that echo secrets and write
 * control sequences; flags that would misbehave at their limits. Budgets are generous on purpose.
 */

let root: string;
let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ root, dir, cleanup } = await tempConfigDir());
});
afterEach(async () => {
  await cleanup();
});

const EVIL = 'Evil\u001b]52;c;cm0gLXJmIH4=\u0007name\u001b[2J\u009b31m\u202etxt.exe\rX';
/** What must never reach the terminal raw. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point of the test
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('server text on the terminal (crucible)', () => {
  let sim: CrucibleSimulator;
  let server: TestServer;
  beforeEach(async () => {
    sim = createCrucibleSimulator({ seed: 3, datasets: 3 });
    server = await startTestServer({ handlers: sim.handlers });
  });
  afterEach(async () => {
    await server.close();
    await sim.dispose();
  });
  const crucible = (args: string[]) =>
    runCli(['crucible', ...args], {
      env: {
        SCIPORT_CONFIG_DIR: dir,
        HOME: root,
        CRUCIBLE_API_URL: `${server.url}/api/v2`,
        CRUCIBLE_API_KEY: sim.keyFor('demo'),
      },
    });

  it('escapes control sequences and bidi overrides in tables and details; --json keeps them as JSON escapes', async () => {
    const target =
      sim.datasets.find((d) => d.ownerOrcid === sim.users.find((u) => u.username === 'demo')?.orcid) ??
      sim.datasets[0]!;
    target.datasetName = EVIL;
    target.description = EVIL;

    const list = await crucible(['datasets', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).not.toMatch(RAW_CONTROL);
    expect(list.stdout).toContain('Evil\\x1b]52;c;cm0gLXJmIH4=\\x07name\\x1b[2J\\u009b31m\\u202etxt.exe');

    const get = await crucible(['datasets', 'get', target.uniqueId]);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).not.toMatch(RAW_CONTROL);
    expect(get.stdout).toContain('\\x1b]52;');

    const json = await crucible(['datasets', 'get', target.uniqueId, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).not.toMatch(RAW_CONTROL);
    expect(json.stdout).toContain('\\u001b]52;');
    expect(json.stdout).toContain('\\u202e');
    // Still the same data once parsed.
    expect(JSON.stringify(JSON.parse(json.stdout))).toContain(JSON.stringify(EVIL).slice(1, -1));
  });

  it('escapes control sequences in an error message from the server, on stderr, in text and --json', async () => {
    server.useRaw(
      fixedAnswer(
        { path: /\/api\/v2\/.*/ },
        {
          status: 500,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ detail: `boom ${EVIL}` }),
        },
      ),
    );
    const text = await crucible(['whoami']);
    expect(text.code).not.toBe(0);
    expect(text.stderr).toContain('boom');
    expect(text.stderr).not.toMatch(RAW_CONTROL);
    const json = await crucible(['whoami', '--json']);
    expect(json.stderr).toContain('boom');
    expect(json.stderr).not.toMatch(RAW_CONTROL);
  });
});

describe('a login error that echoes the password (icsd)', () => {
  // Characters where encodeURIComponent and URLSearchParams disagree, and a space.
  const PASSWORD = `s3cr!t'(pw)*~ x`;

  it.each([[[]], [['--json']]])('never shows it, in any encoding (flags %j)', async (flags) => {
    const sim = createIcsdSimulator({ seed: 1 });
    const echo = echoRequest({ method: 'POST', path: '/ws/auth/login' });
    await using server = await startTestServer({ handlers: sim.handlers, raw: [echo] });
    const r = await runCli(['icsd', 'search', 'Li O', ...flags], {
      env: {
        SCIPORT_CONFIG_DIR: dir,
        HOME: root,
        ICSD_BASE_URL: `${server.url}/ws`,
        ICSD_USERNAME: 'demo',
        ICSD_PASSWORD: PASSWORD,
      },
    });
    expect(echo.stats.requests).toBeGreaterThan(0);
    expect(r.code).not.toBe(0);
    // The echo reached the message (so the test would see a leak) …
    expect(r.stderr).toMatch(/Authentication failed/);
    // … with the password in none of the forms it was sent in.
    const output = r.stdout + r.stderr;
    for (const encoded of secretEncodings(PASSWORD)) expect(output).not.toContain(encoded);
    expect(output).not.toContain('s3cr');
  });
});

describe('the process ends with the command', () => {
  it('exits within a second of printing its error even when something still holds the event loop', async () => {
    // A timer that never ends, loaded before the CLI: what a leaked response timer or socket would do.
    const leak = path.join(root, 'leak.mjs');
    await writeFile(leak, 'setInterval(() => {}, 60_000);\n');
    const started = Date.now();
    let printedAt = 0;
    const r = await runCli(['crucible', 'whoami', '--timeout', '5'], {
      nodeArgs: ['--import', leak],
      env: {
        SCIPORT_CONFIG_DIR: dir,
        HOME: root,
        CRUCIBLE_API_URL: 'http://127.0.0.1:9/api/v2',
        CRUCIBLE_API_KEY: 'k-0123456789',
      },
      onSpawn: (child) => {
        child.stderr?.on('data', () => {
          printedAt = Date.now();
        });
      },
    });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^sciport: /m);
    // Budget: the one-second grace, plus generous room for a loaded machine.
    expect(Date.now() - printedAt).toBeLessThan(8_000);
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});

describe('flags at their limits', () => {
  const env = () => ({
    SCIPORT_CONFIG_DIR: dir,
    HOME: root,
    CRUCIBLE_API_URL: 'http://127.0.0.1:9/api/v2',
    CRUCIBLE_API_KEY: 'k-0123456789',
  });

  it('--timeout beyond what a timer can wait is a usage error, not a 1 ms timeout', async () => {
    const r = await runCli(['crucible', 'whoami', '--timeout', '2147484'], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--timeout must be at most 2147483 seconds/);
    const ok = await runCli(['crucible', 'whoami', '--timeout', '2147483'], {
      env: env(),
    });
    // Accepted: it fails later, on the connection (nothing listens on port 9), not as a usage error.
    expect(ok.code).not.toBe(2);
  });

  it.each([
    [['crucible', 'download', 'DS-1']],
    [['icsd', 'fetch', '1']],
    [['icsd', 'mirror']],
    [['fragalysis', 'download', 'A71EV2A']],
    [['fragalysis', 'sync', 'A71EV2A']],
  ])('--out naming a file is a usage error (exit 2) that names it: %j', async (command) => {
    const file = path.join(root, 'a-file');
    await writeFile(file, 'not a folder');
    const r = await runCli([...command, '--out', file], { env: env() });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`--out ${file} is a file, not a folder`);
    const below = await runCli([...command, '--out', path.join(file, 'sub')], { env: env() });
    expect(below.code, below.stderr).toBe(2);
    expect(below.stderr).toContain('a part of that path is a file');
  });
});
