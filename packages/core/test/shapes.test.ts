import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { z } from 'zod';
import {
  AbortError,
  ApiError,
  NotFoundError,
  PermissionDeniedError,
  ResponseValidationError,
  SciportError,
} from '../src/errors.js';
import { describeEvent, EventEmitter, logEvents } from '../src/events.js';
import { requestOptions } from '../src/options.js';
import { fromPages, singlePage } from '../src/pagination.js';
import { apiRecord, camelCase } from '../src/records.js';
import { parseResponse } from '../src/schema.js';
import { defineSettings, readSetting } from '../src/settings.js';

describe('EventEmitter', () => {
  it('calls listeners in order, survives a throwing one, and unsubscribes', () => {
    const emitter = new EventEmitter<{ type: string }>();
    const seen: string[] = [];
    const off = emitter.on((e) => seen.push(`a:${e.type}`));
    emitter.on(() => {
      throw new Error('listener bug');
    });
    emitter.on((e) => seen.push(`c:${e.type}`));
    expect(() => emitter.emit({ type: 'one' })).not.toThrow();
    off();
    emitter.emit({ type: 'two' });
    expect(seen).toEqual(['a:one', 'c:one', 'c:two']);
    expect(emitter.listenerCount).toBe(2);
  });

  it('writes events to a logger at their level', () => {
    const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn() };
    const listener = logEvents(logger);
    listener({ type: 'warning', message: 'a session expired early' });
    listener({
      type: 'retry',
      method: 'GET',
      url: 'https://x.test/a',
      attempt: 1,
      delayMs: 250,
      reason: '503',
    } as never);
    listener({ type: 'request', method: 'GET', url: 'https://x.test/a', attempt: 0 } as never);
    listener({ type: 'archive', message: 'the build queue is full' });
    expect(logger.warn).toHaveBeenCalledWith('a session expired early');
    expect(logger.info).toHaveBeenCalledWith('retrying GET https://x.test/a in 250 ms (attempt 1: 503)');
    expect(logger.debug.mock.calls.map((c) => c[0])).toEqual([
      '→ GET https://x.test/a',
      'archive: the build queue is full',
    ]);
    expect(describeEvent({ type: 'error', method: 'GET', url: 'u', error: 'reset' } as never).level).toBe(
      'debug',
    );
  });
});

describe('apiRecord', () => {
  const user = apiRecord(z.looseObject({ user_name: z.string(), orcid_id: z.string().nullish() }));
  const dataset = apiRecord(
    z.looseObject({
      unique_id: z.string(),
      dataset_name: z.string().nullish(),
      owner: user.nullish(),
      scientific_metadata: z.record(z.string(), z.unknown()).nullish(),
    }),
  );

  it('renames the top level to camelCase, keeps free-form maps, maps nested records, and keeps raw', () => {
    const input = {
      unique_id: 'd1',
      dataset_name: 'scan',
      owner: { user_name: 'ada', orcid_id: null },
      scientific_metadata: { beam_energy: 5 },
      new_server_field: true,
    };
    const record = parseResponse(dataset, input, { service: 'x', endpoint: 'GET /datasets/d1' });
    expect(record.uniqueId).toBe('d1');
    expect(record.datasetName).toBe('scan');
    expect(record.owner?.userName).toBe('ada');
    expect(record.owner?.raw).toEqual({ user_name: 'ada', orcid_id: null });
    expect(record.scientificMetadata).toEqual({ beam_energy: 5 });
    expect((record as Record<string, unknown>).newServerField).toBe(true);
    expect(record.raw).toBe(input);
    expectTypeOf(record.uniqueId).toEqualTypeOf<string>();
  });

  it('reports what does not match, with the path', () => {
    expect(() =>
      parseResponse(dataset, { unique_id: 7 }, { service: 'x', endpoint: 'GET /datasets/7' }),
    ).toThrow(ResponseValidationError);
    try {
      parseResponse(dataset, { unique_id: 'd', owner: { user_name: 1 } }, { service: 'x', endpoint: 'e' });
    } catch (error) {
      expect((error as ResponseValidationError).issues[0]?.path).toBe('owner.user_name');
    }
  });

  it('camelCases names with one or more underscores, leaving leading ones', () => {
    expect(['a_b_c', 'already', '_id', 'x__y', 'v2_name'].map(camelCase)).toEqual([
      'aBC',
      'already',
      '_id',
      'xY',
      'v2Name',
    ]);
  });
});

