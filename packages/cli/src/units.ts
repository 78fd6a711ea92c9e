/**
 * Numbers, durations and times for people: the one place the CLI decides how a size, a rate, a wait or a
 * server timestamp looks, so every command and table prints them alike.
 */

/** A byte count for people: `812 B`, `4.2 KiB`, `12.0 MiB`, `1.50 GiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** A duration for people, whole seconds: `45s`, `1m 20s`, `2h 05m`. Undefined for no finite duration. */
export function formatDuration(seconds: number): string | undefined {
  if (!Number.isFinite(seconds) || seconds < 0) return undefined;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(s / 3600);
  if (h >= 100) return `${h}h`;
  return `${h}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A rate for people: `12.3 MiB/s` for bytes, `4.5/s` for items. */
export function formatRate(perSecond: number, unit: 'bytes' | 'items'): string {
  if (unit === 'bytes') return `${formatBytes(Math.round(perSecond))}/s`;
  return `${perSecond >= 10 ? Math.round(perSecond) : perSecond.toFixed(1)}/s`;
}

/** The zone every date column and date line of the CLI is printed in, named in the header: `CREATED (UTC)`. */
export const TABLE_TIME_ZONE = 'UTC';

/** A column header naming the zone of its times: `created` → `created (UTC)`. */
export function timeHeader(name: string): string {
  return `${name} (${TABLE_TIME_ZONE})`;
}

/**
 * A server timestamp in UTC, to the second: `2026-01-15 19:01:54`. A timestamp without an offset is taken as
 * UTC (Crucible's server-set times are UTC and sent without one, spec §15); one with an offset is converted.
 * Text that is not a timestamp is returned as it is; nothing gives `''`.
 */
export function formatTimestamp(value: string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '';
  const ms = parseTimestamp(value);
  if (ms === undefined) return value;
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** Milliseconds since the epoch of an ISO-8601 timestamp (UTC when it carries no offset), or undefined. */
export function parseTimestamp(value: string): number | undefined {
  const text = value.trim();
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/i.test(text))
    return undefined;
  const hasTime = /[T ]\d{2}:/.test(text);
  const hasZone = /(Z|[+-]\d{2}(:?\d{2})?)$/i.test(text) && hasTime;
  const iso = hasTime ? text.replace(' ', 'T') : `${text}T00:00:00`;
  const ms = Date.parse(hasZone ? iso : `${iso}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}
