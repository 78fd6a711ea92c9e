import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { PUBLISHED } from './global-setup.js';

const run = promisify(execFile);

/** What a published tarball holds: its build, README, LICENSE and package.json, with real version ranges. */
describe.each(PUBLISHED.map((dir) => `@sciport/${dir}`))('the %s tarball', (name) => {
  it('holds only dist, README, LICENSE and package.json', async () => {
    const file = inject('tarballPaths')[name];
    expect(file).toBeDefined();
    const { stdout } = await run('tar', ['-tzf', file as string]);
    const entries = stdout.trim().split('\n');
    const outside = entries.filter((e) => !/^package\/(dist\/.+|README\.md|LICENSE|package\.json)$/.test(e));
    expect(outside).toEqual([]);
    for (const required of ['package/package.json', 'package/README.md', 'package/LICENSE'])
      expect(entries).toContain(required);
    expect(entries.some((e) => e.startsWith('package/dist/'))).toBe(true);
  });

  it('declares real version ranges, no workspace: protocol', async () => {
    const file = inject('tarballPaths')[name];
    const { stdout } = await run('tar', ['-xzOf', file as string, 'package/package.json']);
    expect(stdout).not.toContain('workspace:');
    expect(stdout).not.toContain('catalog:');
    const pkg = JSON.parse(stdout) as { dependencies?: Record<string, string>; engines?: { node?: string } };
    for (const [dep, range] of Object.entries(pkg.dependencies ?? {})) {
      if (dep.startsWith('@sciport/')) expect(range, dep).toMatch(/^\^\d+\.\d+\.\d+/);
    }
    expect(pkg.engines?.node).toBe('>=20.19');
  });
});
