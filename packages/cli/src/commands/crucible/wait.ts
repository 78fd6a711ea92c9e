import { UsageError } from '@sciport/core';
import type { Command } from 'commander';
import type { CommandApi } from '../../program.js';
import { type ApiOptions, apiOptions, makeClient, waitAndReport } from './shared.js';

/** `sciport crucible wait: for an ingestion request to end`. */
export function registerWait(command: Command, { action }: CommandApi): void {
  apiOptions(
    command
      .command('wait')
      .description('wait for an ingestion request to end')
      .argument('<request>', 'request id')
      .option('--dataset <id>', 'v1: the dataset of the request')
      .option('--max-wait <seconds>', 'give up after this long (default 1800)'),
  ).action(
    action(async (ctx, id: string, o: ApiOptions & { dataset?: string; maxWait?: string }) => {
      if (!/^\d+$/.test(id)) throw new UsageError(`A request id is a number, got ${id}`);
      const client = await makeClient(ctx, o);
      await waitAndReport(ctx, client, Number(id), o.maxWait, o.dataset);
    }),
  );
}
