// A plain Node file server on 127.0.0.1 (no simulator logic): serves one file at any path, 1 MiB reads.
// Prints its port, stops after 10 minutes or on SIGTERM. Args: file
import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';

const [file] = process.argv.slice(2);
const size = statSync(file).size;
const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' });
  createReadStream(file, { highWaterMark: 1 << 20 }).pipe(res);
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
setTimeout(() => server.close(), 600_000).unref();
process.on('SIGTERM', () => server.close(() => process.exit(0)));
