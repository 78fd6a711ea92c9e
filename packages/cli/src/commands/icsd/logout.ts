import type { Command } from 'commander';
import { info, printJson, warn } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { type ConnectionOptions, connectionOptions, makeClient } from './shared.js';

/**
 * `sciport icsd logout`: ends the session `sciport icsd login` kept for this server and account, and forgets it
 * whatever the service answers (a 401 means it had ended already). Without a kept session there is nothing to do
 * (exit 0). Needs the username (the session is kept per account), not the password.
 */
export function registerLogout(parent: Command, { action }: CommandApi): void {
  connectionOptions(
    parent.command('logout').description('end and forget the session `sciport icsd login` kept'),
  ).action(
    action(async (ctx, options: ConnectionOptions) => {
      const client = await makeClient(ctx, options, { session: 'keep', password: false });
      const result = await client.logout();
      if (ctx.json) {
        printJson(ctx.out, { ok: true, baseUrl: client.baseUrl, ...result });
        return;
      }
      if (result.sessions === 0) {
        info(ctx, `No ICSD session is kept for ${client.baseUrl}: nothing to log out of`);
      } else if (result.failed > 0) {
        warn(
          ctx,
          `ICSD did not confirm the logout; the session is forgotten here and ends by itself within an hour`,
        );
      } else if (result.ended === 0) {
        info(ctx, 'The ICSD session had already ended on the server (401); it is forgotten');
      } else {
        info(ctx, `Logged out of ${client.baseUrl}; the kept session is forgotten`);
      }
    }),
  );
}
