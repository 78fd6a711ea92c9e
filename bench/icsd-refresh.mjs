#!/usr/bin/env node
// ICSD refresh benchmark: `icsd.cifs.mirror(dir, { refresh: true })` against the ICSD simulator (in this process,
// 20 ms of latency on every response; the client runs in its own process). Mirrors N entries, refreshes with
// nothing changed upstream, then changes 1 % of the entries upstream and refreshes again. The baseline is the
// first full mirror of the same entries (what fetching everything again would cost).
//
//   node bench/icsd-refresh.mjs [entries]        (default 5000)
//
// Targets: the refresh of an up-to-date mirror makes no CIF request (only searches and /csv); the refresh after
// the 1 % change fetches exactly the changed entries. Writes bench/results/icsd-refresh.json; exits 1 when a
// target is missed.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fmt, root, runJson, writeResult } from './lib.mjs';

const { createIcsdSimulator, startTestServer } = await import(
  path.join(root, 'packages', 'testkit', 'dist', 'index.js')
);

const entries = Number(process.argv[2] ?? process.env.BENCH_ICSD_REFRESH_ENTRIES ?? 5000);
const LATENCY_MS = 20;
const CONCURRENCY = 4;
const SHARE = 0.01;
const client = path.join(root, 'bench', 'icsd', 'refresh-client.mjs');
// tmpfs when there is one (see icsd-mirror.mjs); BENCH_TMPDIR overrides.
const outputRoot = process.env.BENCH_TMPDIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
const work = mkdtempSync(path.join(outputRoot, 'sciport-bench-icsd-refresh-'));
const sim = createIcsdSimulator({ entries, seed: 5, cifsPerSession: null });
const server = await startTestServer({ handlers: sim.handlers, faults: { latencyMs: LATENCY_MS } });

/** One run of the client, and the requests the simulator received for it, per endpoint. */
async function run(refresh) {
  const before = sim.stats;
  const report = await runJson(client, [
    `${server.url}/ws`,
    'demo',
    'demo-password',
    work,
    refresh ? '1' : '0',
    String(CONCURRENCY),
  ]);
  const after = sim.stats;
  const requests = Object.fromEntries(
    Object.entries(after.requests)
      .map(([k, v]) => [k, v - before.requests[k]])
      .filter(([, v]) => v > 0),
  );
  return { ...report, requestsByEndpoint: requests, cifsServed: after.cifsServed - before.cifsServed };
}

const cifRequests = (r) => (r.requestsByEndpoint.cif ?? 0) + (r.requestsByEndpoint['cif/multiple'] ?? 0);
let result;
try {
  const mirror = await run(false);
  const upToDate = await run(true);
  const step = Math.round(1 / SHARE);
  const changed = sim.modify(sim.entries.filter((_, i) => i % step === 0).map((e) => e.collectionCode));
  const afterChange = await run(true);
  result = {
    entries,
    latencyMs: LATENCY_MS,
    concurrency: CONCURRENCY,
    changed: changed.length,
    mirror,
    upToDate,
    afterChange,
    refreshOverMirrorTime: afterChange.ms / mirror.ms,
    targets: {
      upToDateNoCif: cifRequests(upToDate) === 0 && upToDate.updated === 0,
      exactlyTheChanged: afterChange.updated === changed.length && afterChange.cifsServed === changed.length,
      complete: mirror.new === entries && afterChange.unchanged === entries - changed.length,
    },
  };
  const show = (r) =>
    `${fmt(r.ms, 0)} ms, ${Object.entries(r.requestsByEndpoint)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`;
  console.log(
    `icsd-refresh N=${entries}: mirror ${show(mirror)}; refresh, nothing changed: ${show(upToDate)} ` +
      `(${upToDate.updated} updated); refresh after ${changed.length} changes: ${show(afterChange)} ` +
      `(${afterChange.updated} updated, ${afterChange.unchanged} unchanged; ` +
      `${fmt(result.refreshOverMirrorTime, 2)}x the full mirror's time) ` +
      `${Object.values(result.targets).every(Boolean) ? 'ok' : `MISSED ${JSON.stringify(result.targets)}`}`,
  );
} finally {
  await server.close();
  rmSync(work, { recursive: true, force: true });
}

const file = writeResult('icsd-refresh', {
  benchmark: 'icsd-refresh',
  date: new Date().toISOString(),
  node: process.version,
  results: [result],
});
console.log(`results in ${path.relative(root, file)}`);
process.exit(Object.values(result.targets).every(Boolean) ? 0 : 1);
