// One measured `exportStructures` run (the built @sciport/icsd), in its own process so that its peak RSS is
// its own. Args: mirrorDir outFile. Prints one JSON line.
import { performance } from 'node:perf_hooks';
import { exportStructures } from '../../packages/icsd/dist/index.js';

const [dir, out] = process.argv.slice(2);
let peakRss = process.memoryUsage.rss();
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 20);
const started = performance.now();
const report = await exportStructures(dir, out);
const ms = performance.now() - started;
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage.rss(), process.resourceUsage().maxRSS * 1024);
const problems = {};
for (const r of report.refused) problems[r.problem] = (problems[r.problem] ?? 0) + 1;
console.log(
  JSON.stringify({
    written: report.written,
    refused: report.refused.length,
    problems,
    bytes: report.bytes,
    ms,
    peakRssMB: peakRss / 1024 / 1024,
  }),
);
