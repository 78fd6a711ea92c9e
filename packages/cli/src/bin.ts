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
