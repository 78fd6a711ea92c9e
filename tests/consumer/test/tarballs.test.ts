import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { PUBLISHED } from './global-setup.js';

const run = promisify(execFile);

/**
 * Packed size budgets in kB (measured 2026-12, after the one-SDK reshaping: cli 87, core 159, crucible 95,
 * fragalysis 65, icsd 95, testkit 271; source maps included; then, with the bounds against hostile servers, core 181
 * and crucible 106: typed errors for full disks and oversized answers, stale temp sweeping, streamed extraction,
 * per-file download failures and safe local names; then icsd 230 and cli 110 with ICSD's structures: the CIF
 * reader, the unit-cell expansion, the OPTIMADE/POSCAR/XYZ writers, citations, refresh and kept sessions, and
 * their commands; then crucible 189, cli 129 and testkit 343 with Crucible as it is today: search, graphs, selective
 * downloads, batch manifests, the multipart upload and their commands and simulator routes; then fragalysis 155,
 * cli 164, core 192 and testkit 381 with Fragalysis beyond the archive (completeness reports, access tokens,
 * observation-level sync, compound sets, XCA uploads and their simulator routes) and a newcomer's first hour
 * (network failures named, progress bars, task spinners, help for every option)). A package that outgrows its
 * budget should say why in its changeset.
 */
const PACKED_BUDGET_KB: Record<string, number> = {
  '@sciport/cli': 180,
  '@sciport/core': 215,
  '@sciport/crucible': 210,
  '@sciport/fragalysis': 175,
  '@sciport/icsd': 250,
  '@sciport/testkit': 420,
};

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

  it('stays within its packed size budget', async () => {
    const file = inject('tarballPaths')[name] as string;
    const kb = (await stat(file)).size / 1000;
    const budget = PACKED_BUDGET_KB[name];
    expect(budget, `no packed size budget for ${name}`).toBeDefined();
    console.log(`${name}: ${kb.toFixed(1)} kB packed (budget ${budget} kB)`);
    expect(kb, `${name} packs to ${kb.toFixed(1)} kB, over its ${budget} kB budget`).toBeLessThan(
      budget as number,
    );
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
