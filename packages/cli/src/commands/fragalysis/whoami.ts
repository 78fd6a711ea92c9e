import { NotFoundError } from '@sciport/core';
import { FRAGALYSIS_SETTINGS, type FragalysisUser } from '@sciport/fragalysis';
import type { Command } from 'commander';
import { info, printJson } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { makeClient, type StackOptions, stackOption } from './shared.js';

/** `sciport fragalysis whoami`: who the stack thinks you are, and your proposals. */
export function registerWhoami(command: Command, { action }: CommandApi): void {
  stackOption(
    command.command('whoami').description('who the stack thinks you are, and your proposals'),
  ).action(
    action(async (ctx, options: StackOptions) => {
      const client = await makeClient(ctx, options);
      let user: FragalysisUser | undefined;
      try {
        user = await client.users.me({ signal: ctx.signal });
      } catch (error) {
        // A stack without /api/user/ cannot check a token (a warning says so): shown as anonymous.
        if (!(client.authenticated && NotFoundError.isInstance(error))) throw error;
      }
      // The stack names an anonymous visitor with an empty `user` (spec §4.12): said as "anonymous" (issue 15).
      const name = user?.user?.trim() || undefined;
      const anonymous = name === undefined && !client.authenticated;
      const access = user?.targetAccess ?? [];
      if (ctx.json)
        printJson(ctx.out, {
          stack: client.baseUrl,
          user: name ?? null,
          anonymous,
          targetAccess: access,
        });
      else {
        const who = name ?? (anonymous ? 'anonymous' : 'unknown (this stack cannot check the token)');
        ctx.out.write(`${who} on ${client.baseUrl}\n${access.map((tas) => `${tas}\n`).join('')}`);
        if (anonymous) {
          info(
            ctx,
            `No token: public proposals only. For yours, set ${FRAGALYSIS_SETTINGS.token.env} (or ${FRAGALYSIS_SETTINGS.accessToken.env})`,
          );
        }
      }
    }),
  );
}
