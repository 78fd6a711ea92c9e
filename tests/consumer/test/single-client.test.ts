import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { consumerProject } from './helpers.js';

/**
 * Installing one client: the tree is that client, @sciport/core and their declared runtime dependencies, and
 * nothing of the test kit or the CLI. Installed sizes are reported (and kept under a budget).
 */

const CLIENTS = ['@sciport/icsd', '@sciport/crucible', '@sciport/fragalysis'] as const;
/**
 * What each client declares: core and zod; Fragalysis, which extracts archives, also the extraction libraries
 * (optional peer dependencies of core's `./extract` entry); Crucible also the libraries of its multipart upload
 * (p-map for the parts in flight, fast-xml-parser for storage's XML answers), its selective downloads (picomatch)
 * and its batch manifests (yaml, which keeps line numbers; tinyglobby for the files they name); Fragalysis also
 * htmlparser2 (the compound-set upload's HTML answers and validation tables) and yaml (the XCA bundle's config,
 * checked before an upload).
 */
const OWN_DEPENDENCIES: Record<(typeof CLIENTS)[number], string[]> = {
  '@sciport/icsd': ['@sciport/core', 'zod'],
  '@sciport/crucible': [
    '@sciport/core',
    'fast-xml-parser',
    'p-map',
    'picomatch',
    'tinyglobby',
    'yaml',
    'zod',
  ],
  '@sciport/fragalysis': ['@sciport/core', 'htmlparser2', 'minizlib', 'tar', 'yaml', 'yauzl', 'zod'],
};
/**
 * Packages in the whole install of a client that extracts nothing: itself, core, ky, zod, p-map, undici; for
 * Crucible also fast-xml-parser (with strnum), picomatch, tinyglobby (with fdir) and yaml.
 */
const MAX_PACKAGES: Record<string, number> = { '@sciport/icsd': 6, '@sciport/crucible': 12 };
/** Never in a client's install: the simulators' and the CLI's dependencies, build and test tools. */
const FORBIDDEN = [
  'msw',
  '@sciport/testkit',
  '@sciport/cli',
  'commander',
  'cli-progress',
  'csv-stringify',
  'typescript',
  'vitest',
  'tsup',
  'esbuild',
];
/**
 * Installed size budget of one client with everything it pulls in (measured: 9.7–9.9 MB, of which zod is ~6 MB
 * and tar ~2 MB; our own packages are under 1 MB). Fragalysis, measured 13.4 MB in 2026-12, also holds the
 * archive readers (tar 2.2 MB, yauzl), htmlparser2 for the compound-set upload's HTML answers and yaml for the
 * XCA bundle check.
 */
const INSTALLED_BUDGET_MB: Record<string, number> = {
  '@sciport/icsd': 12,
  '@sciport/crucible': 12,
  '@sciport/fragalysis': 15,
};

const projects: string[] = [];
afterAll(async () => {
  await Promise.all(projects.map((p) => rm(p, { recursive: true, force: true })));
});

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** Every package directory under node_modules (scoped ones too, nested ones too). */
async function installed(dir: string, found = new Map<string, string>()): Promise<Map<string, string>> {
  const modules = path.join(dir, 'node_modules');
  const entries = await readdir(modules).catch(() => [] as string[]);
  for (const entry of entries) {
    if (entry.startsWith('.')) continue;
    const names = entry.startsWith('@')
      ? (await readdir(path.join(modules, entry))).map((n) => `${entry}/${n}`)
      : [entry];
    for (const name of names) {
      const pkgDir = path.join(modules, name);
      found.set(`${name}@${pkgDir}`, pkgDir);
      await installed(pkgDir, found);
    }
  }
  return found;
}

async function manifest(dir: string): Promise<Manifest> {
  return JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** Names reachable from `start` through `dependencies` (Node's resolution: nested first, then upwards). */
async function closure(project: string, start: string): Promise<Set<string>> {
  const seen = new Set<string>();
  const visit = async (name: string, from: string) => {
    let dir = from;
    for (;;) {
      const candidate = path.join(dir, 'node_modules', name);
      if (await stat(candidate).catch(() => undefined)) {
        if (seen.has(`${name}@${candidate}`)) return;
        seen.add(`${name}@${candidate}`);
        const m = await manifest(candidate);
        for (const dep of Object.keys({ ...m.dependencies, ...m.optionalDependencies })) {
          await visit(dep, candidate);
        }
        return;
      }
      if (dir === project) return;
      dir = path.dirname(dir);
      if (!dir.startsWith(project)) return;
    }
  };
  await visit(start, project);
  return seen;
}

async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += await sizeOf(full);
    else if (entry.isFile()) total += (await stat(full)).size;
  }
  return total;
}

describe.each(CLIENTS)('only %s installed', (client) => {
  it('brings the client, core and their runtime dependencies, nothing else', async () => {
    const tarballs = inject('tarballs');
    const tarball = tarballs[client];
    expect(tarball).toBeDefined();
    const project = await consumerProject({ [client]: tarball as string }, tarballs);
    projects.push(project);
    const all = await installed(project);
    const names = new Set([...all.keys()].map((k) => k.slice(0, k.indexOf('@', 1))));
    for (const name of FORBIDDEN)
      expect(names, `${name} must not be installed with ${client}`).not.toContain(name);
    expect(names).toContain('@sciport/core');
    // Nothing installed that the client does not need: the whole tree is reachable from the client.
    const reachable = await closure(project, client);
    expect([...all.keys()].filter((k) => !reachable.has(k))).toEqual([]);
    // Its own declared runtime dependencies are exactly these.
    const own = await manifest(path.join(project, 'node_modules', client));
    expect(Object.keys(own.dependencies ?? {}).sort()).toEqual(OWN_DEPENDENCIES[client]);
    if (client !== '@sciport/fragalysis') {
      expect(names.size, `${client} installs ${[...names].sort().join(', ')}`).toBeLessThanOrEqual(
        MAX_PACKAGES[client] as number,
      );
      for (const name of ['tar', 'yauzl', 'minizlib']) expect(names).not.toContain(name);
    }
    expect(own.dependencies?.['@sciport/core']).toMatch(/^\^\d+\.\d+\.\d+/);

    const bytes = await sizeOf(path.join(project, 'node_modules'));
    const mb = bytes / 1048576;
    const biggest = (
      await Promise.all(
        [...all.entries()].map(async ([key, dir]) => ({
          name: key.slice(0, key.indexOf('@', 1)),
          mb: (await sizeOf(dir)) / 1048576,
        })),
      )
    )
      .sort((a, b) => b.mb - a.mb)
      .slice(0, 4)
      .map((p) => `${p.name} ${p.mb.toFixed(2)} MB`)
      .join(', ');
    console.log(
      `installed size with only ${client}: ${mb.toFixed(2)} MB in ${names.size} packages (largest: ${biggest})`,
    );
    expect(
      mb,
      `${client} installs ${mb.toFixed(2)} MB, over the ${INSTALLED_BUDGET_MB[client]} MB budget (largest: ${biggest})`,
    ).toBeLessThan(INSTALLED_BUDGET_MB[client] as number);
  });
});
