// The machine's ceiling for the multipart benchmark: a bare node:http server that answers every request after the
// same fixed latency as the simulator's fault layer and reads (and throws away) the body: no routing, no hashing,
// no storing. Prints one JSON line {url}. Args: latencyMs
import { createServer } from 'node:http';

const latencyMs = Number(process.argv[2] ?? 20);
const server = createServer((req, res) => {
  setTimeout(() => {
    let bytes = 0;
    req.on('data', (chunk) => {
      bytes += chunk.byteLength;
    });
    req.on('end', () => {
      res.setHeader('etag', `"${bytes}"`);
      res.end();
    });
  }, latencyMs);
});
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` }));
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
