import type { Command } from 'commander';
import { info, printJson } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { type ApiOptions, apiOptions, makeClient, wire } from './shared.js';

/** `sciport crucible keywords add`. */
export function registerKeywords(command: Command, { action }: CommandApi): void {
  apiOptions(
    command
      .command('keywords')
      .description('dataset keywords')
      .command('add')
      .argument('<dataset>')
      .argument('<keyword...>'),
  ).action(
    action(async (ctx, dsid: string, keywords: string[], o: ApiOptions) => {
      const client = await makeClient(ctx, o);
      const added = await client.keywords.add(dsid, keywords, { signal: ctx.signal });
      if (ctx.json) printJson(ctx.out, wire(added));
      else info(ctx, `Added ${added.length} keywords to ${dsid}`);
    }),
  );
}
