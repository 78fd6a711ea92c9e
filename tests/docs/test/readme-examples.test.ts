import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Every ```ts block of the package READMEs runs, as written, against the testkit simulators: the environment
 * variables the clients read point at them, a preloaded guard refuses any other host, and each block must end
 * with exit code 0. A block preceded by `<!-- no-run -->` is skipped; `<!-- files: a.h5 b.dat -->` creates those
 * files (random bytes) in the block's working folder first.
 */

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..', '..');
const READMES = ['core', 'icsd', 'crucible', 'fragalysis'].map((p) => `packages/${p}/README.md`);

/** esbuild, the one tsup builds with: strips the types and lowers `await using` for Node 20. */
interface Esbuild {
  transform(code: string, options: Record<string, unknown>): Promise<{ code: string }>;
}
const esbuild = createRequire(createRequire(path.join(root, 'package.json')).resolve('tsup/package.json'))(
  'esbuild',
) as Esbuild;

interface Block {
  readme: string;
  line: number;
  code: string;
  files: string[];
}

function extractBlocks(readme: string, text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ts\s*$/.test(lines[i] ?? '')) continue;
    const marker = (lines[i - 1] ?? '').trim();
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i] ?? ''); i++) body.push(lines[i] ?? '');
    if (marker === '<!-- no-run -->') continue;
    const files = /^<!-- files: (.+) -->$/.exec(marker)?.[1]?.trim().split(/\s+/) ?? [];
    blocks.push({ readme, line: start + 1, code: body.join('\n'), files });
  }
  return blocks;
}

const servers: TestServer[] = [];
const disposers: (() => Promise<void>)[] = [];
let env: Record<string, string>;
let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'sciport-readme-'));
  const icsd = createIcsdSimulator({ entries: 400, seed: 3, credentials: { alice: 'alice-password' } });
  const crucible = createCrucibleSimulator({
    seed: 3,
    datasets: 30,
    chunkSizeHint: 256 * 1024,
    ingestionSteps: { requestedMs: 50, startedMs: 50 },
  });
  const fragalysis = createFragalysisSimulator({ seed: 3, buildMs: 100 });
  const [icsdServer, crucibleServer, fragalysisServer] = await Promise.all(
    [icsd.handlers, crucible.handlers, fragalysis.handlers].map((handlers) => startTestServer({ handlers })),
  );
  servers.push(icsdServer!, crucibleServer!, fragalysisServer!);
  disposers.push(() => crucible.dispose());
  env = {
    ICSD_BASE_URL: `${icsdServer!.url}/ws`,
    ICSD_USERNAME: 'alice',
    ICSD_PASSWORD: 'alice-password',
    CRUCIBLE_API_URL: `${crucibleServer!.url}/api/v2`,
    CRUCIBLE_API_KEY: crucible.keyFor('demo'),
    FRAGALYSIS_STACK: fragalysisServer!.url,
    FRAGALYSIS_TOKEN: fragalysis.tokenFor('demo'),
  };
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const dispose of disposers) await dispose();
  await rm(work, { recursive: true, force: true });
  await rm(path.join(here, '..', '.examples'), { recursive: true, force: true });
});

const blocks = (
  await Promise.all(READMES.map(async (r) => extractBlocks(r, await readFile(path.join(root, r), 'utf8'))))
).flat();

describe('the README examples', () => {
  it('are found (every client README has at least one)', () => {
    for (const readme of READMES.filter((r) => !r.includes('/core/')))
      expect(
        blocks.some((b) => b.readme === readme),
        readme,
      ).toBe(true);
  });

  it('type-check against the packages (strict, nodenext)', async () => {
    const dir = path.join(here, '..', '.examples', 'typecheck');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const files = blocks.map((b) => `${b.readme.replace(/[/.]/g, '_')}_${b.line}.ts`);
    await Promise.all(
      blocks.map((b, i) => writeFile(path.join(dir, files[i] as string), `${b.code}\nexport {};\n`)),
    );
    await writeFile(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          lib: ['es2022', 'esnext.disposable', 'dom'],
          types: ['node'],
          noEmit: true,
          skipLibCheck: true,
        },
        files,
      }),
    );
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const out = await run(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json')], { cwd: dir }).then(
      () => '',
      (error: { stdout?: string; message: string }) => error.stdout || error.message,
    );
    expect(out, out).toBe('');
  });

  it.each(blocks.map((b) => [`${b.readme}:${b.line}`, b] as const))('%s runs', async (_name, block) => {
    // Inside tests/docs, so that `@sciport/*` and zod resolve to the workspace packages.
    const dir = path.join(here, '..', '.examples');
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `${block.readme.replace(/[/.]/g, '_')}_${block.line}.mjs`);
    const { code } = await esbuild.transform(block.code, { loader: 'ts', format: 'esm', target: 'node20' });
    await writeFile(file, code);
    const cwd = await mkdtemp(path.join(work, 'run-'));
    for (const name of block.files) await writeFile(path.join(cwd, name), randomBytes(300_000));
    const result = await run(process.execPath, ['--import', path.join(here, 'guard.mjs'), file], {
      cwd,
      env: { ...process.env, ...env, NO_COLOR: '1' },
      timeout: 90_000,
      maxBuffer: 16 * 1024 * 1024,
    }).then(
      (r) => ({ code: 0, stderr: r.stderr }),
      (error: { code?: number; stderr?: string; message: string }) => ({
        code: error.code ?? 1,
        stderr: error.stderr || error.message,
      }),
    );
    expect(result.code, `${block.readme}:${block.line} failed:\n${result.stderr}`).toBe(0);
  });
});

describe('the API reference', () => {
  it('generates from the TSDoc comments without errors (typedoc)', async () => {
    const typedoc = path.join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
    const result = await run(process.execPath, [typedoc, '--emit', 'none', '--logLevel', 'Error'], {
      cwd: root,
      maxBuffer: 16 * 1024 * 1024,
    }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({
        code: error.code ?? 1,
        out: `${error.stdout ?? ''}${error.stderr ?? ''}`,
      }),
    );
    expect(result.out).not.toMatch(/\[error\]/i);
    expect(result.code, result.out).toBe(0);
  });
});
