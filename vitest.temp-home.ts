// Global setup of every package's vitest project: the tests, and every process they start, run with a throwaway
// home (HOME, USERPROFILE and the XDG folders), so that nothing a test does lands in the developer's home
// (kept upload states in ~/.cache/sciport, settings in ~/.config/sciport, …). The run fails if anything named
// sciport under the real home changed all the same (a path built without HOME, a hard-coded folder).
// Tool caches stay where they are (npm's cache and user config), so installs in tests need no network.
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';

const HOME_VARIABLES = [
  'HOME',
  'USERPROFILE',
  'XDG_CACHE_HOME',
  'XDG_CONFIG_HOME',
  'XDG_DATA_HOME',
  'XDG_STATE_HOME',
  'SCIPORT_CONFIG_DIR',
  'npm_config_cache',
  'npm_config_userconfig',
  'npm_config_store_dir',
] as const;

/** The folders under a home where sciport (or a test of it) could write. */
function watchedFolders(home: string, env: NodeJS.ProcessEnv): string[] {
  const folders = [
    path.join(home, '.cache', 'sciport'),
    path.join(home, '.config', 'sciport'),
    path.join(home, '.local', 'share', 'sciport'),
    path.join(home, '.local', 'state', 'sciport'),
    path.join(home, '.sciport'),
    path.join(home, 'AppData', 'Roaming', 'sciport'),
  ];
  for (const name of ['XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_STATE_HOME']) {
    const base = env[name];
    if (base) folders.push(path.join(base, 'sciport'));
  }
  if (env.SCIPORT_CONFIG_DIR) folders.push(env.SCIPORT_CONFIG_DIR);
  return [...new Set(folders)];
}

/** Where pnpm keeps its store by default for this user (its own rule, per platform). */
function defaultPnpmStore(home: string, env: NodeJS.ProcessEnv): string | undefined {
  if (process.platform === 'win32')
    return env.LOCALAPPDATA ? path.join(env.LOCALAPPDATA, 'pnpm', 'store') : undefined;
  if (process.platform === 'darwin') return path.join(home, 'Library', 'pnpm', 'store');
  return path.join(env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'pnpm', 'store');
}

/** Every file and folder under `folders`, with its size and modification time. */
export function snapshot(folders: string[]): Map<string, string> {
  const seen = new Map<string, string>();
  const walk = (p: string): void => {
    let stat: ReturnType<typeof lstatSync>;
    try {
      stat = lstatSync(p);
    } catch {
      return;
    }
    seen.set(p, `${stat.size}:${stat.mtimeMs}`);
    if (stat.isDirectory()) for (const name of readdirSync(p)) walk(path.join(p, name));
  };
  for (const folder of folders) walk(folder);
  return seen;
}

/** What was created, changed or removed between two snapshots. */
export function changes(before: Map<string, string>, after: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [p, v] of after) {
    if (!before.has(p)) out.push(`created ${p}`);
    else if (before.get(p) !== v) out.push(`changed ${p}`);
  }
  for (const p of before.keys()) if (!after.has(p)) out.push(`removed ${p}`);
  return out;
}

export default function setup(): () => void {
  const realEnv = { ...process.env };
  const realHome = process.env.HOME || homedir();
  const watched = watchedFolders(realHome, realEnv);
  const before = snapshot(watched);

  const home = mkdtempSync(path.join(tmpdir(), 'sciport-test-home-'));
  const saved = Object.fromEntries(HOME_VARIABLES.map((name) => [name, process.env[name]]));
  Object.assign(process.env, {
    HOME: home,
    USERPROFILE: home,
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
    // npm's cache and user config are the developer's (no network for what is cached, the same registry).
    npm_config_cache: realEnv.npm_config_cache || path.join(realHome, '.npm'),
  });
  const userconfig = realEnv.npm_config_userconfig || path.join(realHome, '.npmrc');
  if (existsSync(userconfig)) process.env.npm_config_userconfig = userconfig;
  // pnpm's store (installs of a copy of the workspace in tests are offline).
  const store = realEnv.npm_config_store_dir || defaultPnpmStore(realHome, realEnv);
  if (store && existsSync(store)) process.env.npm_config_store_dir = store;
  delete process.env.SCIPORT_CONFIG_DIR;

  return () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(home, { recursive: true, force: true });
    const written = changes(before, snapshot(watched));
    if (written.length > 0) {
      // vitest reports an error thrown here but still exits 0: fail the run explicitly.
      process.exitCode = 1;
      throw new Error(
        `tests wrote to the real home (${realHome}); they must write only under temporary folders:\n  ${written.join('\n  ')}`,
      );
    }
  };
}
