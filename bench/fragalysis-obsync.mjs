#!/usr/bin/env node
// Fragalysis observation-level sync benchmark (issue 14, spec §11.3): a target with 2,000 observations (each with
// its event, 2FoFc and FoFc maps) of which 20 are re-processed in a new upload. Both copies are first synced in
// full; then the whole-archive sync (`archives.sync`, extracted) and the observation-level sync
// (`archives.sync(…, { observations: true })`) each catch up, against the same in-process simulator, and the
// bytes the server wrote for each catch-up (status lines, headers and bodies, every request) are counted.
//
//   node bench/fragalysis-obsync.mjs [observations] [changed]      (default 2000 20)
//
// Target: the observation-level catch-up serves at most the bytes of the changed observations (the whole
// archive's bytes per observation, times the number changed) plus the metadata: the API answers it needs
// (observation list, upload history, build and task answers), the target's metadata.csv (gzipped, as in the
// archive) and the fixed files of any archive (README, YAML, scripts: 64 KiB allowed).
// Writes bench/results/fragalysis-obsync.json; exits 1 when the target is missed.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { root, writeResult } from './lib.mjs';

const TOTAL = Number(process.argv[2] ?? 2000);
const CHANGED = Number(process.argv[3] ?? 20);
const FIXED_ALLOWANCE = 64 * 1024;
const { createFragalysisSimulator, startTestServer } = await import(
  path.join(root, 'packages', 'testkit', 'dist', 'index.js')
);
const { FragalysisClient } = await import(path.join(root, 'packages', 'fragalysis', 'dist', 'index.js'));

const TITLE = 'Mpro';
const TAS = 'lb18145-1';
const work = mkdtempSync(path.join(tmpdir(), 'sciport-bench-obsync-'));
const sim = createFragalysisSimulator({ seed: 14, buildMs: 0 });
const server = await startTestServer({ handlers: sim.handlers, unref: false });
try {
  const target = sim.targets.find((t) => t.title === TITLE && t.tas === TAS);
  sim.addObservations(TITLE, TAS, TOTAL - target.observations.length);
  const client = new FragalysisClient({ stack: server.url, token: sim.tokenFor('demo') });
  const options = { eventFile: true, sigmaaFile: true, diffFile: true };
  const targets = [{ title: TITLE, tas: TAS }];
  const wholeDir = path.join(work, 'whole');
  const obsDir = path.join(work, 'observations');
  const common = { options, pollInterval: 50 };

  await client.archives.sync(targets, wholeDir, { ...common, extract: true, keepArchive: false });
  await client.archives.sync(targets, obsDir, { ...common, observations: true });
  const changed = sim.reprocessObservations(TITLE, TAS, CHANGED);

  const served = async (fn) => {
    server.clearLog();
    const started = performance.now();
    const result = await fn();
    const ms = performance.now() - started;
    // Entries are completed when each response closes; the sync has read every body by now.
    const entries = [...server.requests];
    const sum = (list) => list.reduce((n, r) => n + (r.responseBytes ?? 0), 0);
    const archive = entries.filter((r) => r.path === '/api/download_structures/' && r.method === 'GET');
    return {
      result,
      ms: Math.round(ms),
      requests: entries.length,
      bytes: sum(entries),
      archiveBytes: sum(archive),
      apiBytes: sum(entries) - sum(archive),
    };
  };
  const whole = await served(() =>
    client.archives.sync(targets, wholeDir, { ...common, extract: true, keepArchive: false }),
  );
  const obs = await served(() => client.archives.sync(targets, obsDir, { ...common, observations: true }));
  const report = obs.result[0]?.observations;
  if (whole.result[0]?.status !== 'downloaded') throw new Error('the whole-archive sync did not download');
  if (!report || report.changed.length !== CHANGED || report.new.length !== 0)
    throw new Error(`the observation sync saw ${report?.changed.length} changed, ${report?.new.length} new`);

  const metadataCsvGz = gzipSync(readFileSync(path.join(report.folder, 'metadata.csv'))).byteLength;
  const perObservation = whole.archiveBytes / TOTAL;
  const budget = Math.round(CHANGED * perObservation + metadataCsvGz + FIXED_ALLOWANCE + obs.apiBytes);
  const ok = obs.bytes <= budget;
  const data = {
    date: new Date().toISOString(),
    note: 'in-process simulator on a shared 2-core machine: byte counts are exact, times are indicative',
    observations: TOTAL,
    changed: CHANGED,
    changedCodes: changed.slice(0, 5),
    wholeArchiveSync: {
      bytes: whole.bytes,
      archiveBytes: whole.archiveBytes,
      requests: whole.requests,
      ms: whole.ms,
    },
    observationSync: {
      bytes: obs.bytes,
      archiveBytes: obs.archiveBytes,
      apiBytes: obs.apiBytes,
      requests: obs.requests,
      archives: report.archives,
      ms: obs.ms,
    },
    perObservationBytes: Math.round(perObservation),
    metadataCsvGzBytes: metadataCsvGz,
    budgetBytes: budget,
    ratio: Number((whole.bytes / obs.bytes).toFixed(1)),
    target: `observation sync ≤ ${CHANGED} × bytes per observation + metadata (${budget} bytes)`,
    ok,
  };
  const file = writeResult('fragalysis-obsync', data);
  console.log(JSON.stringify(data));
  console.error(
    `whole-archive sync: ${whole.bytes} bytes; observation sync: ${obs.bytes} bytes (budget ${budget}); ` +
      `${data.ratio}x fewer → ${path.relative(root, file)}${ok ? '' : '  TARGET MISSED'}`,
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  await server.close();
  rmSync(work, { recursive: true, force: true });
}
