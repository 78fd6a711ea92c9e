import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pnpm, pnpmVersion, root, run } from './helpers.js';

/**
 * The README's first command as a newcomer meets it, on a fresh clone of this checkout (its uncommitted files
 * included): the install prints no warning, and `pnpm sciport …` / `pnpm sciport-sim …` run the CLI and the
 * simulators. The install is offline from the pnpm store, and the packages' builds are copied from the
 * checkout (building them again would take minutes and is what `pnpm build` tests already).
 */

let work: string;
let clone: string;
let install: { code: number | null; output: string };
const [program, ...first] = pnpm();
const inClone = (args: string[]) => run(program, [...first, ...args], { cwd: clone });

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'sciport-fresh-clone-'));
  clone = path.join(work, 'sciport');
  execFileSync('git', ['clone', '--quiet', '--no-hardlinks', root, clone]);
  // The working tree as it is: tracked files with their changes, and new files not ignored.
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    const from = path.join(root, file);
    if (existsSync(from) && statSync(from).isFile()) cpSync(from, path.join(clone, file));
  }
  const ran = await inClone(['install', '--frozen-lockfile', '--offline']);
  install = { code: ran.code, output: ran.stdout + ran.stderr };
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a fresh clone', () => {
  it('installs with the frozen lockfile and prints no warning (no "Failed to create bin")', () => {
    expect(install.code, install.output).toBe(0);
    expect(install.output).not.toMatch(/WARN|Failed to create bin/);
  });

  it('before the build, `pnpm sciport` says how to build (exit 1), with no stack trace', async () => {
    const r = await inClone(['sciport', '--help']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/sciport: not built yet: run `pnpm build`/);
    expect(r.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|\n\s+at /);
  });

  describe('after the build', () => {
    beforeAll(() => {
      for (const dir of ['core', 'icsd', 'crucible', 'fragalysis', 'testkit', 'cli'])
        cpSync(path.join(root, 'packages', dir, 'dist'), path.join(clone, 'packages', dir, 'dist'), {
          recursive: true,
        });
    });

    it('`pnpm sciport --help` prints the CLI help (exit 0)', async () => {
      const r = await inClone(['sciport', '--help']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^Usage: sciport /m);
      expect(r.stdout).toMatch(/^\s+icsd\s/m);
    });

    it('`pnpm sciport-sim icsd --help` prints the simulator help (exit 0)', async () => {
      const r = await inClone(['sciport-sim', 'icsd', '--help']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^Usage: sciport-sim /m);
    });

    it('`pnpm exec sciport --version` works too', async () => {
      const r = await inClone(['exec', 'sciport', '--version']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    });

    it('`npx -y pnpm@<version> sciport --version`, as the README writes it for a machine without pnpm', async () => {
      const r = await run('npx', ['-y', `pnpm@${pnpmVersion()}`, 'sciport', '--version'], { cwd: clone });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    });
  });
});
