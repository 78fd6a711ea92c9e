import { type ServiceSettings, suggestSimilar, UsageError } from '@sciport/core';
import { CRUCIBLE_SETTINGS } from '@sciport/crucible';
import { FRAGALYSIS_SETTINGS } from '@sciport/fragalysis';
import { ICSD_SETTINGS } from '@sciport/icsd';

/**
 * The keys `sciport config` knows: every `configKey` of the services' settings tables (`ICSD_SETTINGS`,
 * `CRUCIBLE_SETTINGS`, `FRAGALYSIS_SETTINGS`), read from the tables themselves, so that a setting a service adds
 * is a key here without another list to keep.
 */
export const SERVICE_SETTINGS: readonly ServiceSettings[] = [
  ICSD_SETTINGS,
  CRUCIBLE_SETTINGS,
  FRAGALYSIS_SETTINGS,
];

/** Every known config key, in the tables' order. */
export function knownConfigKeys(): string[] {
  const keys: string[] = [];
  for (const table of SERVICE_SETTINGS) {
    for (const spec of Object.values(table)) if (!keys.includes(spec.configKey)) keys.push(spec.configKey);
  }
  return keys;
}

/**
 * Refuses a key no service reads (a UsageError, exit 2), with "Did you mean …?" as for a mistyped command.
 * `present`: the key is in the files anyway (saved by hand or by an older version), so `get` and `unset` may
 * still reach it.
 */
export function checkKnownKey(key: string, present = false): void {
  const known = knownConfigKeys();
  if (present || known.includes(key)) return;
  const near = suggestSimilar(key, known);
  throw new UsageError(`Unknown config key ${JSON.stringify(key)}`, {
    hint: near.length
      ? `Did you mean ${near.join(' or ')}? Run \`sciport config --help\` for the keys`
      : `The keys are ${known.join(', ')}`,
  });
}
