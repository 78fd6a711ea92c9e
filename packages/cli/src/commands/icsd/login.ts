import { KEPT_SESSION_MAX_AGE_MS } from '@sciport/icsd';
import type { Command } from 'commander';
import { ExitCode, ExitError } from '../../exit-codes.js';
import { info, printJson } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { type ConnectionOptions, connectionOptions, makeClient, minutesAgo } from './shared.js';

/**
 * `sciport icsd login`: logs in and keeps the session in the credentials file (mode 0600) for the other commands,
 * until it expires or `sciport icsd logout`. A session already kept and still valid is used as it is (a second
 * login would take another of the account's few session slots). No token is ever printed.
 */
export function registerLogin(parent: Command, { action }: CommandApi): void {
  connectionOptions(
    parent
      .command('login')
      .description(
        'log in and keep the session for the other commands, until it expires or `sciport icsd logout` (no token is printed)',
      ),
  ).action(
    action(async (ctx, options: ConnectionOptions) => {
      const client = await makeClient(ctx, options, { session: 'keep' });
      let kept: { loginTime: number; reused: boolean } | undefined;
      client.onEvent((event) => {
        if (event.type === 'keptSession' && event.action !== 'forget') {
          kept = { loginTime: event.loginTime, reused: event.action === 'reuse' };
        }
      });
      await client.login({ signal: ctx.signal });
      if (!kept) {
        // The store could not be written (the warning said why): the session ends with the command.
        throw new ExitError(
          ExitCode.Error,
          `Logged in to ${client.baseUrl}, but the session could not be kept; other commands will log in themselves`,
        );
      }
      const until = new Date(kept.loginTime + KEPT_SESSION_MAX_AGE_MS);
      if (ctx.json) {
        printJson(ctx.out, {
          ok: true,
          baseUrl: client.baseUrl,
          reused: kept.reused,
          loginTime: new Date(kept.loginTime).toISOString(),
          keptUntil: until.toISOString(),
        });
        return;
      }
      const time = until.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
      info(
        ctx,
        kept.reused
          ? `Already logged in to ${client.baseUrl} (${minutesAgo(kept.loginTime)}); the session is kept until about ${time}`
          : `Logged in to ${client.baseUrl}; the session is kept for the other commands until about ${time} ` +
              '(`sciport icsd logout` ends it)',
      );
    }),
  );
}
