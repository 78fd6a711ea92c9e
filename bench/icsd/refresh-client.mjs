// One measured run of `icsd.cifs.mirror` (the built @sciport/icsd), with or without `refresh`, in its own process.
// Args: baseUrl username password dir refresh(0|1) concurrency
import { performance } from 'node:perf_hooks';
import { IcsdClient } from '../../packages/icsd/dist/index.js';

const [baseUrl, username, password, dir, refresh, concurrency] = process.argv.slice(2);
const client = new IcsdClient({
  baseUrl,
  username,
  password,
  concurrency: Number(concurrency),
  cifsPerSession: null,
});
const started = performance.now();
const report = await client.cifs.mirror(dir, { refresh: refresh === '1' });
await client.dispose();
const ms = performance.now() - started;
const { files: _files, badIds, ...rest } = report;
console.log(JSON.stringify({ ...rest, badIds: badIds.length, ms }));
