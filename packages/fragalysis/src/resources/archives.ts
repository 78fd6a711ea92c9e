import {
  type HttpResponse,
  parseResponse,
  parseRetryAfter,
  type RequestOptions,
  ResponseValidationError,
  requestOptions,
  type WaitOptions,
  waitFor,
} from '@sciport/core';
import { STACKS } from '../credentials.js';
import { FragalysisTaskError, FragalysisTaskTimeoutError } from '../fragalysis-error.js';
import { type Context, explain, getJson, onStack } from '../internal/context.js';
import {
  DEFAULT_TASK_WAIT,
  FAILED_STATES,
  isArchivePath,
  isTransientPollError,
  keepSecret,
  messageList,
  taskPolling,
  WAITING_STATES,
} from '../internal/task.js';
import { downloadResponseSchema, type TaskStatus, taskStatusRecordSchema } from '../schemas/archives.js';
import { type ArchiveOptions, archiveRequestBody, legacyFieldNames } from '../schemas/download-options.js';

/**
 * `Accept` of the archive fetch: the archive comes as `application/zip` whatever its format, and the errors of
 * that DRF view as JSON.
 */
export const ARCHIVE_ACCEPT = 'application/json, */*';

/** The options of a wait for a build: core's `WaitOptions`, the per-call `RequestOptions`, and these. */
export interface ArchiveWaitOptions extends WaitOptions, RequestOptions {
  /**
   * Give up after this long in all, in ms (default 30 minutes: large targets with maps take many minutes).
   */
  maxWaitTime?: number | undefined;
  /**
   * The first pause between status polls, in ms (default 1000); later pauses grow by 1.6x with jitter up to
   * `maxPollInterval` (default 15 s). A full build queue is asked again after twice this, doubling up to a
   * minute.
   */
  pollInterval?: number | undefined;
  /**
   * A task still "UNKNOWN" (not started) after this long is lost: a crashed build reports UNKNOWN until
   * housekeeping runs, and an unknown task id never errors (default 5 minutes).
   */
  unknownTimeout?: number | undefined;
  /** Each status seen while waiting. */
  onStatus?: ((status: TaskStatus) => void) | undefined;
}

/** The target a wait is for, when its options name one (`request` passes its own), for `archive` events. */
function targetOf(options: ArchiveWaitOptions): { target?: string; tas?: string } {
  const { target, tas } = options as Partial<ArchiveRequestOptions>;
  return typeof target === 'string' && typeof tas === 'string' ? { target, tas } : {};
}

/** What to build: a target (title and TAS) and the options of the web download dialog. */
export interface ArchiveRequestOptions extends ArchiveWaitOptions {
  /** The target's title. */
  target: string;
  /** The target's access string (two targets may share a title). */
  tas: string;
  /** Every field of the web front end's download dialog (see `ArchiveOptions`). */
  options?: ArchiveOptions | undefined;
}

export interface ArchiveLocation {
  /** The server path of the archive (a capability: anyone holding it can fetch the file). */
  fileUrl: string;
  /** Whether the server answered with a finished archive at once (a cached or legacy build). */
  immediate: boolean;
}

type Answer = { fileUrl: string } | { taskUrl: string };

/**
 * Structure archives (spec §4.4–§4.6): ask for a build, wait for it, read its size. On Node, `download` and
 * `sync` save them too.
 */
export class Archives {
  protected readonly ctx: Context;

  constructor(ctx: Context) {
    this.ctx = ctx;
  }

