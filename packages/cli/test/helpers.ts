import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const packageDir = fileURLToPath(new URL('..', import.meta.url));
export const binPath = path.join(packageDir, 'dist', 'bin.js');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Extra environment variables (over a clean copy of the test's environment). */
  env?: Record<string, string | undefined>;
  /** Text written to stdin, then closed. Without it stdin is closed at once. */
  input?: string;
  /** Node flags before the script. */
  nodeArgs?: string[];
  /** Called with the child once it is running (to send signals). */
  onSpawn?: (child: import('node:child_process').ChildProcess, output: { stderr: () => string }) => void;
  /** Keep stdin open (the test ends it or signals the child). */
  keepStdinOpen?: boolean;
}

/** Variables that would change the CLI's behaviour if inherited from the developer's shell. */
const SCRUBBED = ['NO_COLOR', 'FORCE_COLOR', 'SCIPORT_CONFIG_DIR', 'XDG_CONFIG_HOME', 'NODE_OPTIONS'];

/** Runs `node dist/bin.js …args` and collects its output. */
export function runCli(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of SCRUBBED) delete env[name];
  Object.assign(env, options.env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), binPath, ...args], {
      env: env as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    if (options.input !== undefined) child.stdin.end(options.input);
    else if (!options.keepStdinOpen) child.stdin.end();
    options.onSpawn?.(child, { stderr: () => stderr });
  });
}

/** A temporary config folder (not yet created, as on a fresh machine) and its cleanup. */
export async function tempConfigDir(): Promise<{ root: string; dir: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'sciport-cli-'));
  return {
    root,
    dir: path.join(root, 'config', 'sciport'),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** Resolves when `check()` is true, polling every 20 ms; rejects after `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The environment of a `sciport icsd` run against a simulator: its own config folder and home, the server's
 * `/ws` base URL and the simulator's demo account.
 */
export function icsdEnv(
  serverUrl: string,
  config: { root: string; dir: string },
  extra: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    SCIPORT_CONFIG_DIR: config.dir,
    HOME: config.root,
    ICSD_BASE_URL: `${serverUrl}/ws`,
    ICSD_USERNAME: 'demo',
    ICSD_PASSWORD: 'demo-password',
    ...extra,
  };
}
