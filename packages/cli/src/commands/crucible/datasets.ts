import { UsageError } from '@sciport/core';
import { type CrucibleDataset, type DatasetInput, datasetBody } from '@sciport/crucible';
import type { Command } from 'commander';
import { formatTimestamp, info, printJson, printNdjson, printTable, timeHeader } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { escapeTerminal } from '../../terminal.js';
import { parseTimestamp } from '../../units.js';
import {
  type ApiOptions,
  apiOptions,
  datasetFields,
  datasetRow,
  type FieldOptions,
  limitOption,
  makeClient,
  readJsonObject,
  toInput,
  wire,
} from './shared.js';

/** `sciport crucible datasets list | get | create | update`. */
export function registerDatasets(command: Command, { action }: CommandApi): void {
  const datasets = command.command('datasets').description('list, show, create and update datasets');
  apiOptions(
    datasets
      .command('list')
      .description('datasets you can read, newest first')
      .option('--project <id>', 'only this project')
      .option('--keyword <text>', 'datasets with a keyword containing this text')
      .option('--measurement <text>', 'only this measurement')
      .option('--sample <id>', 'datasets of this sample')
      .option('--limit <n>', 'at most this many'),
  ).action(
    action(
      async (
        ctx,
        o: ApiOptions & {
          project?: string;
          keyword?: string;
          measurement?: string;
          sample?: string;
          limit?: string;
        },
      ) => {
        const limit = limitOption(o.limit);
        const client = await makeClient(ctx, o);
        // v2's list is newest first (spec §16.6). v1's `GET /datasets` and a sample's datasets (both
        // versions) have no order parameter and an unspecified order (spec §3): the whole list (one response
        // there, no pages) is sorted here, newest first, and `--limit` applied after sorting.
        const sortHere = client.apiVersion === 'v1' || o.sample !== undefined;
        const listed = client.datasets.list({
          signal: ctx.signal,
          ...(o.project ? { projectId: o.project } : {}),
          ...(o.keyword ? { keyword: o.keyword } : {}),
          ...(o.measurement ? { measurement: o.measurement } : {}),
          ...(o.sample ? { sampleId: o.sample } : {}),
          ...(limit && !sortHere ? { limit } : {}),
        });
        const items = sortHere ? newestFirst(await listed.toArray()).slice(0, limit ?? undefined) : listed;
        const rows: ReturnType<typeof datasetRow>[] = [];
        for await (const d of items) {
          if (ctx.json) printNdjson(ctx.out, wire(d));
          else rows.push(datasetRow(d));
        }
        if (!ctx.json) {
          printTable(ctx, rows, [
            { header: 'id', value: 'id' },
            { header: 'name', value: 'name' },
            { header: 'project', value: 'project' },
            { header: 'measurement', value: 'measurement' },
            { header: 'public', value: 'public' },
            { header: timeHeader('created'), value: 'created' },
          ]);
        }
      },
    ),
  );
  apiOptions(
    datasets.command('get').description('one dataset, with its metadata').argument('<dataset>', 'dataset id'),
  ).action(
    action(async (ctx, dsid: string, o: ApiOptions) => {
      const client = await makeClient(ctx, o);
      const d = await client.datasets.get(dsid, { includeMetadata: true, signal: ctx.signal });
      const record = wire(d) as Record<string, unknown>;
      // The keywords (a record does not carry them): one more request, their words in the output.
      if (!Array.isArray(record.keywords)) {
        const keywords = await client.keywords.list(dsid, { signal: ctx.signal }).toArray();
        record.keywords = keywords.map((k) => k.keyword);
      }
      if (ctx.json) printJson(ctx.out, record);
      else {
        for (const [k, v] of Object.entries(record)) {
          if (k === 'scientific_metadata' || k === 'keywords') continue;
          if (v !== null && v !== undefined && typeof v !== 'object') {
            const text =
              k === 'creation_time' || k === 'modification_time'
                ? `${formatTimestamp(String(v))} UTC`
                : String(v);
            ctx.out.write(`${k}: ${escapeTerminal(text, { inline: true })}\n`);
          }
        }
        const words = (record.keywords as unknown[]).map((w) => escapeTerminal(String(w), { inline: true }));
        ctx.out.write(`keywords: ${words.length > 0 ? words.join(', ') : '(none)'}\n`);
        ctx.out.write(`scientific_metadata: ${JSON.stringify(record.scientific_metadata ?? {}, null, 2)}\n`);
      }
    }),
  );
  apiOptions(
    datasetFields(
      datasets
        .command('create')
        .description('create a dataset (from flags, or from a JSON record with --from)')
        .option(
          '--from <json|file|->',
          'a dataset record in the API’s field names (dataset_name, project_id, …; may hold scientific_metadata and keywords)',
        )
        .option('--metadata <json|file|->', 'scientific metadata (a JSON object)')
        .option('--keyword <kw...>', 'keywords'),
    ),
  ).action(
    action(
      async (
        ctx,
        o: ApiOptions & FieldOptions & { from?: string; metadata?: string; keyword?: string[] },
      ) => {
        const input = toInput(o);
        const record = o.from ? await readJsonObject(ctx, o.from) : undefined;
        refuseEmptyDataset(input, record);
        const metadata = o.metadata ? await readJsonObject(ctx, o.metadata) : undefined;
        const client = await makeClient(ctx, o);
        let d: CrucibleDataset;
        if (record) {
          // Flags override the record's fields.
          const made = await client.datasets.createFromJson(
            { ...record, ...datasetBody(input, client.apiVersion) },
            {
              signal: ctx.signal,
              ...(metadata ? { scientificMetadata: metadata } : {}),
              ...(o.keyword?.length ? { keywords: o.keyword } : {}),
            },
          );
          d = made.dataset;
        } else {
          d = await client.datasets.create(input, { signal: ctx.signal });
          if (metadata) await client.datasets.mergeMetadata(d.uniqueId, metadata, { signal: ctx.signal });
          if (o.keyword?.length) await client.keywords.add(d.uniqueId, o.keyword, { signal: ctx.signal });
        }
        if (ctx.json) printJson(ctx.out, wire(d));
        else ctx.out.write(`${d.uniqueId}\n`);
        info(ctx, `Created dataset ${d.uniqueId}`);
      },
    ),
  );
  apiOptions(
    datasetFields(
      datasets
        .command('update')
        .description('change fields of a dataset')
        .argument('<dataset>', 'dataset id'),
    ),
  ).action(
    action(async (ctx, dsid: string, o: ApiOptions & FieldOptions) => {
      const input = toInput(o);
      if (Object.keys(input).length === 0)
        throw new UsageError('Nothing to change: give at least one field (see --help)');
      const client = await makeClient(ctx, o);
      const d = await client.datasets.update(dsid, input, { signal: ctx.signal });
      if (ctx.json) printJson(ctx.out, wire(d));
      else info(ctx, `Updated ${d.uniqueId}`);
    }),
  );
}

