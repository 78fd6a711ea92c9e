// One measured upload with CrucibleClient.files.upload (the built package), in its own process.
// Args: baseUrl apiKey datasetId file storageHost mode(multipart|single) parallel
// Besides the total, it splits the run in phases from undici's diagnostics channel (the requests the client
// makes): `prepassMs` until the first request (the SHA-256 pre-pass over the file, which both paths must make
// before initiating), `transferMs` from the first to the last storage request's end, `completeMs` the rest (the
// Crucible `complete` call, where the server checks the SHA-256).
import { subscribe } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { CrucibleClient } from '../../packages/crucible/dist/index.js';

const [baseUrl, apiKey, datasetId, file, storageHost, mode, parallel] = process.argv.slice(2);
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 20);
const marks = { firstRequest: undefined, firstStorage: undefined, lastStorageEnd: undefined };
const storageOrigin = new URL(storageHost).origin;
const isStorage = (request) =>
  request.origin === storageOrigin && !`${request.path}`.startsWith(new URL(baseUrl).pathname);
subscribe('undici:request:create', ({ request }) => {
  const now = performance.now();
  marks.firstRequest ??= now;
  if (isStorage(request)) marks.firstStorage ??= now;
});
subscribe('undici:request:trailers', ({ request }) => {
  if (isStorage(request)) marks.lastStorageEnd = performance.now();
});
const client = new CrucibleClient({ baseUrl, apiKey });
const cpu0 = process.cpuUsage();
const started = performance.now();
const result = await client.files.upload(datasetId, file, {
  storageHost,
  multipart: mode === 'multipart',
  parallel: Number(parallel ?? 4),
});
const ended = performance.now();
const ms = ended - started;
const cpu = process.cpuUsage(cpu0);
clearInterval(sampler);
peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
const since = (mark) => (mark === undefined ? undefined : mark - started);
console.log(
  JSON.stringify({
    mode,
    bytes: result.file.size,
    ms,
    prepassMs: since(marks.firstRequest),
    firstStorageMs: since(marks.firstStorage),
    transferMs:
      marks.firstStorage === undefined || marks.lastStorageEnd === undefined
        ? undefined
        : marks.lastStorageEnd - marks.firstStorage,
    completeMs: marks.lastStorageEnd === undefined ? undefined : ended - marks.lastStorageEnd,
    cpuMs: (cpu.user + cpu.system) / 1000,
    mfid: result.file.mfid,
    sha256: result.sha256,
    peakRssMB: peakRss / 1048576,
  }),
);
