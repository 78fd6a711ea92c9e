import type { Command } from 'commander';
import { info } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { type ApiOptions, apiOptions, makeClient } from './shared.js';

/** `sciport crucible link-datasets: a derived dataset under its parent`. */
export function registerLinkDatasets(command: Command, { action }: CommandApi): void {
  apiOptions(
    command
      .command('link-datasets')
      .description('link a derived dataset to its parent')
      .argument('<parent>', 'the parent dataset id')
      .argument('<child>', 'the derived (child) dataset id'),
  ).action(
    action(async (ctx, parent: string, child: string, o: ApiOptions) => {
      const client = await makeClient(ctx, o);
      await client.datasets.linkChild(parent, child, { signal: ctx.signal });
      info(ctx, `Linked ${child} as a child of ${parent}`);
    }),
  );
}