describe('settings', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('reads a setting from its variable, then its aliases', () => {
    const settings = defineSettings({
      url: { env: 'X_URL', envAliases: ['X_OLD_URL'], configKey: 'x.url', secret: false, label: 'X URL' },
    });
    vi.stubEnv('X_OLD_URL', 'https://old.test');
    expect(readSetting(settings.url)).toBe('https://old.test');
    vi.stubEnv('X_URL', ' https://new.test ');
    expect(readSetting(settings.url)).toBe('https://new.test');
  });
});

describe('error codes', () => {
  it('are literal on classes nobody extends, and strings on the others', () => {
    const error: unknown = new NotFoundError({
      status: 404,
      method: 'GET',
      url: 'https://x.test/a',
      service: 'x',
    });
    if (NotFoundError.isInstance(error)) expectTypeOf(error.code).toEqualTypeOf<'not_found'>();
    if (PermissionDeniedError.isInstance(error)) expectTypeOf(error.code).toEqualTypeOf<string>();
    class ServiceRefusal extends PermissionDeniedError<'svc_refused'> {
      static override readonly kind: string = 'ServiceRefusal';
      override readonly code = 'svc_refused' as const;
    }
    const refusal = new ServiceRefusal({
      status: 403,
      method: 'POST',
      url: 'https://x.test/l',
      service: 'x',
    });
    expect(refusal.code).toBe('svc_refused');
    expect(PermissionDeniedError.isInstance(refusal)).toBe(true);
    expect(ApiError.isInstance(refusal)).toBe(true);
    expect(SciportError.isInstance(refusal)).toBe(true);
    expect(refusal.toJSON().code).toBe('svc_refused');
    expect((error as NotFoundError).code).toBe('not_found');
  });
});

describe('list helpers', () => {
  it('fromPages: items across pages, pages as yielded, a cap, and a fresh run per iteration', async () => {
    let runs = 0;
    const pages = async function* () {
      runs += 1;
      yield [1, 2];
      yield [];
      yield [3];
    };
    const list = fromPages<number>(pages);
    expect(await list.toArray()).toEqual([1, 2, 3]);
    const seen: number[][] = [];
    for await (const page of list.pages()) seen.push([...page]);
    expect(seen).toEqual([[1, 2], [], [3]]);
    expect(await fromPages<number>(pages, { maxItems: 2 }).toArray()).toEqual([1, 2]);
    expect(runs).toBe(3);
  });

  it('singlePage: one fetch when the iteration starts, capped by limit, aborted at once', async () => {
    const fetch = vi.fn(async () => ['a', 'b', 'c']);
    const list = singlePage(fetch, { limit: 2 });
    expect(fetch).not.toHaveBeenCalled();
    expect(await list.toArray()).toEqual(['a', 'b']);
    expect(fetch).toHaveBeenCalledTimes(1);
    const aborted = singlePage(fetch, { signal: AbortSignal.abort() });
    await expect(aborted.toArray()).rejects.toSatisfy((e) => AbortError.isInstance(e));
  });

  it('requestOptions picks the per-call options out of a wider object', () => {
    const signal = new AbortController().signal;
    const wide = { signal, timeout: 5, maxRetries: 0, limit: 3, onStatus: () => undefined };
    expect(requestOptions(wide)).toEqual({ signal, timeout: 5, maxRetries: 0 });
    expect(requestOptions({ limit: 1 } as never)).toEqual({});
  });
});
