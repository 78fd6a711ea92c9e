#!/usr/bin/env node
import { main } from './index.js';

// `sciport … | head`: a closed pipe ends the output, not with a crash.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const code = await main();
// After Ctrl-C, do not wait for work that ignored the abort signal.
if (code >= 128) process.exit(code);
process.exitCode = code;
// Everything the command started has ended by now, its cleanups (logouts) included. Whatever still holds the
// event loop (a connection a server keeps open, a timer a library left armed) must not keep the process alive
// after its result or error is printed: a second's grace for pending output, then exit.
setTimeout(() => process.exit(code), 1000).unref();
