import {
  BadRequestError,
  type HttpResponse,
  PermissionDeniedError,
  ResponseValidationError,
  requestOptions,
  waitFor,
} from '@sciport/core';
import { FragalysisTaskError, FragalysisTaskTimeoutError } from '../fragalysis-error.js';
import type {
  CompoundSetTask,
  CompoundSetTaskResult,
  CompoundSetUploadRequest,
  CompoundSetWaitOptions,
} from '../resources/csets-types.js';
import { uploadTaskSchema, validateTaskSchema } from '../schemas/csets.js';
import { type Context, explain, getJson, onStack } from './context.js';
import { findCsetTask, hasForm, pageErrors, parseValidationHtml } from './cset-html.js';
import { FAILED_STATES, taskPolling } from './task.js';

/** The compound-set upload (spec §11.4): the form's POST, its HTML answer, and the polling of its task. */

const UPLOAD_PATH = '/viewer/upload_cset/';

function describe(task: Pick<CompoundSetTask, 'kind' | 'id'>): string {
  return `compound-set ${task.kind === 'validate' ? 'validation' : 'upload'} task ${task.id}`;
}

/** POSTs the form as multipart and reads the task (or the error) from the HTML page it answers with. */
export async function startCsetTask(
  ctx: Context,
  request: CompoundSetUploadRequest,
): Promise<CompoundSetTask> {
  const form = new FormData();
  form.set('target_name', request.target);
  form.set('proposal_ref', request.tas);
  form.set('submit_choice', request.validateOnly ? 'V' : 'U');
  form.set('update_set', request.updateSet ?? 'None');
  form.set('sdf_file', request.sdf, request.sdfName ?? 'upload.sdf');
  if (request.pdbZip) form.set('pdb_zip', request.pdbZip, request.pdbZipName ?? 'pdbs.zip');
  await ctx.session.ensure(requestOptions(request));
  let response: HttpResponse;
  try {
    response = await ctx.http.request(UPLOAD_PATH, {
      ...requestOptions(request),
      method: 'POST',
      body: form,
      headers: { accept: 'text/html, application/json;q=0.5' },
      // A redirect back to the form is the view's way of saying "bad request": seen, not followed.
      acceptStatus: [301, 302, 303],
    });
  } catch (error) {
    throw explain(ctx.baseUrl, error);
  }
  const url = `${ctx.baseUrl}${UPLOAD_PATH}`;
  const init = { method: 'POST', url, service: 'fragalysis' };
  if (response.status >= 300) {
    const location = response.headers.get('location') ?? '';
    const target = location ? new URL(location, url) : undefined;
    if (target && target.origin !== new URL(url).origin) {
      throw explain(ctx.baseUrl, new PermissionDeniedError({ ...init, status: response.status }, 'login'));
    }
    throw new BadRequestError(
      { ...init, status: response.status },
      `Fragalysis sent the compound-set upload back to its form (${response.status}): a field is missing, or ` +
        `it knows no target ${request.target} under ${request.tas}`,
    );
  }
  const page = response.text();
  const found = findCsetTask(page);
  if (found) {
    const path = `/viewer/${found.kind}_task/${found.id}/`;
    return { ...found, url: onStack(ctx, path) };
  }
  const errors = pageErrors(page);
  if (hasForm(page) && errors.length > 0) {
    const text = errors.join('; ');
    const refused = /member|permission|not allowed|not authori[sz]ed|access/i.test(text);
    const Err = refused ? PermissionDeniedError : BadRequestError;
    throw new Err(
      { ...init, status: response.status, detail: text },
      `Fragalysis refused the compound-set upload to ${request.target} (${request.tas}): ${text}`,
    );
  }
  throw new ResponseValidationError({
    service: 'fragalysis',
    endpoint: `POST ${UPLOAD_PATH}`,
    issues: [
      {
        path: '(page)',
        message: hasForm(page)
          ? 'the upload form came back without a task or an error (a field missing?)'
          : 'the answer names no validate or upload task (a login page?)',
      },
    ],
    body: page,
  });
}

/** Polls a task until Celery says it is done, under a deadline whose error names the task. */
export function waitCsetTask(
  ctx: Context,
  task: CompoundSetTask,
  options: CompoundSetWaitOptions,
): Promise<CompoundSetTaskResult> {
  const url = onStack(ctx, task.url);
  const requestTimeout = typeof options.timeout === 'number' ? options.timeout : 60_000;
  let lastState = 'PENDING';
  let reported: string | undefined;
  return waitFor<CompoundSetTaskResult>(
    async ({ remainingMs, signal }) => {
      const call = { signal, maxRetries: 0, timeout: Math.max(1000, Math.min(requestTimeout, remainingMs)) };
      const answer =
        task.kind === 'validate'
          ? await getJson(ctx, url, validateTaskSchema, call).then((a) => ({
              state: a.validate_task_status,
              validated: a.validated,
              html: a.html,
              traceback: a.validate_traceback,
              results: undefined,
              raw: a,
            }))
          : await getJson(ctx, url, uploadTaskSchema, call).then((a) => ({
              state: a.upload_task_status,
              validated: a.validated,
              html: a.html,
              traceback: a.upload_traceback,
              results: a.results,
              raw: a,
            }));
      // Every state seen, the first one (PENDING, usually) too.
      if (answer.state !== reported) options.onState?.(answer.state);
      reported = answer.state;
      lastState = answer.state;
      if (FAILED_STATES.has(answer.state)) {
        const trace = tracebackLines(answer.traceback);
        throw new FragalysisTaskError(
          `The Fragalysis ${describe(task)} failed (${answer.state})${trace.length ? `: ${trace.at(-1)}` : ''}`,
          { reason: 'failed', messages: trace },
        );
      }
      if (answer.state !== 'SUCCESS') return { done: false };
      const parsed = answer.html ? parseValidationHtml(answer.html) : { issues: [], message: '' };
      const validated = answer.validated
        ? /^validated$/i.test(answer.validated.trim())
        : answer.results != null && parsed.issues.length === 0;
      const result: CompoundSetTaskResult = {
        task,
        status: answer.state,
        validated,
        issues: parsed.issues,
        message: parsed.message || undefined,
        raw: answer.raw,
      };
      if (answer.results) {
        result.results = {
          csetDownloadUrl: answer.results.cset_download_url ?? undefined,
          psetDownloadUrl: answer.results.pset_download_url ?? undefined,
        };
      }
      return { done: true, value: result };
    },
    {
      ...taskPolling(ctx, options, describe(task)),
      timeoutError: (info) =>
        new FragalysisTaskTimeoutError(
          `The Fragalysis ${describe(task)} did not finish within ${Math.round(info.waitedMs / 1000)} s ` +
            `(still ${lastState}` +
            (info.lastError !== undefined
              ? `; the status did not answer: ${(info.lastError as Error).message}`
              : lastState === 'PENDING'
                ? ': it may never have started'
                : '') +
            `); check it later at ${url}`,
          info,
          { reason: 'timeout', messages: [lastState] },
        ),
    },
  );
}

function tracebackLines(traceback: unknown): string[] {
  if (typeof traceback === 'string')
    return traceback
      .split('\n')
      .map((l) => l.trimEnd())
      .filter(Boolean);
  if (Array.isArray(traceback)) return traceback.map((l) => String(l).trim()).filter(Boolean);
  return traceback == null ? [] : [JSON.stringify(traceback)];
}