/**
 * `datasets create` with neither a name nor a project (nor a record that has one) would make an empty,
 * nameless dataset nobody finds again: refused before anything is sent.
 */
function refuseEmptyDataset(input: DatasetInput, record: Record<string, unknown> | undefined): void {
  const given = (value: unknown) => typeof value === 'string' && value.trim() !== '';
  const named =
    given(input.datasetName) ||
    given(input.projectId) ||
    given(record?.dataset_name) ||
    given(record?.project_id) ||
    given(record?.datasetName) ||
    given(record?.projectId);
  if (named) return;
  throw new UsageError('A dataset needs a name or a project: give --name and/or --project', {
    hint: 'Or a record with dataset_name or project_id (--from); `sciport crucible upload new <file…>` names it after its first file',
  });
}

/** Datasets newest first by creation time (then by when the data was taken); undated ones last, in order. */
export function newestFirst(datasets: readonly CrucibleDataset[]): CrucibleDataset[] {
  const when = (d: CrucibleDataset) => {
    const text = d.creationTime ?? d.timestamp;
    return (typeof text === 'string' ? parseTimestamp(text) : undefined) ?? Number.NEGATIVE_INFINITY;
  };
  return datasets
    .map((d, i) => ({ d, i, t: when(d) }))
    .sort((a, b) => (b.t === a.t ? a.i - b.i : b.t > a.t ? 1 : -1))
    .map((x) => x.d);
}
