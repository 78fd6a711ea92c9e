import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  addFolderFiles,
  type CrucibleSimulator,
  createCrucibleSimulator,
  type FolderDatasetFile,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { stallAfterHeaders } from '@sciport/testkit/hostile';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempConfigDir } from './helpers.js';

/**
 * `sciport crucible download` with a selection (issue 13, spec §19.3): the built CLI as a child process over real
 * sockets against the simulator; saved files compared byte for byte with what the simulator holds.
 */

let sim: CrucibleSimulator;
let server: TestServer;
let root: string;
let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  sim = createCrucibleSimulator({ seed: 13, datasets: 5 });
  server = await startTestServer({ handlers: sim.handlers });
  ({ root, dir, cleanup } = await tempConfigDir());
});

afterEach(async () => {
  await server.close();
  await sim.dispose();
  await cleanup();
});

function crucible(args: string[], options: Parameters<typeof runCli>[1] = {}) {
  return runCli(['crucible', ...args], {
    ...options,
    env: {
      SCIPORT_CONFIG_DIR: dir,
      HOME: root,
      XDG_CACHE_HOME: path.join(root, 'cache'),
      CRUCIBLE_API_URL: `${server.url}/api/v2`,
      CRUCIBLE_API_KEY: sim.keyFor('demo'),
      ...options.env,
    },
  });
}

/** A dataset of demo's with 12 files: raw/run-0000..0002/frame-0000..0003.h5, plus `pathOf` extras. */
async function folderDataset(extra: string[] = []): Promise<{ dsid: string; files: FolderDatasetFile[] }> {
  const r = await crucible(['datasets', 'create', '--name', 'folders', '--project', 'DEMO-0001']);
  expect(r.code).toBe(0);
  const dsid = r.stdout.trim();
  const frames = 12;
  const files = await addFolderFiles(sim, dsid, {
    files: frames + extra.length,
    size: 300,
    pathOf: (i) =>
      i < frames
        ? `raw/run-${String(Math.floor(i / 4)).padStart(4, '0')}/frame-${i % 4}.h5`
        : (extra[i - frames] as string),
  });
  return { dsid, files };
}

/** Everything below `folder`, relative, sorted. */
async function listing(folder: string): Promise<string[]> {
  const names = await readdir(folder, { recursive: true, withFileTypes: true }).catch(() => []);
  return names
    .filter((d) => d.isFile())
    .map((d) => path.relative(folder, path.join(d.parentPath, d.name)).replace(/\\/g, '/'))
    .sort();
}

async function expectSameBytes(out: string, files: FolderDatasetFile[], paths: string[]) {
  for (const p of paths) {
    const f = files.find((x) => x.path === p);
    const held = await sim.fileBytes(f?.mfid as string);
    const saved = await readFile(path.join(out, p));
    expect(held && Buffer.from(held).equals(saved), p).toBe(true);
  }
}

const routes = () => sim.stats.routes;
const count = (key: string) => routes()[key] ?? 0;
const LINK = 'GET /files/{mfid}/download_link';
const LINKS = 'GET /datasets/{dsid}/download_links';
const FILE = 'GET /files/{mfid}';

