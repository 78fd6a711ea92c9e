import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  createCrucibleSimulator,
  createFragalysisSimulator,
  createIcsdSimulator,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { transform } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractPrograms, type Mode, type Program, where } from './examples.js';

/**
 * Every ```ts block of the package READMEs and of the guides type-checks and runs, as written, against the
 * testkit simulators: the environment variables the clients read when an option is left out point at them, a
 * preloaded guard refuses every other host, and each program must end with exit code 0. A README block is a
 * program of its own; a guide page is one program (see `examples.ts` for the markers). Errors name the
 * document's own lines: the programs keep its line numbers, and the runs use source maps.
 */

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..', '..');
/** Inside tests/docs, so that `@sciport/*` and zod resolve to the workspace packages. */
const scratch = path.join(here, '..', '.examples');

const DOCUMENTS: readonly { doc: string; mode: Mode }[] = [
  ...['core', 'icsd', 'crucible', 'fragalysis', 'testkit'].map((p) => ({
    doc: `packages/${p}/README.md`,
    mode: 'block' as const,
  })),
  ...(await readdir(path.join(root, 'docs', 'guide')))
    .filter((f) => f.endsWith('.md'))
    .sort()
    // A service's page reads like a notebook (a later block uses what an earlier one made); the index page's
    // examples each stand alone, as a reader copies them.
    .map((f) => ({
      doc: `docs/guide/${f}`,
      mode: f === 'index.md' ? ('block' as const) : ('page' as const),
    })),
];

const programs: Program[] = (
  await Promise.all(
    DOCUMENTS.map(async ({ doc, mode }) =>
      extractPrograms(doc, await readFile(path.join(root, doc), 'utf8'), mode),
    ),
  )
).flat();

const fileNameOf = (p: Program) => `${p.doc.replace(/[/.]/g, '_')}_${p.lines[0]}`;

/** Anything the parent's environment could add that would point an example elsewhere. */
const INHERITED = /^(ICSD_|CRUCIBLE_|FRAGALYSIS_|SCIPORT_|XDG_|HTTPS?_PROXY$|NO_PROXY$|NODE_OPTIONS$)/i;

const servers: TestServer[] = [];
let disposeCrucible: (() => Promise<void>) | undefined;
let env: Record<string, string>;
let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'sciport-examples-'));
  // The simulators as they come (their seeded users, projects and targets are what the examples name); only
  // their waits are shortened.
  const icsd = createIcsdSimulator();
  const crucible = createCrucibleSimulator({ ingestionSteps: { requestedMs: 50, startedMs: 50 } });
  const fragalysis = createFragalysisSimulator({ buildMs: 100 });
  disposeCrucible = () => crucible.dispose();
  const [icsdServer, crucibleServer, fragalysisServer] = await Promise.all(
    [icsd.handlers, crucible.handlers, fragalysis.handlers].map((handlers) => startTestServer({ handlers })),
  );
  if (!icsdServer || !crucibleServer || !fragalysisServer) throw new Error('a simulator did not start');
  servers.push(icsdServer, crucibleServer, fragalysisServer);
  const home = path.join(work, 'home');
  await mkdir(home);
  env = {
    ...Object.fromEntries(
      Object.entries(process.env).filter(
        (e): e is [string, string] => e[1] !== undefined && !INHERITED.test(e[0]),
      ),
    ),
    // Upload state, settings and caches go to a throwaway home, never the real one.
    HOME: home,
    USERPROFILE: home,
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_CONFIG_HOME: path.join(home, '.config'),
    NO_COLOR: '1',
    ICSD_BASE_URL: `${icsdServer.url}/ws`,
    ICSD_USERNAME: 'demo',
    ICSD_PASSWORD: 'demo-password',
    CRUCIBLE_API_URL: `${crucibleServer.url}/api/v2`,
    CRUCIBLE_API_KEY: crucible.keyFor('demo'),
    FRAGALYSIS_STACK: fragalysisServer.url,
    FRAGALYSIS_TOKEN: fragalysis.tokenFor('demo'),
  };
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await disposeCrucible?.();
  if (work) await rm(work, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
});

