import { execFile, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Argument, Command, Option } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completionTree, describeCommand, places, script } from '../src/commands/completion.js';
import { COMMANDS, createProgram } from '../src/program.js';
import { packageDir, runCli } from './helpers.js';

const run = promisify(execFile);

/**
 * `sciport completion <shell>` end to end: the built CLI prints a script; bash really completes with it (its
 * completion function is called as bash calls it, with COMP_WORDS and COMP_CWORD set). zsh and fish are
 * checked for structure, and for syntax when they are installed.
 */

const has = (shell: string) => spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;

let dir: string;
/** The working folder of the completions: one file, `scan.h5`, offered wherever a file name may go. */
let cwd: string;
let bashScript: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-completion-'));
  const r = await runCli(['completion', 'bash']);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe('');
  bashScript = path.join(dir, 'sciport.bash');
  await writeFile(bashScript, r.stdout);
  cwd = path.join(dir, 'cwd');
  await mkdir(cwd);
  await writeFile(path.join(cwd, 'scan.h5'), '');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function shellWord(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * What bash's completion function offers for each command line (the last word of each is the one being
 * completed), from one bash process. Outside a real TAB press `compopt` fails, so file names come from the
 * script's `compgen -f` fallback: in `cwd`, that is `scan.h5`.
 */
async function completeAll(file: string, lines: string[][]): Promise<string[][]> {
  const driver = [
    'source "$1" || exit 1',
    ...lines.map((words) =>
      [
        `COMP_WORDS=(${words.map(shellWord).join(' ')}); COMP_CWORD=${words.length - 1}; COMPREPLY=()`,
        '_sciport',
        // bash's array expansion, not a JavaScript placeholder:
        `printf "%s " "$\{COMPREPLY[@]}"; printf "\\n"`,
      ].join('\n'),
    ),
  ].join('\n');
  const { stdout } = await run('bash', ['-c', driver, 'driver', file], { cwd });
  const out = stdout.split('\n').slice(0, lines.length);
  expect(out).toHaveLength(lines.length);
  return out.map((line) => line.split(' ').filter(Boolean));
}

async function complete(...words: string[]): Promise<string[]> {
  return (await completeAll(bashScript, [words]))[0]!;
}

