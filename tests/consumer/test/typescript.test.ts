import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { consumerProject, root, run } from './helpers.js';

/**
 * TypeScript consumers compile against the installed packages' types with `moduleResolution` `nodenext` and
 * `bundler`. Each program also holds a line that must NOT compile (`@ts-expect-error`): if the types degraded
 * to `any`, or did not resolve, the check fails.
 */

const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
let project: string;

beforeAll(async () => {
  const tarballs = inject('tarballs');
  project = await consumerProject(
    {
      '@sciport/core': tarballs['@sciport/core'] as string,
      '@sciport/icsd': tarballs['@sciport/icsd'] as string,
      '@sciport/crucible': tarballs['@sciport/crucible'] as string,
      '@sciport/fragalysis': tarballs['@sciport/fragalysis'] as string,
      '@types/node': '^20.19.0',
    },
    tarballs,
    { type: 'module' },
  );
});

afterAll(async () => {
  if (project) await rm(project, { recursive: true, force: true });
});

const PROGRAM = `import { AuthenticationError, NotFoundError, SciportError } from '@sciport/core';
import { downloadToFile, safeJoin } from '@sciport/core/node';
import { type CrucibleDataset, CrucibleClient } from '@sciport/crucible';
import { FragalysisClient } from '@sciport/fragalysis';
import { IcsdClient } from '@sciport/icsd';

export async function consumer(): Promise<string[]> {
  const icsd = new IcsdClient({ baseUrl: 'http://127.0.0.1:1/ws', username: 'u', password: 'p' });
  const ids: number[] = await icsd.entries.search('Li O').toArray();
  const crucible = new CrucibleClient({ baseUrl: 'http://127.0.0.1:1/api/v2', apiKey: 'k' });
  const names: string[] = [];
  for await (const d of crucible.datasets.list({ projectId: 'MFP08540' })) {
    const dataset: CrucibleDataset = d;
    names.push(dataset.uniqueId);
  }
  const fragalysis = new FragalysisClient({ stack: 'staging' });
  for await (const t of fragalysis.targets.list()) names.push(t.title);
  const e: unknown = new Error('x');
  if (e instanceof SciportError || NotFoundError.isInstance(e) || AuthenticationError.isInstance(e)) names.push('e');
  names.push(safeJoin('/tmp', 'a'), String(ids.length), typeof downloadToFile);
  // @ts-expect-error a dataset id is a string, not a number
  const wrong: number = names.length > 0 ? ('' as CrucibleDataset['uniqueId']) : 0;
  return [...names, String(wrong)];
}
`;

describe.each([
  { resolution: 'nodenext', module: 'nodenext' },
  { resolution: 'bundler', module: 'esnext' },
])('a TypeScript consumer with moduleResolution $resolution', ({ resolution, module }) => {
  it('compiles against the published types', async () => {
    const dir = path.join(project, resolution);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'consumer.ts'), PROGRAM);
    await writeFile(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module,
          moduleResolution: resolution,
          target: 'es2022',
          lib: ['es2022', 'dom'],
          types: ['node'],
          noEmit: true,
          skipLibCheck: false,
        },
        files: ['consumer.ts'],
      }),
    );
    const result = await run(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json')], {
      cwd: dir,
    }).then(
      () => ({ code: 0, out: '' }),
      (error: { code?: number; stdout?: string }) => ({ code: error.code ?? 1, out: error.stdout ?? '' }),
    );
    expect(result.out).toBe('');
    expect(result.code).toBe(0);
  });

  it('reports a type error in consumer code', async () => {
    const dir = path.join(project, `${resolution}-broken`);
    await mkdir(dir, { recursive: true });
    await writeFile(
      path.join(dir, 'consumer.ts'),
      `import { CrucibleClient } from '@sciport/crucible';\nexport const n: number = new CrucibleClient().baseUrl;\n`,
    );
    await writeFile(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module,
          moduleResolution: resolution,
          noEmit: true,
          types: ['node'],
        },
        files: ['consumer.ts'],
      }),
    );
    const failure = await run(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json')], {
      cwd: dir,
    }).then(
      () => '',
      (error: { stdout?: string }) => error.stdout ?? '',
    );
    expect(failure).toMatch(/TS2322/);
  });
});
