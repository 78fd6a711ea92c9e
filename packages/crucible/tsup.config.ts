import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export default defineConfig({
  // index: the Node entry (everything); browser: the same client without the file-writing parts.
  entry: ['src/index.ts', 'src/browser.ts'],
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: true,
  treeshake: true,
  define: { __SCIPORT_CRUCIBLE_VERSION__: JSON.stringify(pkg.version) },
});
