import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtomicFile, tempPathFor, writeFileAtomic } from '../src/node/files/atomic.js';
import { forgetListedFolders, parseTempName } from '../src/node/files/stale-temps.js';

/**
 * A killed run (SIGKILL, a power cut) leaves its temporary file next to the target. The next write of the same
 * target removes such leftovers of our own naming when their writer is gone, and never one a live process is
 * still writing.
 */

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sciport-stale-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The id of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  return child.pid as number;
}

describe('stale temporary files', () => {
  it('names its temporary files with the process id, and reads the names back', () => {
    const name = path.basename(tempPathFor(path.join(dir, 'T_lb1-1.tar.gz')));
    expect(name).toMatch(new RegExp(`^\\.T_lb1-1\\.tar\\.gz\\.${process.pid}-[0-9a-f]{12}\\.tmp$`));
    expect(parseTempName(name)).toEqual({ target: 'T_lb1-1.tar.gz', pid: process.pid });
    expect(parseTempName('.a.b.0123456789ab.tmp')).toEqual({ target: 'a.b', pid: undefined });
    expect(parseTempName('.a.part')).toBeUndefined();
    expect(parseTempName('notes.tmp')).toBeUndefined();
  });

  it("removes a killed run's leftovers for the same target, and keeps those of live processes", async () => {
    const target = path.join(dir, 'T_lb1-1.tar.gz');
    const hour = 60 * 60;
    const old = Date.now() / 1000 - 2 * hour;
    const leftovers = {
      // A run that was killed: its process is gone.
      dead: `.T_lb1-1.tar.gz.${deadPid()}-0123456789ab.tmp`,
      // A live process (the test runner's parent) is still writing it, however old it looks.
      live: `.T_lb1-1.tar.gz.${process.ppid}-0123456789ac.tmp`,
      // The older naming (no process id): removed once untouched for an hour, kept while recent.
      legacyOld: '.T_lb1-1.tar.gz.0123456789ad.tmp',
      legacyNew: '.T_lb1-1.tar.gz.0123456789ae.tmp',
      // Another target's leftover, and files that are not ours.
      otherTarget: `.other.bin.${deadPid()}-0123456789af.tmp`,
      partial: '.T_lb1-1.tar.gz.part',
      foreign: 'T_lb1-1.tar.gz.tmp',
    };
    for (const name of Object.values(leftovers)) await writeFile(path.join(dir, name), 'partial data');
    for (const name of [leftovers.live, leftovers.legacyOld]) await utimes(path.join(dir, name), old, old);

    await writeFileAtomic(target, 'the archive');

    expect((await readdir(dir)).sort()).toEqual(
      [
        'T_lb1-1.tar.gz',
        leftovers.live,
        leftovers.legacyNew,
        leftovers.otherTarget,
        leftovers.partial,
        leftovers.foreign,
      ].sort(),
    );
  });

  it('removes a leftover with its own process id that it does not hold (a container where every run is process 1)', async () => {
    const target = path.join(dir, 'data.json');
    const earlier = `.data.json.${process.pid}-0123456789ab.tmp`;
    await writeFile(path.join(dir, earlier), 'left by an earlier run with the same id');
    const first = await AtomicFile.create(target);
    // The earlier run's file is gone; this process's own file, still open, stays even when the folder is
    // listed again (as after the cache of listed folders is emptied).
    expect(await readdir(dir)).toEqual([path.basename(first.tempPath)]);
    forgetListedFolders();
    const second = await AtomicFile.create(target);
    expect((await readdir(dir)).sort()).toEqual(
      [path.basename(first.tempPath), path.basename(second.tempPath)].sort(),
    );
    await first.write('one');
    await first.commit({ durable: false });
    await second.discard();
    expect(await readdir(dir)).toEqual(['data.json']);
  });
});
