#!/usr/bin/env node
// `pnpm bench`: runs every benchmark script in bench/ (one after another, so they do not compete for the
// machine) and collects their result files under bench/results/. Each script measures its subject beside a
// baseline in the same run and writes its own JSON; this runner prints a summary and exits non-zero when a
// script reports a missed target.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const scripts = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && f !== 'lib.mjs')
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

let failed = 0;
for (const script of scripts) {
  console.log(`\n== bench/${script}`);
  const r = spawnSync(process.execPath, [path.join(here, script)], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.log(`bench/${script} exited ${r.status}`);
  }
}
console.log(
  `\n${scripts.length - failed} of ${scripts.length} benchmarks met their targets; results in bench/results/`,
);
process.exit(failed === 0 ? 0 : 1);
