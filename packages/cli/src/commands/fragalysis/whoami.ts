import { NotFoundError } from '@sciport/core';
import type { FragalysisUser } from '@sciport/fragalysis';
import type { Command } from 'commander';
import { printJson } from '../../output.js';
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
      if (ctx.json)
        printJson(ctx.out, {
          stack: client.baseUrl,
          user: user?.user ?? null,
          targetAccess: user?.targetAccess ?? [],
        });
      else
        ctx.out.write(
          `${user?.user ?? 'anonymous'} on ${client.baseUrl}\n${(user?.targetAccess ?? []).join('\n')}\n`,
        );
    }),
  );
}
