import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type CrucibleSimulator,
  createCrucibleSimulator,
  startTestServer,
  type TestServer,
} from '@sciport/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempConfigDir } from './helpers.js';

/**
 * `sciport crucible upload` of files over the multipart threshold (§19.9): the built CLI as a child process
 * against the simulator over real sockets, storage found through STORAGE_EMULATOR_HOST.
 */

const MiB = 1024 * 1024;
const SIZE = 42 * MiB + 12_345; // six parts of 8 MiB (the last one shorter)

let sim: CrucibleSimulator;
let server: TestServer;
let root: string;
let dir: string;
let cleanup: () => Promise<void>;
let file: string;
let dsid: string;

/** Deterministic content, written in 1 MiB slices (no 42 MiB array in the test process). */
async function writeBigFile(target: string, size: number): Promise<void> {
  const slice = Buffer.alloc(MiB);
  const { open } = await import('node:fs/promises');
  const handle = await open(target, 'w');
  try {
    for (let at = 0, x = 99; at < size; at += MiB) {
      for (let i = 0; i < slice.length; i += 4) {
        x = (x * 1103515245 + 12345) >>> 0;
        slice.writeUInt32LE(x, i);
      }
      await handle.write(slice, 0, Math.min(MiB, size - at), at);
    }
  } finally {
    await handle.close();
  }
}

beforeEach(async () => {
  sim = createCrucibleSimulator({ seed: 13, datasets: 10, multipart: {} });
  server = await startTestServer({ handlers: sim.handlers });
  ({ root, dir, cleanup } = await tempConfigDir());
  file = path.join(root, 'run42.bin');
  await writeBigFile(file, SIZE);
  const created = await fetch(`${server.url}/api/v2/datasets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sim.keyFor('demo')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ dataset_name: 'multipart', project_id: 'DEMO-0001' }),
  });
  dsid = ((await created.json()) as { unique_id: string }).unique_id;
});

afterEach(async () => {
  sim.multipart.release();
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
      STORAGE_EMULATOR_HOST: `${server.url}/storage`,
      ...options.env,
    },
  });
}

const uploadDir = () => path.join(root, 'cache', 'sciport', 'uploads');

async function sameAsFile(mfid: string): Promise<boolean> {
  const stored = sim.filePath(mfid);
  if (!stored) return false;
  return (await readFile(stored)).equals(await readFile(file));
}

describe('sciport crucible upload: multipart', () => {
  it('uploads a 42 MiB file in parallel parts; the key never goes to storage, the token is never printed', async () => {
    const r = await crucible(['upload', dsid, file, '--json', '--verbose']);
    expect(r.code).toBe(0);
    const line = JSON.parse(r.stdout.trim()) as { mfid: string; skipped: boolean; resumed: boolean };
    expect(line).toMatchObject({ skipped: false, resumed: false });
    expect(await sameAsFile(line.mfid)).toBe(true);
    const mp = sim.multipart.stats;
    expect(mp).toMatchObject({ vended: 1, partsStored: 6, partPuts: 6, crucibleKeys: 0, badTokens: 0 });
    expect(mp.maxConcurrentPuts).toBeGreaterThan(1);
    expect(mp.maxConcurrentPuts).toBeLessThanOrEqual(4);
    expect(sim.stats.chunkPuts).toBe(0);
    expect(sim.stats.storageAuthorizationHeaders).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/ya29\.sim-/);
    expect(r.stdout + r.stderr).not.toContain(sim.keyFor('demo'));
    expect(await readdir(uploadDir())).toEqual([]);
  });

  it('retries a part that failed with 503 alone, with --parallel 2', async () => {
    sim.multipart.failPut(3, 503);
    const r = await crucible(['upload', dsid, file, '--parallel', '2']);
    expect(r.code).toBe(0);
    expect(sim.multipart.stats).toMatchObject({
      partPuts: 7,
      partsStored: 6,
      faults: 1,
      maxConcurrentPuts: 2,
    });
    const f = sim.filesOf(dsid)[0];
    expect(f && (await sameAsFile(f.mfid))).toBe(true);
    expect((await crucible(['upload', dsid, file, '--parallel', '0'])).code).toBe(2);
  });

  it('resumes after the process is killed mid-upload, sending only the missing parts', async () => {
    // Two parts are stored, then every part is held unanswered: the process is killed with both slots held.
    sim.multipart.holdAfter(2);
    const killed = await crucible(['upload', dsid, file, '--parallel', '2'], {
      onSpawn: (child) => {
        void sim.multipart.whenHeld(2).then(() => child.kill('SIGKILL'));
      },
    });
    expect(killed.signal).toBe('SIGKILL');
    sim.multipart.release();
    expect(sim.multipart.uploads[0]?.parts).toHaveLength(2);
    expect(await readdir(uploadDir())).toHaveLength(1);
    const before = sim.multipart.stats.partPuts;
    const r = await crucible(['upload', dsid, file, '--json']);
    expect(r.code).toBe(0);
    const line = JSON.parse(r.stdout.trim()) as { mfid: string; resumed: boolean };
    expect(line.resumed).toBe(true);
    expect(sim.multipart.stats.partPuts - before).toBe(4);
    expect(sim.multipart.stats.vended).toBe(1);
    expect(await sameAsFile(line.mfid)).toBe(true);
  });

  it('falls back to the single stream when the server does not offer multipart', async () => {
    sim.multipart.offered = 501;
    const r = await crucible(['upload', dsid, file, '--json']);
    expect(r.code).toBe(0);
    const line = JSON.parse(r.stdout.trim()) as { mfid: string };
    expect(await sameAsFile(line.mfid)).toBe(true);
    expect(sim.stats.chunkPuts).toBeGreaterThan(0);
    expect(sim.multipart.stats.partPuts).toBe(0);
    // Files under the threshold never ask for multipart.
    sim.multipart.offered = true;
    const small = path.join(root, 'small.bin');
    await writeFile(small, Buffer.alloc(1000, 7));
    expect((await crucible(['upload', dsid, small])).code).toBe(0);
    expect(sim.multipart.stats.vended).toBe(0);
  });
});
