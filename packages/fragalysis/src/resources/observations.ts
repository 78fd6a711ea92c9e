import type { ListOptions, PageIterable } from '@sciport/core';
import { requestOptions, singlePage } from '@sciport/core';
import type { Context } from '../internal/context.js';
import { drfList } from '../internal/pages.js';
import { type FragalysisObservation, observationRecordSchema } from '../schemas/observations.js';
import type { FragalysisPage } from '../schemas/page.js';
import { Targets } from './targets.js';

/** Site observations of a target (spec §4.10), and the SMILES of its compounds (§4.11). */
export class Observations {
  readonly #ctx: Context;
  readonly #targets: Targets;

  constructor(ctx: Context) {
    this.#ctx = ctx;
    this.#targets = new Targets(ctx);
  }

  /** The site observations of exactly this target (superseded ones excluded by the server). */
  list(
    target: string,
    tas: string,
    options: ListOptions = {},
  ): PageIterable<FragalysisObservation, FragalysisPage<FragalysisObservation>> {
    return drfList(this.#ctx, '/api/site_observations/', observationRecordSchema, {
      ...options,
      query: async (signal) => {
        const t = await this.#targets.get(target, tas, { ...requestOptions(options), signal });
        return { target: t.id };
      },
    });
  }

  /**
   * The unique SMILES of a target's compounds, from its site observations, for this exact (title, TAS): two
   * targets sharing a title are never merged. One page, in the order the observations list them.
   */
  smiles(target: string, tas: string, options: ListOptions = {}): PageIterable<string, readonly string[]> {
    return singlePage(async (signal) => {
      const seen = new Set<string>();
      for await (const o of this.list(target, tas, { ...requestOptions(options), signal })) {
        const smiles = o.smiles?.trim();
        if (smiles) seen.add(smiles);
      }
      return [...seen];
    }, options);
  }
}
