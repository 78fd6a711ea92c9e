// Lists every dataset through CrucibleClient.datasets.list() (1000 a page), in its own process, counting them
// without keeping them. Args: baseUrl apiKey
// Reports the peak RSS and heap (what garbage piles up between collections, which V8 lets grow with the work) and
// the heap retained after a full collection at the end, over the start: what the listing keeps, the measure of
// flat memory.
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CrucibleClient } from '../../packages/crucible/dist/index.js';

const [baseUrl, apiKey] = process.argv.slice(2);
let peakRss = 0;
let peakHeap = 0;
const sample = () => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
};
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const sampler = setInterval(sample, 20);
const client = new CrucibleClient({ baseUrl, apiKey });
gc();
const heapAtStart = process.memoryUsage().heapUsed;
const started = performance.now();
let count = 0;
for await (const dataset of client.datasets.list()) {
  if (dataset.uniqueId) count++;
  if (count % 1000 === 0) sample();
}
const ms = performance.now() - started;
clearInterval(sampler);
gc();
const retainedMB = (process.memoryUsage().heapUsed - heapAtStart) / 1048576;
peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
console.log(
  JSON.stringify({ count, ms, peakRssMB: peakRss / 1048576, peakHeapMB: peakHeap / 1048576, retainedMB }),
);
