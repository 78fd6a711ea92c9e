import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The consumer's view: every published package is packed (`pnpm pack`, so `workspace:^` becomes a real
 * range), installed with npm into a project outside the workspace, and loaded with `import` and `require`.
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../..', import.meta.url));
const packages = [
  {
    name: '@sciport/core',
    dir: 'packages/core',
    exports: ['createHttpClient', 'SciportError', 'parseResponse'],
  },
  {
    name: '@sciport/core/node',
    dir: undefined,
    exports: ['downloadToFile', 'extractArchive', 'ConfigStore'],
  },
  {
    name: '@sciport/testkit',
    dir: 'packages/testkit',
    exports: ['startTestServer', 'faultHandlers', 'createIcsdSimulator'],
  },
  { name: '@sciport/icsd', dir: 'packages/icsd', exports: ['IcsdClient', 'buildExpertQuery', 'splitCifs'] },
  {
    name: '@sciport/fragalysis',
    dir: 'packages/fragalysis',
    exports: ['FragalysisClient', 'archiveRequestBody'],
  },
  { name: '@sciport/crucible', dir: 'packages/crucible', exports: ['CrucibleClient', 'parseLammps'] },
  { name: '@sciport/cli', dir: 'packages/cli', exports: ['main'] },
] as const;

let work: string;
let project: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'sciport-consumer-'));
  const packs = path.join(work, 'packs');
  project = path.join(work, 'project');
  const tarballs: Record<string, string> = {};
  for (const p of packages) {
    if (!p.dir) continue;
    await run('pnpm', ['pack', '--pack-destination', packs], { cwd: path.join(root, p.dir) });
  }
  for (const file of await readdir(packs)) {
    const name = `@sciport/${file.replace(/^sciport-/, '').replace(/-\d+\.\d+\.\d+.*\.tgz$/, '')}`;
    tarballs[name] = `file:${path.join(packs, file)}`;
  }
  await run('mkdir', ['-p', project]);
  await writeFile(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, dependencies: tarballs, overrides: tarballs }, null, 2),
  );
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
    cwd: project,
    env: { ...process.env, npm_config_engine_strict: 'true' },
  });
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function node(code: string, type: 'module' | 'commonjs') {
  const { stdout } = await run(process.execPath, [`--input-type=${type}`, '-e', code], { cwd: project });
  return JSON.parse(stdout) as string[];
}

describe.each(packages)('$name from its packed tarball', ({ name, exports }) => {
  it('loads with import', async () => {
    const keys = await node(
      `import(${JSON.stringify(name)}).then((m) => console.log(JSON.stringify(Object.keys(m))))`,
      'module',
    );
    for (const e of exports) expect(keys).toContain(e);
  });

  it('loads with require', async () => {
    const keys = await node(
      `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(name)}))))`,
      'commonjs',
    );
    for (const e of exports) expect(keys).toContain(e);
  });
});

describe('the installed CLI', () => {
  it('runs as a consumer would run it', async () => {
    const { stdout } = await run(path.join(project, 'node_modules', '.bin', 'sciport'), ['--version'], {
      cwd: project,
    });
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
