#!/usr/bin/env node
// CLI startup time: `node packages/cli/dist/bin.js --help`, against `node -e 0` measured in the same run.
//
//   node bench/cli-startup.mjs [runs]        (default 20 runs, after 2 warm-ups; build the CLI first)
//
// Writes bench/results/cli-startup.json, prints a one-line summary, and exits 1 when the median exceeds 300 ms.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'packages', 'cli', 'dist', 'bin.js');
const resultFile = path.join(root, 'bench', 'results', 'cli-startup.json');
const WARMUPS = 2;
const BUDGET_MS = 300;

const runs = Number.parseInt(process.argv[2] ?? process.env.BENCH_RUNS ?? '20', 10);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`cli-startup: runs must be a positive integer, got ${JSON.stringify(process.argv[2])}`);
  process.exit(2);
}
if (!existsSync(bin)) {
  console.error(`cli-startup: ${path.relative(root, bin)} is missing; run \`pnpm build\` first`);
  process.exit(2);
}

// A clean environment, so that NODE_OPTIONS or a developer's config cannot change what is measured.
const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1' };

/** Wall-clock milliseconds of one run of `node …args`, failing loudly on a non-zero exit. */
function time(args) {
  const start = performance.now();
  const result = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - start;
  if (result.status !== 0) {
    console.error(`cli-startup: node ${args.join(' ')} exited ${result.status}\n${result.stderr}`);
    process.exit(2);
  }
  return ms;
}

function percentile(sorted, p) {
  // nearest-rank
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

function median(sorted) {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function summarise(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (n) => Math.round(n * 10) / 10;
  return {
    medianMs: round(median(sorted)),
    p95Ms: round(percentile(sorted, 95)),
    minMs: round(sorted[0]),
    maxMs: round(sorted[sorted.length - 1]),
    samplesMs: samples.map(round),
  };
}

const cliArgs = [bin, '--help'];
const baseArgs = ['-e', '0'];
for (let i = 0; i < WARMUPS; i++) {
  time(baseArgs);
  time(cliArgs);
}
// Interleave the two so that machine noise hits both alike.
const cli = [];
const baseline = [];
for (let i = 0; i < runs; i++) {
  baseline.push(time(baseArgs));
  cli.push(time(cliArgs));
}

const result = {
  benchmark: 'cli-startup',
  command: 'node packages/cli/dist/bin.js --help',
  date: new Date().toISOString(),
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  runs,
  warmups: WARMUPS,
  budgetMs: BUDGET_MS,
  cli: summarise(cli),
  baseline: { command: 'node -e 0', ...summarise(baseline) },
};
result.overheadMedianMs = Math.round((result.cli.medianMs - result.baseline.medianMs) * 10) / 10;
result.pass = result.cli.medianMs <= BUDGET_MS;

mkdirSync(path.dirname(resultFile), { recursive: true });
writeFileSync(resultFile, `${JSON.stringify(result, null, 2)}\n`);

console.log(
  `cli-startup: sciport --help median ${result.cli.medianMs} ms, p95 ${result.cli.p95Ms} ms; ` +
    `node -e 0 median ${result.baseline.medianMs} ms, p95 ${result.baseline.p95Ms} ms; ` +
    `overhead ${result.overheadMedianMs} ms (${runs} runs, budget ${BUDGET_MS} ms) ${result.pass ? 'ok' : 'FAIL'}`,
);
process.exit(result.pass ? 0 : 1);
