// The floor for any Node.js client: fetch the archive URL and discard the body (no hashing, no file), in its
// own process. Args: url
import { performance } from 'node:perf_hooks';

const [url] = process.argv.slice(2);
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 20);
const cpu0 = process.cpuUsage();
const started = performance.now();
const response = await fetch(url);
let bytes = 0;
for await (const chunk of response.body) bytes += chunk.byteLength;
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpu0);
clearInterval(sampler);
peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
console.log(
  JSON.stringify({ bytes, ms, cpuMs: (cpu.user + cpu.system) / 1000, peakRssMB: peakRss / 1048576 }),
);
