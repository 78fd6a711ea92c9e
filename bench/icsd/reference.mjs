// The reference client's pattern (lrcfmd/ICSDClient fetch_all_cifs), re-enacted with plain fetch: for each
// window of 500 collection codes, serially: login, expert search, CSV, one CIF batch, write the files,
// logout. It walks only up to the simulator's highest code (the reference walks 0..999,999 whatever the
// database holds), which favours it.
// Args: baseUrl username password dir maxCode
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const [baseUrl, username, password, dir, maxCodeArg] = process.argv.slice(2);
const maxCode = Number(maxCodeArg);
mkdirSync(dir, { recursive: true });
let requests = 0;
let entries = 0;
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 20);

async function call(url, init = {}) {
  requests++;
  const res = await fetch(url, init);
  const body = await res.text();
  return { res, body };
}

const started = performance.now();
for (let lo = 0; lo <= maxCode; lo += 500) {
  const { res } = await call(`${baseUrl}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/plain' },
    body: new URLSearchParams({ loginid: username, password }),
  });
  const token = res.headers.get('icsd-auth-token');
  const h = { 'icsd-auth-token': token };
  const q = new URLSearchParams({ query: `COLLECTIONCODE : ${lo}-${lo + 499}` });
  const search = await call(`${baseUrl}/search/expert?${q}`, {
    headers: { ...h, accept: 'application/xml' },
  });
  const ids = (/<idnums>([^<]*)<\/idnums>/.exec(search.body)?.[1] ?? '').split(' ').filter(Boolean);
  if (ids.length > 0) {
    const csv = new URLSearchParams([
      ...ids.map((i) => ['idnum', i]),
      ['windowsclient', 'false'],
      ['listSelection', 'CollectionCode'],
    ]);
    await call(`${baseUrl}/csv?${csv}`, { headers: { ...h, accept: 'application/csv' } });
    const cif = new URLSearchParams([
      ...ids.map((i) => ['idnum', i]),
      ['celltype', 'experimental'],
      ['windowsclient', 'false'],
      ['filetype', 'cif'],
    ]);
    const { body } = await call(`${baseUrl}/cif/multiple?${cif}`, {
      headers: { ...h, accept: 'application/cif' },
    });
    for (const doc of body.split(/(?<=#End of TTdata_\d+-ICSD\n)/)) {
      const cc = /_database_code_ICSD (\d+)/.exec(doc)?.[1];
      if (!cc) continue;
      writeFileSync(path.join(dir, `icsd_${cc.padStart(6, '0')}.cif`), doc);
      entries++;
    }
  }
  await call(`${baseUrl}/auth/logout`, { headers: { ...h, accept: 'text/plain' } });
}
const ms = performance.now() - started;
clearInterval(sampler);
peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
console.log(JSON.stringify({ entries, requests, ms, peakRssMB: peakRss / 1024 / 1024 }));
