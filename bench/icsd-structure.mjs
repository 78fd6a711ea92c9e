#!/usr/bin/env node
// ICSD structure benchmark (issue 12): (a) `parseCif` (parse + expand to the unit cell) over 5,000 simulator
// CIFs on one core, median entries/s over 5 rounds; (b) `exportStructures` of 50,000 simulator CIFs written
// into a temporary folder, wall time and peak RSS of the export measured in its own process.
//
//   node bench/icsd-structure.mjs [parseCount] [exportCount]        (default 5000 50000)
//
// BENCH_STRUCTURE_SOURCE=fixtures uses the parser's fixture CIFs (real prototypes, renumbered) instead of the
// simulator's. Targets: at least 2,000 entries/s parsed and expanded; export peak RSS under 150 MB; every
// entry written (none refused). Writes bench/results/icsd-structure.json; exits 1 when a target is missed.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fmt, root, runJson, writeResult } from './lib.mjs';

const parseCount = Number(process.argv[2] ?? process.env.BENCH_STRUCTURE_PARSE ?? 5000);
const exportCount = Number(process.argv[3] ?? process.env.BENCH_STRUCTURE_EXPORT ?? 50000);
const source = process.env.BENCH_STRUCTURE_SOURCE ?? 'simulator';
const here = path.join(root, 'bench', 'icsd-structure');
// tmpfs when there is one (see icsd-mirror.mjs: the shared disk stalls at random). BENCH_TMPDIR overrides.
const outputRoot = process.env.BENCH_TMPDIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
const work = mkdtempSync(path.join(outputRoot, 'sciport-bench-structure-'));
let result;
try {
  const parseDir = path.join(work, 'parse');
  await runJson(path.join(here, 'corpus.mjs'), [parseDir, String(parseCount), source]);
  const parse = await runJson(path.join(here, 'parse.mjs'), [parseDir, '5']);
  console.log(
    `icsd-structure parse N=${parse.entries}: ${fmt(parse.parseEntriesPerSecond, 0)} entries/s parsed and expanded ` +
      `(median of ${parse.rounds}; ${fmt(parse.parseEntriesPerCpuSecond, 0)} per CPU-second), ${fmt(parse.optimadeEntriesPerSecond, 0)} entries/s to OPTIMADE JSON; ` +
      `${parse.refused} refused ${JSON.stringify(parse.problems)}`,
  );

  const mirror = path.join(work, 'mirror');
  const corpus = await runJson(path.join(here, 'corpus.mjs'), [mirror, String(exportCount), source]);
  const exported = await runJson(path.join(here, 'export.mjs'), [mirror, path.join(work, 'all.jsonl')]);
  const perSecond = ((exported.written + exported.refused) / exported.ms) * 1000;
  console.log(
    `icsd-structure export N=${exportCount} (${fmt(corpus.bytes / 1024 / 1024)} MB of CIF): ${fmt(exported.ms / 1000, 2)} s ` +
      `(${fmt(perSecond, 0)} entries/s, CPU ${fmt(exported.cpuMs / 1000, 2)} s), peak RSS ${fmt(exported.peakRssMB)} MB, ${exported.written} written, ` +
      `${exported.refused} refused ${JSON.stringify(exported.problems)}`,
  );
  const targets = {
    parse2000PerSecond: parse.parseEntriesPerSecond >= 2000,
    exportRssUnder150MB: exported.peakRssMB < 150,
    noneRefused: parse.refused === 0 && exported.refused === 0,
  };
  result = {
    benchmark: 'icsd-structure',
    date: new Date().toISOString(),
    node: process.version,
    source,
    outputDir: outputRoot,
    parse,
    export: { entries: exportCount, cifBytes: corpus.bytes, entriesPerSecond: perSecond, ...exported },
    targets,
  };
  console.log(Object.values(targets).every(Boolean) ? 'targets met' : `MISSED ${JSON.stringify(targets)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
const file = writeResult('icsd-structure', result);
console.log(`results in ${path.relative(root, file)}`);
process.exit(Object.values(result.targets).every(Boolean) ? 0 : 1);
