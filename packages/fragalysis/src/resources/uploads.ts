import type { HttpResponse, ListOptions, PageIterable, RequestOptions } from '@sciport/core';
import { AuthenticationError, parseResponse, requestOptions, singlePage } from '@sciport/core';
import { type Context, explain, tokenHint } from '../internal/context.js';
import { drfList } from '../internal/pages.js';
import { keepSecret } from '../internal/task.js';
import { type UploadWaitOptions, waitForUploadTask } from '../internal/upload-task.js';
import { type UploadRecord, type UploadStats, uploadRecordSchema } from '../schemas/uploads.js';
import { uploadAcceptedSchema } from '../schemas/xca.js';

// issue 14: xca
/** An XCA bundle to send (spec §11.5): browser-safe, the bytes as a `Blob` (a `File`, or a file-backed Blob on Node). */
export interface UploadStartRequest {
  /** The target access string (proposal) to upload to: you must be a member. */
  tas: string;
  /** The bundle: a tar (any compression) whose top level holds `upload_<n>/`. */
  file: Blob;
  /** The file name sent with it (default the `File`'s name, else `upload.tgz`). */
  fileName?: string | undefined;
  /** The bundle's SHA-256 (hex): the server refuses a file that does not match (400). */
  sha256?: string | undefined;
  /** Where the server may write about the load (`contact_email`). */
  contactEmail?: string | undefined;
}

/** An accepted upload: its loader task. */
export interface UploadTask {
  /** The task-status URL, on this stack (its uuid is kept out of logs and errors). */
  taskUrl: string;
  tas: string;
  fileName: string;
}

/** How an upload ended: the loader's message lines, and the new upload record when it is found. */
export interface UploadOutcome {
  messages: string[];
  /** The new upload (spec §4.8), when the history shows it. */
  upload: UploadRecord | undefined;
  /** Its index (`upload_version`), the one `uploads.list()` shows as `lastUploadIndex`. */
  uploadIndex: number | undefined;
}

/** What `uploads.wait` needs to find the new upload record afterwards. */
export interface UploadFindOptions extends UploadWaitOptions {
  /** The target's title (`target_name` of the bundle's config). */
  target?: string | undefined;
  /** The bundle's folder (`upload_<n>`, its `version_dir`), to pick the new record. */
  folder?: string | undefined;
}

/** The key of a target in maps and sync state: its title and target access string. */
export function targetKey(title: string, tas: string): string {
  return `${title}|${tas}`;
}

/** Upload history (spec §4.8). */
export class Uploads {
  readonly #ctx: Context;

  constructor(ctx: Context) {
    this.#ctx = ctx;
  }

  /**
   * Upload statistics per target, keyed by title and target access string, sorted by title then TAS: the last
   * upload's index and time, and every upload record. Computed from the whole upload history (every page),
   * so it comes as one page.
   */
  list(options: ListOptions = {}): PageIterable<UploadStats, readonly UploadStats[]> {
    return singlePage(async (signal) => {
      const groups = new Map<string, UploadRecord[]>();
      const records = drfList(this.#ctx, '/api/target_experiment_uploads/', uploadRecordSchema, {
        ...requestOptions(options),
        signal,
      });
      for await (const u of records) {
        const key = targetKey(u.targetName, u.proposalNumber);
        const list = groups.get(key);
        if (list) list.push(u);
        else groups.set(key, [u]);
      }
      const stats: UploadStats[] = [];
      for (const list of groups.values()) {
        list.sort((a, b) => a.uploadIndex - b.uploadIndex);
        const last = list[list.length - 1] as UploadRecord;
        stats.push({
          targetId: last.target,
          targetName: last.targetName,
          tas: last.proposalNumber,
          projectId: last.project ?? undefined,
          lastUploadIndex: last.uploadIndex,
          lastUploadTimestamp: last.timestamp,
          uploads: list,
        });
      }
      return stats.sort((a, b) => a.targetName.localeCompare(b.targetName) || a.tas.localeCompare(b.tas));
    }, options);
  }

  // issue 14: xca
  /**
   * Sends an XCA bundle (`POST /api/upload_target_experiments/`, multipart, spec §11.5). Needs a token: the
   * session's (with CSRF) or an access token (without). Returns the loader task to `wait` for.
   *
   * @throws AuthenticationError without a (valid) token (the server redirects to its login page);
   *   PermissionDeniedError when you are not a member of the TAS; BadRequestError with the server's field
   *   messages (a checksum that does not match, a bad TAS or e-mail).
   */
  async start(request: UploadStartRequest, options: RequestOptions = {}): Promise<UploadTask> {
    const ctx = this.#ctx;
    await ctx.session.ensure(requestOptions(options));
    const fileName =
      request.fileName ?? ((request.file as { name?: unknown }).name as string | undefined) ?? 'upload.tgz';
    const form = new FormData();
    form.append('target_access_string', request.tas);
    if (request.contactEmail) form.append('contact_email', request.contactEmail);
    if (request.sha256) form.append('sha256checksum', request.sha256.toLowerCase());
    form.append('file', request.file, fileName);
    let response: HttpResponse;
    try {
      response = await ctx.http.request('/api/upload_target_experiments/', {
        ...requestOptions(options),
        method: 'POST',
        body: form,
        // Anonymous: Django redirects to its login page (spec §11.5).
        acceptStatus: (status) => status >= 300 && status < 400,
      });
    } catch (error) {
      throw explain(ctx.baseUrl, error);
    }
    if (response.status >= 300) {
      throw new AuthenticationError(
        { status: response.status, method: 'POST', url: response.url, service: 'fragalysis' },
        `Fragalysis asks for a login before an upload: ${ctx.authenticated ? 'the token was not accepted' : 'uploads need a token'}. ` +
          tokenHint(ctx.baseUrl),
      );
    }
    const answer = parseResponse(uploadAcceptedSchema, response.json(), {
      service: 'fragalysis',
      endpoint: 'POST /api/upload_target_experiments/',
      body: response.text(),
    });
    keepSecret(answer.task_status_url, { whole: false });
    return { taskUrl: answer.task_status_url, tas: request.tas, fileName };
  }

  /**
   * Waits for an upload's loader task (spec §4.5, §11.5) under a deadline, then finds the new upload record of
   * `target` (by its folder, else the newest of that target and TAS).
   *
   * @throws FragalysisTaskError when the load failed (the loader's ERROR lines say why) or the task was lost;
   *   FragalysisTaskTimeoutError at the deadline, naming the upload.
   */
  async wait(task: UploadTask, options: UploadFindOptions = {}): Promise<UploadOutcome> {
    const what = `The XCA upload of ${task.fileName} to ${task.tas}`;
    const messages = await waitForUploadTask(this.#ctx, task.taskUrl, what, options);
    let upload: UploadRecord | undefined;
    if (options.target !== undefined) {
      const rows: UploadRecord[] = [];
      for await (const u of drfList(this.#ctx, '/api/target_experiment_uploads/', uploadRecordSchema, {
        ...requestOptions(options),
      })) {
        if (u.targetName === options.target && u.proposalNumber === task.tas) rows.push(u);
      }
      rows.sort((a, b) => a.uploadIndex - b.uploadIndex);
      upload =
        rows.findLast((u) => options.folder !== undefined && u.uploadDataDir === options.folder) ??
        rows.at(-1);
    }
    return { messages, upload, uploadIndex: upload?.uploadIndex };
  }
}
