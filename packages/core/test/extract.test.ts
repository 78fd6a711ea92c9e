import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AbortError, UnsafeArchiveError, UsageError } from '../src/errors.js';
import { detectArchiveFormat, extractArchive } from '../src/node/files/extract.js';
import { makeTar, makeTarGz, makeZip, type TestEntry } from './helpers/archives.js';

let work: string;
/** A sandbox: archives are extracted to `<work>/box/dest`, and nothing may appear elsewhere under `<work>`. */
let box: string;

beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'sciport-extract-'));
  box = path.join(work, 'box');
  await mkdir(box);
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    out.push(path.relative(dir, path.join(e.parentPath, e.name)));
  }
  return out.sort();
}

const formats = [
  { name: 'tar.gz', build: (e: TestEntry[]) => makeTarGz(e), file: 'a.tar.gz' },
  { name: 'tar', build: (e: TestEntry[]) => makeTar(e), file: 'a.tar' },
  { name: 'zip', build: (e: TestEntry[]) => makeZip(e), file: 'a.zip' },
] as const;

describe.each(formats)('extractArchive ($name)', ({ name, build, file }) => {
  async function archive(entries: TestEntry[]): Promise<string> {
    const p = path.join(work, file);
    await writeFile(p, build(entries));
    return p;
  }

  it('extracts files and folders byte for byte', async () => {
    const binary = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256));
    const src = await archive([
      { name: 'data/', type: 'dir' },
      { name: 'data/metadata.csv', data: 'Code,Smiles\nA0001a,"C1CC1"\n' },
      { name: 'data/sub/blob.bin', data: binary },
      { name: 'README.md', data: '# Ångström ✓\n' },
    ]);
    const dest = path.join(box, 'dest');
    const result = await extractArchive(src, dest);
    expect(result.format).toBe(name);
    expect(result.files).toBe(3);
    expect(await readFile(path.join(dest, 'data/metadata.csv'), 'utf8')).toBe(
      'Code,Smiles\nA0001a,"C1CC1"\n',
    );
    expect(Buffer.compare(await readFile(path.join(dest, 'data/sub/blob.bin')), binary)).toBe(0);
    expect(await readFile(path.join(dest, 'README.md'), 'utf8')).toBe('# Ångström ✓\n');
    expect(await listTree(box)).toEqual(
      [
        'dest',
        'dest/README.md',
        'dest/data',
        'dest/data/metadata.csv',
        'dest/data/sub',
        'dest/data/sub/blob.bin',
      ].sort(),
    );
  });

  it('refuses a ../ entry and writes nothing anywhere', async () => {
    const src = await archive([
      { name: 'ok.txt', data: 'fine' },
      { name: '../escaped.txt', data: 'pwned' },
    ]);
    const before = await listTree(work);
    await expect(extractArchive(src, path.join(box, 'dest'))).rejects.toSatisfy(
      (e) => UnsafeArchiveError.isInstance(e) && e.reason === 'path',
    );
    expect(await listTree(work)).toEqual(before);
  });

  it('refuses a nested ../ that climbs out', async () => {
    const src = await archive([{ name: 'a/b/../../../escaped.txt', data: 'pwned' }]);
    const before = await listTree(work);
    await expect(extractArchive(src, path.join(box, 'dest'))).rejects.toBeInstanceOf(UnsafeArchiveError);
    expect(await listTree(work)).toEqual(before);
  });

  it('refuses an absolute entry', async () => {
    const outside = path.join(work, 'abs-escaped.txt');
    const src = await archive([{ name: outside, data: 'pwned' }]);
    await expect(extractArchive(src, path.join(box, 'dest'))).rejects.toBeInstanceOf(UnsafeArchiveError);
    await expect(stat(outside)).rejects.toThrow();
    expect(await readdir(box)).toEqual([]);
  });

  it('refuses a symbolic link pointing outside', async () => {
    const src = await archive([
      { name: 'link', type: 'symlink', target: '../../' },
      { name: 'innocent.txt', data: 'x' },
    ]);
    const before = await listTree(work);
    await expect(extractArchive(src, path.join(box, 'dest'))).rejects.toSatisfy(
      (e) => UnsafeArchiveError.isInstance(e) && e.reason === 'link',
    );
    expect(await listTree(work)).toEqual(before);
  });

  it('refuses writing a file through a symbolic link', async () => {
    const src = await archive([
      { name: 'dir', type: 'symlink', target: '.' },
      { name: 'dir/file.txt', data: 'through the link' },
    ]);
    await expect(extractArchive(src, path.join(box, 'dest'))).rejects.toSatisfy(
      (e) => UnsafeArchiveError.isInstance(e) && e.reason === 'link',
    );
    expect(await readdir(box)).toEqual([]);
  });

  it('refuses a link that only escapes through another link', async () => {
    // b -> . is inside; a -> b/x/../.. looks inside lexically but resolves above the destination.
    const src = await archive([
      { name: 'x/', type: 'dir' },
      { name: 'b', type: 'symlink', target: '.' },
      { name: 'a', type: 'symlink', target: 'b/x/../..' },
    ]);
    await expect(extractArchive(src, path.join(box, 'dest'))).rejects.toBeInstanceOf(UnsafeArchiveError);
    expect(await readdir(box)).toEqual([]);
  });

  it('keeps a symbolic link that stays inside', async () => {
    const src = await archive([
      { name: 'real.txt', data: 'content' },
      { name: 'alias.txt', type: 'symlink', target: 'real.txt' },
    ]);
    const dest = path.join(box, 'dest');
    await extractArchive(src, dest);
    expect(await readlink(path.join(dest, 'alias.txt'))).toBe('real.txt');
    expect(await readFile(path.join(dest, 'alias.txt'), 'utf8')).toBe('content');
  });

  it('refuses symbolic links altogether with symlinks: refuse', async () => {
    const src = await archive([
      { name: 'real.txt', data: 'content' },
      { name: 'alias.txt', type: 'symlink', target: 'real.txt' },
    ]);
    await expect(extractArchive(src, path.join(box, 'dest'), { symlinks: 'refuse' })).rejects.toBeInstanceOf(
      UnsafeArchiveError,
    );
  });

  it('refuses an archive with more entries than allowed', async () => {
    const entries = Array.from({ length: 11 }, (_, i) => ({ name: `f${i}.txt`, data: `${i}` }));
    const src = await archive(entries);
    await expect(extractArchive(src, path.join(box, 'dest'), { maxEntries: 10 })).rejects.toSatisfy(
      (e) => UnsafeArchiveError.isInstance(e) && e.reason === 'entries',
    );
    expect(await readdir(box)).toEqual([]);
  });

  it('refuses an archive over the total size limit', async () => {
    const src = await archive([{ name: 'big.bin', data: Buffer.alloc(200_000, 7) }]);
    await expect(extractArchive(src, path.join(box, 'dest'), { maxTotalBytes: 100_000 })).rejects.toSatisfy(
      (e) => UnsafeArchiveError.isInstance(e) && e.reason === 'size',
    );
    expect(await readdir(box)).toEqual([]);
  });

  it('refuses to merge into a non-empty folder unless asked, then replaces it whole', async () => {
    const dest = path.join(box, 'dest');
    await mkdir(dest);
    await writeFile(path.join(dest, 'stale.txt'), 'old');
    const src = await archive([{ name: 'fresh.txt', data: 'new' }]);
    await expect(extractArchive(src, dest)).rejects.toBeInstanceOf(UsageError);
    expect(await readdir(dest)).toEqual(['stale.txt']);
    await extractArchive(src, dest, { overwrite: true });
    expect(await readdir(dest)).toEqual(['fresh.txt']);
    expect(await readdir(box)).toEqual(['dest']);
  });
});

