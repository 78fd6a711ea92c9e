import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, run } from './helpers.js';

interface ReleaseReport {
  ok: boolean;
  error?: string;
  releases: { label: string; changesets: number; bumped: string[]; versions: Record<string, string> }[];
  pinned: { release1?: Record<string, string>; release2?: Record<string, string> };
  caret: Record<string, string>;
}

/**
 * The publishing flow (scripts/release-check.mjs): changeset version → pnpm -r publish --dry-run → packed
 * tarballs served by a throwaway registry → consumers; then a second release of one package.
 */
describe('the release flow', () => {
  it('versions, publishes (dry run) and keeps pinned consumers where they are', async () => {
    const { stdout } = await run(
      process.execPath,
      [path.join(root, 'scripts', 'release-check.mjs'), '--json'],
      {
        cwd: root,
        maxBuffer: 16 * 1024 * 1024,
      },
    ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '{}' }));
    const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as ReleaseReport;
    expect(report.error).toBeUndefined();
    expect(report.ok).toBe(true);
    const [first, second] = report.releases;
    // Every published package is released the first time; the second release is one package.
    expect(first?.bumped.sort()).toEqual([
      '@sciport/cli',
      '@sciport/core',
      '@sciport/crucible',
      '@sciport/fragalysis',
      '@sciport/icsd',
      '@sciport/testkit',
    ]);
    expect(second?.bumped).toContain('@sciport/fragalysis');
    expect(second?.bumped).not.toContain('@sciport/icsd');
    expect(report.pinned.release2).toEqual(report.pinned.release1);
    expect(report.pinned.release1?.['@sciport/fragalysis']).toBe(first?.versions['@sciport/fragalysis']);
    expect(report.caret['@sciport/fragalysis']).toBe(second?.versions['@sciport/fragalysis']);
  });
});
