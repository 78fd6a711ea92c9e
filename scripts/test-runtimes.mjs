#!/usr/bin/env node
// Runs the vitest suite (unit, end-to-end and consumer tests of every package, as `pnpm test:unit` does, but
// the docs checks) again on other Node.js majors, installed from the npm registry as the `node` package into
// node_modules/.cache/sciport-runtimes/<major> (downloaded once, about 30 MB each). The packages must be built.
// Each run writes .reports/runtimes/node-<major>.json, which .ci/count-results.mjs adds to its count.
//
//   node scripts/test-runtimes.mjs              Node 22 and 24 (SCIPORT_RUNTIMES=22,24)
//   SCIPORT_RUNTIMES=none node scripts/…        skip (e.g. offline)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wanted = (process.env.SCIPORT_RUNTIMES ?? '22,24').trim();
if (wanted === 'none' || wanted === '') {
  console.log('test-runtimes: skipped (SCIPORT_RUNTIMES=none)');
  process.exit(0);
}
const majors = wanted.split(',').map((v) => v.trim());
for (const major of majors) {
  if (!/^\d+$/.test(major)) {
    console.error(`test-runtimes: SCIPORT_RUNTIMES must list Node majors like 22,24; got "${wanted}"`);
    process.exit(2);
  }
}

const reports = path.join(root, '.reports', 'runtimes');
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });
const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
let failed = 0;
for (const major of majors) {
  const prefix = path.join(root, 'node_modules', '.cache', 'sciport-runtimes', major);
  const binary = path.join(prefix, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(binary)) {
    console.log(`test-runtimes: installing node@${major} from the npm registry`);
    mkdirSync(prefix, { recursive: true });
    const install = spawnSync(
      'npm',
      ['install', '--prefix', prefix, `node@${major}`, '--no-audit', '--no-fund', '--loglevel=error'],
      { stdio: 'inherit', env: { ...process.env, npm_config_engine_strict: 'false' } },
    );
    if (install.status !== 0 || !existsSync(binary)) {
      console.error(`test-runtimes: could not install node@${major}`);
      failed++;
      continue;
    }
  }
  const version = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`test-runtimes: the suite (but the docs checks) on Node ${version}`);
  const started = Date.now();
  const result = spawnSync(
    binary,
    [
      vitest,
      'run',
      // The docs checks (typedoc, README examples) are the same on every runtime: once, on the machine's Node.
      '--project=!docs',
      // The fresh-clone checks (a clone, pnpm's install, the demo) do not depend on the runtime either.
      '--project=!fresh-clone',
      '--reporter=dot',
      '--reporter=json',
      `--outputFile.json=${path.join(reports, `node-${major}.json`)}`,
    ],
    {
      cwd: root,
      stdio: 'inherit',
      // `node` in child processes (shebangs of the CLI and of npm) is this runtime too.
      env: {
        ...process.env,
        PATH: `${path.dirname(binary)}${path.delimiter}${process.env.PATH}`,
      },
    },
  );
  console.log(
    `test-runtimes: Node ${version} exited ${result.status} after ${Math.round((Date.now() - started) / 1000)} s`,
  );
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
