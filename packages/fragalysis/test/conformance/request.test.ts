import { readdir } from 'node:fs/promises';
import { PermissionDeniedError, WaitTimeoutError } from '@sciport/core';
import { http } from 'msw';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type FragalysisEvent, FragalysisTaskError, FragalysisTaskTimeoutError } from '../../src/index.js';
import { advanceDateOn, filesUnder } from '../helpers.js';
import { connect, dir, EXPECTED_BODY, mock, QUICK, useConformanceStack } from './harness.js';
import { BASE, type createStack, json } from './server.js';

/** Conformance: asking for an archive and following its build (spec §4.4, §4.5, §6, §8). */

useConformanceStack();
afterEach(() => {
  vi.useRealTimers();
});

/** Task-status polls the stack answered. */
function taskPolls(stack: ReturnType<typeof createStack>): number {
  return stack.log.filter((r) => r.url.pathname.startsWith('/viewer/task_status/')).length;
}

describe('requesting an archive (spec §4.4, §6)', () => {
  it('POSTs JSON with every field explicit and the web dialog’s defaults', async () => {
    const { stack, client } = connect();
    await client.archives.request({ target: 'Mpro', tas: 'sw30864-12', ...QUICK });
    const post = stack.log.find((r) => r.method === 'POST');
    expect(post?.headers.get('content-type')).toMatch(/^application\/json/);
    expect(JSON.parse(post?.body ?? '{}')).toEqual(EXPECTED_BODY);
  });

  it('sends the chosen options under their wire names, the observation subset comma-separated', async () => {
    const { stack, client } = connect();
    await client.archives.request({
      target: 'Mpro',
      tas: 'sw30864-12',
      options: {
        proteins: ['A0001a', 'A0002a'],
        eventFile: true,
        sigmaaFile: true,
        readme: false,
        pymolScripts: false,
        allAlignedStructures: false,
        ligandSdf: true,
        includeVirtualObservations: true,
      },
      ...QUICK,
    });
    expect(stack.posts[0]).toEqual({
      ...EXPECTED_BODY,
      proteins: 'A0001a,A0002a',
      event_file: true,
      sigmaa_file: true,
      readme: false,
      pymol_scripts: false,
      all_aligned_structures: false,
      ligand_sdf: true,
      include_virtual_observations: true,
    });
  });

  it('takes the old servers’ immediate 200 `file_url` (a zip) without polling', async () => {
    const { stack, client } = connect({ answer: 'immediate-zip' });
    const result = await client.archives.download({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      extract: true,
      ...QUICK,
    });
    expect(result.immediate).toBe(true);
    expect(result.format).toBe('zip');
    expect(stack.log.some((r) => r.url.pathname.startsWith('/viewer/task_status/'))).toBe(false);
    expect(await filesUnder(result.extractedTo as string)).toContain('aligned_files/A0001a/A0001a.pdb');
  });

  it('answers an identical request with the cached archive at once (200 `file_url`, no new build)', async () => {
    const { stack, client } = connect();
    const first = await client.archives.download({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      ...QUICK,
    });
    const second = await client.archives.download({
      target: 'Mpro',
      tas: 'sw30864-12',
      destination: dir,
      ...QUICK,
    });
    expect(first.immediate).toBe(false);
    expect(second.immediate).toBe(true);
    expect(second.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(second.sha256).toBe(first.sha256);
    expect(stack.builds.size).toBe(1);
  });

  it('waits out a full queue: 429 without Retry-After, with growing pauses, then the build', async () => {
    const { stack, client } = connect({ queueFull: 3 });
    const location = await client.archives.request({ target: 'Mpro', tas: 'sw30864-12', ...QUICK });
    expect(location.fileUrl).toMatch(/\/Mpro\.tar\.gz$/);
    expect(stack.log.filter((r) => r.method === 'POST').map((r) => r.status)).toEqual([429, 429, 429, 202]);
  });

  it('gives up on a queue that stays full with a clear error within the deadline', async () => {
    const { stack, client } = connect({ queueFull: 1_000 });
    // Each full-queue answer moves the clock a minute: no place frees up within the 5 minutes.
    const queued = advanceDateOn(client, 'queued', 60_000);
    const error = await client.archives
      .request({ target: 'Mpro', tas: 'sw30864-12', pollInterval: 10, maxWaitTime: 5 * 60_000 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FragalysisTaskTimeoutError);
    expect(WaitTimeoutError.isInstance(error)).toBe(true);
    expect((error as FragalysisTaskTimeoutError).code).toBe('task_timeout');
    expect((error as FragalysisTaskTimeoutError).reason).toBe('queue');
    expect((error as Error).message).toMatch(/too many download requests/);
    expect(queued()).toBe(5);
    expect(stack.log.filter((r) => r.method === 'POST').map((r) => r.status)).toEqual(Array(5).fill(429));
  });

  it('honours a Retry-After on a full queue, and gives up at once when it points past the deadline', async () => {
    const events: FragalysisEvent[] = [];
    const { stack, client } = connect({}, { onEvent: (e) => events.push(e) });
    const full = (seconds: number) =>
      http.post(
        `${BASE}/api/download_structures/`,
        () =>
          json({ message: 'Fragalysis is serving too many download requests.' }, 429, {
            'retry-after': `${seconds}`,
          }),
        { once: true },
      );
    mock.use(full(0));
    const location = await client.archives.request({ target: 'Mpro', tas: 'sw30864-12', ...QUICK });
    expect(location.fileUrl).toMatch(/\/Mpro\.tar\.gz$/);
    expect(events.filter((e) => e.type === 'archive' && e.phase === 'queued')).toEqual([
      {
        type: 'archive',
        phase: 'queued',
        delayMs: 0,
        message: 'the build queue is full',
        target: 'Mpro',
        tas: 'sw30864-12',
      },
    ]);
    mock.use(full(3600));
    const error = await client.archives
      .request({ target: 'NSP3', tas: 'sw30864-12', ...QUICK, maxWaitTime: 60_000 })
      .catch((e: unknown) => e);
    expect((error as FragalysisTaskTimeoutError).reason).toBe('queue');
    expect(events.filter((e) => e.type === 'archive' && e.phase === 'queued')).toHaveLength(1);
    expect(stack.posts).toHaveLength(1);
  });
});

describe('task status (spec §4.5, §8)', () => {
  it('follows a relative, an absolute and an internal-host task_status_url, always on the stack', async () => {
    for (const taskUrl of ['relative', 'absolute', 'internal'] as const) {
      const { stack, client } = connect({ taskUrl });
      const location = await client.archives.request({ target: 'Mpro', tas: 'sw30864-12', ...QUICK });
      expect(location.fileUrl).toMatch(/^\/code\/media\/downloads\/.+\/Mpro\.tar\.gz$/);
      expect(stack.log.filter((r) => r.url.pathname.startsWith('/viewer/task_status/')).length).toBe(3);
      expect(stack.foreign).toEqual([]);
      mock.resetHandlers();
    }
  });

  it('reports a FAILED build with its array message', async () => {
    const { client } = connect({
      polls: () => [
        {
          status: 200,
          body: { started: true, finished: false, status: 'RUNNING', messages: 'Adding SDFs...' },
        },
        {
          status: 200,
          body: {
            started: true,
            finished: true,
            status: 'FAILED',
            messages: ['The download task was lost (no worker result - it may never have run)'],
          },
        },
      ],
    });
    const error = await client.archives
      .download({ target: 'Mpro', tas: 'sw30864-12', destination: dir, ...QUICK })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FragalysisTaskError);
    expect((error as FragalysisTaskError).reason).toBe('failed');
    expect((error as Error).message).toContain('The download task was lost');
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports a build failure given as a string message', async () => {
    const { client } = connect({
      polls: () => [
        {
          status: 200,
          body: {
            started: true,
            finished: true,
            status: 'FAILED',
            messages: 'Creating tarball failed: disk full',
          },
        },
      ],
    });
    const error = await client.archives
      .request({ target: 'Mpro', tas: 'sw30864-12', ...QUICK })
      .catch((e: unknown) => e);
    expect((error as FragalysisTaskError).reason).toBe('failed');
    expect((error as Error).message).toContain('disk full');
  });

  it('treats a task that stays UNKNOWN (messages []) as lost, well before the overall deadline', async () => {
    const { stack, client } = connect({
      polls: () => [
        { status: 200, body: { started: false, finished: false, status: 'UNKNOWN', messages: [] } },
      ],
    });
    // Each poll that finds the task not started moves the clock two minutes: lost at the sixth poll.
    const waiting = advanceDateOn(client, 'waiting', 2 * 60_000);
    const error = await client.archives
      .request({
        target: 'Mpro',
        tas: 'sw30864-12',
        pollInterval: 10,
        maxWaitTime: 2 * 3600_000,
        unknownTimeout: 10 * 60_000,
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FragalysisTaskError);
    expect((error as FragalysisTaskError).reason).toBe('lost');
    expect((error as Error).message).toMatch(/never started \(still UNKNOWN after 600 s\)/);
    expect(waiting()).toBe(5);
    expect(taskPolls(stack)).toBe(6);
  });

  it('ends a build that never finishes at the deadline with a clear error', async () => {
    const { stack, client } = connect({
      polls: () => [
        {
          status: 200,
          body: { started: true, finished: false, status: 'RUNNING', messages: 'Compressing tarball: 42.0%' },
        },
      ],
    });
    // Each poll that finds the build running moves the clock a minute: the deadline comes after the fifth.
    const running = advanceDateOn(client, 'running', 60_000);
    const error = await client.archives
      .request({ target: 'Mpro', tas: 'sw30864-12', pollInterval: 10, maxWaitTime: 5 * 60_000 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FragalysisTaskTimeoutError);
    expect((error as FragalysisTaskTimeoutError).reason).toBe('timeout');
    expect((error as Error).message).toMatch(/not ready within 300 s/);
    expect((error as FragalysisTaskTimeoutError).messages).toEqual(['Compressing tarball: 42.0%']);
    expect(running()).toBe(5);
    expect(taskPolls(stack)).toBe(5);
  });

  it('keeps polling through a 408 and 500s on the task status (transient), then succeeds', async () => {
    const { stack, client } = connect(
      {
        polls: (fileUrl) => [
          { status: 408, body: { error: 'Task query timed out. Try again later' } },
          { status: 500, body: { error: 'Task query returned nothing, try again' } },
          { status: 500, body: { error: 'Task query returned nothing, try again' } },
          { status: 500, body: { error: 'Task query returned nothing, try again' } },
          { status: 500, body: { error: 'Task query returned nothing, try again' } },
          {
            status: 200,
            body: { started: true, finished: false, status: 'RUNNING', messages: 'Adding PDBs...' },
          },
          { status: 200, body: { started: true, finished: true, status: 'SUCCESS', messages: fileUrl } },
        ],
      },
      { maxRetries: 1 },
    );
    const location = await client.archives.request({ target: 'Mpro', tas: 'sw30864-12', ...QUICK });
    expect(location.fileUrl).toMatch(/Mpro\.tar\.gz$/);
    expect(stack.log.filter((r) => r.url.pathname.startsWith('/viewer/task_status/')).length).toBe(7);
  }, 60_000);

  it('reports 403 on the task status (not a member of the proposal) as a permission error', async () => {
    const { client } = connect({
      polls: () => [{ status: 403, body: { error: 'You are not a member of the proposal sw30864-12' } }],
    });
    const error = await client.archives
      .request({ target: 'Mpro', tas: 'sw30864-12', ...QUICK })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect((error as Error).message).toContain('You are not a member of the proposal sw30864-12');
  });

  it('keeps polling when a finished build does not name its archive yet', async () => {
    const { client } = connect({
      polls: (fileUrl) => [
        { status: 200, body: { started: true, finished: true, status: 'SUCCESS', messages: 'File created' } },
        { status: 200, body: { started: true, finished: true, status: 'SUCCESS', messages: fileUrl } },
      ],
    });
    const location = await client.archives.request({ target: 'Mpro', tas: 'sw30864-12', ...QUICK });
    expect(location.fileUrl).toMatch(/\/Mpro\.tar\.gz$/);
  });

  it('accepts a finished path that is not under /code/media/ and ends in .zip', async () => {
    const { client } = connect({
      polls: () => [
        {
          status: 200,
          body: {
            started: true,
            finished: true,
            status: 'SUCCESS',
            messages: '/srv/data/downloads/0b6c3a52-5a61-4f0e-9a52-000000000001/Mpro.zip',
          },
        },
      ],
    });
    const location = await client.archives.request({ target: 'Mpro', tas: 'sw30864-12', ...QUICK });
    expect(location.fileUrl).toBe('/srv/data/downloads/0b6c3a52-5a61-4f0e-9a52-000000000001/Mpro.zip');
  });
});
