// One measured download with CrucibleClient.datasets.download (the built package), in its own process: the
// links, the signed GET without credentials, SHA-256 and size checks, atomic rename. Args: baseUrl apiKey datasetId dir
import { performance } from 'node:perf_hooks';
import { CrucibleClient } from '../../packages/crucible/dist/index.js';

const [baseUrl, apiKey, datasetId, dir] = process.argv.slice(2);
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 20);
const client = new CrucibleClient({ baseUrl, apiKey });
const cpu0 = process.cpuUsage();
const started = performance.now();
const files = await client.datasets.download(datasetId, dir);
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpu0);
clearInterval(sampler);
peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
const bytes = files.reduce((sum, f) => sum + f.bytes, 0);
console.log(
  JSON.stringify({
    bytes,
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    files: files.length,
    peakRssMB: peakRss / 1048576,
  }),
);
