import { rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { consumerProject, root } from './helpers.js';

/**
 * The clients' browser entry points (the `browser` export condition) bundle for the browser with esbuild:
 * nothing from `node:` or any Node built-in reaches the bundle.
 */

/** The part of esbuild's API used here (its types are not a dependency of this package). */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<{
    errors: { text: string }[];
    metafile: { inputs: Record<string, unknown> };
    outputFiles: { text: string; contents: Uint8Array }[];
  }>;
}

// esbuild, the one tsup builds with (no second copy to keep in step).
const esbuild = createRequire(createRequire(path.join(root, 'package.json')).resolve('tsup/package.json'))(
  'esbuild',
) as Esbuild;

const CLIENTS = [
  { name: '@sciport/icsd', use: 'IcsdClient' },
  { name: '@sciport/crucible', use: 'CrucibleClient' },
  { name: '@sciport/fragalysis', use: 'FragalysisClient' },
  { name: '@sciport/core', use: 'createHttpClient' },
] as const;

let project: string;
beforeAll(async () => {
  const tarballs = inject('tarballs');
  project = await consumerProject(
    Object.fromEntries(CLIENTS.map((c) => [c.name, tarballs[c.name] as string])),
    tarballs,
  );
});
afterAll(async () => {
  if (project) await rm(project, { recursive: true, force: true });
});

describe.each(CLIENTS)('$name in a browser bundle', ({ name, use }) => {
  it('bundles with platform browser, without Node built-ins', async () => {
    const entry = path.join(project, `${use}.mjs`);
    await writeFile(entry, `import { ${use} } from '${name}';\nconsole.log(typeof ${use});\n`);
    const result = await esbuild.build({
      entryPoints: [entry],
      absWorkingDir: project,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      conditions: ['browser'],
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(
      inputs.some((i) => i.includes(`node_modules/${name}/dist/browser.js`) || name === '@sciport/core'),
    ).toBe(true);
    const code = result.outputFiles[0]?.text ?? '';
    expect(code).not.toMatch(/from\s*["']node:|require\(["']node:/);
    const kb = (result.outputFiles[0]?.contents.byteLength ?? 0) / 1024;
    console.log(`${name} browser bundle: ${kb.toFixed(0)} KiB unminified`);
  });
});

describe('the Node entry point', () => {
  it('is refused by a browser build (the check can fail)', async () => {
    const entry = path.join(project, 'node-only.mjs');
    await writeFile(
      entry,
      `import { downloadToFile } from '@sciport/core/node';\nconsole.log(typeof downloadToFile);\n`,
    );
    await expect(
      esbuild.build({
        entryPoints: [entry],
        absWorkingDir: project,
        bundle: true,
        platform: 'browser',
        format: 'esm',
        conditions: ['browser'],
        write: false,
        logLevel: 'silent',
      }),
    ).rejects.toMatchObject({
      errors: expect.arrayContaining([expect.objectContaining({ text: expect.stringMatching(/node:/) })]),
    });
  });
});
