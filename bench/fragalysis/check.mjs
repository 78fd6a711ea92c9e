// One measured completeness check (checkArchive + the report written beside it) of an extracted archive, with
// the built @sciport/fragalysis, in its own process (its memory is its own). Args: folder
import { performance } from 'node:perf_hooks';
import { checkArchive, writeArchiveReport } from '../../packages/fragalysis/dist/index.js';

const [folder] = process.argv.slice(2);
let peakRss = process.memoryUsage.rss();
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 10);
const cpu0 = process.cpuUsage();
const started = performance.now();
const report = await checkArchive(folder);
const reportFile = await writeArchiveReport(report);
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpu0);
clearInterval(sampler);
peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
console.log(
  JSON.stringify({
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    peakRssMB: peakRss / 1048576,
    observations: report.observations,
    placeholders: report.placeholders.length,
    errors: report.errors.length,
    reportFile,
  }),
);
