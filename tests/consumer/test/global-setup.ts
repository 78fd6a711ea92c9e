import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../..', import.meta.url));

export const PUBLISHED = ['core', 'testkit', 'icsd', 'fragalysis', 'crucible', 'cli'] as const;

declare module 'vitest' {
  export interface ProvidedContext {
    /** Package name → `file:` URL of its packed tarball. */
    tarballs: Record<string, string>;
    /** Package name → tarball path. */
    tarballPaths: Record<string, string>;
  }
}

/** Packs every published package once (`pnpm pack`: `workspace:^` becomes a real range) for all test files. */
export default async function setup(project: TestProject) {
  const work = await mkdtemp(path.join(tmpdir(), 'sciport-packs-'));
  // The pnpm that runs the tests when there is one (CI has no pnpm on PATH), else the one on PATH.
  const execPath = process.env.npm_execpath ?? '';
  const [program, ...first] = /pnpm/.test(execPath) ? [process.execPath, execPath] : ['pnpm'];
  await Promise.all(
    PUBLISHED.map((dir) =>
      run(program as string, [...first, 'pack', '--pack-destination', work], {
        cwd: path.join(root, 'packages', dir),
      }),
    ),
  );
  const tarballs: Record<string, string> = {};
  const tarballPaths: Record<string, string> = {};
  for (const file of await readdir(work)) {
    const name = `@sciport/${file.replace(/^sciport-/, '').replace(/-\d+\.\d+\.\d+.*\.tgz$/, '')}`;
    tarballs[name] = `file:${path.join(work, file)}`;
    tarballPaths[name] = path.join(work, file);
  }
  project.provide('tarballs', tarballs);
  project.provide('tarballPaths', tarballPaths);
  return async () => {
    await rm(work, { recursive: true, force: true });
  };
}
