import type { Command } from 'commander';
import { printNdjson, printTable } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { makeClient, type StackOptions, stackOption } from './shared.js';

/** `sciport fragalysis uploads`: the last upload index and time per target. */
export function registerUploads(command: Command, { action }: CommandApi): void {
  stackOption(
    command.command('uploads').description('upload history: last upload index and time per target'),
  ).action(
    action(async (ctx, options: StackOptions) => {
      const client = await makeClient(ctx, options);
      const stats = await client.uploads.list({ signal: ctx.signal }).toArray();
      if (ctx.json) {
        for (const s of stats) {
          printNdjson(ctx.out, {
            targetId: s.targetId,
            target: s.targetName,
            tas: s.tas,
            projectId: s.projectId ?? null,
            lastUploadIndex: s.lastUploadIndex,
            lastUploadTimestamp: s.lastUploadTimestamp.toISOString(),
            uploads: s.uploads.length,
          });
        }
        return;
      }
      printTable(ctx, stats, [
        { header: 'target', value: 'targetName' },
        { header: 'tas', value: 'tas' },
        { header: 'last upload', value: 'lastUploadIndex', align: 'right' },
        { header: 'at', value: (s) => s.lastUploadTimestamp.toISOString() },
      ]);
    }),
  );
}
