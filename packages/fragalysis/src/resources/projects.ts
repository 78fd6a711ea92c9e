import type { ListOptions, PageIterable } from '@sciport/core';
import type { Context } from '../internal/context.js';
import { drfList } from '../internal/pages.js';
import type { FragalysisPage } from '../schemas/page.js';
import { type FragalysisProject, projectRecordSchema } from '../schemas/projects.js';

/** Projects: the proposals and visits (target access strings) visible to the caller (spec §4.2). */
export class Projects {
  readonly #ctx: Context;

  constructor(ctx: Context) {
    this.#ctx = ctx;
  }

  /** Every project the caller can see: open ones, and with a token the caller's own. */
  list(options: ListOptions = {}): PageIterable<FragalysisProject, FragalysisPage<FragalysisProject>> {
    return drfList(this.#ctx, '/api/projects/', projectRecordSchema, options);
  }
}
