import {
  type ListOptions,
  type PageIterable,
  paginate,
  type RequestOptions,
  ResponseValidationError,
  requestOptions,
  UsageError,
} from '@sciport/core';
import { type CiteOptions, type CiteResult, citeCodes } from '../citations/cite.js';
import { type IcsdContext, warn } from '../internal/context.js';
import { decodeText } from '../internal/decode.js';
import { idsForCodes, type SearchPath, searchIds, searchTargets } from '../internal/search.js';
import { batchPages } from '../internal/streams.js';
import { isEntryNumber } from '../schemas/cif.js';
import { type IcsdRow, parseCsv } from '../schemas/csv.js';
import {
  type ContentType,
  type ContentTypeName,
  type CsvProperty,
  MAX_IDS_PER_REQUEST,
  resolveCsvProperties,
} from '../schemas/fields.js';
import { type ExpertQuery, toExpertQueryText } from '../schemas/query.js';

export interface SearchOptions extends ListOptions {
  /**
   * The subset(s) to search: `inorganic`, `metalorganic`, `theoretical` (or the API names), one search (one
   * page) each. Default: no `content type` parameter (the server's default subset set), one search.
   */
  contentType?: ContentType | readonly ContentType[] | undefined;
}

export interface ExpertSearchOptions extends SearchOptions {
  /** How the terms of a typed query are joined (default `and`). */
  operator?: 'and' | 'or' | undefined;
}

/** One page of a search: the answer of one content type's search. */
export interface SearchPage {
  /** The subset searched, or undefined when no `contentType` was given (the server's default set). */
  contentType: ContentTypeName | undefined;
  /** The internal ids found, in the server's order, without those an earlier page already held. */
  ids: number[];
}

export interface PropertiesOptions extends RequestOptions {
  /** `/csv` requests in flight at once (default: the client's `concurrency`). */
  concurrency?: number | undefined;
  /**
   * Establish each row's internal id (one extra search per batch of 500, by the collection codes the rows
   * carry). Default true. Rows are never paired with ids by position.
   */
  resolveIds?: boolean | undefined;
}

/** The rows of `entries.properties`: one page per `/csv` request (500 ids), and what went missing. */
export interface RowStream<P extends CsvProperty> extends PageIterable<IcsdRow<P>, IcsdRow<P>[]> {
  /** ids asked for that produced no row (known when ids could be resolved; filled as the stream is read). */
  readonly missingIds: readonly number[];
}

/**
 * Entries: searches (internal ids, in the server's order) and their properties from `/csv`.
 *
 * Arguments are checked when a method is called (an unknown field, property or content type is a `UsageError`
 * before anything is sent); the requests go out as the result is read.
 */
export class Entries {
  constructor(protected readonly ctx: IcsdContext) {}

  /** Free-text search ("Li O", "LiCl", "Na"): internal ids in the server's order. */
  search(text: string, options: SearchOptions = {}): PageIterable<number, SearchPage> {
    const query = text.trim();
    if (query === '') throw new UsageError('The search text is empty');
    return this.pages('search/simple', query, options);
  }

  /**
   * Expert search: a query string (`COMPOSITION : Li O and SPACEGROUPNUMBER : 225`) or a typed object
   * (`{ composition: 'Li O', spaceGroupNumber: 225, collectionCode: [1, 5000] }`). Unknown fields are refused
   * before anything is sent. Internal ids in the server's order.
   */
  expertSearch(
    query: string | ExpertQuery,
    options: ExpertSearchOptions = {},
  ): PageIterable<number, SearchPage> {
    const text = toExpertQueryText(query, options.operator ? { operator: options.operator } : {});
    return this.pages('search/expert', text, options);
  }

  /** One page per content type, searched one after the other; an id already listed is not repeated. */
  private pages(path: SearchPath, query: string, options: SearchOptions): PageIterable<number, SearchPage> {
    const targets = searchTargets(options.contentType);
    // The ids listed up to and including each page, for the next page's cursor.
    const seenAfter = new WeakMap<SearchPage, Set<number>>();
    return paginate<number, SearchPage, { index: number; seen: Set<number> }>({
      fetchPage: async (cursor) => {
        const index = cursor?.index ?? 0;
        const seen = cursor?.seen ?? new Set<number>();
        const target = targets[index] as (typeof targets)[number];
        const found = await searchIds(this.ctx, path, query, target.value, options);
        const ids: number[] = [];
        for (const id of found) {
          if (seen.has(id)) continue;
          seen.add(id);
          ids.push(id);
        }
        const page: SearchPage = { contentType: target.name, ids };
        seenAfter.set(page, seen);
        return page;
      },
      items: (page) => page.ids,
      nextCursor: (page, { pageIndex }) =>
        pageIndex + 1 < targets.length
          ? { index: pageIndex + 1, seen: seenAfter.get(page) ?? new Set() }
          : undefined,
      signal: options.signal,
      ...(options.limit !== undefined ? { maxItems: options.limit } : {}),
      service: 'icsd',
      endpoint: `GET /${path}`,
    });
  }

