import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pkg from '../package.json' with { type: 'json' };
import { packageDir, runCli, tempConfigDir, waitFor } from './helpers.js';

const posix = process.platform !== 'win32';
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for ANSI escapes
const ANSI = /\u001b\[/;

let root: string;
let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ root, dir, cleanup } = await tempConfigDir());
});

afterEach(async () => {
  await cleanup();
});

/** Runs the CLI with the temporary config folder (and HOME pointing into the temporary root). */
function sciport(args: string[], options: Parameters<typeof runCli>[1] = {}) {
  return runCli(args, { ...options, env: { SCIPORT_CONFIG_DIR: dir, HOME: root, ...options.env } });
}

describe('sciport (root)', () => {
  it('--help lists every command with its description, on stdout, exit 0', async () => {
    const r = await sciport(['--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/Usage: sciport/);
    expect(r.stdout).toMatch(/^\s+config\s+show and change settings and stored credentials$/m);
    for (const flag of ['--json', '--quiet', '--verbose', '--no-color', '--version']) {
      expect(r.stdout).toContain(flag);
    }
  });

  it('--help imports no command module and not @sciport/core', async () => {
    const log = path.join(root, 'imports.log');
    const hook = path.join(packageDir, 'test', 'fixtures', 'record-imports.mjs');
    const help = await sciport(['--help'], {
      nodeArgs: ['--import', hook],
      env: { SCIPORT_IMPORT_LOG: log },
    });
    expect(help.code).toBe(0);
    const loaded = await readFile(log, 'utf8');
    expect(loaded).toContain('/dist/bin.js');
    expect(loaded).not.toMatch(/dist\/commands\//);
    expect(loaded).not.toMatch(/core\/dist\//);
    expect(loaded).not.toMatch(/cli-progress/);

    // The same hook sees the invoked command's module load, so the check above can fail.
    const log2 = path.join(root, 'imports2.log');
    const run = await sciport(['config', 'path'], {
      nodeArgs: ['--import', hook],
      env: { SCIPORT_IMPORT_LOG: log2 },
    });
    expect(run.code).toBe(0);
    const loaded2 = await readFile(log2, 'utf8');
    expect(loaded2).toMatch(/dist\/commands\/config\.js/);
    expect(loaded2).toMatch(/core\/dist\//);
  });

  it('--version prints the package version', async () => {
    const r = await sciport(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('an unknown command exits 2 with a suggestion and a pointer to --help', async () => {
    const r = await sciport(['confg', 'list']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^sciport: unknown command 'confg'/);
    expect(r.stderr).toContain('Did you mean config?');
    expect(r.stderr).toContain('`sciport --help`');
  });

  it('an unknown flag exits 2, at the root and in a subcommand', async () => {
    const root = await sciport(['--bogus']);
    expect(root.code).toBe(2);
    expect(root.stderr).toContain("unknown option '--bogus'");
    expect(root.stderr).toContain('`sciport --help`');

    const sub = await sciport(['config', 'list', '--bogus']);
    expect(sub.code).toBe(2);
    expect(sub.stderr).toContain("unknown option '--bogus'");
    expect(sub.stderr).toContain('`sciport config list --help`');
  });

  it('no command prints help on stderr and exits 2', async () => {
    const r = await sciport([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/Usage: sciport/);
    expect(r.stderr).toContain('config');

    const sub = await sciport(['config']);
    expect(sub.code).toBe(2);
    expect(sub.stderr).toMatch(/Usage: sciport config/);
  });

  it('with --json, a usage error is a JSON object on stderr', async () => {
    const r = await sciport(['--json', 'confg']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const error = JSON.parse(r.stderr);
    expect(error).toMatchObject({ name: 'UsageError', code: 'usage_error' });
    expect(error.message).toContain('Did you mean config?');
  });
});

describe('sciport config', () => {
  it('set writes non-secrets to config.json and secrets to a 0600 credentials.json', async () => {
    const user = await sciport(['config', 'set', 'icsd.username', 'alice']);
    expect(user.code).toBe(0);
    expect(JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'))).toEqual({
      icsd: { username: 'alice' },
    });
    await expect(stat(path.join(dir, 'credentials.json'))).rejects.toThrow();

    const pw = await sciport(['config', 'set', 'icsd.password', 'pw-on-command-line']);
    expect(pw.code).toBe(0);
    expect(pw.stderr).toContain('shell history');
    const credentials = path.join(dir, 'credentials.json');
    expect(JSON.parse(await readFile(credentials, 'utf8'))).toEqual({
      icsd: { password: 'pw-on-command-line' },
    });
    expect(await readFile(path.join(dir, 'config.json'), 'utf8')).not.toContain('pw-on-command-line');
    if (posix) {
      expect((await stat(credentials)).mode & 0o777).toBe(0o600);
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
    }
  });

  it('set reads the value from piped stdin, dropping one trailing newline', async () => {
    const r = await sciport(['config', 'set', 'fragalysis.token'], { input: 'tok-from-stdin-123\n' });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const credentials = JSON.parse(await readFile(path.join(dir, 'credentials.json'), 'utf8'));
    expect(credentials).toEqual({ fragalysis: { token: 'tok-from-stdin-123' } });
  });

  it('set with nothing on stdin is a usage error', async () => {
    const r = await sciport(['config', 'set', 'fragalysis.token'], { input: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('No value for fragalysis.token on stdin');
  });

  it('refuses an invalid key with exit 2', async () => {
    const r = await sciport(['config', 'set', 'icsd..username', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sciport: Invalid config key "icsd\.\.username"/);
  });

  it('list and get never show a secret value', async () => {
    const secret = 'very-secret-password-42';
    await sciport(['config', 'set', 'icsd.password'], { input: secret });
    await sciport(['config', 'set', 'icsd.username', 'alice']);
    for (const args of [
      ['config', 'list'],
      ['--json', 'config', 'list'],
      ['--verbose', 'config', 'list'],
      ['config', 'get', 'icsd.password'],
      ['--json', 'config', 'get', 'icsd.password'],
    ]) {
      const r = await sciport(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout + r.stderr, args.join(' ')).not.toContain(secret);
    }
    const list = await sciport(['config', 'list']);
    expect(list.stdout).toMatch(/^icsd\.password\s+\*{8}$/m);
    expect(list.stdout).toMatch(/^icsd\.username\s+alice$/m);

    const revealed = await sciport(['config', 'get', 'icsd.password', '--reveal']);
    expect(revealed.stdout).toBe(`${secret}\n`);
  });

  it('--json output parses as JSON', async () => {
    const set = await sciport(['--json', 'config', 'set', 'crucible.apiKey'], { input: 'ck-json-1234' });
    expect(JSON.parse(set.stdout)).toEqual({
      key: 'crucible.apiKey',
      secret: true,
      file: path.join(dir, 'credentials.json'),
    });
    const list = await sciport(['config', 'list', '--json']);
    expect(JSON.parse(list.stdout)).toEqual([{ key: 'crucible.apiKey', value: '********', secret: true }]);
    const paths = await sciport(['config', 'path', '--json']);
    expect(JSON.parse(paths.stdout)).toEqual({
      dir,
      config: path.join(dir, 'config.json'),
      credentials: path.join(dir, 'credentials.json'),
    });
    const unset = await sciport(['--json', 'config', 'unset', 'crucible.apiKey']);
    expect(JSON.parse(unset.stdout)).toEqual({ key: 'crucible.apiKey', removed: true });

    const missing = await sciport(['--json', 'config', 'get', 'crucible.apiKey']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(JSON.parse(missing.stderr)).toMatchObject({ code: 'sciport_error', message: expect.any(String) });
  });

  it('path prints both files', async () => {
    const r = await sciport(['config', 'path']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(path.join(dir, 'config.json'));
    expect(r.stdout).toContain(path.join(dir, 'credentials.json'));
  });

  it.runIf(posix)('warns about a credentials file others can read', async () => {
    await mkdir(dir, { recursive: true });
    const credentials = path.join(dir, 'credentials.json');
    await writeFile(credentials, JSON.stringify({ icsd: { password: 'readable-by-all' } }));
    await chmod(credentials, 0o644);
    const r = await sciport(['config', 'list']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`warning: ${credentials} can be read by other users`);
    expect(r.stderr).toContain(`chmod 600 ${credentials}`);
    expect(r.stdout + r.stderr).not.toContain('readable-by-all');

    const json = await sciport(['--json', 'config', 'list']);
    expect(JSON.parse(json.stderr.trim())).toMatchObject({ level: 'warning' });
    const quiet = await sciport(['--quiet', 'config', 'list']);
    expect(quiet.stderr).toBe('');
  });

  it('reports a corrupt file by name, exits 1, and leaves it alone', async () => {
    await mkdir(dir, { recursive: true });
    const config = path.join(dir, 'config.json');
    await writeFile(config, '{"icsd": ');
    const r = await sciport(['config', 'set', 'icsd.username', 'bob']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${config} is not valid JSON`);
    expect(await readFile(config, 'utf8')).toBe('{"icsd": ');
  });

  it('colours only when allowed: FORCE_COLOR, but never with NO_COLOR or --no-color', async () => {
    await sciport(['config', 'set', 'icsd.username', 'alice']);
    const forced = await sciport(['config', 'list'], { env: { FORCE_COLOR: '1' } });
    expect(forced.stdout).toMatch(ANSI);
    const noColor = await sciport(['config', 'list'], { env: { FORCE_COLOR: '1', NO_COLOR: '1' } });
    expect(noColor.stdout).not.toMatch(ANSI);
    expect(noColor.stdout).toMatch(/^KEY\s+VALUE$/m);
    const flag = await sciport(['config', 'list', '--no-color'], { env: { FORCE_COLOR: '1' } });
    expect(flag.stdout).not.toMatch(ANSI);
  });

  it.runIf(posix)('Ctrl-C stops the command and exits 130; SIGTERM exits 143', async () => {
    for (const [signal, expected] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      const r = await sciport(['--verbose', 'config', 'set', 'icsd.username'], {
        keepStdinOpen: true,
        onSpawn: (child, output) => {
          waitFor(() => output.stderr().includes('reading the value of icsd.username from stdin')).then(
            () => child.kill(signal),
            () => child.kill('SIGKILL'),
          );
        },
      });
      expect(r.code, signal).toBe(expected);
      expect(r.stderr).toContain('sciport: Interrupted');
      await expect(stat(path.join(dir, 'config.json'))).rejects.toThrow();
    }
  });
});
