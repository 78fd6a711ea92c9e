import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

function newestMtime(entry: string): number {
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of readdirSync(entry)) newest = Math.max(newest, newestMtime(path.join(entry, name)));
  return newest;
}

/** Builds dist/ when it is missing or older than the sources, so `pnpm test` alone tests current code. */
export default function setup(): void {
  const core = path.join(packageDir, 'node_modules', '@sciport', 'core', 'dist', 'node.js');
  if (!existsSync(core)) {
    throw new Error(
      '@sciport/core is not built: run `pnpm build` in packages/core (or `pnpm build` at the root)',
    );
  }
  const bin = path.join(packageDir, 'dist', 'bin.js');
  const sources = Math.max(
    newestMtime(path.join(packageDir, 'src')),
    newestMtime(path.join(packageDir, 'package.json')),
    newestMtime(path.join(packageDir, 'tsup.config.ts')),
  );
  if (existsSync(bin) && statSync(bin).mtimeMs >= sources) return;
  const result = spawnSync(
    process.execPath,
    [path.join(packageDir, 'node_modules', 'tsup', 'dist', 'cli-default.js')],
    {
      cwd: packageDir,
      stdio: 'inherit',
    },
  );
  if (result.status !== 0) throw new Error(`building @sciport/cli failed (exit ${result.status})`);
}
