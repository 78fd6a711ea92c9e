#!/usr/bin/env node
/**
 * `sciport-sim <service> [options]`: serves a simulated service over HTTP on 127.0.0.1 as a separate process
 * (for benchmarks and manual tests). See `sciport-sim --help`.
 */

// Signals are caught before the (slow) imports, so that SIGINT/SIGTERM during start-up also end cleanly.
const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => controller.abort());

import('./sim-cli.js')
  .then(({ runSimCli }) =>
    runSimCli(process.argv.slice(2), {
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
      signal: controller.signal,
    }),
  )
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`sciport-sim: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