describe('sciport completion bash', () => {
  it('is valid bash', async () => {
    await expect(run('bash', ['-n', bashScript])).resolves.toBeDefined();
  });

  it('completes commands, subcommands and options from the real command tree', async () => {
    expect(await complete('sciport', 'cru')).toEqual(['crucible']);
    expect(await complete('sciport', '')).toEqual([...COMMANDS.map((c) => c.name), 'help']);
    expect(await complete('sciport', 'crucible', 'datasets', '')).toEqual(
      expect.arrayContaining(['list', 'get', 'create', 'update']),
    );
    expect(await complete('sciport', 'fragalysis', 'download', '--ev')).toEqual(['--event-file']);
    expect(await complete('sciport', 'fragalysis', 'download', '--no-r')).toEqual(['--no-readme']);
    expect(await complete('sciport', 'icsd', 'search', '--exp')).toEqual(['--expert']);
    // Global flags before the command do not lose the place.
    expect(await complete('sciport', '--json', 'icsd', 'mi')).toEqual(['mirror']);
  });

  it('offers the root options after a subcommand too, as commander accepts them there', async () => {
    expect(await complete('sciport', 'config', 'list', '--js')).toEqual(['--json']);
    expect(await complete('sciport', 'crucible', 'datasets', 'list', '--q')).toEqual(['--quiet']);
    // Only one of each: the subcommand's own --help, not the root's again.
    const all = await complete('sciport', 'config', 'list', '-');
    expect(all.filter((f) => f === '--help')).toHaveLength(1);
    expect(all).toEqual(expect.arrayContaining(['--json', '--quiet', '-q', '--verbose', '--no-color', '-h']));
  });

  it('completes an option value as a file name or one of its choices, never as a command', async () => {
    expect(await complete('sciport', 'crucible', 'upload', '--project', '')).toEqual(['scan.h5']);
    expect(await complete('sciport', 'crucible', 'datasets', 'list', '--api-version', '')).toEqual([
      'v1',
      'v2',
    ]);
    // `--api-version=v…`: bash splits the word at `=`.
    expect(await complete('sciport', 'crucible', 'datasets', 'list', '--api-version', '=')).toEqual([
      'v1',
      'v2',
    ]);
    expect(await complete('sciport', 'crucible', 'datasets', 'list', '--api-version', '=', 'v2')).toEqual([
      'v2',
    ]);
    expect(await complete('sciport', 'icsd', 'fetch', '--cell-type', 's')).toEqual(['standardized']);
  });

  it('offers file names only where the command takes an operand', async () => {
    expect(await complete('sciport', 'crucible', 'upload', 'new', '')).toEqual(['scan.h5']);
    expect(await complete('sciport', 'config', 'list', '')).toEqual([]);
    expect(await complete('sciport', 'crucible', 'upload', 'new', '--', '')).toEqual(['scan.h5']);
  });

  it('completes the operand of help and of completion', async () => {
    expect(await complete('sciport', 'he')).toEqual(['help']);
    expect(await complete('sciport', 'help', 'cr')).toEqual(['crucible']);
    expect(await complete('sciport', 'crucible', 'help', 'da')).toEqual(['datasets']);
    expect(await complete('sciport', 'completion', '')).toEqual(['bash', 'zsh', 'fish']);
  });

  it('matches the command tree at every command, subcommands and options alike', async () => {
    const tree = await completionTree(createProgram({ stdout: process.stdout, stderr: process.stderr }));
    const all = places(tree);
    expect(all.length).toBeGreaterThan(40);
    const lines = all.flatMap((place) => [
      ['sciport', ...place.words, ''],
      ['sciport', ...place.words, '-'],
    ]);
    const results = await completeAll(bashScript, lines);
    all.forEach((place, i) => {
      const words = results[2 * i]!;
      const flags = results[2 * i + 1]!;
      const at = `sciport ${place.words.join(' ')}`;
      if (place.candidates.length > 0) {
        expect(words, at).toEqual(place.candidates.map((c) => c.word));
      } else {
        expect(words, at).toEqual(place.node.files ? ['scan.h5'] : []);
      }
      const expected = place.options.flatMap((o) => [o.long, o.short]).filter((f) => f !== undefined);
      expect(new Set(flags), at).toEqual(new Set(expected));
      expect(flags, at).toContain('--help');
    });
  });
});

describe('the script generator', () => {
  /** A made-up tree with what the real one lacks: aliases, hidden commands and options, a root option value. */
  function madeUp(): Command {
    const root = new Command('sciport').option('--profile <name>', 'a profile').option('--json', 'JSON');
    const visible = root.command('visible').alias('vis').description('a visible command');
    visible
      .command('leaf')
      .argument('<file>')
      .option('--out <dir>', 'folder')
      .addOption(new Option('--secret-flag').hideHelp())
      .action(() => undefined);
    visible.command('other').action(() => undefined);
    root
      .command('secret', { hidden: true })
      .description('not for users')
      .command('inside')
      .action(() => undefined);
    root
      .command('pick')
      .addArgument(new Argument('<colour>').choices(['red', 'green']))
      .action(() => undefined);
    return root;
  }

  it('follows aliases, leaves hidden commands and options out, and skips option values', async () => {
    const file = path.join(dir, 'made-up.bash');
    await writeFile(file, script('bash', describeCommand(madeUp())));
    const [root, alias, leaf, valued, hidden, pick] = await completeAll(file, [
      ['sciport', ''],
      ['sciport', 'vis', ''],
      ['sciport', 'vis', 'leaf', '--'],
      ['sciport', '--profile', 'visible', ''],
      ['sciport', 'secret', ''],
      ['sciport', 'pick', ''],
    ]);
    expect(root).toEqual(['visible', 'vis', 'pick', 'help']);
    expect(alias).toEqual(['leaf', 'other', 'help']);
    expect(leaf).toEqual(['--out', '--help', '--profile', '--json']);
    expect(valued).toEqual(root);
    expect(hidden).toEqual(root);
    expect(pick).toEqual(['red', 'green']);
  });
});

