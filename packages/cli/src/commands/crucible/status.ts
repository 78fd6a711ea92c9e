import { MissingCredentialsError } from '@sciport/core';
import { CRUCIBLE_SETTINGS, CrucibleClient, type CrucibleStatus } from '@sciport/crucible';
import type { Command } from 'commander';
import { resolveSettings, timeoutMs } from '../../client-factory.js';
import { ExitCode, ExitError } from '../../exit-codes.js';
import { printJson } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { type ApiOptions, apiOptions, makeClient } from './shared.js';

/** The three lines of `status`: live, ready, key. */
export function statusLines(s: CrucibleStatus): string[] {
  const mark = (ok: boolean) => (ok ? 'ok  ' : 'FAIL');
  const r = s.ready;
  const ready = r.available
    ? `status ${r.status ?? '?'}, db ${r.db ?? '?'}${r.dbMs !== null ? ` (${r.dbMs} ms)` : ''}${r.version ? `, version ${r.version}` : ''}`
    : (r.error ?? 'health not available');
  const key = s.key.ok
    ? `${s.key.user ?? 'a key without a user name'}${s.key.userId ? ` (${s.key.userId})` : ''}`
    : (s.key.error ?? 'not accepted');
  return [
    `${mark(s.live.ok)}  live   ${s.live.ok ? 'the service is up' : (s.live.error ?? 'not live')}`,
    `${mark(r.ok)}  ready  ${ready}`,
    `${mark(s.key.ok)}  key    ${key}`,
  ];
}

/**
 * `sciport crucible status` (spec §19.7): `/health/live` and `/health/ready` without the key, then `/account`
 * with it; one line per check, exit 0 only when all three are good (else 1).
 */
export function registerStatus(command: Command, { action }: CommandApi): void {
  apiOptions(
    command
      .command('status')
      .description('is the service live and ready, and does the key work? (exit 0 only when all are)'),
  ).action(
    action(async (ctx, o: ApiOptions) => {
      let client: CrucibleClient;
      try {
        client = await makeClient(ctx, o);
      } catch (error) {
        if (!MissingCredentialsError.isInstance(error)) throw error;
        // Health needs no key: check it anyway, and report the key as missing.
        const found = await resolveSettings(ctx, CRUCIBLE_SETTINGS, { baseUrl: { flag: o.apiUrl } });
        const timeout = timeoutMs(o.timeout);
        client = new CrucibleClient({
          ...(found.baseUrl ? { baseUrl: found.baseUrl } : {}),
          ...(o.apiVersion ? { apiVersion: o.apiVersion } : {}),
          ...(timeout ? { timeout } : {}),
        });
      }
      const status = await client.status({ signal: ctx.signal });
      if (ctx.json) printJson(ctx.out, status);
      else ctx.out.write(`${statusLines(status).join('\n')}\n`);
      if (!status.ok) throw new ExitError(ExitCode.Error);
    }),
  );
}
