// Parse + expand throughput on one core: `parseCif` over every CIF of a folder (read into memory first, so
// the disk is not measured), `rounds` times. Args: dir rounds. Prints one JSON line.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseCif, toOptimade } from '../../packages/icsd/dist/index.js';

const [dir, roundsText = '5'] = process.argv.slice(2);
const texts = readdirSync(dir)
  .filter((f) => f.endsWith('.cif'))
  .sort()
  .map((f) => [f, readFileSync(path.join(dir, f), 'utf8')]);
const rounds = Number(roundsText);
const parseRates = [];
// Entries per second of CPU time (user + system) too: on a loaded machine the wall clock measures the
// neighbours; CPU time is what the parser itself used.
const parseCpuRates = [];
const optimadeRates = [];
let refused = 0;
const problems = {};
for (let round = 0; round < rounds; round++) {
  // Parse and expand alone.
  let t = performance.now();
  const cpu = process.cpuUsage();
  const parsed = [];
  for (const [name, text] of texts) {
    try {
      parsed.push(parseCif(text, { source: name }));
    } catch (error) {
      if (round === 0) {
        refused++;
        problems[error.problem ?? 'other'] = (problems[error.problem ?? 'other'] ?? 0) + 1;
      }
    }
  }
  parseRates.push((texts.length / (performance.now() - t)) * 1000);
  const used = process.cpuUsage(cpu);
  parseCpuRates.push((texts.length / ((used.user + used.system) / 1000)) * 1000);
  // The OPTIMADE entry and its JSON line on top (what `export` does per entry, without the disk).
  t = performance.now();
  let chars = 0;
  for (const s of parsed) chars += JSON.stringify(toOptimade(s)).length;
  optimadeRates.push((parsed.length / (performance.now() - t)) * 1000);
  if (chars === 0 && parsed.length > 0) throw new Error('nothing written');
}
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
console.log(
  JSON.stringify({
    entries: texts.length,
    refused,
    problems,
    rounds,
    parseEntriesPerSecond: median(parseRates),
    parseEntriesPerCpuSecond: median(parseCpuRates),
    optimadeEntriesPerSecond: median(optimadeRates),
    parseRuns: parseRates.map(Math.round),
  }),
);
