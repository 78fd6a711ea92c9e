#!/usr/bin/env node
// The `sciport` bin of a clone of the repository. `pnpm install` links bins before anything is built, so the
// bin is this committed file, which runs the build (dist/bin.js). The published package's bin is dist/bin.js
// itself (publishConfig.bin).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    'sciport: not built yet: run `pnpm build` (or `npx -y pnpm@10.34.9 build`) in the repository first\n',
  );
  process.exit(1);
}
await import(entry.href);
