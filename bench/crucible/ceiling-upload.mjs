// The machine's ceiling for the multipart benchmark, client side: what an upload that does only what both of
// sciport's paths must (the SHA-256 pre-pass, then the file's bytes in 8 MiB PUTs read into reused buffers) takes
// against ceiling-server.mjs, with `parallel` PUTs in flight (1 = the single stream's shape, 4 = multipart's).
// Args: url file parallel. Prints one JSON line {prepassMs, transferMs, ms}.
import { open, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { sha256File } from '../../packages/core/dist/node.js';

// undici as @sciport/core resolves it (the HTTP client sciport's transfers use); the bench has no dependencies.
const { Agent, request } = createRequire(new URL('../../packages/core/package.json', import.meta.url))(
  'undici',
);

const [url, file, parallelArg] = process.argv.slice(2);
const parallel = Number(parallelArg ?? 1);
const part = 8 * 1048576;
const { size } = await stat(file);
const agent = new Agent({ connections: parallel });
const started = performance.now();
await sha256File(file);
const hashed = performance.now();
const handle = await open(file, 'r');
let next = 0;
const count = Math.ceil(size / part);
await Promise.all(
  Array.from({ length: parallel }, async () => {
    const buffer = Buffer.allocUnsafe(part);
    for (let n = next++; n < count; n = next++) {
      const length = Math.min(part, size - n * part);
      const { bytesRead } = await handle.read(buffer, 0, length, n * part);
      const response = await request(`${url}/part/${n}`, {
        method: 'PUT',
        body: buffer.subarray(0, bytesRead),
        dispatcher: agent,
      });
      await response.body.dump();
    }
  }),
);
const ended = performance.now();
await handle.close();
await agent.close();
console.log(JSON.stringify({ prepassMs: hashed - started, transferMs: ended - hashed, ms: ended - started }));
