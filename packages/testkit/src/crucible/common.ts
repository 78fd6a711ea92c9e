import type { CrucibleSimUser } from './model.js';

/** The API version a mount serves. */
export type Version = 'v1' | 'v2';

/** What a route handler gets: the request, its path parameters and query, and the authenticated user. */
export interface Ctx {
  readonly request: Request;
  readonly url: URL;
  readonly version: Version;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly user: CrucibleSimUser;
}

export type Handler = (ctx: Ctx) => Response | Promise<Response>;

/** What a record's serialisation includes (v2 `include_*` flags). */
export interface Includes {
  metadata: boolean;
  links: boolean;
  owner: boolean;
}

export type Getter<T> = (x: T) => string | number | boolean | null;

export const ADMIN_ONLY = 'Requires admin permissions';
export const GRANULE = 256 * 1024;
export const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
export const BOTH: readonly Version[] = ['v1', 'v2'];
export const V1: readonly Version[] = ['v1'];
export const V2: readonly Version[] = ['v2'];

export function basename(name: string): string {
  const parts = name.split(/[\\/]/);
  return parts[parts.length - 1] ?? name;
}

export function extension(name: string): string {
  const base = basename(name);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}