describe.each(formats)('extractArchive ($name) streaming', ({ build, file }) => {
  it('extracts entries spanning many reads and inflater slices byte for byte', async () => {
    const random = randomBytes(3 * 1024 * 1024 + 123);
    const text = Buffer.from(
      'ATOM      1  CA  ALA A   1      11.104  13.207   2.100  1.00 20.00\n'.repeat(80_000),
    );
    const src = path.join(work, file);
    await writeFile(
      src,
      build([
        { name: 'maps/random.ccp4', data: random },
        { name: 'aligned/text.pdb', data: text },
        { name: 'after.txt', data: 'last' },
      ]),
    );
    const dest = path.join(box, 'dest');
    const result = await extractArchive(src, dest);
    expect(result.bytes).toBe(random.length + text.length + 4);
    expect(Buffer.compare(await readFile(path.join(dest, 'maps/random.ccp4')), random)).toBe(0);
    expect(Buffer.compare(await readFile(path.join(dest, 'aligned/text.pdb')), text)).toBe(0);
    expect(await readFile(path.join(dest, 'after.txt'), 'utf8')).toBe('last');
  });

  it('stops on an abort between entries and leaves nothing behind', async () => {
    const src = path.join(work, file);
    await writeFile(
      src,
      build([
        { name: 'first.txt', data: 'one' },
        { name: 'second.bin', data: randomBytes(2 * 1024 * 1024) },
      ]),
    );
    const controller = new AbortController();
    const written: string[] = [];
    await expect(
      extractArchive(src, path.join(box, 'dest'), {
        signal: controller.signal,
        onEntry: (e) => {
          written.push(e.name);
          controller.abort();
        },
      }),
    ).rejects.toSatisfy((e) => AbortError.isInstance(e));
    expect(written).toEqual(['first.txt']);
    expect(await readdir(box)).toEqual([]);
  });
});