interface Outcome {
  code: number | string;
  stdout: string;
  stderr: string;
}

async function exec(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
  return run(file, args, { ...options, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 }).then(
    (r): Outcome => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (error: {
      code?: number | string;
      signal?: string;
      stdout?: string;
      stderr?: string;
      message: string;
    }) => ({
      code: error.code ?? error.signal ?? 1,
      stdout: error.stdout ?? '',
      stderr: error.stderr || error.message,
    }),
  );
}

const tail = (text: string, lines = 40) => text.trimEnd().split('\n').slice(-lines).join('\n');

describe('the examples of the READMEs and guides', () => {
  it('are found: every client README and every guide page with code has some', () => {
    const found = new Set(programs.map((p) => p.doc));
    for (const doc of ['icsd', 'crucible', 'fragalysis'].map((p) => `packages/${p}/README.md`))
      expect(found.has(doc), doc).toBe(true);
    for (const page of ['index', 'icsd', 'crucible', 'fragalysis'])
      expect(found.has(`docs/guide/${page}.md`), page).toBe(true);
  });

  it('type-check against the packages (strict, nodenext)', async () => {
    const dir = path.join(scratch, 'typecheck');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const files = programs.map((p) => `${fileNameOf(p)}.ts`);
    await Promise.all(
      programs.map((p, i) => writeFile(path.join(dir, files[i] as string), `${p.code}\nexport {};\n`)),
    );
    await writeFile(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          lib: ['es2022', 'esnext.disposable'],
          types: ['node'],
          noEmit: true,
          skipLibCheck: true,
        },
        files,
      }),
    );
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await exec(process.execPath, [tsc, '-p', 'tsconfig.json', '--pretty', 'false'], {
      cwd: dir,
    });
    // `packages_icsd_README_md_11.ts(23,5): error …` → `packages/icsd/README.md:23:5: error …`
    let report = `${result.stdout}${result.stderr}`;
    programs.forEach((p, i) => {
      report = report.replaceAll(new RegExp(`${files[i]}\\((\\d+),(\\d+)\\)`, 'g'), `${p.doc}:$1:$2`);
    });
    expect(result.code, `the examples do not type-check:\n${report}`).toBe(0);
  });

  it.each(programs.map((p) => [where(p), p] as const))(
    '%s runs against the simulators',
    async (_name, program) => {
      const file = path.join(scratch, `${fileNameOf(program)}.mjs`);
      const { code } = await transform(program.code, {
        loader: 'ts',
        format: 'esm',
        // Types stripped, nothing lowered: the example must run on this Node as a reader pastes it into a `.mjs`
        // (`await using` is a SyntaxError on Node 20 and 22, and a lowered copy would hide that).
        target: 'esnext',
        sourcemap: 'inline',
        sourcefile: path.join(root, program.doc),
      });
      await mkdir(scratch, { recursive: true });
      await writeFile(file, code);
      const cwd = await mkdtemp(path.join(work, 'run-'));
      for (const name of program.files) await writeFile(path.join(cwd, name), randomBytes(300_000));
      const result = await exec(
        process.execPath,
        ['--enable-source-maps', '--import', path.join(here, 'guard.mjs'), file],
        { cwd, env },
      );
      // SHOW_EXAMPLE_OUTPUT=1 prints what each example printed, to see that it found something.
      if (process.env.SHOW_EXAMPLE_OUTPUT) console.log(`${where(program)}\n${tail(result.stdout, 15)}`);
      expect(
        result.code,
        `${where(program)} failed (exit ${result.code}); stack frames name lines of ${program.doc}\n` +
          `--- stderr ---\n${tail(result.stderr)}\n--- stdout (end) ---\n${tail(result.stdout, 10)}`,
      ).toBe(0);
    },
  );
});
