import { UsageError } from '@sciport/core';
import type { Command } from 'commander';
import { info, printJson } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { type ApiOptions, apiOptions, makeClient, readJsonObject } from './shared.js';

/**
 * `sciport crucible metadata <id> --merge FILE | --replace FILE`: the scientific metadata of any record (a
 * dataset, sample or instrument by MFID, a project by its id; spec §19.6), the result printed as JSON. The
 * older `metadata get | set | merge <dataset>` stay.
 */
export function registerMetadata(command: Command, { action }: CommandApi): void {
  const metadata = apiOptions(
    command
      .command('metadata')
      .description('scientific metadata of a dataset, sample, instrument or project')
      .argument('[id]', 'dataset, sample or instrument id, or project id')
      .option('--merge <file>', 'deep-merge the JSON object in this file (- for stdin) into it')
      .option('--replace <file>', 'replace it with the JSON object in this file (- for stdin)'),
  );
  metadata.action(
    action(async (ctx, id: string | undefined, o: ApiOptions & { merge?: string; replace?: string }) => {
      if (!id)
        throw new UsageError('Give an id: `sciport crucible metadata <id> --merge FILE | --replace FILE`');
      if ((o.merge === undefined) === (o.replace === undefined))
        throw new UsageError('Give exactly one of --merge FILE and --replace FILE');
      const source = (o.merge ?? o.replace) as string;
      const value = await readJsonObject(ctx, source);
      const client = await makeClient(ctx, o);
      const result =
        o.merge !== undefined
          ? await client.resources.mergeMetadata(id, value, { signal: ctx.signal })
          : await client.resources.replaceMetadata(id, value, { signal: ctx.signal });
      printJson(ctx.out, result);
    }),
  );
  // The parent reads the API flags wherever they stand: a subcommand takes them from it.
  const withParent = <O extends ApiOptions>(o: O): O => ({ ...(metadata.opts() as ApiOptions), ...o });
  apiOptions(
    metadata.command('get').argument('<dataset>', 'dataset id').description("print a dataset's, as JSON"),
  ).action(
    action(async (ctx, dsid: string, o: ApiOptions) => {
      const client = await makeClient(ctx, withParent(o));
      printJson(ctx.out, await client.datasets.metadata(dsid, { signal: ctx.signal }));
    }),
  );
  for (const [name, mode, description] of [
    ['set', 'replace', "replace a dataset's with a JSON object"],
    ['merge', 'merge', "deep-merge a JSON object into a dataset's"],
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
        const client = await makeClient(ctx, withParent(o));
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
