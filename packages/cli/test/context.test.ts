import { PassThrough } from 'node:stream';
import { AbortError } from '@sciport/core';
import { describe, expect, it, vi } from 'vitest';
import { ABORT_GRACE_MS, Session, useColor } from '../src/context.js';

function io() {
  return {
    stdout: { write: () => true, isTTY: false },
    stderr: { write: () => true, isTTY: true },
    stdin: new PassThrough(),
    env: { SCIPORT_CONFIG_DIR: '/nonexistent/sciport-test' },
  };
}

describe('useColor', () => {
  it('follows --no-color, then NO_COLOR, then FORCE_COLOR, then the terminal', () => {
    expect(useColor(undefined, {}, true)).toBe(true);
    expect(useColor(undefined, {}, false)).toBe(false);
    expect(useColor(false, {}, true)).toBe(false);
    expect(useColor(true, { NO_COLOR: '1' }, true)).toBe(false);
    expect(useColor(true, { NO_COLOR: '' }, true)).toBe(true);
    expect(useColor(true, { FORCE_COLOR: '1' }, false)).toBe(true);
    expect(useColor(true, { FORCE_COLOR: '0' }, true)).toBe(false);
    expect(useColor(true, { FORCE_COLOR: '1', NO_COLOR: '1' }, true)).toBe(false);
  });
});

describe('Session', () => {
  it('builds the context from the global flags', async () => {
    const session = new Session({ json: true, quiet: false, verbose: true, color: false }, io());
    try {
      const ctx = session.context;
      expect(ctx).toMatchObject({ json: true, quiet: false, verbose: true, color: false });
      expect(ctx.err.isTTY).toBe(true);
      expect(ctx.config.path.dir).toBe('/nonexistent/sciport-test');
      expect(ctx.signal.aborted).toBe(false);
    } finally {
      await session.close();
    }
  });

  it('runs cleanups last-first, even when one fails, once', async () => {
    const session = new Session({}, io());
    const order: string[] = [];
    session.context.onCleanup(() => void order.push('first'));
    session.context.onCleanup(() => {
      order.push('second');
      throw new Error('cleanup failed');
    });
    session.context.onCleanup(async () => void order.push('third'));
    const errors: unknown[] = [];
    await session.close((e) => errors.push(e));
    await session.close();
    expect(order).toEqual(['third', 'second', 'first']);
    expect(errors).toHaveLength(1);
  });

  it('on interrupt, aborts the signal and rejects the running work with an AbortError', async () => {
    const session = new Session({}, io());
    let sawAbort = false;
    const work = session.run(
      () =>
        new Promise<void>((_, reject) => {
          session.context.signal.addEventListener('abort', () => {
            sawAbort = true;
            reject(session.context.signal.reason);
          });
        }),
    );
    await new Promise((r) => setImmediate(r));
    session.interrupt('SIGINT');
    await expect(work).rejects.toSatisfy((e) => AbortError.isInstance(e));
    expect(sawAbort).toBe(true);
    expect(session.interruptCode).toBe(130);
    await session.close();
  });

  it('does not wait forever for work that ignores the signal: it gives up after the grace period', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const session = new Session({}, io());
      const work = session.run(() => new Promise<void>(() => undefined));
      let settled: unknown;
      const done = work.then(
        () => 'resolved',
        (error: unknown) => {
          settled = error;
        },
      );
      session.interrupt('SIGTERM');
      await vi.advanceTimersByTimeAsync(ABORT_GRACE_MS - 1);
      expect(settled).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      await done;
      expect(AbortError.isInstance(settled)).toBe(true);
      expect(session.interruptCode).toBe(143);
      vi.useRealTimers();
      await session.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('removes its signal listeners when closed', async () => {
    const before = process.listenerCount('SIGINT');
    const session = new Session({}, io());
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
    await session.close();
    expect(process.listenerCount('SIGINT')).toBe(before);
  });
});
