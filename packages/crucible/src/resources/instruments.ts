import {
  type ListOptions,
  NotFoundError,
  type PageIterable,
  type RequestOptions,
  requestOptions,
  UsageError,
} from '@sciport/core';
import { body, type Context, call, getRecord, id } from '../internal/context.js';
import { offsetOrArrayList } from '../internal/lists.js';
import { readMetadata, setMetadata, v2Only } from '../internal/metadata.js';
import { type SearchOptions, searchList } from '../internal/search.js';
import { type CrucibleInstrument, instrumentSchema } from '../schemas/catalog.js';
import { itemsOf } from '../schemas/common.js';

/** Fields of an instrument (spec §5.2, §16.4). */
export interface InstrumentInput {
  instrumentName: string;
  owner?: string;
  location?: string;
  manufacturer?: string;
  model?: string;
  instrumentType?: string;
  description?: string;
}

/** Instruments: read by anyone, created by admins (v2). */
export class Instruments {
  constructor(protected readonly ctx: Context) {}

  list(options: ListOptions & { name?: string } = {}): PageIterable<CrucibleInstrument, unknown> {
    const query = { instrument_name: options.name };
    return offsetOrArrayList(this.ctx, 'instruments', instrumentSchema, query, options);
  }

  // issue 13: basics
  /** Instruments whose name matches `text` (fuzzy, best first; spec §19.2). One request, sent when iterated. */
  search(text: string, options: SearchOptions = {}): PageIterable<CrucibleInstrument, unknown> {
    return searchList(this.ctx, 'instruments/search', instrumentSchema, text, {}, options);
  }

  /** The instrument's scientific metadata as a flat object; `{}` when it has none (v2). */
  async metadata(iid: string, options: RequestOptions = {}): Promise<Record<string, unknown>> {
    return readMetadata(this.ctx, v2Only(this.ctx, iid, 'instrument'), options);
  }

  /** Deep-merges `metadata` into the instrument's (v2; admins write instruments). */
  async mergeMetadata(
    iid: string,
    metadata: Record<string, unknown>,
    options: RequestOptions = {},
  ): Promise<Record<string, unknown>> {
    return setMetadata(this.ctx, v2Only(this.ctx, iid, 'instrument'), metadata, 'merge', options);
  }

  /** Replaces the instrument's metadata with `metadata` (v2; not repeated blindly). */
  async replaceMetadata(
    iid: string,
    metadata: Record<string, unknown>,
    options: RequestOptions = {},
  ): Promise<Record<string, unknown>> {
    return setMetadata(this.ctx, v2Only(this.ctx, iid, 'instrument'), metadata, 'replace', options);
  }

  /** By id (MFID), or by name when `byName` (v1 names are case-insensitive). */
  async get(key: string, options: RequestOptions & { byName?: boolean } = {}): Promise<CrucibleInstrument> {
    if (options.byName || this.ctx.version === 'v1') {
      const query = options.byName ? { instrument_name: key } : { unique_id: key };
      const items = await call(this.ctx, 'instruments', itemsOf(instrumentSchema), {
        query,
        ...requestOptions(options),
      });
      const match = items[items.length - 1];
      if (!match) {
        throw new NotFoundError(
          {
            status: 404,
            method: 'GET',
            url: this.ctx.http.url('instruments', query).href,
            service: 'crucible',
          },
          `No instrument ${options.byName ? 'named ' : ''}${key}`,
        );
      }
      return match;
    }
    return getRecord(
      this.ctx,
      `instruments/${id(key, 'instrument id')}`,
      instrumentSchema,
      `instrument ${key}`,
      requestOptions(options),
    );
  }

  /**
   * The instrument of this name, created when there is none and `owner` and `location` are given (the
   * reference client's `get_or_add_instrument`).
   */
  async getOrCreate(input: InstrumentInput, options: RequestOptions = {}): Promise<CrucibleInstrument> {
    try {
      return await this.get(input.instrumentName, { ...requestOptions(options), byName: true });
    } catch (error) {
      if (!NotFoundError.isInstance(error) || !input.owner || !input.location) throw error;
    }
    return this.create(input, options);
  }

  /** Creates an instrument (admins, on v2). */
  async create(input: InstrumentInput, options: RequestOptions = {}): Promise<CrucibleInstrument> {
    if (!input.instrumentName?.trim()) throw new UsageError('An instrument needs a name');
    if (!input.owner || !input.location) throw new UsageError('An instrument needs an owner and a location');
    return call(this.ctx, 'instruments', instrumentSchema, {
      method: 'POST',
      adminOnly: 'Creating an instrument',
      json: body({
        instrument_name: input.instrumentName,
        owner: input.owner,
        location: input.location,
        manufacturer: input.manufacturer,
        model: input.model,
        instrument_type: input.instrumentType,
        description: input.description,
      }),
      ...requestOptions(options),
    });
  }
}
