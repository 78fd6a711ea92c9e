import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const run = promisify(execFile);
export const root = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * A throwaway npm project outside the workspace with `dependencies` installed from packed tarballs. Every
 * `@sciport/*` name maps to its tarball through `overrides` as well, because the internal ranges the tarballs
 * declare (`^0.1.0`) are not on the registry; everything else comes from the registry.
 */
export async function consumerProject(
  dependencies: Record<string, string>,
  tarballs: Record<string, string>,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sciport-consumer-'));
  await mkdir(dir, { recursive: true });
  await writeFile(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, dependencies, overrides: tarballs, ...extra }, null, 2),
  );
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
    cwd: dir,
    env: { ...process.env, npm_config_engine_strict: 'true' },
  });
  return dir;
}
