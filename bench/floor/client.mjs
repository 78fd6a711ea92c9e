// One measured download in its own process. Args: mode url out
//   minimal: global fetch, SHA-256 of every chunk, 1 MiB vectored writes: the least a verified Node download does
//   ours:    @sciport/core downloadToFile over createHttpClient (the path the service clients use)
//   discard: global fetch, body read and dropped (no hash, no file)
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { createHttpClient } from '../../packages/core/dist/index.js';
import { downloadToFile, nodeDownloadFetch } from '../../packages/core/dist/node.js';

const [mode, url, out] = process.argv.slice(2);
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 20);
const cpu0 = process.cpuUsage();
const started = performance.now();
let bytes = 0;
if (mode === 'ours') {
  const http = createHttpClient({ baseUrl: url, service: 'bench', downloadFetch: nodeDownloadFetch });
  bytes = (await downloadToFile(() => http.stream(url), out)).bytes;
} else {
  const response = await fetch(url);
  const reader = response.body.getReader();
  const hash = mode === 'minimal' ? createHash('sha256') : undefined;
  const file = mode === 'minimal' ? await open(out, 'w') : undefined;
  let batch = [];
  let batched = 0;
  let writing;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (!file) continue;
    hash.update(value);
    batch.push(value);
    batched += value.byteLength;
    if (batched >= 1 << 20) {
      await writing;
      writing = file.writev(batch);
      batch = [];
      batched = 0;
    }
  }
  if (file) {
    await writing;
    if (batch.length > 0) await file.writev(batch);
    await file.close();
    hash.digest('hex');
  }
}
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpu0);
clearInterval(sampler);
peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
console.log(
  JSON.stringify({ bytes, ms, cpuMs: (cpu.user + cpu.system) / 1000, peakRssMB: peakRss / 1048576 }),
);