describe.each(formats.filter((f) => f.name !== 'tar'))(
  'extractArchive ($name) ratio limit',
  ({ build, file }) => {
    it('refuses a compression bomb over the ratio limit', async () => {
      const src = path.join(work, file);
      await writeFile(src, build([{ name: 'zeros.bin', data: Buffer.alloc(8 * 1024 * 1024) }]));
      await expect(extractArchive(src, path.join(box, 'dest'), { maxRatio: 50 })).rejects.toSatisfy(
        (e) => UnsafeArchiveError.isInstance(e) && e.reason === 'ratio',
      );
      expect(await readdir(box)).toEqual([]);
    });
  },
);

describe('extractArchive (tar specifics)', () => {
  it('accepts ./-prefixed names and the ./ root entry, as Fragalysis archives have', async () => {
    const src = path.join(work, 'frag.tar.gz');
    await writeFile(
      src,
      makeTarGz([
        { name: './', type: 'dir' },
        { name: './aligned_files/', type: 'dir' },
        { name: './aligned_files/A0001a/A0001a.pdb', data: 'ATOM\n' },
        { name: './metadata.csv', data: 'Code\nA0001a\n' },
      ]),
    );
    const dest = path.join(box, 'Mpro');
    await extractArchive(src, dest);
    expect(await listTree(dest)).toEqual([
      'aligned_files',
      'aligned_files/A0001a',
      'aligned_files/A0001a/A0001a.pdb',
      'metadata.csv',
    ]);
  });

  it('refuses a hard link to a file outside the archive', async () => {
    const src = path.join(work, 'hl.tar');
    await writeFile(src, makeTar([{ name: 'passwd', type: 'hardlink', target: '/etc/passwd' }]));
    await expect(extractArchive(src, path.join(box, 'dest'))).rejects.toSatisfy(
      (e) => UnsafeArchiveError.isInstance(e) && e.reason === 'link',
    );
    expect(await readdir(box)).toEqual([]);
  });

  it('accepts a hard link to a file of the archive', async () => {
    const src = path.join(work, 'hl-ok.tar');
    await writeFile(
      src,
      makeTar([
        { name: 'a.txt', data: 'same' },
        { name: 'b.txt', type: 'hardlink', target: 'a.txt' },
      ]),
    );
    const dest = path.join(box, 'dest');
    await extractArchive(src, dest);
    expect(await readFile(path.join(dest, 'b.txt'), 'utf8')).toBe('same');
  });

  it('refuses devices and FIFOs', async () => {
    const src = path.join(work, 'fifo.tar');
    await writeFile(src, makeTar([{ name: 'pipe', type: 'fifo' }]));
    await expect(extractArchive(src, path.join(box, 'dest'))).rejects.toSatisfy(
      (e) => UnsafeArchiveError.isInstance(e) && e.reason === 'type',
    );
  });

  it('reports a corrupt archive clearly', async () => {
    const src = path.join(work, 'bad.tar.gz');
    const good = makeTarGz([{ name: 'a.txt', data: 'x'.repeat(10_000) }]);
    await writeFile(src, good.subarray(0, Math.floor(good.length / 2)));
    await expect(extractArchive(src, path.join(box, 'dest'))).rejects.toBeInstanceOf(UnsafeArchiveError);
    expect(await readdir(box)).toEqual([]);
  });
});

