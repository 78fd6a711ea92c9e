import type { Command } from 'commander';
import { info, printNdjson, printTable } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { makeClient, type StackOptions, stackOption } from './shared.js';

/** `sciport fragalysis targets`: the visible targets, with their target access strings. */
export function registerTargets(command: Command, { action }: CommandApi): void {
  stackOption(
    command.command('targets').description('list the targets you can see, with their target access strings'),
  ).action(
    action(async (ctx, options: StackOptions) => {
      const client = await makeClient(ctx, options);
      const rows: Array<{ id: number; title: string; tas: string; name: string }> = [];
      for await (const t of client.targets.list({ signal: ctx.signal })) {
        if (ctx.json)
          printNdjson(ctx.out, { id: t.id, title: t.title, tas: t.tas, displayName: t.displayName ?? null });
        else rows.push({ id: t.id, title: t.title, tas: t.tas, name: t.displayName ?? '' });
      }
      if (!ctx.json) {
        printTable(ctx, rows, [
          { header: 'title', value: 'title' },
          { header: 'tas', value: 'tas' },
          { header: 'id', value: 'id', align: 'right' },
          { header: 'display name', value: 'name' },
        ]);
        info(ctx, `${rows.length} targets on ${client.baseUrl}`);
      }
    }),
  );
}
