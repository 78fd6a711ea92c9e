import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AbortError, UsageError } from '@sciport/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ExportProgress, exportStructures, optimadeStructureSchema } from '../src/index.js';

/** `exportStructures` over a folder laid out as a mirror: `icsd_<code>.cif` files, a manifest, temp files. */

const fixtures = new URL('./fixtures/cif/', import.meta.url);
let root: string;
let mirror: string;

async function addFixture(name: string, code: number): Promise<void> {
  const text = (await readFile(new URL(name, fixtures), 'utf8')).replace(/\b(\d+)-ICSD\b/g, `${code}-ICSD`);
  await writeFile(
    path.join(mirror, `icsd_${String(code).padStart(6, '0')}.cif`),
    text.replace(/_database_code_ICSD \d+/, `_database_code_ICSD ${code}`),
  );
}

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'sciport-export-'));
  mirror = path.join(root, 'mirror');
  await mkdir(mirror);
  await addFixture('spinel-mgal2o4.cif', 31379);
  await addFixture('rocksalt-nacl.cif', 18189);
  await addFixture('disorder-mg07ni03o.cif', 9863);
  await copyFile(new URL('vacancy-fe095o.cif', fixtures), path.join(mirror, 'my-own.cif'));
  // What a mirror holds besides CIFs: the manifest and a writer's temporary file.
  await writeFile(path.join(mirror, '.sciport-icsd.ndjson'), '{"not":"a cif"}\n');
  await writeFile(path.join(mirror, '.icsd_000001.cif.123.0.tmp'), 'half a CIF');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('exportStructures', () => {
  it('writes one valid OPTIMADE entry per CIF, in collection-code order, ignoring the manifest and temp files', async () => {
    const out = path.join(root, 'all.jsonl');
    const progress: ExportProgress[] = [];
    const report = await exportStructures(mirror, out, { onProgress: (p) => progress.push(p) });
    expect(report).toMatchObject({ file: out, format: 'optimade', written: 4, refused: [] });
    const lines = (await readFile(out, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    const entries = lines.map((l) => optimadeStructureSchema.parse(JSON.parse(l)));
    // icsd_<code>.cif files by code, then other CIFs by name.
    expect(entries.map((e) => e.id)).toEqual(['9863', '18189', '31379', '900010']);
    expect(entries[0]!.attributes.structure_features).toEqual(['disorder']);
    expect(report.bytes).toBe(Buffer.byteLength(lines.join('\n')) + 1);
    expect(progress.at(-1)).toEqual({ done: 4, total: 4, written: 4, refused: 0 });
    expect((await readdir(root)).sort()).toEqual(['all.jsonl', 'mirror']);
  });

  it('refuses bad entries with the reason and the line, and goes on with the rest', async () => {
    await writeFile(
      path.join(mirror, 'icsd_000005.cif'),
      'data_5-ICSD\n_cell_length_a 4\n_cell_length_b "x\n',
    );
    const cell = (await readFile(path.join(mirror, 'icsd_018189.cif'), 'utf8')).replace(
      /_cell_length_a .*/,
      '_cell_length_a -5.64',
    );
    await writeFile(path.join(mirror, 'icsd_000007.cif'), cell.replace(/18189/g, '7'));
    const noOps = (await readFile(path.join(mirror, 'icsd_018189.cif'), 'utf8')).replace(
      /loop_\s+_(space_group_symop|symmetry_equiv_pos)_[\s\S]*?(?=loop_)/,
      '',
    );
    await writeFile(path.join(mirror, 'icsd_000008.cif'), noOps.replace(/18189/g, '8'));
    const nacl = await readFile(path.join(mirror, 'icsd_018189.cif'), 'utf8');
    await writeFile(
      path.join(mirror, 'icsd_000009.cif'),
      nacl.replace(/18189/g, '9').replace(/Cl1-/g, 'Qq1-'),
    );
    const refusedSeen: string[] = [];
    const report = await exportStructures(mirror, path.join(root, 'x.jsonl'), {
      onRefused: (r) => refusedSeen.push(r.file),
    });
    expect(report.written).toBe(4);
    expect(report.refused.map((r) => [r.file, r.collectionCode, r.problem])).toEqual([
      ['icsd_000005.cif', 5, 'syntax'],
      ['icsd_000007.cif', 7, 'bad_cell'],
      ['icsd_000008.cif', 8, 'no_symmetry'],
      ['icsd_000009.cif', 9, 'unknown_element'],
    ]);
    expect(refusedSeen).toHaveLength(4);
    for (const r of report.refused) expect(r.message).toMatch(/Invalid CIF/);
    expect(report.refused[0]!.line).toBeGreaterThan(0);
    expect(report.refused[1]!.line).toBeGreaterThan(0);
    const lines = (await readFile(path.join(root, 'x.jsonl'), 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(4);
  });

  it('refuses an output inside a missing folder before reading anything, and leaves nothing', async () => {
    await expect(exportStructures(mirror, path.join(root, 'nope', 'x.jsonl'))).rejects.toSatisfy(
      (e) => UsageError.isInstance(e) && /does not exist/.test((e as Error).message),
    );
    await expect(exportStructures(path.join(root, 'missing'), path.join(root, 'x.jsonl'))).rejects.toThrow(
      UsageError,
    );
    expect((await readdir(root)).sort()).toEqual(['mirror']);
  });

  it('leaves no partial file when aborted, and keeps an older file whole', async () => {
    const out = path.join(root, 'x.jsonl');
    await writeFile(out, 'the previous export\n');
    const controller = new AbortController();
    await expect(
      exportStructures(mirror, out, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.done === 2) controller.abort(new AbortError('stop'));
        },
      }),
    ).rejects.toSatisfy((e) => AbortError.isInstance(e));
    expect(await readFile(out, 'utf8')).toBe('the previous export\n');
    expect((await readdir(root)).sort()).toEqual(['mirror', 'x.jsonl']);
  });

  it('writes an empty file for a folder without CIFs', async () => {
    const empty = path.join(root, 'empty');
    await mkdir(empty);
    const report = await exportStructures(empty, path.join(root, 'e.jsonl'));
    expect(report).toMatchObject({ written: 0, refused: [], bytes: 0 });
    expect(await readFile(path.join(root, 'e.jsonl'), 'utf8')).toBe('');
  });
});
