import type { Command } from 'commander';
import { info, printJson } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { type ConnectionOptions, connectionOptions, makeClient } from './shared.js';

/** `sciport icsd login`: checks the credentials (a login, then a logout; no token is printed). */
export function registerLogin(parent: Command, { action }: CommandApi): void {
  connectionOptions(
    parent.command('login').description('check the credentials: log in, then out (no token is printed)'),
  ).action(
    action(async (ctx, options: ConnectionOptions) => {
      const client = await makeClient(ctx, options);
      await client.login({ signal: ctx.signal });
      await client.logout();
      if (ctx.json) printJson(ctx.out, { ok: true, baseUrl: client.baseUrl });
      else info(ctx, `Logged in to ${client.baseUrl} and out again: the credentials work`);
    }),
  );
}
