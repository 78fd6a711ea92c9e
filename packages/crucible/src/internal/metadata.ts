import { type RequestOptions, requestOptions, UsageError } from '@sciport/core';
import { metadataWrapperSchema } from '../schemas/datasets.js';
import { type Context, call, id, writeOnce } from './context.js';

/** Where a resource's scientific metadata lives: v2 any resource, v1 datasets only. */
export function metadataPath(ctx: Context, resourceId: string): string {
  return ctx.version === 'v2'
    ? `resources/${id(resourceId, 'id')}/metadata`
    : `datasets/${id(resourceId, 'dataset id')}/scientific_metadata`;
}

/** A resource's scientific metadata as a flat object; `{}` when it has none. */
export async function readMetadata(
  ctx: Context,
  resourceId: string,
  options: RequestOptions,
): Promise<Record<string, unknown>> {
  const wrapper = await call(
    ctx,
    metadataPath(ctx, resourceId),
    metadataWrapperSchema,
    requestOptions(options),
  );
  return (wrapper?.scientific_metadata as Record<string, unknown> | null | undefined) ?? {};
}

/** Metadata writes for any resource (v2: `/resources/{id}/metadata`; v1: datasets only). */
export async function setMetadata(
  ctx: Context,
  resourceId: string,
  metadata: Record<string, unknown>,
  mode: 'merge' | 'replace',
  options: RequestOptions,
): Promise<Record<string, unknown>> {
  if (!isObject(metadata)) throw new UsageError('Scientific metadata must be a JSON object');
  const v2 = ctx.version === 'v2';
  const path = metadataPath(ctx, resourceId);
  const write = async () => {
    const request =
      mode === 'merge'
        ? // A deep merge of the same object twice leaves the same metadata.
          { method: 'PATCH' as const, json: metadata, idempotent: true }
        : v2
          ? { method: 'POST' as const, json: metadata, query: { overwrite: true } }
          : { method: 'POST' as const, json: metadata };
    const wrapper = await call(ctx, path, metadataWrapperSchema, { ...request, ...requestOptions(options) });
    return (wrapper?.scientific_metadata as Record<string, unknown> | null | undefined) ?? metadata;
  };
  if (mode === 'merge') return write();
  // A replace whose outcome is unknown is sent again only when the metadata is not what was sent.
  return writeOnce(
    ctx,
    write,
    async () => {
      const wrapper = await call(ctx, path, metadataWrapperSchema, requestOptions(options));
      const now = wrapper?.scientific_metadata ?? null;
      return now !== null && sameJson(now, metadata) ? (now as Record<string, unknown>) : undefined;
    },
    options,
  );
}

/** Deep equality of JSON values, key order aside. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]))
    );
  }
  if (!isObject(a) || !isObject(b)) return false;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => k in b && sameJson(a[k], b[k]));
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The id, when the API keeps metadata for this kind of record (v2: any; v1: datasets only). */
export function v2Only(ctx: Context, resourceId: string, what: string): string {
  if (ctx.version !== 'v2')
    throw new UsageError(`${what} metadata needs API v2 (v1 keeps metadata of datasets only)`);
  return resourceId;
}
