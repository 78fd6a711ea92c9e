import { createHmac } from 'node:crypto';
import type { Access } from './access.js';
import type { Ctx, Getter, Includes } from './common.js';
import type { CrucibleSimDataset, CrucibleSimSample } from './model.js';
import type { CrucibleSimState } from './state.js';
import {
  detail,
  isObject,
  type JsonObject,
  type JsonValue,
  json,
  naiveIso,
  parseBool,
  parseIsoMs,
  validation,
} from './util.js';

/** Query helpers: booleans, filters, offset and keyset pages, request bodies, search parameters. */
export function createQuery(sim: CrucibleSimState & Access) {
  const { pageSize, maxPage, signingSecret, userByOrcid, instrumentByName } = sim;

  function boolParam(ctx: Ctx, name: string): boolean | Response {
    const text = ctx.query.get(name);
    if (text === null) return false;
    const value = parseBool(text);
    return value ?? validation(['query', name], 'Input should be a valid boolean', 'bool_parsing');
  }
  function includes(ctx: Ctx): Includes | Response {
    const metadata = boolParam(ctx, 'include_metadata');
    if (metadata instanceof Response) return metadata;
    const links = boolParam(ctx, 'include_links');
    if (links instanceof Response) return links;
    const owner = boolParam(ctx, 'include_owner');
    if (owner instanceof Response) return owner;
    return { metadata, links: ctx.version === 'v2' && links, owner: ctx.version === 'v2' && owner };
  }

  function intParam(ctx: Ctx, name: string, fallback: number, min: number): number | Response {
    const text = ctx.query.get(name);
    if (text === null || text === '') return fallback;
    if (!/^-?\d+$/.test(text.trim()))
      return validation(['query', name], 'Input should be a valid integer', 'int_parsing');
    const value = Number(text);
    if (value < min)
      return validation(
        ['query', name],
        `Input should be greater than or equal to ${min}`,
        'greater_than_equal',
      );
    return value;
  }

  /** `limit` of a v2 page: default `pageSize`, clamped to the cap (what the server does above 1000 is [U]). */
  function pageLimit(ctx: Ctx): number | Response {
    const limit = intParam(ctx, 'limit', pageSize, 1);
    return typeof limit === 'number' ? Math.min(limit, maxPage) : limit;
  }

  function filterFrom<T extends { creationMs: number }>(
    ctx: Ctx,
    fields: Readonly<Record<string, Getter<T>>>,
    extra?: (name: string, value: string) => ((x: T) => boolean) | undefined,
  ): ((x: T) => boolean) | Response {
    const tests: Array<(x: T) => boolean> = [];
    for (const [name, value] of ctx.query) {
      const special = extra?.(name, value);
      if (special) {
        tests.push(special);
        continue;
      }
      if (ctx.version === 'v2' && (name === 'creation_time_gte' || name === 'creation_time_lte')) {
        const ms = parseIsoMs(value);
        if (ms === undefined)
          return validation(['query', name], 'Input should be a valid datetime', 'datetime_parsing');
        tests.push(name.endsWith('gte') ? (x) => x.creationMs >= ms : (x) => x.creationMs <= ms);
        continue;
      }
      const get = fields[name];
      if (!get) continue; // unknown parameters are ignored (§3)
      if (name === 'public' || name === 'is_service_account') {
        const b = parseBool(value);
        if (b === undefined)
          return validation(['query', name], 'Input should be a valid boolean', 'bool_parsing');
        tests.push((x) => get(x) === b);
      } else if (name === 'size' || name === 'id' || name.endsWith('_user_id') || name === 'instrument_id') {
        if (!/^\d+$/.test(value))
          return validation(['query', name], 'Input should be a valid integer', 'int_parsing');
        const n = Number(value);
        tests.push((x) => get(x) === n);
      } else {
        tests.push((x) => {
          const v = get(x);
          return v !== null && String(v) === value;
        });
      }
    }
    return (x) => tests.every((t) => t(x));
  }

  const datasetFields: Readonly<Record<string, Getter<CrucibleSimDataset>>> = {
    unique_id: (d) => d.uniqueId,
    dataset_name: (d) => d.datasetName,
    public: (d) => d.public,
    owner_orcid: (d) => d.ownerOrcid,
    project_id: (d) => d.projectId,
    instrument_name: (d) => d.instrumentName,
    measurement: (d) => d.measurement,
    data_format: (d) => d.dataFormat,
    session_name: (d) => d.sessionName,
    source_folder: (d) => d.sourceFolder,
    size: (d) => d.size,
  };
  const datasetFieldsV1: Readonly<Record<string, Getter<CrucibleSimDataset>>> = {
    ...datasetFields,
    file_to_upload: (d) => d.fileToUpload,
    sha256_hash_file_to_upload: (d) => d.sha256FileToUpload,
    creation_time: (d) => naiveIso(d.creationMs),
    owner_user_id: (d) => userByOrcid(d.ownerOrcid)?.id ?? null,
    instrument_id: (d) => instrumentByName(d.instrumentName)?.id ?? null,
  };
  const datasetFieldsV2: Readonly<Record<string, Getter<CrucibleSimDataset>>> = {
    ...datasetFields,
    data_type: (d) => d.dataType,
    timestamp: (d) => d.timestamp,
    description: (d) => d.description,
  };
  const datasetFilter = (ctx: Ctx) =>
    filterFrom<CrucibleSimDataset>(
      ctx,
      ctx.version === 'v1' ? datasetFieldsV1 : datasetFieldsV2,
      (name, value) => {
        if (name !== 'keyword') return undefined;
        const needle = value.toLowerCase();
        return (d) => d.keywords.some((k) => k.includes(needle));
      },
    );
  const sampleFields: Readonly<Record<string, Getter<CrucibleSimSample>>> = {
    unique_id: (s) => s.uniqueId,
    sample_name: (s) => s.sampleName,
    sample_type: (s) => s.sampleType,
    owner_orcid: (s) => s.ownerOrcid,
    project_id: (s) => s.projectId,
    description: (s) => s.description,
    public: (s) => s.public,
  };
  const sampleFilter = (ctx: Ctx) => filterFrom<CrucibleSimSample>(ctx, sampleFields);

  const offsetPage = (ctx: Ctx, items: readonly unknown[]): Response => {
    const limit = pageLimit(ctx);
    if (limit instanceof Response) return limit;
    const offset = intParam(ctx, 'offset', 0, 0);
    if (offset instanceof Response) return offset;
    return json({ items: items.slice(offset, offset + limit), total: items.length, limit, offset });
  };

  /** Hash of the filters of a keyset traversal (everything but paging and include flags). */
  function filterKey(query: URLSearchParams): string {
    const entries = [...query]
      .filter(([k]) => k !== 'limit' && k !== 'cursor' && k !== 'offset' && !k.startsWith('include_'))
      .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1));
    return createHmac('sha256', signingSecret)
      .update(JSON.stringify(entries))
      .digest('base64url')
      .slice(0, 10);
  }

  /**
   * A keyset page over `all` (ascending `seq`), newest first. The cursor is opaque (base64url JSON of the last
   * `seq` and a hash of the filters); a cursor used with other filters is 400 — whether the server allows that
   * is [U], this choice catches clients that change filters mid-traversal.
   */
  function keysetPage<T extends { seq: number }>(
    ctx: Ctx,
    all: readonly T[],
    match: (x: T) => boolean,
    out: (x: T) => unknown,
  ): Response {
    const limit = pageLimit(ctx);
    if (limit instanceof Response) return limit;
    const cursorText = ctx.query.get('cursor');
    const key = filterKey(ctx.query);
    let start = all.length - 1;
    if (cursorText !== null && cursorText !== '') {
      let after: number | undefined;
      try {
        const parsed: unknown = JSON.parse(Buffer.from(cursorText, 'base64url').toString('utf8'));
        if (isObject(parsed) && typeof parsed.s === 'number' && parsed.f === key) after = parsed.s;
      } catch {
        after = undefined;
      }
      if (after === undefined) return detail(400, 'Invalid cursor (it must come from the same query)');
      let lo = 0;
      let hi = all.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((all[mid] as T).seq < after) lo = mid + 1;
        else hi = mid;
      }
      start = lo - 1;
    }
    const items: unknown[] = [];
    let last: T | undefined;
    let more = false;
    let i = start;
    for (; i >= 0; i--) {
      const x = all[i] as T;
      if (!match(x)) continue;
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(out(x));
      last = x;
    }
    let total: number | null = null;
    if (cursorText === null || cursorText === '') {
      total = items.length + (more ? 1 : 0);
      for (i -= 1; i >= 0; i--) if (match(all[i] as T)) total += 1;
    }
    const next =
      more && last !== undefined
        ? Buffer.from(JSON.stringify({ s: last.seq, f: key }), 'utf8').toString('base64url')
        : null;
    return json({ items, limit, next_cursor: next, total, offset: null });
  }

  async function readJson(ctx: Ctx): Promise<JsonValue | Response> {
    const text = await ctx.request.text();
    if (text.trim() === '') return validation(['body'], 'Field required', 'missing');
    try {
      return JSON.parse(text) as JsonValue;
    } catch {
      return validation(['body', 0], 'JSON decode error', 'json_invalid');
    }
  }
  async function readObject(ctx: Ctx): Promise<JsonObject | Response> {
    const body = await readJson(ctx);
    if (body instanceof Response) return body;
    if (!isObject(body)) return validation(['body'], 'Input should be a valid dictionary', 'dict_type');
    return body;
  }

  const str = (v: JsonValue | undefined): string | null | undefined =>
    v === undefined ? undefined : v === null ? null : typeof v === 'string' ? v : String(v);

  function searchQuery(ctx: Ctx): { q: string; limit: number } | Response {
    const q = (ctx.query.get('q') ?? '').trim();
    if (q.length < 3)
      return validation(['query', 'q'], 'String should have at least 3 characters', 'string_too_short');
    const limit = intParam(ctx, 'limit', 20, 1);
    if (limit instanceof Response) return limit;
    if (limit > 50)
      return validation(['query', 'limit'], 'Input should be less than or equal to 50', 'less_than_equal');
    return { q: q.toLowerCase(), limit };
  }
  return {
    boolParam,
    includes,
    intParam,
    pageLimit,
    filterFrom,
    datasetFields,
    datasetFieldsV1,
    datasetFieldsV2,
    datasetFilter,
    sampleFields,
    sampleFilter,
    offsetPage,
    filterKey,
    keysetPage,
    readJson,
    readObject,
    str,
    searchQuery,
  };
}

export type Query = ReturnType<typeof createQuery>;
