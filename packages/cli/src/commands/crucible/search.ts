import { UsageError } from '@sciport/core';
import type { CrucibleClient, MetadataHitType } from '@sciport/crucible';
import { type Command, Option } from 'commander';
import type { CliContext } from '../../context.js';
import { type Column, printNdjson, printTable, timeHeader } from '../../output.js';
import type { CommandApi } from '../../program.js';
import { type ApiOptions, apiOptions, datasetRow, limitOption, makeClient } from './shared.js';

const TYPES = ['datasets', 'samples', 'projects', 'instruments', 'users'] as const;
type SearchType = (typeof TYPES)[number];

type Row = Record<string, string>;
const columns = (...names: string[]): Column<Row>[] =>
  names.map((n) => ({ header: n === 'created' ? timeHeader(n) : n, value: n }));

/** An item as printed: the server's object for `--json`, a table row otherwise. */
interface Found {
  raw: unknown;
  row: Row;
}

/** The search of one type (spec §19.2), rows as the list commands print them. */
function byName(
  client: CrucibleClient,
  type: SearchType,
  text: string,
  options: { limit?: number; signal?: AbortSignal | undefined; projectId?: string },
): { items: AsyncIterable<Found>; columns: Column<Row>[] } {
  const { projectId, ...rest } = options;
  const withProject = { ...rest, ...(projectId ? { projectId } : {}) };
  const map = <T extends { raw: unknown }>(it: AsyncIterable<T>, row: (t: T) => Row) =>
    (async function* () {
      for await (const item of it) yield { raw: item.raw, row: row(item) };
    })();
  switch (type) {
    case 'datasets':
      return {
        items: map(client.datasets.search(text, withProject), datasetRow),
        columns: columns('id', 'name', 'project', 'measurement', 'public', 'created'),
      };
    case 'samples':
      return {
        items: map(client.samples.search(text, withProject), (s) => ({
          id: s.uniqueId,
          name: s.sampleName ?? '',
          type: s.sampleType ?? '',
          project: s.projectId ?? '',
        })),
        columns: columns('id', 'name', 'type', 'project'),
      };
    case 'projects':
      return {
        items: map(client.projects.search(text, rest), (p) => ({
          id: p.projectId,
          title: p.title ?? '',
          organization: p.organization ?? '',
          status: p.status ?? '',
        })),
        columns: columns('id', 'title', 'organization', 'status'),
      };
    case 'instruments':
      return {
        items: map(client.instruments.search(text, rest), (i) => ({
          id: i.uniqueId ?? '',
          name: i.instrumentName,
          type: i.instrumentType ?? '',
          location: i.location ?? '',
        })),
        columns: columns('id', 'name', 'type', 'location'),
      };
    case 'users':
      return {
        items: map(client.users.search(text, rest), (u) => ({
          id: u.uniqueId ?? '',
          username: u.username ?? '',
          name: [u.firstName, u.lastName].filter(Boolean).join(' '),
        })),
        columns: columns('id', 'username', 'name'),
      };
  }
}

async function print(ctx: CliContext, found: { items: AsyncIterable<Found>; columns: Column<Row>[] }) {
  const rows: Row[] = [];
  for await (const item of found.items) {
    if (ctx.json) printNdjson(ctx.out, item.raw);
    else rows.push(item.row);
  }
  if (!ctx.json) printTable(ctx, rows, found.columns);
}

/** `sciport crucible search`: fuzzy name search, or with `--metadata` the full-text metadata search. */
export function registerSearch(command: Command, { action }: CommandApi): void {
  apiOptions(
    command
      .command('search')
      .description('find datasets, samples, projects, instruments or users by name (or by metadata)')
      .argument('<text>', 'what to look for (at least 3 characters; names match fuzzily, best first)')
      .addOption(
        new Option(
          '--type <type>',
          'what to search (default datasets; with --metadata: keep that kind)',
        ).choices([...TYPES]),
      )
      .option(
        '--metadata',
        'full-text search of the scientific metadata of datasets, samples and instruments',
      )
      .option('--project <id>', 'datasets and samples of this project only')
      .option('--limit <n>', 'most results (default 20, at most 50)'),
  ).action(
    action(
      async (
        ctx,
        text: string,
        o: ApiOptions & { type?: SearchType; metadata?: boolean; project?: string; limit?: string },
      ) => {
        const q = text.trim();
        if (q.length < 3) throw new UsageError('Search text must have at least 3 characters');
        const limit = limitOption(o.limit);
        if (o.project && (o.metadata || (o.type && o.type !== 'datasets' && o.type !== 'samples')))
          throw new UsageError('--project applies to the name search of datasets and samples');
        let kind: MetadataHitType | undefined;
        if (o.metadata && o.type) {
          if (o.type === 'projects' || o.type === 'users')
            throw new UsageError('--metadata finds datasets, samples and instruments');
          kind = o.type.slice(0, -1) as MetadataHitType;
        }
        const client = await makeClient(ctx, o);
        const options = { signal: ctx.signal, ...(limit ? { limit } : {}) };
        if (o.metadata) {
          const hits = client.resources.searchMetadata(q, { ...options, ...(kind ? { type: kind } : {}) });
          return print(ctx, {
            items: (async function* () {
              for await (const h of hits)
                yield {
                  raw: h.raw,
                  row: {
                    id: h.uniqueId,
                    type: h.resourceType ?? '',
                    name: h.name ?? '',
                    rank: typeof h.rank === 'number' ? h.rank.toPrecision(3) : '',
                  },
                };
            })(),
            columns: columns('id', 'type', 'name', 'rank'),
          });
        }
        return print(
          ctx,
          byName(client, o.type ?? 'datasets', q, {
            ...options,
            ...(o.project ? { projectId: o.project } : {}),
          }),
        );
      },
    ),
  );
}
