#!/usr/bin/env node
// Selective download benchmark (issue 13, spec §19.3): a Crucible dataset of 10,000 files in 100 folders, of which
// `download --include` selects 100 (one folder), fetched by CrucibleClient from the testkit simulator over real HTTP
// (server and client in this process). Requests are counted per route by the simulator.
//
//   node bench/crucible-select.mjs [files]       (default 10000; 100 per folder)
//
// Targets: exactly 100 `GET /files/{mfid}/download_link`, no `GET /datasets/{dsid}/download_links`, no per-file
// `GET /files/{mfid}`, one listing request (`GET /datasets/{dsid}/files`, a bare array); the 100 files saved
// and verified. Beside it, the same 100 files the way a client without selection gets them (the dataset-wide
// `download_links`, filtered by a predicate) to show what the selection saves: that links answer carries all
// 10,000 signed URLs. Writes bench/results/crucible-select.json; exits 1 when a target is missed.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { root, writeResult } from './lib.mjs';

const { CrucibleClient } = await import(path.join(root, 'packages/crucible/dist/index.js'));
const { addFolderFiles, createCrucibleSimulator, startTestServer } = await import(
  path.join(root, 'packages/testkit/dist/index.js')
);

const total = Number(process.argv[2] ?? 10_000);
const outputRoot = process.env.BENCH_TMPDIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
const work = mkdtempSync(path.join(outputRoot, 'sciport-bench-select-'));
const sim = createCrucibleSimulator({ seed: 19, datasets: 5, tmpDir: work });
const server = await startTestServer({ handlers: sim.handlers, unref: false });
const LINK = 'GET /files/{mfid}/download_link';
const LINKS = 'GET /datasets/{dsid}/download_links';
const FILE = 'GET /files/{mfid}';
const LIST = 'GET /datasets/{dsid}/files';

let failed = false;
try {
  const client = new CrucibleClient({ baseUrl: `${server.url}/api/v2`, apiKey: sim.keyFor('demo') });
  const dsid = (await client.datasets.create({ datasetName: 'select bench', projectId: 'DEMO-0001' }))
    .uniqueId;
  const t0 = performance.now();
  await addFolderFiles(sim, dsid, { files: total, perFolder: 100, size: 1024 });
  const seedMs = performance.now() - t0;
  const folder = 'raw/run-0042';

  const measure = async (name, options) => {
    const before = sim.stats;
    const out = path.join(work, name);
    const start = performance.now();
    const saved = await client.datasets.download(dsid, out, options);
    const ms = performance.now() - start;
    const after = sim.stats;
    const delta = (key) => (after.routes[key] ?? 0) - (before.routes[key] ?? 0);
    const files = readdirSync(path.join(out, folder)).length;
    return {
      ms: Math.round(ms),
      files: saved.length,
      onDisk: files,
      verified: saved.every((f) => f.sha256.length === 64 && !f.skipped),
      requests: {
        [LIST]: delta(LIST),
        [LINK]: delta(LINK),
        [LINKS]: delta(LINKS),
        [FILE]: delta(FILE),
        api: after.apiRequests - before.apiRequests,
        storage: after.storageRequests - before.storageRequests,
      },
    };
  };

  const selected = await measure('selected', { include: `${folder}/*` });
  const unselected = await measure('predicate', { include: (name) => name.startsWith(`${folder}/`) });

  const targets = {
    selectedFiles: selected.files === 100 && selected.onDisk === 100 && selected.verified,
    linkRequests: selected.requests[LINK] === 100,
    noDatasetLinks: selected.requests[LINKS] === 0,
    noFileRecords: selected.requests[FILE] === 0,
    oneListing: selected.requests[LIST] === 1,
  };
  failed = Object.values(targets).includes(false);
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    datasetFiles: total,
    seedMs: Math.round(seedMs),
    include: `${folder}/*`,
    selected,
    withoutSelection: unselected,
    targets,
  };
  const file = writeResult('crucible-select', result);
  console.log(JSON.stringify(result, null, 2));
  console.log(`${failed ? 'MISSED' : 'ok'}: ${file}`);
} finally {
  await server.close();
  await sim.dispose();
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
