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
const cpu = process.cpuUsage();
const report = await exportStructures(dir, out);
const ms = performance.now() - started;
const used = process.cpuUsage(cpu);
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
    cpuMs: (used.user + used.system) / 1000,
    peakRssMB: peakRss / 1024 / 1024,
  }),
);
