import { rm } from 'node:fs/promises';
import path from 'node:path';
import { createIcsdSimulator, startTestServer } from '@sciport/testkit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { consumerProject, run } from './helpers.js';

/**
 * The consumer's view: every published package is packed (`pnpm pack`, so `workspace:^` becomes a real
 * range), installed with npm into a project outside the workspace, and loaded with `import` and `require`.
 */

const packages = [
  {
    name: '@sciport/core',
    dir: 'packages/core',
    exports: ['createHttpClient', 'SciportError', 'parseResponse'],
  },
  {
    name: '@sciport/core/node',
    dir: undefined,
    exports: ['downloadToFile', 'nodeTransport', 'ConfigStore'],
  },
  {
    name: '@sciport/core/extract',
    dir: undefined,
    exports: ['extractArchive', 'detectArchiveFormat'],
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

let project: string;

beforeAll(async () => {
  const tarballs = inject('tarballs');
  project = await consumerProject(tarballs, tarballs);
});

afterAll(async () => {
  if (project) await rm(project, { recursive: true, force: true });
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
    const help = await run('npx', ['--no-install', 'sciport', '--help'], { cwd: project });
    for (const command of ['icsd', 'crucible', 'fragalysis', 'config'])
      expect(help.stdout).toContain(command);
  });

  it('searches the ICSD simulator over HTTP, like a user with an account', async () => {
    const sim = createIcsdSimulator({ entries: 300, seed: 5 });
    const server = await startTestServer({ handlers: sim.handlers });
    try {
      const { stdout } = await run(
        'npx',
        ['--no-install', 'sciport', '--json', 'icsd', 'search', '--expert', 'COLLECTIONCODE : 1-50'],
        {
          cwd: project,
          env: {
            ...process.env,
            ICSD_BASE_URL: `${server.url}/ws`,
            ICSD_USERNAME: 'demo',
            ICSD_PASSWORD: 'demo-password',
            SCIPORT_CONFIG_DIR: path.join(project, 'config'),
          },
        },
      );
      const expected = sim.entries.filter((e) => e.collectionCode <= 50).map((e) => e.id);
      expect(expected.length).toBeGreaterThan(0);
      expect(JSON.parse(stdout)).toEqual({ ids: expected });
      expect(sim.stats.liveTokens).toBe(0);
    } finally {
      await server.close();
    }
  });
});
