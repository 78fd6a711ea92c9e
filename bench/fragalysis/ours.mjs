// One measured download of a target's archive with FragalysisClient's archives.download (the built package), in
// its own process. Args: stack token title tas destination
import { performance } from 'node:perf_hooks';
import { FragalysisClient } from '../../packages/fragalysis/dist/index.js';

const [stack, token, title, tas, destination] = process.argv.slice(2);
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 20);
const client = new FragalysisClient({ stack, token });
// The build is requested and finished before the clock starts: what is measured is the transfer.
const { fileUrl } = await client.archives.request({ target: title, tas });
const cpu0 = process.cpuUsage();
const started = performance.now();
const result = await client.archives.download({
  target: title,
  tas,
  destination,
  // The transfer is measured (beside curl's): the completeness check, another pass over the archive, has its
  // own benchmark (fragalysis-check.mjs).
  check: false,
});
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpu0);
clearInterval(sampler);
peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
console.log(
  JSON.stringify({
    bytes: result.bytes,
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    userMs: cpu.user / 1000,
    archive: result.archive,
    fileUrl,
    peakRssMB: peakRss / 1048576,
  }),
);
