import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { sleep } from '../src/async.js';
import { mapConcurrent, mapConcurrentAll } from '../src/concurrency.js';
import { AbortError, ResponseValidationError, UsageError } from '../src/errors.js';
import { backoffDelay, parseRetryAfter, resolveRetryOptions } from '../src/http/retry.js';
import { writeFileAtomic } from '../src/node/files/atomic.js';
import { safeJoin } from '../src/node/files/safe-path.js';
import { paginate } from '../src/pagination.js';
import { formatPath, parseResponse } from '../src/schema.js';

describe('retry policy', () => {
  it('parses Retry-After in seconds and as an HTTP date', () => {
    const now = Date.parse('2026-11-22T10:00:00Z');
    expect(parseRetryAfter(new Headers({ 'retry-after': '3' }), now)).toBe(3000);
    expect(parseRetryAfter(new Headers({ 'retry-after': '0.5' }), now)).toBe(500);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Sun, 22 Nov 2026 10:00:07 GMT' }), now)).toBe(7000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Sun, 22 Nov 2026 09:00:00 GMT' }), now)).toBe(0);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250);
    expect(parseRetryAfter(new Headers(), now)).toBeUndefined();
  });

  it('backs off exponentially with full jitter under a cap', () => {
    const top = resolveRetryOptions({ baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.999999 });
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, top))).toEqual([99, 199, 399, 799, 999, 999]);
    const bottom = resolveRetryOptions({ baseDelayMs: 100, maxDelayMs: 1000, random: () => 0 });
    expect(backoffDelay(5, bottom)).toBe(0);
  });

  it('sleep rejects with an AbortError carrying the reason, and leaves no timer', async () => {
    vi.useFakeTimers();
    try {
      const c = new AbortController();
      const p = sleep(10_000, c.signal);
      expect(vi.getTimerCount()).toBe(1);
      const reason = new Error('stop');
      c.abort(reason);
      const error = await p.catch((e: unknown) => e);
      expect(AbortError.isInstance(error)).toBe(true);
      expect((error as AbortError).cause).toBe(reason);
      expect(vi.getTimerCount()).toBe(0);
      // An AbortError reason is passed on as it is; an aborted signal rejects at once.
      const own = new AbortError('cancelled by the user');
      await expect(sleep(10, AbortSignal.abort(own))).rejects.toBe(own);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('safeJoin', () => {
  const root = path.resolve('/data/out');
  it.each([
    ['../x', '..'],
    ['a/../../x', '..'],
    ['a\\..\\..\\x', '..'],
    ['/etc/passwd', 'absolute'],
    ['\\\\server\\share', 'absolute'],
    ['C:\\Windows\\x', 'drive'],
    ['c:x', 'drive'],
    ['a\0b', 'NUL'],
    ['', 'empty'],
    ['.', 'names no file'],
    ['./', 'names no file'],
  ])('refuses %j', (name, why) => {
    expect(() => safeJoin(root, name)).toThrow(UsageError);
    expect(() => safeJoin(root, name)).toThrow(why);
  });

  it('joins ordinary names inside the root', () => {
    expect(safeJoin(root, 'a/b.cif')).toBe(path.join(root, 'a', 'b.cif'));
    expect(safeJoin(root, './a//b')).toBe(path.join(root, 'a', 'b'));
    expect(safeJoin(root, 'a\\b')).toBe(path.join(root, 'a', 'b'));
    expect(safeJoin(root, '..hidden')).toBe(path.join(root, '..hidden'));
  });
});

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sciport-atomic-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes, replaces, and applies the mode', async () => {
    const target = path.join(dir, 'sub', 'f.json');
    await writeFileAtomic(target, 'one');
    await writeFileAtomic(target, 'two', { mode: 0o600 });
    expect(await readFile(target, 'utf8')).toBe('two');
    expect((await stat(target)).mode & 0o777).toBe(0o600);
    expect(await readdir(path.join(dir, 'sub'))).toEqual(['f.json']);
  });

  it('leaves the old file and no temporary file when the data source fails', async () => {
    const target = path.join(dir, 'f.txt');
    await writeFile(target, 'old');
    async function* failing() {
      yield 'new part';
      throw new Error('source broke');
    }
    await expect(writeFileAtomic(target, failing())).rejects.toThrow('source broke');
    expect(await readFile(target, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['f.txt']);
  });
});

describe('parseResponse', () => {
  const schema = z.object({ items: z.array(z.object({ id: z.number(), title: z.string() })) });
  it('returns typed data and keeps unknown fields out of the way', () => {
    const v = parseResponse(
      schema,
      { items: [{ id: 1, title: 'a', extra: true }], more: 1 },
      { service: 's', endpoint: 'GET /x' },
    );
    expect(v.items[0]?.title).toBe('a');
  });
  it('names the endpoint, the failing paths and an excerpt of the body', () => {
    let error: unknown;
    try {
      parseResponse(
        schema,
        {
          items: [
            { id: 1, title: 'a' },
            { id: 'two', title: 3 },
          ],
        },
        { service: 'svc', endpoint: 'GET /things' },
      );
    } catch (e) {
      error = e;
    }
    expect(ResponseValidationError.isInstance(error)).toBe(true);
    const e = error as ResponseValidationError;
    expect(e.message).toContain('svc: unexpected response from GET /things');
    expect(e.issues.map((i) => i.path)).toEqual(['items[1].id', 'items[1].title']);
    expect(e.message).toContain('body: {"items":[{"id":1');
  });
  it('formats odd keys', () => {
    expect(formatPath(['a', 0, 'content type', 'b'])).toBe('a[0]["content type"].b');
  });
});

