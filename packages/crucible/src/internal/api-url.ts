import { NotFoundError, redactUrl, UsageError } from '@sciport/core';
import { CRUCIBLE_SETTINGS } from '../credentials.js';
import type { ApiVersion } from './context.js';

/**
 * The API URL's version path (`…/api/v2`, `…/api/v1`, `…/testapi`): every path is appended to it, so a URL
 * without it (`http://host:port`) answers 404 to everything. Caught up front where the URL is a bare host (or
 * `…/api`), and named in the hint of a 404 where the URL has some other path.
 */

/** The API version an URL implies, if it says. */
export function versionFromUrl(baseUrl: string): ApiVersion | undefined {
  const path = new URL(baseUrl).pathname.replace(/\/+$/, '');
  if (/\/v2$/.test(path)) return 'v2';
  if (/\/v1$/.test(path) || /\/testapi(-staging)?$/.test(path)) return 'v1';
  return undefined;
}

/** The URL with the version path it lacks (`http://host:port` → `http://host:port/api/v2`), or undefined. */
export function expectedApiUrl(baseUrl: string): string | undefined {
  if (versionFromUrl(baseUrl) !== undefined) return undefined;
  const url = new URL(redactUrl(baseUrl));
  url.search = '';
  url.hash = '';
  const path = url.pathname.replace(/\/+$/, '').replace(/\/api$/, '');
  return `${url.origin}${path}/api/v2`;
}

/** True for a URL that is a bare host, or a host and `/api`: never a Crucible API. */
function isBareHost(baseUrl: string): boolean {
  return /^\/?(api\/?)?$/.test(new URL(baseUrl).pathname);
}

function setTo(expected: string): string {
  return `Set ${CRUCIBLE_SETTINGS.baseUrl.env} (or --api-url) to ${expected} (…/api/v1 for the older API)`;
}

/** Refuses a bare-host API URL when no API version is given either: every call would answer 404. */
export function checkApiUrl(baseUrl: string, apiVersion: ApiVersion | undefined): void {
  const expected = expectedApiUrl(baseUrl);
  if (expected === undefined || apiVersion !== undefined || !isBareHost(baseUrl)) return;
  throw new UsageError(
    `The Crucible API URL ${redactUrl(baseUrl)} has no API version path: it should look like ${expected}`,
    { hint: setTo(expected) },
  );
}

/**
 * A 404 from an API URL without its version path (one given with `apiVersion`, or another path): its hint asks
 * whether the URL lacks it, with the expected form.
 */
export function explainMissingVersion(error: unknown, baseUrl: string): unknown {
  if (!NotFoundError.isInstance(error) || error.hint !== undefined) return error;
  const expected = expectedApiUrl(baseUrl);
  if (expected === undefined) return error;
  return new NotFoundError({
    status: error.status,
    method: error.method,
    url: error.url,
    service: error.service,
    requestId: error.requestId,
    body: error.body,
    detail: error.detail,
    cause: error,
    hint: `Does the API URL ${redactUrl(baseUrl)} lack its version path? ${setTo(expected)}`,
  });
}
