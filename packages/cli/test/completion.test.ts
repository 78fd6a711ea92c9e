import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

const run = promisify(execFile);

/** `sciport completion <shell>` end to end: the built CLI prints a script; bash really completes with it. */

let dir: string;
let bashScript: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-completion-'));
  const r = await runCli(['completion', 'bash']);
  expect(r.code).toBe(0);
  bashScript = path.join(dir, 'sciport.bash');
  await writeFile(bashScript, r.stdout);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What bash's completion function offers for `words` (the last one is the word being completed). */
async function complete(...words: string[]): Promise<string[]> {
  const driver = [
    'source "$1"; shift',
    'COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=()',
    '_sciport',
    // bash's array expansion, not a JavaScript placeholder:
    `printf "%s\\n" "$\{COMPREPLY[@]}"`,
  ].join('\n');
  const { stdout } = await run('bash', ['-c', driver, 'driver', bashScript, ...words]);
  return stdout.split('\n').filter(Boolean);
}

describe('sciport completion bash', () => {
  it('completes commands, subcommands and options from the real command tree', async () => {
    expect(await complete('sciport', 'cru')).toEqual(['crucible']);
    expect(await complete('sciport', '')).toEqual(
      expect.arrayContaining(['icsd', 'crucible', 'fragalysis', 'config', 'completion']),
    );
    expect(await complete('sciport', 'crucible', 'datasets', '')).toEqual(
      expect.arrayContaining(['list', 'get', 'create', 'update']),
    );
    expect(await complete('sciport', 'fragalysis', 'download', '--ev')).toEqual(['--event-file']);
    expect(await complete('sciport', 'fragalysis', 'download', '--no-r')).toEqual(['--no-readme']);
    // Global flags before the command do not lose the place.
    expect(await complete('sciport', '--json', 'icsd', 'mi')).toEqual(['mirror']);
    expect(await complete('sciport', 'icsd', 'search', '--exp')).toEqual(['--expert']);
  });

  it('offers no command names as the value of an option that takes one', async () => {
    expect(await complete('sciport', 'crucible', 'upload', '--project', '')).toEqual([]);
  });
});

describe('sciport completion zsh and fish', () => {
  it('prints a zsh completion function with the same tree', async () => {
    const r = await runCli(['completion', 'zsh']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('#compdef sciport');
    expect(r.stdout).toContain("_sciport_children['sciport crucible datasets']='list get create update'");
    expect(r.stdout).toMatch(/_sciport_flags\['sciport fragalysis download'\]='[^']*--event-file/);
    expect(r.stdout).toContain('compdef _sciport sciport');
  });

  it('prints fish completions with the same tree', async () => {
    const r = await runCli(['completion', 'fish']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("complete -c sciport -n '__sciport_at \\'crucible datasets\\'' -a 'list'");
    expect(r.stdout).toContain(
      "complete -c sciport -n '__sciport_at \\'fragalysis download\\'' -l event-file",
    );
    expect(r.stdout).toContain("'crucible datasets list'");
  });
});

describe('sciport completion, misuse and help', () => {
  it('refuses an unknown shell with exit code 2 and the choices', async () => {
    const r = await runCli(['completion', 'ksh']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/Unknown shell "ksh": choose bash, zsh, fish/);
  });

  it('is listed by sciport --help, and its help says how to install', async () => {
    const root = await runCli(['--help']);
    expect(root.stdout).toMatch(/completion\s+print a completion script/);
    const help = await runCli(['completion', '--help']);
    expect(help.stdout).toContain('~/.config/fish/completions/sciport.fish');
    expect(help.stdout).toContain('bash-completion/completions/sciport');
  });
});
