import type { FaultMatch } from '../faults.js';
import { fixedAnswer, type HostileRoute } from './scenarios.js';

/**
 * Storage that misbehaves the way a Google-Cloud-Storage look-alike can: resumable upload sessions that never
 * move on, signed URLs that send the client elsewhere. Match them on the simulator's storage mount
 * (`/storage/upload/*` for session URIs, `/storage/mf-storage-prod/<dataset>/<name>` for one file).
 */

/**
 * Every request answered `308 Resume Incomplete`, with `Range: <range>` (e.g. `bytes=0-0`: one byte
 * persisted, forever) or without any `Range` (nothing persisted, forever). `stats.requests` counts the PUTs.
 */
export function resumeIncompleteForever(
  match: FaultMatch,
  options: { range?: string | undefined } = {},
): HostileRoute {
  return fixedAnswer(match, { status: 308, headers: options.range ? { range: options.range } : {} });
}

/** A redirect (302 by default) to `location`: storage sending a download to another host. */
export function redirectTo(
  match: FaultMatch,
  location: string,
  options: { status?: number } = {},
): HostileRoute {
  return fixedAnswer(match, { status: options.status ?? 302, headers: { location } });
}
