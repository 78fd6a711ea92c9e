import type { Command } from 'commander';
import { info, printJson } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { type ApiOptions, apiOptions, makeClient, readJsonObject } from './shared.js';

/** `sciport crucible metadata get | set | merge: a dataset's scientific metadata`. */
export function registerMetadata(command: Command, { action }: CommandApi): void {
  const metadata = command.command('metadata').description("a dataset's scientific metadata");
  apiOptions(
    metadata.command('get').argument('<dataset>', 'dataset id').description('print it as JSON'),
  ).action(
    action(async (ctx, dsid: string, o: ApiOptions) => {
      const client = await makeClient(ctx, o);
      printJson(ctx.out, await client.datasets.metadata(dsid, { signal: ctx.signal }));
    }),
  );
  for (const [name, mode, description] of [
    ['set', 'replace', 'replace it with a JSON object'],
    ['merge', 'merge', 'deep-merge a JSON object into it'],
  ] as const) {
    apiOptions(
      metadata
        .command(name)
        .description(description)
        .argument('<dataset>', 'dataset id')
        .argument('<json>', 'a JSON object, a file holding one, or - for stdin'),
    ).action(
      action(async (ctx, dsid: string, source: string, o: ApiOptions) => {
        const value = await readJsonObject(ctx, source);
        const client = await makeClient(ctx, o);
        const result =
          mode === 'replace'
            ? await client.datasets.replaceMetadata(dsid, value, { signal: ctx.signal })
            : await client.datasets.mergeMetadata(dsid, value, { signal: ctx.signal });
        if (ctx.json) printJson(ctx.out, result);
        else info(ctx, `Metadata of ${dsid} ${mode === 'replace' ? 'replaced' : 'merged'}`);
      }),
    );
  }
}
