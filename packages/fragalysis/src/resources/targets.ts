import {
  type ListOptions,
  NotFoundError,
  type PageIterable,
  type RequestOptions,
  requestOptions,
  suggestSimilar,
  UsageError,
} from '@sciport/core';
import type { Context } from '../internal/context.js';
import { ANONYMOUS_HINT } from '../internal/context.js';
import { drfList } from '../internal/pages.js';
import type { FragalysisPage } from '../schemas/page.js';
import { type FragalysisTarget, targetRecordSchema } from '../schemas/targets.js';
import { Projects } from './projects.js';

export interface TargetListOptions extends ListOptions {
  /** Only targets of this exact title (under any target access string). */
  title?: string | undefined;
}

/** Targets (spec §4.3): each identified by its title and its target access string (TAS). */
export class Targets {
  readonly #ctx: Context;

  constructor(ctx: Context) {
    this.#ctx = ctx;
  }

  /**
   * Targets visible to the caller, each with its target access string (from `project_title`, or joined with
   * the projects on older servers). A target without one is left out, with a `warning` event.
   */
  list(options: TargetListOptions = {}): PageIterable<FragalysisTarget, FragalysisPage<FragalysisTarget>> {
    const ctx = this.#ctx;
    const title = options.title;
    let projects: Map<number, string> | undefined;
    const tasOf = async (id: number | undefined, signal: AbortSignal | undefined) => {
      if (id === undefined) return undefined;
      if (!projects) {
        const found = new Map<number, string>();
        for await (const p of new Projects(ctx).list({ ...requestOptions(options), signal }))
          found.set(p.id, p.targetAccessString);
        projects = found;
      }
      return projects.get(id);
    };
    return drfList(ctx, '/api/targets/', targetRecordSchema, {
      ...options,
      ...(title ? { query: { title } } : {}),
      map: async (records, signal) => {
        const out: FragalysisTarget[] = [];
        for (const record of records) {
          // The server may not know the `title` filter: the title is checked here too.
          if (title && record.title !== title) continue;
          const tas = record.projectTitle ?? (await tasOf(record.projectId, signal));
          if (!tas) {
            ctx.events.emit({
              type: 'warning',
              message: `target ${record.title} (id ${record.id}) has no target access string`,
            });
            continue;
          }
          out.push({ ...record, tas });
        }
        return out;
      },
    });
  }

  /**
   * The target with this title under this target access string. Without `tas`, the title must be unique
   * among the visible targets; otherwise a `UsageError` lists the candidates as `Title@TAS`.
   *
   * @throws NotFoundError when no visible target has that title (under that TAS); its message names the nearest
   *   visible titles (`mpro` → `Mpro`) and, without a token, how to set one.
   */
  async get(title: string, tas?: string, options: RequestOptions = {}): Promise<FragalysisTarget> {
    const matches = await this.list({ ...options, title }).toArray();
    const found = tas === undefined ? matches : matches.filter((t) => t.tas === tas);
    if (found.length === 1) return found[0] as FragalysisTarget;
    if (found.length > 1) {
      const first = found[0] as FragalysisTarget;
      throw new UsageError(
        `Several targets are named ${title}: ${found.map((t) => `${t.title}@${t.tas}`).join(', ')}`,
        {
          hint: `Name one as Title@TAS (${first.title}@${first.tas}) or give its target access string (--tas ${first.tas})`,
        },
      );
    }
    // Not there: the nearest titles the caller can see (one more listing, on this error path only).
    const near =
      matches.length > 0
        ? []
        : suggestSimilar(
            title,
            (await this.list(options).toArray()).map((t) => t.title),
          );
    throw new NotFoundError(
      {
        status: 404,
        method: 'GET',
        url: `${this.#ctx.baseUrl}/api/targets/?title=${encodeURIComponent(title)}`,
        service: 'fragalysis',
        ...(this.#ctx.authenticated ? {} : { hint: ANONYMOUS_HINT }),
      },
      `No visible target ${title}${tas ? ` under ${tas}` : ''}` +
        (matches.length ? ` (it exists under ${matches.map((t) => t.tas).join(', ')})` : '') +
        (near.length ? `; did you mean ${near.join(', ')}?` : ''),
    );
  }

  /** The stack's web page for a target. */
  viewerUrl(title: string, tas: string): string {
    return `${this.#ctx.baseUrl}/viewer/react/preview/target/${encodeURIComponent(title)}/tas/${encodeURIComponent(tas)}`;
  }
}