  /**
   * Asks for an archive (`POST /api/download_structures/`, JSON, every flag explicit) and waits until it is
   * built: an immediate `file_url` (a cached archive, or an old server) is used at once; otherwise the task is
   * polled (see `wait`) under the same deadline. A full build queue (429, without `Retry-After` or with one)
   * is waited out with growing pauses within that deadline.
   *
   * @throws FragalysisTaskError for a failed or lost build; FragalysisTaskTimeoutError for a deadline reached, or a
   *   queue full until then.
   */
  async request(request: ArchiveRequestOptions): Promise<ArchiveLocation> {
    const ctx = this.ctx;
    const body = archiveRequestBody(request.target, request.tas, request.options);
    // The v1 "legacy" stack knows some flags under older names; other servers ignore unknown fields.
    if (ctx.baseUrl === STACKS.legacy) Object.assign(body, legacyFieldNames(body));
    await ctx.session.ensure(requestOptions(request));
    const started = Date.now();
    const maxWaitTime = request.maxWaitTime ?? DEFAULT_TASK_WAIT;
    const answer = await waitFor<Answer>(
      async ({ attempt, remainingMs, signal }) => {
        let response: HttpResponse;
        try {
          response = await ctx.http.request('/api/download_structures/', {
            ...requestOptions(request),
            signal,
            method: 'POST',
            json: body,
            acceptStatus: [429],
            // Identical requests share one build on the server: repeating one after a lost answer is safe.
            idempotent: true,
          });
        } catch (error) {
          throw explain(ctx.baseUrl, error);
        }
        if (response.status === 429) {
          // The build queue is full (spec §4.4 step 8). The server sends no Retry-After; honour one if it does.
          const base = 2 * (request.pollInterval ?? 1000);
          const delayMs =
            parseRetryAfter(response.headers) ??
            Math.round(Math.min(60_000, base * 2 ** Math.min(attempt, 20)) * (0.5 + Math.random() / 2));
          // A pause past the deadline ends the wait (with the error below) instead of being announced.
          if (delayMs <= remainingMs)
            ctx.events.emit({
              type: 'archive',
              phase: 'queued',
              delayMs,
              ...targetOf(request),
              message: 'the build queue is full',
            });
          return { done: false, delayMs };
        }
        const answer = parseResponse(downloadResponseSchema, response.json(), {
          service: 'fragalysis',
          endpoint: 'POST /api/download_structures/',
          body: response.text(),
        });
        if (typeof answer.file_url === 'string' && answer.file_url !== '') {
          keepSecret(answer.file_url);
          return { done: true, value: { fileUrl: answer.file_url } };
        }
        const taskUrl = answer.task_status_url as string;
        keepSecret(taskUrl, { whole: false });
        return { done: true, value: { taskUrl } };
      },
      {
        maxWaitTime,
        signal: request.signal,
        // A failed POST is not polled through: the HTTP client has retried it already.
        isTransient: () => false,
        timeoutError: (info) =>
          new FragalysisTaskTimeoutError(
            'Fragalysis is serving too many download requests and the deadline came before a place freed up; ' +
              'try again later',
            info,
            { reason: 'queue' },
          ),
      },
    );
    if ('fileUrl' in answer) {
      ctx.events.emit({
        type: 'archive',
        phase: 'done',
        message: 'archive ready at once',
        ...targetOf(request),
      });
      return { fileUrl: answer.fileUrl, immediate: true };
    }
    const fileUrl = await this.wait(answer.taskUrl, {
      ...request,
      maxWaitTime: Math.max(0, maxWaitTime - (Date.now() - started)),
    });
    return { fileUrl, immediate: false };
  }