describe('sciport crucible download --include/--exclude', () => {
  it('saves the selected files at their paths, byte-identical, asking only for their links', async () => {
    const { dsid, files } = await folderDataset(['notes/readme.txt', 'summary.json']);
    const out = path.join(root, 'out');
    const r = await crucible([
      'download',
      dsid,
      '--out',
      out,
      '--include',
      '*.h5',
      '--exclude',
      'raw/run-0001/**',
      '--include',
      'notes/*',
    ]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const expected = [
      'notes/readme.txt',
      ...[0, 2].flatMap((run) => [0, 1, 2, 3].map((k) => `raw/run-000${run}/frame-${k}.h5`)),
    ].sort();
    expect(await listing(out)).toEqual(expected);
    await expectSameBytes(out, files, expected);
    expect(count(LINK)).toBe(9);
    expect(count(LINKS)).toBe(0);
    expect(count(FILE)).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(sim.keyFor('demo'));
  });

  it('raw/* stays in its folder; **/x matches at any depth', async () => {
    const { dsid } = await folderDataset(['raw/top.h5', 'deep/a/b/frame-1.h5']);
    const shallow = path.join(root, 'shallow');
    expect((await crucible(['download', dsid, '--out', shallow, '--include', 'raw/*'])).code).toBe(0);
    expect(await listing(shallow)).toEqual(['raw/top.h5']);
    const deep = path.join(root, 'deep');
    expect((await crucible(['download', dsid, '--out', deep, '--include', '**/frame-1.h5'])).code).toBe(0);
    expect(await listing(deep)).toEqual([
      'deep/a/b/frame-1.h5',
      'raw/run-0000/frame-1.h5',
      'raw/run-0001/frame-1.h5',
      'raw/run-0002/frame-1.h5',
    ]);
  });

  it('exits 4 naming the files there are when nothing matches, and writes nothing', async () => {
    const { dsid } = await folderDataset(['odd\u001b[31mname.txt']);
    const out = path.join(root, 'none');
    const r = await crucible(['download', dsid, '--out', out, '--include', '*.cif', '--record']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('--include *.cif');
    expect(r.stderr).toContain('raw/run-0000/frame-0.h5');
    expect(r.stderr).toContain('13 downloadable files');
    expect(r.stderr).not.toContain('\u001b');
    expect(await listing(out)).toEqual([]);
    expect(count(LINK) + count(LINKS)).toBe(0);
  });
});

describe('sciport crucible download --record and --file', () => {
  it('--record writes the API’s answer unchanged as record.json', async () => {
    const { dsid } = await folderDataset();
    const meta = await crucible(['metadata', 'merge', dsid, '{"temperature_k": 300, "beam": {"kev": 200}}']);
    expect(meta.code, meta.stderr).toBe(0);
    const out = path.join(root, 'rec');
    const r = await crucible([
      'download',
      dsid,
      '--out',
      out,
      '--file',
      'raw/run-0002/frame-3.h5',
      '--record',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(await listing(out)).toEqual(['raw/run-0002/frame-3.h5', 'record.json']);
    const answer = await fetch(`${server.url}/api/v2/datasets/${dsid}?include_metadata=true`, {
      headers: { authorization: `Bearer ${sim.keyFor('demo')}` },
    });
    const text = await readFile(path.join(out, 'record.json'), 'utf8');
    expect(text).toBe(`${JSON.stringify(await answer.json(), null, 2)}\n`);
    expect(JSON.parse(text)).toMatchObject({ unique_id: dsid, scientific_metadata: { temperature_k: 300 } });
  });

  it('--file takes an id, an exact path or a unique name; an ambiguous name is a usage error', async () => {
    const { dsid, files } = await folderDataset(['notes/readme.txt']);
    const out = path.join(root, 'one');
    const byId = files[5] as FolderDatasetFile;
    const r = await crucible([
      'download',
      dsid,
      '--out',
      out,
      '--file',
      byId.mfid,
      '--file',
      'raw/run-0000/frame-2.h5',
      '--file',
      'readme.txt',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(await listing(out)).toEqual(['notes/readme.txt', 'raw/run-0000/frame-2.h5', byId.path].sort());
    expect(count(LINK)).toBe(3);
    const ambiguous = await crucible(['download', dsid, '--out', out, '--file', 'frame-2.h5']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('raw/run-0001/frame-2.h5');
    const missing = await crucible(['download', dsid, '--out', out, '--file', 'nope.h5']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('notes/readme.txt');
  });

  it('refuses a path with a ".." segment, naming it; the other files are saved and nothing lands outside', async () => {
    const { dsid } = await folderDataset(['raw/../../escape.h5']);
    const out = path.join(root, 'safe', 'out');
    const r = await crucible(['download', dsid, '--out', out, '--include', '*.h5']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('raw/../../escape.h5');
    expect(await listing(path.join(root, 'safe'))).toHaveLength(12);
    expect(await listing(root).then((all) => all.filter((n) => n.includes('escape')))).toEqual([]);
  });
});

describe('sciport crucible download: resume', () => {
  it('after an interruption, a second run fetches neither the complete files nor their links', async () => {
    const { dsid, files } = await folderDataset();
    const slow = files.find((f) => f.path === 'raw/run-0001/frame-0.h5') as FolderDatasetFile;
    const stall = stallAfterHeaders(
      { path: `/storage/mf-storage-prod/${dsid}/raw/run-0001/frame-0.h5` },
      { headers: { 'content-length': 300, 'content-type': 'application/octet-stream' }, sent: 100 },
    );
    server.useRaw(stall);
    const out = path.join(root, 'resume');
    const first = await crucible(['download', dsid, '--out', out, '--include', 'raw/**'], {
      onSpawn: (child) => {
        const poll = setInterval(() => {
          if (stall.stats.bytesSent >= 100) {
            clearInterval(poll);
            child.kill('SIGINT');
          }
        }, 10);
        child.on('close', () => clearInterval(poll));
      },
    });
    expect(first.code).toBe(130);
    const complete = (await listing(out)).filter((n) => n.endsWith('.h5'));
    // Files are fetched in listing order: run-0000's four came before the stalled one.
    expect(complete).toEqual([0, 1, 2, 3].map((k) => `raw/run-0000/frame-${k}.h5`));
    server.resetHandlers();
    const linksBefore = count(LINK);
    const seen = server.requests.length;
    const second = await crucible(['download', dsid, '--out', out, '--include', 'raw/**', '--json']);
    expect(second.code, second.stderr).toBe(0);
    const report = JSON.parse(second.stdout) as Array<{ name: string; skipped: boolean }>;
    expect(report.filter((f) => f.skipped).map((f) => f.name)).toEqual(complete);
    expect(count(LINK) - linksBefore).toBe(8);
    const fetched = server.requests.slice(seen).filter((q) => q.path.startsWith('/storage/'));
    expect(fetched.some((q) => complete.some((name) => q.path.endsWith(`/${name}`)))).toBe(false);
    expect(new Set(fetched.map((q) => q.path)).size).toBe(8);
    expect(await listing(out)).toEqual(files.map((f) => f.path).sort());
    await expectSameBytes(out, files, [slow.path]);
  });
});
