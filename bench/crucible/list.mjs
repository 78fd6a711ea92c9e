// Lists every dataset through CrucibleClient.datasets.list() (1000 a page), in its own process, counting them
// without keeping them. Args: baseUrl apiKey
import { performance } from 'node:perf_hooks';
import { CrucibleClient } from '../../packages/crucible/dist/index.js';

const [baseUrl, apiKey] = process.argv.slice(2);
let peakRss = 0;
let peakHeap = 0;
const sample = () => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
};
const sampler = setInterval(sample, 20);
const client = new CrucibleClient({ baseUrl, apiKey });
const started = performance.now();
let count = 0;
for await (const dataset of client.datasets.list()) {
  if (dataset.uniqueId) count++;
  if (count % 1000 === 0) sample();
}
const ms = performance.now() - started;
clearInterval(sampler);
peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
console.log(JSON.stringify({ count, ms, peakRssMB: peakRss / 1048576, peakHeapMB: peakHeap / 1048576 }));
