import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { vi } from 'vitest';
import type { FragalysisClient, TaskPhase } from '../src/index.js';

/** What the client tests and the conformance tests share. */

/** Every file under `root`, as sorted `/`-separated relative paths. */
export async function filesUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) await walk(full);
      else out.push(path.relative(root, full).split(path.sep).join('/'));
    }
  };
  await walk(root);
  return out.sort();
}

/**
 * Fakes `Date` (only: the pauses between polls stay real and short, sockets keep their own timers) and moves it
 * by `ms` each time the client reports an `archive` event of this `phase`: a wait's deadline or `unknownTimeout`
 * then comes after a known number of polls, whatever the machine's pace. Returns the count of those events so
 * far. Undo with `vi.useRealTimers()`.
 */
export function advanceDateOn(client: FragalysisClient, phase: TaskPhase, ms: number): () => number {
  vi.useFakeTimers({ toFake: ['Date'] });
  let count = 0;
  client.onEvent((e) => {
    if (e.type !== 'archive' || e.phase !== phase) return;
    count += 1;
    vi.setSystemTime(Date.now() + ms);
  });
  return () => count;
}
