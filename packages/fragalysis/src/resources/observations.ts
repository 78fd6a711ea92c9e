import type { ListOptions, PageIterable } from '@sciport/core';
import { requestOptions, singlePage } from '@sciport/core';
import type { Context } from '../internal/context.js';
import { drfList } from '../internal/pages.js';
import { type FragalysisObservation, observationRecordSchema } from '../schemas/observations.js';
import type { FragalysisPage } from '../schemas/page.js';
import { Targets } from './targets.js';

/** One compound of a target (issue 15): its SMILES, its compound code when the server gives one, its observations. */
export interface FragalysisCompound {
  smiles: string;
  /** The server's `compound_code` (first one seen for this SMILES), or undefined when it gives none. */
  compoundCode: string | undefined;
  /** The codes of the observations showing it (`A0001a`, …), in the server's order. */
  observations: string[];
}

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
    return singlePage(
      async (signal) =>
        (await this.compounds(target, tas, { ...requestOptions(options), signal }).toArray()).map(
          (c) => c.smiles,
        ),
      options,
    );
  }

  /**
   * The compounds of a target, one per unique SMILES (as {@link smiles} gives them, in the same order), each with
   * its compound code (`compound_code`, spec §4.10) when the server gives one and the observations that show it.
   */
  compounds(
    target: string,
    tas: string,
    options: ListOptions = {},
  ): PageIterable<FragalysisCompound, readonly FragalysisCompound[]> {
    return singlePage(async (signal) => {
      const bySmiles = new Map<string, FragalysisCompound>();
      for await (const o of this.list(target, tas, { ...requestOptions(options), signal })) {
        const smiles = o.smiles?.trim();
        if (!smiles) continue;
        const code = o.compoundCode?.trim() || undefined;
        const known = bySmiles.get(smiles);
        if (known) {
          known.compoundCode ??= code;
          known.observations.push(o.code);
        } else bySmiles.set(smiles, { smiles, compoundCode: code, observations: [o.code] });
      }
      return [...bySmiles.values()];
    }, options);
  }
}
