import type { Command } from 'commander';
import { info, printJson, printNdjson, printTable } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { type ApiOptions, apiOptions, makeClient, wire } from './shared.js';

/** `sciport crucible keywords list | add`. */
export function registerKeywords(command: Command, { action }: CommandApi): void {
  const keywords = command.command('keywords').description('dataset keywords: list and add');
  apiOptions(
    keywords
      .command('list')
      .description(
        "a dataset's keywords, or without a dataset every keyword in use with how many datasets carry it (GET /keywords: v1, and v2 servers that still serve it)",
      )
      .argument('[dataset]', 'dataset id'),
  ).action(
    action(async (ctx, dsid: string | undefined, o: ApiOptions) => {
      const client = await makeClient(ctx, o);
      const listed = dsid
        ? client.keywords.list(dsid, { signal: ctx.signal })
        : client.keywords.all({ signal: ctx.signal });
      const rows: Array<{ keyword: string; datasets: string }> = [];
      for await (const k of listed) {
        if (ctx.json) printNdjson(ctx.out, wire(k));
        else
          rows.push({
            keyword: k.keyword,
            datasets: k.numDatasets === undefined ? '' : String(k.numDatasets),
          });
      }
      if (ctx.json) return;
      // A dataset's keywords: one a line (counts are the server's totals, not this dataset's).
      if (dsid) printTable(ctx, rows, [{ header: 'keyword', value: 'keyword' }], { header: false });
      else
        printTable(ctx, rows, [
          { header: 'keyword', value: 'keyword' },
          { header: 'datasets', value: 'datasets', align: 'right' },
        ]);
    }),
  );
  apiOptions(
    keywords
      .command('add')
      .description('add keywords to a dataset (one request each; a keyword it has already is kept once)')
      .argument('<dataset>', 'dataset id')
      .argument('<keyword...>', 'keywords (quote one with spaces)'),
  ).action(
    action(async (ctx, dsid: string, words: string[], o: ApiOptions) => {
      const client = await makeClient(ctx, o);
      const added = await client.keywords.add(dsid, words, { signal: ctx.signal });
      if (ctx.json) printJson(ctx.out, wire(added));
      else info(ctx, `Added ${added.length} keywords to ${dsid}`);
    }),
  );
}
