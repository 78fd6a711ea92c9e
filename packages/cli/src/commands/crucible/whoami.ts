import type { Command } from 'commander';
import { printJson } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { type ApiOptions, apiOptions, makeClient } from './shared.js';

/** `sciport crucible whoami: check the key and show the account`. */
export function registerWhoami(command: Command, { action }: CommandApi): void {
  apiOptions(command.command('whoami').description('check the key and show the account')).action(
    action(async (ctx, options: ApiOptions) => {
      const client = await makeClient(ctx, options);
      const account = await client.users.me({ signal: ctx.signal });
      const user = account.userInfo;
      if (ctx.json) {
        printJson(ctx.out, {
          apiUrl: client.baseUrl,
          apiVersion: client.apiVersion,
          user: user
            ? {
                id: user.uniqueId ?? user.orcid ?? null,
                name: [user.firstName, user.lastName].filter(Boolean).join(' '),
              }
            : null,
          accessGroupIds: account.accessGroupIds ?? [],
        });
      } else {
        // The client refuses an account that names no user: one of these ids is there.
        const who = account.userUniqueId || account.accessGroupName || user?.uniqueId || user?.orcid;
        const name = user ? [user.firstName, user.lastName].filter(Boolean).join(' ') : '';
        ctx.out.write(
          `${name || (user ? 'a user without a name' : 'a key without a user record')} (${who}) on ${client.baseUrl} [${client.apiVersion}]\n`,
        );
      }
    }),
  );
}
