import { UsageError } from '@sciport/core';
import type { Command } from 'commander';
import { info, printJson, printNdjson, printTable } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { type ApiOptions, apiOptions, limitOption, makeClient, requireText, wire } from './shared.js';

/** `sciport crucible samples list | create | link`. */
export function registerSamples(command: Command, { action }: CommandApi): void {
  const samples = command.command('samples').description('samples and their links');
  apiOptions(
    samples
      .command('list')
      .description('samples you can read (newest first on v2)')
      .option('--project <id>', 'only this project')
      .option('--dataset <id>', 'samples of this dataset')
      .option('--limit <n>', 'at most this many'),
  ).action(
    action(async (ctx, o: ApiOptions & { project?: string; dataset?: string; limit?: string }) => {
      const limit = limitOption(o.limit);
      const client = await makeClient(ctx, o);
      const rows: Array<Record<string, string>> = [];
      for await (const s of client.samples.list({
        signal: ctx.signal,
        ...(o.project ? { projectId: o.project } : {}),
        ...(o.dataset ? { datasetId: o.dataset } : {}),
        ...(limit ? { limit } : {}),
      })) {
        if (ctx.json) printNdjson(ctx.out, wire(s));
        else
          rows.push({
            id: s.uniqueId,
            name: s.sampleName ?? '',
            type: s.sampleType ?? '',
            project: s.projectId ?? '',
          });
      }
      if (!ctx.json) {
        printTable(ctx, rows, [
          { header: 'id', value: 'id' },
          { header: 'name', value: 'name' },
          { header: 'type', value: 'type' },
          { header: 'project', value: 'project' },
        ]);
      }
    }),
  );
  apiOptions(
    samples
      .command('create')
      .description('create a sample and print its id')
      .requiredOption('--name <name>', 'sample name')
      .option('--type <type>', 'sample type (e.g. powder, thin film)')
      .option('--description <text>', 'free-text description')
      .option('--project <id>', 'the project it belongs to'),
  ).action(
    action(
      async (
        ctx,
        o: ApiOptions & { name: string; type?: string; description?: string; project?: string },
      ) => {
        requireText({ '--name': o.name });
        const client = await makeClient(ctx, o);
        const s = await client.samples.create(
          {
            sampleName: o.name,
            ...(o.type ? { sampleType: o.type } : {}),
            ...(o.description ? { description: o.description } : {}),
            ...(o.project ? { projectId: o.project } : {}),
          },
          { signal: ctx.signal },
        );
        if (ctx.json) printJson(ctx.out, wire(s));
        else ctx.out.write(`${s.uniqueId}\n`);
      },
    ),
  );
  apiOptions(
    samples
      .command('link')
      .description('link a sample to a dataset, or (--child) a child sample to a parent sample')
      .argument('<sample>', 'sample id')
      .option('--dataset <id>', 'the dataset to link')
      .option('--child <id>', 'a child sample'),
  ).action(
    action(async (ctx, sid: string, o: ApiOptions & { dataset?: string; child?: string }) => {
      if (!o.dataset && !o.child) throw new UsageError('Give --dataset or --child');
      const client = await makeClient(ctx, o);
      if (o.dataset) await client.datasets.linkSample(o.dataset, sid, { signal: ctx.signal });
      if (o.child) await client.samples.linkChild(sid, o.child, { signal: ctx.signal });
      info(ctx, 'Linked');
    }),
  );
}
