import type { ListOptions, PageIterable, RequestOptions } from '@sciport/core';
import { requestOptions, singlePage } from '@sciport/core';
import { type Context, call, id, writeOnce } from '../internal/context.js';

import { itemsOf } from '../schemas/common.js';
import { type CrucibleKeyword, keywordSchema } from '../schemas/datasets.js';

/** Dataset keywords (spec §5.4, §16.6). */
export class Keywords {
  constructor(protected readonly ctx: Context) {}

  /** The keywords of a dataset. */
  list(datasetId: string, options: ListOptions = {}): PageIterable<CrucibleKeyword, unknown> {
    const path = `datasets/${id(datasetId, 'dataset id')}/keywords`;
    return singlePage(
      (signal) => call(this.ctx, path, itemsOf(keywordSchema), { ...requestOptions(options), signal }),
      options,
    );
  }

  /**
   * Adds keywords to a dataset, one request each, and returns them as the server recorded them. A request
   * whose outcome is unknown (a dropped connection, a 5xx) is sent again only when the dataset's keywords do
   * not show it yet.
   */
  async add(
    datasetId: string,
    words: readonly string[],
    options: RequestOptions = {},
  ): Promise<CrucibleKeyword[]> {
    const path = `datasets/${id(datasetId, 'dataset id')}/keywords`;
    const out: CrucibleKeyword[] = [];
    for (const word of words) {
      const k = word.trim();
      if (!k) continue;
      out.push(
        await writeOnce(
          this.ctx,
          async () =>
            // A 2xx without a body (spec §3) still added it.
            (await call(this.ctx, path, keywordSchema.nullable(), {
              method: 'POST',
              query: { keyword: k },
              ...requestOptions(options),
            })) ?? keywordSchema.parse({ keyword: k }),
          async () => {
            // The server may keep another spelling (case) of the keyword: compare case-insensitively.
            for await (const x of this.list(datasetId, requestOptions(options)))
              if (x.keyword.toLowerCase() === k.toLowerCase()) return x;
            return undefined;
          },
          options,
        ),
      );
    }
    return out;
  }

  /** Every keyword in use, with how many datasets carry it (`GET /keywords`; v1, and v2 where it is served). */
  all(options: ListOptions = {}): PageIterable<CrucibleKeyword, unknown> {
    return singlePage(
      (signal) => call(this.ctx, 'keywords', itemsOf(keywordSchema), { ...requestOptions(options), signal }),
      options,
    );
  }
}
