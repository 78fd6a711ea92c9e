#!/usr/bin/env node
// Builds @sciport/core as it was at a commit, outside this checkout, for the side-by-side benchmarks:
//
//   node bench/core-swap/build-old.mjs <commit> [folder]      (folder default: $TMPDIR/sciport-core-<commit>)
//
// It exports packages/core at that commit into the folder, links this checkout's packages/core/node_modules
// beside it (the same dependencies) and builds it with tsup. Prints the dist folder: pass it as BENCH_OLD_CORE.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { root } from '../lib.mjs';

const [commit, folder = path.join(tmpdir(), `sciport-core-${commit}`)] = process.argv.slice(2);
if (!commit) {
  console.error('usage: node bench/core-swap/build-old.mjs <commit> [folder]');
  process.exit(2);
}
const core = path.join(folder, 'packages', 'core');
if (!existsSync(path.join(core, 'dist', 'node.js'))) {
  mkdirSync(folder, { recursive: true });
  const archive = execFileSync('git', ['-C', root, 'archive', commit, 'packages/core', 'tsconfig.base.json']);
  execFileSync('tar', ['-x', '-C', folder], { input: archive });
  if (!existsSync(path.join(core, 'node_modules'))) {
    symlinkSync(path.join(root, 'packages', 'core', 'node_modules'), path.join(core, 'node_modules'));
  }
  execFileSync(path.join(root, 'packages', 'core', 'node_modules', '.bin', 'tsup'), [], {
    cwd: core,
    stdio: 'inherit',
  });
}
console.log(path.join(core, 'dist'));
