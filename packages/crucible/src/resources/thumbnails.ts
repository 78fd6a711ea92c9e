import {
  type ListOptions,
  type PageIterable,
  type RequestOptions,
  requestOptions,
  singlePage,
  UsageError,
} from '@sciport/core';
import { z } from 'zod';
import { type Context, call, id } from '../internal/context.js';

import { itemsOf } from '../schemas/common.js';
import { type CrucibleThumbnail, thumbnailSchema } from '../schemas/datasets.js';

/** Dataset thumbnails: small images, base64 in JSON (spec §16.6). */
export class Thumbnails {
  constructor(protected readonly ctx: Context) {}

  list(datasetId: string, options: ListOptions = {}): PageIterable<CrucibleThumbnail, unknown> {
    const path = `datasets/${id(datasetId, 'dataset id')}/thumbnails`;
    return singlePage(
      (signal) => call(this.ctx, path, itemsOf(thumbnailSchema), { ...requestOptions(options), signal }),
      options,
    );
  }

  /** Adds a thumbnail from image bytes. */
  async add(
    datasetId: string,
    name: string,
    image: Uint8Array,
    options: RequestOptions = {},
  ): Promise<CrucibleThumbnail> {
    const sent = { thumbnail_name: name, thumbnail_b64str: toBase64(image) };
    const made = await call(
      this.ctx,
      `datasets/${id(datasetId, 'dataset id')}/thumbnails`,
      thumbnailSchema.nullable(),
      { method: 'POST', json: sent, ...requestOptions(options) },
    );
    // A 2xx without a body (spec §3): the thumbnail as sent.
    return made ?? thumbnailSchema.parse(sent);
  }

  /** Removes a thumbnail (v2). */
  async delete(datasetId: string, thumbnailId: number, options: RequestOptions = {}): Promise<void> {
    if (this.ctx.version !== 'v2') throw new UsageError('Deleting thumbnails needs API v2');
    await call(
      this.ctx,
      `datasets/${id(datasetId, 'dataset id')}/thumbnails/${id(thumbnailId, 'thumbnail id')}`,
      z.unknown(),
      { method: 'DELETE', ...requestOptions(options) },
    );
  }
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
