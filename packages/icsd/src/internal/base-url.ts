import { redactUrl, UsageError } from '@sciport/core';
import { ICSD_SETTINGS } from '../credentials.js';

/**
 * The ICSD API lives under `/ws` (or `/api/ws`) on its host: a URL without that path (`https://host`) answers
 * every call with 404. A bare host is refused up front; a 404 at login names the expected form.
 */

/** The URL with the API path it lacks (`https://host` → `https://host/ws`), or undefined when it ends in `/ws`. */
export function expectedIcsdUrl(baseUrl: string): string | undefined {
  const url = new URL(redactUrl(baseUrl));
  const path = url.pathname.replace(/\/+$/, '');
  if (/\/ws$/.test(path)) return undefined;
  return `${url.origin}${path}/ws`;
}

/** How to set it, for messages. */
export function setIcsdUrl(expected: string): string {
  return `Set ${ICSD_SETTINGS.baseUrl.env} (or --base-url) to ${expected} (or …/api/ws)`;
}

/** Refuses a URL that is a bare host (or a host and `/api`): it is never the ICSD API. */
export function checkIcsdUrl(baseUrl: string): void {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new UsageError(`Invalid ICSD API URL ${JSON.stringify(redactUrl(baseUrl))}`, {
      hint: `It looks like https://icsd.fiz-karlsruhe.de/ws`,
    });
  }
  const expected = expectedIcsdUrl(baseUrl);
  if (expected === undefined || !/^\/?(api\/?)?$/.test(url.pathname)) return;
  throw new UsageError(
    `The ICSD API URL ${redactUrl(baseUrl)} has no API path: it should look like ${expected}`,
    { hint: setIcsdUrl(expected) },
  );
}
