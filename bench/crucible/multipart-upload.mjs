// One measured upload with CrucibleClient.files.upload (the built package), in its own process.
// Args: baseUrl apiKey datasetId file storageHost mode(multipart|single) parallel
import { performance } from 'node:perf_hooks';
import { CrucibleClient } from '../../packages/crucible/dist/index.js';

const [baseUrl, apiKey, datasetId, file, storageHost, mode, parallel] = process.argv.slice(2);
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 20);
const client = new CrucibleClient({ baseUrl, apiKey });
const cpu0 = process.cpuUsage();
const started = performance.now();
const result = await client.files.upload(datasetId, file, {
  storageHost,
  multipart: mode === 'multipart',
  parallel: Number(parallel ?? 4),
});
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpu0);
clearInterval(sampler);
peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
console.log(
  JSON.stringify({
    mode,
    bytes: result.file.size,
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    mfid: result.file.mfid,
    sha256: result.sha256,
    peakRssMB: peakRss / 1048576,
  }),
);