describe('paginate', () => {
  const pages = [
    { items: [1, 2], next: 'c1' },
    { items: [3, 4], next: 'c2' },
    { items: [5], next: null },
  ];
  function source() {
    const calls: Array<string | undefined> = [];
    const it = paginate<number, (typeof pages)[number], string>({
      fetchPage: async (cursor) => {
        calls.push(cursor);
        return pages[calls.length - 1]!;
      },
      items: (p) => p.items,
      nextCursor: (p) => p.next,
    });
    return { it, calls };
  }

  it('walks items lazily across pages', async () => {
    const { it: list, calls } = source();
    const seen: number[] = [];
    for await (const n of list) {
      seen.push(n);
      if (n === 3) break;
    }
    expect(seen).toEqual([1, 2, 3]);
    expect(calls).toEqual([undefined, 'c1']);
  });

  it('exposes pages and toArray', async () => {
    const got: number[][] = [];
    for await (const p of source().it.pages()) got.push(p.items);
    expect(got).toEqual([[1, 2], [3, 4], [5]]);
    expect(await source().it.toArray()).toEqual([1, 2, 3, 4, 5]);
  });

  it('stops at maxItems and refuses a repeated cursor', async () => {
    const limited = paginate<number, { items: number[] }, number>({
      fetchPage: async (c) => ({ items: [(c ?? 0) * 10, (c ?? 0) * 10 + 1] }),
      items: (p) => p.items,
      nextCursor: (_p, { pageIndex }) => pageIndex + 1,
      maxItems: 3,
    });
    expect(await limited.toArray()).toEqual([0, 1, 10]);
    const looping = paginate<number, { items: number[] }, string>({
      fetchPage: async () => ({ items: [1] }),
      items: (p) => p.items,
      nextCursor: () => 'same',
    });
    await expect(looping.toArray()).rejects.toBeInstanceOf(ResponseValidationError);
  });
});

describe('mapConcurrent', () => {
  it('never runs more than `concurrency` at once and keeps input order', async () => {
    let running = 0;
    let peak = 0;
    const out: number[] = [];
    for await (const v of mapConcurrent(
      [50, 10, 30, 5, 20, 1, 15],
      async (ms) => {
        running++;
        peak = Math.max(peak, running);
        await sleep(ms);
        running--;
        return ms;
      },
      { concurrency: 3 },
    )) {
      out.push(v);
    }
    expect(out).toEqual([50, 10, 30, 5, 20, 1, 15]);
    expect(peak).toBe(3);
  });

  it('reads a lazy input only a little ahead of the consumer', async () => {
    let pulled = 0;
    function* endless() {
      for (let i = 0; ; i++) {
        pulled++;
        yield i;
      }
    }
    let taken = 0;
    for await (const _ of mapConcurrent(endless(), async (x) => x, { concurrency: 2 })) {
      if (++taken === 5) break;
    }
    expect(pulled).toBeLessThan(12);
  });

  it('stops with AbortError and passes the signal to running calls', async () => {
    const c = new AbortController();
    const seenSignals: Array<AbortSignal | undefined> = [];
    const run = async () => {
      for await (const _ of mapConcurrent(
        [1, 2, 3, 4, 5, 6],
        async (x, { signal }) => {
          seenSignals.push(signal);
          if (x === 2) c.abort();
          await sleep(5);
          return x;
        },
        { concurrency: 2, signal: c.signal },
      )) {
        // consume
      }
    };
    await expect(run()).rejects.toBeInstanceOf(AbortError);
    expect(seenSignals.every((s) => s === c.signal)).toBe(true);
    expect(seenSignals.length).toBeLessThan(6);
  });

  it('collects with mapConcurrentAll and rejects bad concurrency', async () => {
    expect(await mapConcurrentAll([3, 1, 2], async (x) => x * 2, { concurrency: 2 })).toEqual([6, 2, 4]);
    expect(() => mapConcurrent([1], async (x) => x, { concurrency: 0 })).toThrow(UsageError);
  });
});

describe('createAsyncQueue', () => {
  it('yields what is pushed, in order, waiting for more until ended', async () => {
    const { createAsyncQueue } = await import('../src/concurrency.js');
    const q = createAsyncQueue<number>();
    const seen: number[] = [];
    const consumer = (async () => {
      for await (const n of q) seen.push(n);
    })();
    q.push(1);
    await sleep(5);
    q.push(2);
    q.push(3);
    q.end();
    await consumer;
    expect(seen).toEqual([1, 2, 3]);
    expect(() => q.push(4)).toThrow();
  });

  it('ends the iteration with the failure', async () => {
    const { createAsyncQueue } = await import('../src/concurrency.js');
    const q = createAsyncQueue<number>();
    q.push(1);
    q.fail(new Error('discovery failed'));
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const n of q) seen.push(n);
      })(),
    ).rejects.toThrow('discovery failed');
    expect(seen).toEqual([]);
  });
});
