// Shared helpers for the benchmark scripts (not a benchmark itself: bench/run.mjs skips it).
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const resultsDir = path.join(root, 'bench', 'results');

/** Starts `sciport-sim <service> …args` as its own process; resolves with its announced JSON and a stop(). */
export function startSimulator(service, args, env = {}) {
  const bin = path.join(root, 'packages', 'testkit', 'dist', 'bin.js');
  const child = spawn(process.execPath, [bin, service, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (chunk) => {
      buffer += chunk;
      const nl = buffer.indexOf('\n');
      if (nl === -1) return;
      child.stdout.off('data', onData);
      try {
        const info = JSON.parse(buffer.slice(0, nl));
        resolve({
          ...info,
          stop: () =>
            new Promise((done) => {
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      } catch (error) {
        reject(error);
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code} before announcing itself`)));
  });
}

/**
 * Where a build of the core to compare with is (`BENCH_OLD_CORE`: the `dist` folder of another build of
 * packages/core, whose dependencies resolve from beside it), or undefined: then the benchmarks measure this
 * checkout's core alone. Make one from a commit with `node bench/core-swap/build-old.mjs <commit>`.
 */
export const oldCoreDist = process.env.BENCH_OLD_CORE || undefined;

/**
 * Runs `node script …args` in its own process (so its memory is its own); resolves with its last JSON line.
 * With `env.BENCH_CORE_DIST` (a core build's `dist`), the script runs over that core instead (core-swap/).
 */
export function runJson(script, args, env = {}) {
  const swap = env.BENCH_CORE_DIST ? ['--import', path.join(root, 'bench', 'core-swap', 'register.mjs')] : [];
  // BENCH_CHILD_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`): node flags for the measured process.
  const nodeArgs = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, ...swap, script, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
    });
    child.once('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) reject(new Error(`${path.basename(script)} exited with ${code}: ${last}`));
      else resolve(JSON.parse(last));
    });
  });
}

export function writeResult(name, data) {
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

export function fmt(n, digits = 1) {
  return Number.isFinite(n) ? n.toFixed(digits) : String(n);
}

/** The median of numbers. */
export function medianOf(values) {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

/**
 * This checkout's core (`ours`) beside the old core's runs of the same measurement: the median of each (time
 * and peak RSS taken apart), and the ratios: throughput new/old (above 1: the new core is faster) and peak RSS
 * new/old (above 1: it uses more memory).
 */
export function newVsOld(oursRuns, oldRuns) {
  const summary = (runs) => ({
    ms: medianOf(runs.map((r) => r.ms)),
    bytes: runs[0].bytes,
    peakRssMB: medianOf(runs.map((r) => r.peakRssMB)),
    ...(runs[0].cpuMs === undefined ? {} : { cpuMs: medianOf(runs.map((r) => r.cpuMs)) }),
    runs: runs.map((r) => Math.round(r.ms)),
  });
  const ours = summary(oursRuns);
  const old = summary(oldRuns);
  return {
    ours,
    old,
    throughputRatio: ours.bytes / ours.ms / (old.bytes / old.ms),
    peakRssRatio: ours.peakRssMB / old.peakRssMB,
  };
}
