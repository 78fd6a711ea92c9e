#!/usr/bin/env node
// ICSD mirror benchmark: `icsd.cifs.mirror` against the ICSD simulator (a separate process) with 20 ms of
// latency on every response, beside (a) the reference client's pattern and (b) a bare loop of the same CIF
// requests, all in one run. Each subject runs in its own process so that its peak RSS is its own.
//
//   node bench/icsd-mirror.mjs [sizes]        (default 5000,50000)
//
// Targets: entries/s at least 10x the reference pattern's; time at most 1.3x the bare loop's; peak RSS under
// 150 MB. Writes bench/results/icsd-mirror.json; exits 1 when a target is missed.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fmt, root, runJson, startSimulator, writeResult } from './lib.mjs';

const sizes = (process.argv[2] ?? process.env.BENCH_ICSD_SIZES ?? '5000,50000').split(',').map(Number);
const LATENCY_MS = 20;
const CONCURRENCY = 4;
const here = path.join(root, 'bench', 'icsd');
// Files go to tmpfs when there is one: the disk of a shared machine stalls for seconds at random (its ext4
// is mounted with discard), which would measure the neighbours, not the client. BENCH_TMPDIR overrides.
const outputRoot = process.env.BENCH_TMPDIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
const results = [];
let failed = false;

for (const entries of sizes) {
  const work = mkdtempSync(path.join(outputRoot, 'sciport-bench-icsd-'));
  const sim = await startSimulator('icsd', [
    '--entries',
    String(entries),
    '--latency',
    String(LATENCY_MS),
    '--cifs-per-session',
    'unlimited',
  ]);
  try {
    const maxCode = sim.maxCollectionCode ?? entries * 4;
    const creds = [sim.baseUrl, sim.username, sim.password];
    const bare = await runJson(path.join(here, 'bare.mjs'), [...creds, String(CONCURRENCY)]);
    const ours = await runJson(path.join(here, 'ours.mjs'), [
      ...creds,
      path.join(work, 'ours'),
      String(CONCURRENCY),
      'unlimited',
    ]);
    const reference = await runJson(path.join(here, 'reference.mjs'), [
      ...creds,
      path.join(work, 'reference'),
      String(maxCode),
    ]);
    const row = {
      entries,
      outputDir: outputRoot,
      latencyMs: LATENCY_MS,
      concurrency: CONCURRENCY,
      ours: { ...ours, entriesPerSecond: (ours.entries / ours.ms) * 1000 },
      reference: { ...reference, entriesPerSecond: (reference.entries / reference.ms) * 1000 },
      bare: { ...bare, entriesPerSecond: (bare.entries / bare.ms) * 1000 },
    };
    row.speedupOverReference = row.ours.entriesPerSecond / row.reference.entriesPerSecond;
    row.timeOverBare = ours.ms / bare.ms;
    // The same ratio with both clocks started at the first CIF request (the bare loop's login and search
    // happen before its clock).
    row.cifPhaseOverBare = ours.cifPhaseMs / bare.ms;
    row.targets = {
      speedup10x: row.speedupOverReference >= 10,
      withinBare1_3x: row.timeOverBare <= 1.3,
      rssUnder150MB: ours.peakRssMB < 150,
      complete: ours.entries === bare.entries,
    };
    if (Object.values(row.targets).some((ok) => !ok)) failed = true;
    results.push(row);
    console.log(
      `icsd-mirror N=${entries}: ours ${fmt(row.ours.entriesPerSecond, 0)} entries/s (${ours.requests} requests, ` +
        `${fmt(ours.ms, 0)} ms, peak RSS ${fmt(ours.peakRssMB)} MB); reference ${fmt(row.reference.entriesPerSecond, 0)} entries/s ` +
        `(${reference.requests} requests); bare loop ${fmt(bare.ms, 0)} ms (${bare.requests} requests) → ` +
        `${fmt(row.speedupOverReference)}x the reference, ${fmt(row.timeOverBare, 2)}x the bare loop's time ` +
        `(CIF phase ${fmt(row.cifPhaseOverBare, 2)}x) ` +
        `${Object.values(row.targets).every(Boolean) ? 'ok' : `MISSED ${JSON.stringify(row.targets)}`}`,
    );
  } finally {
    await sim.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

const file = writeResult('icsd-mirror', {
  benchmark: 'icsd-mirror',
  date: new Date().toISOString(),
  node: process.version,
  results,
});
console.log(`results in ${path.relative(root, file)}`);
process.exit(failed ? 1 : 0);
