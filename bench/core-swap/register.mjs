// Loaded with `node --import ./bench/core-swap/register.mjs` (see runJson in lib.mjs): every module of the built
// @sciport/core (packages/core/dist, whether reached through a client package or directly) is loaded from
// BENCH_CORE_DIST instead, another build of core, so that one run compares two transports side by side. Nothing
// else changes: the clients, the simulators and the benchmark scripts are the same files.
import { register } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const swap = process.env.BENCH_CORE_DIST;
if (swap) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  register('./hooks.mjs', import.meta.url, {
    data: {
      from: pathToFileURL(path.join(root, 'packages', 'core', 'dist') + path.sep).href,
      to: pathToFileURL(path.resolve(swap) + path.sep).href,
    },
  });
}
