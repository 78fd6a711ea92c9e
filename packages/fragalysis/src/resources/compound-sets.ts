import type { ListOptions, PageIterable } from '@sciport/core';
import type { Context } from '../internal/context.js';
import { drfList } from '../internal/pages.js';
import { compoundSetRecordSchema, type FragalysisCompoundSet } from '../schemas/compound-sets.js';
import type { FragalysisPage } from '../schemas/page.js';

export interface CompoundSetListOptions extends ListOptions {
  /** Only the sets of this target, by its numeric id (`target.id`). */
  target?: number | undefined;
  /** Only sets whose name contains this (case-insensitive). */
  name?: string | undefined;
  /** Only sets of proposals whose target access string contains this (case-insensitive). */
  tas?: string | undefined;
}

/** Compound sets (RHS, "virtual hits"; spec §4.13): read-only. */
export class CompoundSets {
  readonly #ctx: Context;

  constructor(ctx: Context) {
    this.#ctx = ctx;
  }

  /** Compound sets visible to the caller, optionally of one target, by name or of a proposal. */
  list(
    options: CompoundSetListOptions = {},
  ): PageIterable<FragalysisCompoundSet, FragalysisPage<FragalysisCompoundSet>> {
    return drfList(this.#ctx, '/api/compound-sets/', compoundSetRecordSchema, {
      ...options,
      query: { target: options.target, name: options.name, project: options.tas },
    });
  }
}
