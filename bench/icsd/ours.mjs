// One measured run of `icsd.cifs.mirror` (the built @sciport/icsd), in its own process.
// Args: baseUrl username password dir concurrency cifsPerSession(number|unlimited)
import { performance } from 'node:perf_hooks';
import { IcsdClient } from '../../packages/icsd/dist/index.js';

const [baseUrl, username, password, dir, concurrency, quota] = process.argv.slice(2);
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 20);
const client = new IcsdClient({
  baseUrl,
  username,
  password,
  concurrency: Number(concurrency),
  cifsPerSession: quota === 'unlimited' ? null : Number(quota),
});
// The CIF phase alone (from the first /cif/multiple request), to compare with the bare loop's clock, which
// starts after its login and its id search.
let firstCif;
client.onEvent((e) => {
  if (firstCif === undefined && e.type === 'request' && e.url.includes('/cif/multiple'))
    firstCif = performance.now();
});
const started = performance.now();
const report = await client.cifs.mirror(dir);
await client.dispose();
const ms = performance.now() - started;
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage.rss(), process.resourceUsage().maxRSS * 1024);
console.log(
  JSON.stringify({
    entries: report.downloaded,
    badIds: report.badIds.length,
    requests: report.requests + 1, // + the logout after the report
    searches: report.searches,
    ms,
    cifPhaseMs: started + ms - (firstCif ?? started),
    peakRssMB: peakRss / 1024 / 1024,
  }),
);
