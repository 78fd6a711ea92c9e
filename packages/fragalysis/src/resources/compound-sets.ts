import {
  type ListOptions,
  MissingCredentialsError,
  NotFoundError,
  type PageIterable,
  type RequestOptions,
} from '@sciport/core';
import type { Context } from '../internal/context.js';
import { startCsetTask, waitCsetTask } from '../internal/cset-tasks.js';
import { drfList } from '../internal/pages.js';
import { compoundSetRecordSchema, type FragalysisCompoundSet } from '../schemas/compound-sets.js';
import { compoundMoleculeScoresRecordSchema, type FragalysisCompoundMolecule } from '../schemas/csets.js';
import type { FragalysisPage } from '../schemas/page.js';
import type {
  CompoundSetTask,
  CompoundSetTaskResult,
  CompoundSetUploadRequest,
  CompoundSetWaitOptions,
} from './csets-types.js';

export interface CompoundSetListOptions extends ListOptions {
  /** Only the sets of this target, by its numeric id (`target.id`). */
  target?: number | undefined;
  /**
   * Only the set of exactly this name (the set's key; spec §4.13). Older servers ignore the filter: the list is
   * filtered here as well.
   */
  name?: string | undefined;
  /** Only sets of proposals whose target access string contains this (case-insensitive). */
  tas?: string | undefined;
}

/**
 * Compound sets (RHS, "virtual hits"; spec §4.13, §11.4): list them, read their molecules' scores, upload and
 * validate new ones. On Node, `download` saves a set and `uploadFile` sends one from disk.
 */
export class CompoundSets {
  protected readonly ctx: Context;

  constructor(ctx: Context) {
    this.ctx = ctx;
  }

  /** Compound sets visible to the caller, optionally of one target, by exact name or of a proposal. */
  list(
    options: CompoundSetListOptions = {},
  ): PageIterable<FragalysisCompoundSet, FragalysisPage<FragalysisCompoundSet>> {
    const name = options.name;
    return drfList(this.ctx, '/api/compound-sets/', compoundSetRecordSchema, {
      ...options,
      query: { target: options.target, name, project: options.tas },
      ...(name !== undefined ? { map: async (items) => items.filter((s) => s.name === name) } : {}),
    });
  }

  // issue 14: csets

  /**
   * The compound set of this name (the set's key).
   *
   * @throws NotFoundError when no visible set has that name.
   */
  async get(name: string, options: RequestOptions = {}): Promise<FragalysisCompoundSet> {
    const found = await this.list({ ...options, name }).toArray();
    if (found[0]) return found[0];
    throw new NotFoundError(
      {
        status: 404,
        method: 'GET',
        url: `${this.ctx.baseUrl}/api/compound-sets/?name=${encodeURIComponent(name)}`,
        service: 'fragalysis',
      },
      `No visible compound set named ${JSON.stringify(name)} (names are exact; \`csets list\` shows them)`,
    );
  }

  /**
   * The molecules of a set with their scores (`GET /api/compound-mols-scores/?computed_set=<name>`): each with
   * `numericalScores` and `textScores` by score name. Molecules of other sets (a server that ignores the filter)
   * are left out.
   */
  scores(
    name: string,
    options: ListOptions = {},
  ): PageIterable<FragalysisCompoundMolecule, FragalysisPage<FragalysisCompoundMolecule>> {
    return drfList(this.ctx, '/api/compound-mols-scores/', compoundMoleculeScoresRecordSchema, {
      ...options,
      query: { computed_set: name },
      map: async (items) =>
        items.filter(
          (m) => m.computedSet === undefined || m.computedSet === null || String(m.computedSet) === name,
        ),
    });
  }

  /**
   * Sends an SDF (and optionally a zip of PDBs) to `POST /viewer/upload_cset/` as the web form does, to validate
   * it (`validateOnly`) or to upload it, and returns the task the server started (poll it with `waitTask`).
   * Needs a token: uploads require membership of the TAS.
   *
   * @throws MissingCredentialsError without a token; BadRequestError when the server sends the form back (a
   *   field missing, an unknown target or TAS); PermissionDeniedError when it refuses the user (not a member).
   */
  async startUpload(request: CompoundSetUploadRequest): Promise<CompoundSetTask> {
    if (!this.ctx.authenticated) {
      throw new MissingCredentialsError(
        'Uploading a compound set needs a Fragalysis login (membership of the proposal): set FRAGALYSIS_TOKEN',
      );
    }
    return startCsetTask(this.ctx, request);
  }

  /**
   * Polls a validate or upload task (`GET /viewer/validate_task/<id>/` or `/viewer/upload_task/<id>/`) until
   * Celery reports it done, under a deadline (`maxWaitTime`, default 30 minutes). The result says whether the
   * file `validated`, lists the per-molecule `issues` from the server's table, and for an upload the new set's
   * `results` links.
   *
   * @throws FragalysisTaskError for a task that failed (its traceback in `messages`);
   *   FragalysisTaskTimeoutError, naming the task, for the deadline.
   */
  waitTask(task: CompoundSetTask, options: CompoundSetWaitOptions = {}): Promise<CompoundSetTaskResult> {
    return waitCsetTask(this.ctx, task, options);
  }
}
