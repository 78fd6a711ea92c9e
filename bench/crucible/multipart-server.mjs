// The Crucible simulator with multipart uploads offered and a fixed latency on every request, in its own process
// (so that the uploading process's memory is measured alone). Prints one JSON line: {url, apiKey}.
// Args: latencyMs
import { createCrucibleSimulator, startTestServer } from '../../packages/testkit/dist/index.js';

const latencyMs = Number(process.argv[2] ?? 20);
const sim = createCrucibleSimulator({ seed: 1, datasets: 10, multipart: {} });
const server = await startTestServer({
  handlers: sim.handlers,
  faults: latencyMs > 0 ? { latencyMs } : undefined,
  lifetimeMs: 60 * 60 * 1000,
});
console.log(JSON.stringify({ url: server.url, apiKey: sim.keyFor('demo') }));
// The test server does not hold the event loop open by itself (its sockets are unref'd): this does.
const keepAlive = setInterval(() => {}, 1 << 30);
const stop = async () => {
  clearInterval(keepAlive);
  await server.close();
  await sim.dispose();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