describe('sciport completion zsh and fish', () => {
  it('prints a zsh completion function with the same tree', async () => {
    const r = await runCli(['completion', 'zsh']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('#compdef sciport');
    expect(r.stdout).toMatch(
      /'sciport crucible datasets'\)\n\s+_sciport_words='list get create update help'/,
    );
    expect(r.stdout).toMatch(
      /'sciport fragalysis download'\)\n(.*\n)*?\s+_sciport_flags='[^']*--event-file /,
    );
    expect(r.stdout).toMatch(/_sciport_word_descs=\('icsd:ICSD \(FIZ Karlsruhe\)[^']*' 'crucible:/);
    expect(r.stdout).toContain("'--event-file:");
    expect(r.stdout).toContain("_sciport_choices='v1 v2'");
    expect(r.stdout).toContain('compdef _sciport sciport');
    if (has('zsh')) {
      const file = path.join(dir, '_sciport');
      await writeFile(file, r.stdout);
      await expect(run('zsh', ['-n', file])).resolves.toBeDefined();
    }
  });

  it('prints fish completions with the same tree', async () => {
    const r = await runCli(['completion', 'fish']);
    expect(r.code).toBe(0);
    const at = (place: string) => `complete -c sciport -n '__sciport_at \\'${place}\\''`;
    expect(r.stdout).toContain(`${at('')} -a 'crucible' -d 'Crucible (Molecular Foundry)`);
    expect(r.stdout).toContain(`${at('crucible datasets')} -a 'list' -d`);
    expect(r.stdout).toContain(`${at('fragalysis download')} -l event-file -d`);
    expect(r.stdout).toContain(`${at('config list')} -l json -d`);
    expect(r.stdout).toContain(`${at('config list')} -s q -l quiet -d`);
    expect(r.stdout).toContain(`${at('crucible datasets list')} -l api-version -x -a 'v1 v2' -d`);
    expect(r.stdout).toContain(`${at('crucible upload')} -l project -r -F -d`);
    expect(r.stdout).toContain(`${at('crucible upload')} -F\n`);
    expect(r.stdout).toContain("'crucible datasets list'");
    // At the root the path is empty: compared as a string, so that `test` gets its three arguments.
    expect(r.stdout).toContain('test "$here" = "$want"');
    if (has('fish')) {
      const file = path.join(dir, 'sciport.fish');
      await writeFile(file, r.stdout);
      await expect(run('fish', ['--no-execute', file])).resolves.toBeDefined();
    }
  });
});

describe('sciport completion, misuse and help', () => {
  it('refuses an unknown shell with exit code 2 and one line naming the choices', async () => {
    const r = await runCli(['completion', 'ksh']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('sciport: Unknown shell "ksh": choose bash, zsh, fish\n');
  });

  it('is listed by sciport --help, and its help says how to install for each shell', async () => {
    const root = await runCli(['--help']);
    expect(root.stdout).toMatch(/^\s+completion\s+print a completion script for bash, zsh or fish$/m);
    const help = await runCli(['completion', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(
      'sciport completion bash > ~/.local/share/bash-completion/completions/sciport',
    );
    expect(help.stdout).toContain(`sciport completion zsh > "$\{fpath[1]}/_sciport"`);
    expect(help.stdout).toContain('sciport completion fish > ~/.config/fish/completions/sciport.fish');
  });

  it('loads every command module, which sciport --help does not', async () => {
    const log = path.join(dir, 'imports.log');
    const hook = path.join(packageDir, 'test', 'fixtures', 'record-imports.mjs');
    const r = await runCli(['completion', 'fish'], {
      nodeArgs: ['--import', hook],
      env: { SCIPORT_IMPORT_LOG: log },
    });
    expect(r.code).toBe(0);
    const loaded = await readFile(log, 'utf8');
    for (const entry of COMMANDS)
      expect(loaded).toMatch(new RegExp(`/dist/commands/${entry.name}(\\.js|/index\\.js)`));
  });
});
