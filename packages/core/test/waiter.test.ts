import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AbortError, ConnectionError, NotFoundError, ServerError } from '../src/errors.js';
import { isTransientError, type PollResult, WaitTimeoutError, waitFor } from '../src/waiter.js';

const server500 = () =>
  new ServerError({ status: 503, method: 'GET', url: 'https://x.test/status', service: 'x' });

describe('waitFor', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Records when each poll ran (fake time), answering from `answers` in turn. */
  function poller<T>(answers: Array<PollResult<T> | Error>) {
    const times: number[] = [];
    const start = Date.now();
    let i = 0;
    const poll = async () => {
      times.push(Date.now() - start);
      const answer = answers[Math.min(i++, answers.length - 1)] as PollResult<T> | Error;
      if (answer instanceof Error) throw answer;
      return answer;
    };
    return { poll, times };
  }

  it('polls at once, then after pauses that grow by the factor up to the cap, and returns the value', async () => {
    const { poll, times } = poller<string>([
      { done: false },
      { done: false },
      { done: false },
      { done: false },
      { done: true, value: 'ready' },
    ]);
    const result = waitFor(poll, { pollInterval: 1000, maxPollInterval: 2000, growth: 2, jitter: 0 });
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe('ready');
    expect(times).toEqual([0, 1000, 3000, 5000, 7000]);
  });

  it('scales each pause by a random factor within the jitter', async () => {
    const { poll, times } = poller<number>([{ done: false }, { done: false }, { done: true, value: 1 }]);
    const random = vi.fn().mockReturnValueOnce(0).mockReturnValueOnce(0.75);
    const result = waitFor(poll, { pollInterval: 1000, growth: 1, jitter: 0.5, random });
    await vi.runAllTimersAsync();
    await result;
    expect(times[1]).toBe(500);
    expect((times[2] as number) - (times[1] as number)).toBe(1250);
  });

  it('waits first when asked, and honours a pause the poll asks for', async () => {
    const { poll, times } = poller<number>([
      { done: false, delayMs: 7000 },
      { done: true, value: 2 },
    ]);
    const result = waitFor(poll, { pollInterval: 500, jitter: 0, delayFirst: true });
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe(2);
    expect(times).toEqual([500, 7500]);
  });

  it('ends with a WaitTimeoutError at the deadline, never sleeping past it', async () => {
    const { poll, times } = poller<never>([{ done: false }]);
    const result = waitFor(poll, { maxWaitTime: 5000, pollInterval: 2000, growth: 1, jitter: 0 });
    const settled = result.catch((e: unknown) => e);
    await vi.runAllTimersAsync();
    const error = await settled;
    expect(WaitTimeoutError.isInstance(error)).toBe(true);
    expect((error as WaitTimeoutError).waitedMs).toBe(5000);
    expect(times).toEqual([0, 2000, 4000, 5000]);
  });

  it('fails at once when the pause a poll asks for ends past the deadline, with the caller’s error', async () => {
    const { poll, times } = poller<never>([{ done: false, delayMs: 60_000 }]);
    const result = waitFor(poll, {
      maxWaitTime: 10_000,
      timeoutError: (info) => new Error(`queue still full after ${info.polls} poll(s)`),
    });
    const settled = result.catch((e: unknown) => e);
    await vi.runAllTimersAsync();
    expect(((await settled) as Error).message).toBe('queue still full after 1 poll(s)');
    expect(times).toEqual([0]);
  });

  it('rides out transient failures, reporting each, and resets the count after a success', async () => {
    const seen: number[] = [];
    const { poll } = poller<string>([
      server500(),
      new ConnectionError('reset'),
      { done: false },
      server500(),
      { done: true, value: 'ok' },
    ]);
    const result = waitFor(poll, {
      jitter: 0,
      maxFailures: 2,
      onPollError: (_e, failures) => seen.push(failures),
    });
    await vi.runAllTimersAsync();
    await expect(result).resolves.toBe('ok');
    expect(seen).toEqual([1, 2, 1]);
  });

  it('gives up with the poll’s own error after too many transient failures in a row', async () => {
    const { poll, times } = poller<never>([server500()]);
    const result = waitFor(poll, { jitter: 0, maxFailures: 3 });
    const settled = result.catch((e: unknown) => e);
    await vi.runAllTimersAsync();
    expect(ServerError.isInstance(await settled)).toBe(true);
    expect(times).toHaveLength(4);
  });

  it('ends at once on a failure that is not transient', async () => {
    const missing = new NotFoundError({
      status: 404,
      method: 'GET',
      url: 'https://x.test/r/1',
      service: 'x',
    });
    const { poll, times } = poller<never>([missing]);
    await expect(waitFor(poll)).rejects.toBe(missing);
    expect(times).toEqual([0]);
    expect(isTransientError(missing)).toBe(false);
    expect(isTransientError(server500())).toBe(true);
  });

  it('ends with an AbortError as soon as the signal aborts during a pause, leaving no timer', async () => {
    const controller = new AbortController();
    const { poll } = poller<never>([{ done: false }]);
    const result = waitFor(poll, { pollInterval: 60_000, signal: controller.signal });
    const settled = result.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(1);
    controller.abort();
    expect(AbortError.isInstance(await settled)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('refuses nonsense durations', async () => {
    await expect(waitFor(async () => ({ done: true, value: 1 }), { maxWaitTime: -1 })).rejects.toThrow(
      /maxWaitTime/,
    );
  });
});