describe('extractArchive (zip specifics)', () => {
  it('refuses an entry that inflates to more than it declares (a lying zip bomb)', async () => {
    const src = path.join(work, 'liar.zip');
    await writeFile(
      src,
      makeZip([{ name: 'small.txt', data: Buffer.alloc(500_000, 1), declaredSize: 1000 }]),
    );
    await expect(extractArchive(src, path.join(box, 'dest'))).rejects.toBeInstanceOf(UnsafeArchiveError);
    expect(await readdir(box)).toEqual([]);
  });
});

describe('extractArchive after a killed extraction', () => {
  it('removes the stage a killed process left, keeps a live process’s, and removes an old one of the older naming', async () => {
    const src = path.join(work, 'a.tar.gz');
    await writeFile(src, makeTarGz([{ name: 'a.txt', data: 'fresh' }]));
    // A process that has exited: its id names no live process.
    const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
    const killed = `.dest.${dead}-0123456789ab.partial`;
    const live = `.dest.${process.ppid}-0123456789ab.partial`;
    const legacy = '.dest.abcdef012345.partial';
    const recent = '.dest.fedcba543210.partial';
    const other = `.other.${dead}-0123456789ab.partial`;
    for (const name of [killed, live, legacy, recent, other]) {
      await mkdir(path.join(box, name, 'half'), { recursive: true });
      await writeFile(path.join(box, name, 'half', 'big.bin'), 'x');
    }
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(path.join(box, legacy), twoHoursAgo, twoHoursAgo);

    await extractArchive(src, path.join(box, 'dest'));
    expect((await readdir(box)).sort()).toEqual([live, other, recent, 'dest'].sort());
    expect(await readFile(path.join(box, 'dest', 'a.txt'), 'utf8')).toBe('fresh');
  });

  it('keeps a replaced destination a killed run left while the destination is missing, removes it otherwise', async () => {
    const src = path.join(work, 'a.tar.gz');
    await writeFile(src, makeTarGz([{ name: 'a.txt', data: 'fresh' }]));
    const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
    const old = `.dest.${dead}-0123456789ab.old`;
    await mkdir(path.join(box, old));
    await writeFile(path.join(box, old, 'only-copy.txt'), 'previous');
    // Killed between the two renames: `.old` holds the only copy of the previous extraction.
    await extractArchive(src, path.join(box, 'dest'));
    expect((await readdir(box)).sort()).toEqual([old, 'dest'].sort());
    // Once the destination is there again, the next extraction removes it.
    await extractArchive(src, path.join(box, 'dest'), { overwrite: true });
    expect(await readdir(box)).toEqual(['dest']);
  });
});

describe('detectArchiveFormat', () => {
  it('looks at magic bytes, not names', async () => {
    const z = path.join(work, 'looks-like.tar.gz');
    await writeFile(z, makeZip([{ name: 'a', data: 'b' }]));
    expect(await detectArchiveFormat(z)).toBe('zip');
    const t = path.join(work, 'looks-like.zip');
    await writeFile(t, makeTarGz([{ name: 'a', data: 'b' }]));
    expect(await detectArchiveFormat(t)).toBe('tar.gz');
    const n = path.join(work, 'plain.txt');
    await writeFile(n, 'hello');
    expect(await detectArchiveFormat(n)).toBeUndefined();
    await expect(extractArchive(n, path.join(box, 'x'))).rejects.toBeInstanceOf(UnsafeArchiveError);
  });
});