  /**
   * Polls a build (`GET /viewer/task_status/<uuid>/`, re-based on this stack) until it ends: first after about
   * `pollInterval`, then with growing, jittered pauses up to `maxPollInterval`, never past the deadline.
   * `messages` may be a string (progress, then the archive's path), an array (failures, lost tasks) or `[]`
   * (not started). Transient answers (408, 5xx, a proxy's page, a timeout) are polled through, up to 10 in a
   * row. Returns the archive's server path.
   *
   * @throws FragalysisTaskError for a failed task or one still unknown after `unknownTimeout`;
   *   FragalysisTaskTimeoutError for the deadline.
   */
  async wait(taskUrl: string, options: ArchiveWaitOptions = {}): Promise<string> {
    const ctx = this.ctx;
    const url = onStack(ctx, taskUrl);
    keepSecret(url, { whole: false });
    const about = targetOf(options);
    const unknownTimeout = options.unknownTimeout ?? 5 * 60_000;
    const requestTimeout = typeof options.timeout === 'number' ? options.timeout : 60_000;
    const started = Date.now();
    let unknownSince = started;
    let everStarted = false;
    let noPathSince: number | undefined;
    let lastMessages: string[] = [];
    // Errors that end the wait whatever their class (a finished build that never names its archive).
    const final = new WeakSet<object>();

    return waitFor<string>(
      async ({ remainingMs, signal }) => {
        const status = await getJson(ctx, url, taskStatusRecordSchema, {
          signal,
          // The wait is the retry: one attempt per poll, never hanging past the deadline.
          maxRetries: 0,
          timeout: Math.max(1000, Math.min(requestTimeout, remainingMs)),
        });
        options.onStatus?.(status);
        const state = status.status.toUpperCase();
        const list = messageList(status.messages);
        if (list.length) lastMessages = list;
        const archivePath = list.findLast(isArchivePath);
        if (FAILED_STATES.has(state)) {
          throw new FragalysisTaskError(
            `The Fragalysis archive build failed: ${list.join('; ') || status.status}`,
            { reason: 'failed', messages: list },
          );
        }
        if ((status.finished || state === 'SUCCESS') && archivePath) {
          keepSecret(archivePath);
          ctx.events.emit({ type: 'archive', phase: 'done', status: status.status, ...about });
          return { done: true, value: archivePath };
        }
        const now = Date.now();
        if (state === 'SUCCESS') {
          // Finished without naming the archive yet (the reference client's "no tarball in download"): the
          // path follows in a later poll; give it a while.
          noPathSince ??= now;
          if (now - noPathSince >= Math.min(unknownTimeout, 60_000)) {
            const error = new ResponseValidationError({
              service: 'fragalysis',
              endpoint: 'GET /viewer/task_status/',
              issues: [{ path: 'messages', message: 'a finished build names no .tar.gz or .zip archive' }],
              body: JSON.stringify(status.raw),
            });
            final.add(error);
            throw error;
          }
        } else if (status.finished) {
          throw new FragalysisTaskError(
            `The Fragalysis archive build ended without an archive (${status.status}): ${list.join('; ') || 'no message'}`,
            { reason: 'failed', messages: list },
          );
        } else if (!status.started && WAITING_STATES.has(state)) {
          // Queued, or crashed / never known: both look alike until housekeeping runs (spec §4.5).
          if (now - unknownSince >= unknownTimeout) {
            throw new FragalysisTaskError(
              `The Fragalysis archive build ${everStarted ? 'stopped reporting' : 'never started'} (still ${status.status} ` +
                `after ${Math.round((now - unknownSince) / 1000)} s): the task was lost; ask for the archive again`,
              { reason: 'lost', messages: list },
            );
          }
          ctx.events.emit({ type: 'archive', phase: 'waiting', status: status.status, ...about });
        }
        if (state !== 'SUCCESS' && !(WAITING_STATES.has(state) && !status.started)) {
          everStarted = true;
          unknownSince = now;
          ctx.events.emit({
            type: 'archive',
            phase: 'running',
            message: list.at(-1),
            status: status.status,
            ...about,
          });
        }
        return { done: false };
      },
      {
        ...taskPolling(ctx, options),
        // Errors that end the wait whatever their class; status polls otherwise ride out 5xx, 408, timeouts and
        // a proxy's HTML page (core's 10 in a row).
        isTransient: (error) => !(error instanceof Object && final.has(error)) && isTransientPollError(error),
        timeoutError: (info) =>
          new FragalysisTaskTimeoutError(
            `The Fragalysis archive was not ready within ${Math.round(info.waitedMs / 1000)} s` +
              (info.lastError !== undefined
                ? ` (the task status did not answer: ${(info.lastError as Error).message})`
                : everStarted
                  ? ''
                  : ' (the build never started: the task may be lost)'),
            info,
            { reason: 'timeout', messages: lastMessages },
          ),
      },
    );
  }

  /** Size of a built archive in bytes (`HEAD`), when the server says. */
  async size(fileUrl: string, options: RequestOptions = {}): Promise<number | undefined> {
    let response: HttpResponse;
    try {
      response = await this.ctx.http.request('/api/download_structures/', {
        ...requestOptions(options),
        method: 'HEAD',
        query: { file_url: fileUrl },
        headers: { accept: ARCHIVE_ACCEPT },
      });
    } catch (error) {
      throw explain(this.ctx.baseUrl, error);
    }
    const length = response.headers.get('content-length');
    return length && /^\d+$/.test(length) ? Number(length) : undefined;
  }
}
