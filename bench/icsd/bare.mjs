// The floor: the same /cif/multiple requests (the same 500-id batches, in the same order) at the same
// concurrency, bodies read and discarded, nothing else. Login and the id search happen before the clock starts.
// Args: baseUrl username password concurrency
import { performance } from 'node:perf_hooks';

const [baseUrl, username, password, concurrencyArg] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
const login = await fetch(`${baseUrl}/auth/login`, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/plain' },
  body: new URLSearchParams({ loginid: username, password }),
});
await login.text();
const token = login.headers.get('icsd-auth-token');
const h = { 'icsd-auth-token': token };
const ids = [];
for (const type of ['EXPERIMENTAL_INORGANIC', 'EXPERIMENTAL_METALORGANIC', 'THERORETICAL_STRUCTURES']) {
  const q = new URLSearchParams({ query: 'COLLECTIONCODE : 1-9999999', 'content type': type });
  const res = await fetch(`${baseUrl}/search/expert?${q}`, { headers: { ...h, accept: 'application/json' } });
  ids.push(...(await res.json()).idnums);
}
const batches = [];
for (let i = 0; i < ids.length; i += 500) batches.push(ids.slice(i, i + 500));

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 20);
let next = 0;
let entries = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < batches.length) {
      const batch = batches[next++];
      const q = new URLSearchParams([
        ...batch.map((i) => ['idnum', String(i)]),
        ['celltype', 'experimental'],
        ['windowsclient', 'false'],
        ['filetype', 'cif'],
      ]);
      const res = await fetch(`${baseUrl}/cif/multiple?${q}`, {
        headers: { ...h, accept: 'application/cif' },
      });
      for await (const _ of res.body) {
        // discarded
      }
      entries += batch.length;
    }
  }),
);
const ms = performance.now() - started;
clearInterval(sampler);
await fetch(`${baseUrl}/auth/logout`, { headers: h }).then((r) => r.text());
peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
console.log(JSON.stringify({ entries, requests: batches.length, ms, peakRssMB: peakRss / 1024 / 1024 }));
