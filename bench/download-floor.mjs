#!/usr/bin/env node
// Where the download ceiling of a Node.js client is on this machine: one file (default 1024 MB) from a plain
// Node file server (bench/floor/server.mjs, far lighter than the simulators), fetched by curl, by bare Node fetch
// discarding the body, by the minimal verified Node download (fetch + SHA-256 + 1 MiB writes), and by ours
// (@sciport/core downloadToFile, which the Crucible and Fragalysis clients use). Rounds alternate; medians.
//
//   node bench/download-floor.mjs [megabytes]
//
// No target of its own: it explains the download ratios of crucible-transfer and fragalysis-download (ours
// should stay within 1.2x of the minimal verified download's time).
//
// With BENCH_OLD_CORE set (the dist of another core build, see bench/core-swap/build-old.mjs), each round also runs the
// same download over that core ("old"), so that a change of transport is measured against the previous one on
// the same server in the same run: ratios newVsOld (throughput and peak RSS).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fmt, medianOf, newVsOld, oldCoreDist, root, runJson, writeResult } from './lib.mjs';

const megabytes = Number(process.argv[2] ?? 1024);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const outputRoot = process.env.BENCH_TMPDIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
const work = mkdtempSync(path.join(outputRoot, 'sciport-bench-floor-'));
const here = path.join(root, 'bench', 'floor');
const median = (runs) => [...runs].sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)];
const mbps = (r) => r.bytes / 1048576 / (r.ms / 1000);

try {
  const size = megabytes * 1048576;
  const source = path.join(work, 'source.bin');
  const fd = openSync(source, 'w');
  const chunk = Buffer.alloc(16 * 1048576);
  for (let left = size; left > 0; left -= chunk.length) {
    randomFillSync(chunk);
    writeSync(fd, chunk, 0, Math.min(left, chunk.length));
  }
  closeSync(fd);

  const server = spawn(process.execPath, [path.join(here, 'server.mjs'), source], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const { port } = await new Promise((resolve) =>
    server.stdout.setEncoding('utf8').once('data', (d) => resolve(JSON.parse(d))),
  );
  const url = `http://127.0.0.1:${port}/file.bin`;
  const out = path.join(work, 'out.bin');
  const runs = { curl: [], discard: [], minimal: [], ours: [], ...(oldCoreDist ? { old: [] } : {}) };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of ['ours', ...(oldCoreDist ? ['old'] : []), 'minimal', 'curl', 'discard']) {
        if (mode === 'curl') {
          // Under GNU time where there is one, for curl's peak RSS (its %M, in KiB, is the last line it prints).
          const timed = existsSync('/usr/bin/time');
          const t0 = performance.now();
          let stderr = '';
          if (timed) {
            const run = spawnSync('/usr/bin/time', ['-f', '%M', 'curl', '-sS', '-f', '-o', out, url], {
              encoding: 'utf8',
            });
            if (run.status !== 0) throw new Error(`curl failed: ${run.stderr}`);
            stderr = run.stderr;
          } else execFileSync('curl', ['-sS', '-f', '-o', out, url]);
          const ms = performance.now() - t0;
          const rssKiB = Number(stderr.trim().split('\n').at(-1));
          runs.curl.push({ bytes: size, ms, ...(timed && rssKiB > 0 ? { peakRssMB: rssKiB / 1024 } : {}) });
        } else if (mode === 'old') {
          runs.old.push(
            await runJson(path.join(here, 'client.mjs'), ['ours', url, out], {
              BENCH_CORE_DIST: oldCoreDist,
            }),
          );
        } else {
          runs[mode].push(await runJson(path.join(here, 'client.mjs'), [mode, url, out]));
        }
        rmSync(out, { force: true });
      }
    }
  } finally {
    server.kill('SIGTERM');
  }
  // The median run by time, with the median peak RSS of the mode's runs.
  const m = Object.fromEntries(
    Object.entries(runs).map(([k, v]) => [
      k,
      {
        ...median(v),
        ...(v[0]?.peakRssMB === undefined ? {} : { peakRssMB: medianOf(v.map((r) => r.peakRssMB)) }),
      },
    ]),
  );
  const result = {
    benchmark: 'download-floor',
    date: new Date().toISOString(),
    node: process.version,
    bytes: size,
    rounds: ROUNDS,
    medians: m,
    runs: Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.map((r) => r.ms)])),
    ratios: {
      oursVsCurl: m.curl.ms / m.ours.ms,
      minimalVsCurl: m.curl.ms / m.minimal.ms,
      discardVsCurl: m.curl.ms / m.discard.ms,
      oursTimeVsMinimal: m.ours.ms / m.minimal.ms,
      ...(m.old ? { oldVsCurl: m.curl.ms / m.old.ms } : {}),
    },
    ...(oldCoreDist ? { coreComparison: { oldCore: oldCoreDist, ...newVsOld(runs.ours, runs.old) } } : {}),
  };
  const file = writeResult('download-floor', result);
  console.log(
    `download-floor ${megabytes} MB from a plain Node server: curl ${fmt(mbps(m.curl), 0)} MB/s; ` +
      `bare fetch discarding ${fmt(mbps(m.discard), 0)} MB/s; minimal verified Node download ${fmt(mbps(m.minimal), 0)} MB/s ` +
      `(${fmt(result.ratios.minimalVsCurl, 2)}x curl, CPU ${fmt(m.minimal.cpuMs, 0)} ms); ours ${fmt(mbps(m.ours), 0)} MB/s ` +
      `(${fmt(result.ratios.oursVsCurl, 2)}x curl, ${fmt(result.ratios.oursTimeVsMinimal, 2)}x the minimal's time, CPU ${fmt(m.ours.cpuMs, 0)} ms, ` +
      `peak RSS ${fmt(m.ours.peakRssMB)} MB)`,
  );
  const cmp = result.coreComparison;
  if (cmp) {
    console.log(
      `  new core ${fmt(mbps(cmp.ours), 0)} MB/s (peak RSS ${fmt(cmp.ours.peakRssMB)} MB, CPU ${fmt(cmp.ours.cpuMs, 0)} ms), ` +
        `old core ${fmt(mbps(cmp.old), 0)} MB/s (peak RSS ${fmt(cmp.old.peakRssMB)} MB, CPU ${fmt(cmp.old.cpuMs, 0)} ms), ` +
        `curl ${fmt(mbps(m.curl), 0)} MB/s (peak RSS ${fmt(m.curl.peakRssMB)} MB): ` +
        `new/old throughput ${fmt(cmp.throughputRatio, 2)}x, peak RSS ${fmt(cmp.peakRssRatio, 2)}x`,
    );
  }
  console.log(`results in ${path.relative(root, file)}`);
  process.exitCode = result.ratios.oursTimeVsMinimal <= 1.2 ? 0 : 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
