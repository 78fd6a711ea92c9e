// One measured extraction with @sciport/core's extractArchive, in its own process. Args: archive destination
import { performance } from 'node:perf_hooks';
import { extractArchive } from '../../packages/core/dist/extract.js';

const [archive, destination] = process.argv.slice(2);
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 20);
const started = performance.now();
const result = await extractArchive(archive, destination);
const ms = performance.now() - started;
clearInterval(sampler);
peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
console.log(JSON.stringify({ ms, files: result.files, bytes: result.bytes, peakRssMB: peakRss / 1048576 }));
