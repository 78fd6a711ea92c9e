#!/usr/bin/env node
// Fragalysis completeness check benchmark (spec §11.1): the check of a 500 MB extracted archive, laid out as the
// server's builder lays it out (§4.7): 2,000 observations, each with its aligned files and an event map, a
// crystallographic folder per crystal, metadata.csv, errors.csv and README.md, with placeholders, errors.csv
// rows and missing observations. The check (checkArchive, and the report written beside the folder) runs in a
// child process: its wall time and peak RSS are measured there.
//
//   node bench/fragalysis-check.mjs [megabytes]       (default 500)
//
// Targets: under 2 s and under 100 MB peak RSS (median of BENCH_ROUNDS runs, default 3, after one warm-up; the
// folder's names are in the page cache, as right after a download).
// Writes bench/results/fragalysis-check.json; exits 1 when a target is missed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fmt, medianOf, root, runJson, writeResult } from './lib.mjs';

const megabytes = Number(process.argv[2] ?? process.env.BENCH_FRAGALYSIS_MB ?? 500);
const OBSERVATIONS = 2000;
const TARGET_MS = 2000;
const TARGET_RSS_MB = 100;
const work = mkdtempSync(path.join(process.env.BENCH_TMPDIR ?? tmpdir(), 'sciport-bench-check-'));

try {
  const folder = path.join(work, 'NUDT7A_lb27156-1');
  const small = Buffer.alloc(
    2048,
    'ATOM      1  CA  GLY A 300      10.000  10.000  10.000  1.00 20.00           C\n',
  );
  // The maps carry the bytes: one per observation that has one (every 100th observation is missing, every
  // 10th has a placeholder instead) makes up the size asked for.
  const maps = OBSERVATIONS - OBSERVATIONS / 100 - (OBSERVATIONS / 10 - OBSERVATIONS / 100);
  const mapBytes = Math.max(1, Math.round((megabytes * 1048576 - OBSERVATIONS * 9 * 2048) / maps));
  const map = Buffer.alloc(mapBytes, 7);
  const request = {
    target_name: 'NUDT7A',
    target_access_string: 'lb27156-1',
    proteins: '',
    all_aligned_structures: true,
    event_file: true,
    pdb_info: true,
    metadata_info: true,
    single_sdf_file: true,
  };
  const meta = [
    '"Code","Long code","Experiment code","Compound code","Smiles","Downloaded","RefinementResolution"',
  ];
  const errors = ['Param,Code,File not found when assembling download'];
  let written = 0;
  let count = 0;
  const write = (rel, data) => {
    const file = path.join(folder, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, data);
    count += 1;
    written += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  };
  for (let i = 0; i < OBSERVATIONS; i++) {
    const code = `N${String(i + 1).padStart(4, '0')}a`;
    const xtal = `NUDT7A-x${String(i + 1).padStart(4, '0')}`;
    meta.push(`"${code}","${xtal}_A_1_1","${xtal}","Z${1000 + i}","CCO","True",1.8`);
    // Every 100th observation is missing entirely (a metadata-only gap).
    if (i % 100 === 99) continue;
    const dir = `aligned_files/${code}`;
    for (const suffix of [
      '.pdb',
      '_apo.pdb',
      '_apo-solv.pdb',
      '_apo-desolv.pdb',
      '_ligand.pdb',
      '_ligand.sdf',
      '_ligand.smi',
      '.sdf',
    ])
      write(`${dir}/${code}${suffix}`, small);
    // Every 10th has no event map: a placeholder and a row.
    if (i % 10 === 9) {
      write(`${dir}/event_file_FILE_NOT_IN_UPLOAD`, '');
      errors.push(`event_file,${code},${dir}/event_file`);
    } else write(`${dir}/${code}_event.ccp4`, map);
    write(`crystallographic_files/${xtal}/${xtal}.pdb`, small);
  }
  write('metadata.csv', `${meta.join('\n')}\n`);
  write('errors.csv', `${errors.join('\n')}\n`);
  write('README.md', `# Fragalysis download\n\n${JSON.stringify(request)}\n`);
  write('NUDT7A_combined.sdf', small);
  write('smiles.smi', 'CCO,');

  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
  const runs = [];
  for (let round = -1; round < ROUNDS; round++) {
    const run = await runJson(path.join(root, 'bench', 'fragalysis', 'check.mjs'), [folder]);
    if (round >= 0) runs.push(run);
  }
  const last = runs.at(-1);
  const result = {
    megabytes: written / 1048576,
    files: count,
    observations: last.observations,
    placeholders: last.placeholders,
    errors: last.errors,
    ms: medianOf(runs.map((r) => r.ms)),
    cpuMs: medianOf(runs.map((r) => r.cpuMs)),
    peakRssMB: medianOf(runs.map((r) => r.peakRssMB)),
    runs: runs.map((r) => ({ ms: Math.round(r.ms), peakRssMB: Number(fmt(r.peakRssMB)) })),
    targets: { ms: TARGET_MS, peakRssMB: TARGET_RSS_MB },
  };
  result.pass = result.ms < TARGET_MS && result.peakRssMB < TARGET_RSS_MB;
  const file = writeResult('fragalysis-check', result);
  console.log(
    `check of a ${fmt(result.megabytes)} MB folder (${OBSERVATIONS} observations): ${fmt(result.ms, 0)} ms ` +
      `(target < ${TARGET_MS}), peak RSS ${fmt(result.peakRssMB)} MB (target < ${TARGET_RSS_MB}); ` +
      `${last.observations.incomplete} incomplete, ${last.observations.missing} missing → ${file}`,
  );
  if (!result.pass) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