  /**
   * Typed properties of entries from `/csv`, 500 ids a request (`concurrency` at once), in the order of the ids.
   * Columns are read by header name; each row carries its collection code, and its internal id is established
   * from that code (never by position). `ids` may be any iterable, a search's result included.
   */
  properties<const P extends CsvProperty>(
    ids: Iterable<number> | AsyncIterable<number>,
    fields: readonly P[],
    options: PropertiesOptions = {},
  ): RowStream<P> {
    const selection = resolveCsvProperties(fields);
    if (!selection.includes('CollectionCode')) selection.unshift('CollectionCode');
    const missing: number[] = [];
    const resolve = options.resolveIds !== false;
    const ctx = this.ctx;
    const fetchRows = async (batch: number[]): Promise<IcsdRow<P>[]> => {
      const response = await ctx.session.run(0, options.signal, () =>
        // Rows are a few hundred bytes: 64 KiB a row is far more than any, and bounds what is read.
        ctx.http.withOptions({ maxBodyBytes: (1 + batch.length / 16) * 1024 * 1024 }).request('csv', {
          query: { idnum: batch, windowsclient: 'false', listSelection: selection },
          headers: { accept: 'application/csv' },
          ...requestOptions(options),
        }),
      );
      const parsed = parseCsv(
        decodeText(response.bytes, response.headers.get('content-type')),
        'GET /csv',
        selection,
      );
      // A row whose collection code is no entry number (`0`, beyond the safe integers) is refused alone.
      const invalid = parsed.rows.filter((r) => !isEntryNumber(r.collectionCode));
      if (invalid.length > 0) {
        warn(
          ctx,
          `the /csv answer held ${invalid.length} ${invalid.length === 1 ? 'row' : 'rows'} whose collection ` +
            `code is not a positive whole number (${invalid
              .slice(0, 3)
              .map((r) => JSON.stringify(r.raw.CollectionCode ?? String(r.collectionCode)).slice(0, 42))
              .join(', ')}): left out`,
        );
        parsed.rows = parsed.rows.filter((r) => isEntryNumber(r.collectionCode));
      }
      if (parsed.positional.length > 0) {
        warn(ctx, `the /csv header did not name ${parsed.positional.join(', ')}; read by request position`);
      }
      if (parsed.rows.length < batch.length) {
        warn(
          ctx,
          `${batch.length - parsed.rows.length} of ${batch.length} ids produced no row in the /csv answer`,
        );
      }
      if (parsed.rows.length > batch.length) {
        throw new ResponseValidationError({
          service: 'icsd',
          endpoint: 'GET /csv',
          issues: [{ path: '', message: `${parsed.rows.length} rows for ${batch.length} ids` }],
        });
      }
      const pairs = resolve
        ? await idsForCodes(
            ctx,
            parsed.rows.map((r) => r.collectionCode),
            new Set(batch),
            options,
          )
        : undefined;
      if (pairs) {
        const found = new Set(pairs.values());
        for (const id of batch) if (!found.has(id)) missing.push(id);
      }
      return parsed.rows.map(
        ({ raw, ...row }) => ({ id: pairs?.get(row.collectionCode), ...row, raw }) as unknown as IcsdRow<P>,
      );
    };
    const concurrency = options.concurrency ?? ctx.concurrency;
    return batchPages(
      ids,
      MAX_IDS_PER_REQUEST,
      fetchRows,
      { concurrency, signal: options.signal },
      {
        get missingIds() {
          return missing.slice();
        },
      },
    );
  }

  /**
   * Citations of entries by **collection code**: authors, title, journal, year, volume, pages and DOI from the
   * `/csv` properties (spec §14.5), one `Citation` per code found (key `icsd<code>`, non-ASCII names intact), in
   * the order asked. Codes that do not exist are reported in `missingCodes` (and by a warning event), not
   * fatal. Write them with `formatBibtex`, `formatRis` or `toCslJson`.
   */
  cite(codes: Iterable<number>, options: CiteOptions = {}): Promise<CiteResult> {
    return citeCodes(this.ctx, codes, options);
  }
}
