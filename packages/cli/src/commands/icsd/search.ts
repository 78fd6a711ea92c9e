import { UsageError } from '@sciport/core';
import {
  CONTENT_TYPE_NAMES,
  CSV_PROPERTY_KEYS,
  type CsvProperty,
  type IcsdRow,
  resolveCsvProperties,
} from '@sciport/icsd';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { info, printJson, printNdjson, printTable } from '../../output.js';
import type { CommandApi } from '../../program.js';
import {
  type ConnectionOptions,
  collect,
  connectionOptions,
  contentTypes,
  makeClient,
  positiveInt,
} from './shared.js';

/** Flattens a typed cell into printable text. */
function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.join('; ');
  if (typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (typeof v.text === 'string') return v.text;
    return Object.values(v)
      .map((x) => cellText(x))
      .join(' ');
  }
  return String(value);
}

/** A typed cell for `--json` (a measured number with its uncertainty as `null` when it has none). */
function jsonValue(value: unknown): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const v = value as Record<string, unknown>;
    if ('value' in v && 'text' in v)
      return { value: v.value, uncertainty: v.uncertainty ?? null, text: v.text };
  }
  return value;
}

/** The `--properties` list, checked (and spelt canonically) before anything is sent. */
function parseFields(list: string): CsvProperty[] {
  return resolveCsvProperties(
    list
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

/** A row's value in a column: `id`, `collectionCode`, or a property by its API name (the row key is camelCase). */
function cell(row: IcsdRow, column: string): unknown {
  const key = column in CSV_PROPERTY_KEYS ? CSV_PROPERTY_KEYS[column as CsvProperty] : column;
  return (row as Record<string, unknown>)[key];
}

/** `sciport icsd search`: internal ids, one a line (or `{ ids }`), or a table, CSV or NDJSON of properties. */
export function registerSearch(parent: Command, { action }: CommandApi): void {
  connectionOptions(
    parent
      .command('search')
      .description('search ICSD; prints internal ids, or a table of properties')
      .argument('[text...]', 'free text (simple search), e.g. "Li O" or LiCl')
      .option('--expert <query>', 'an expert query, e.g. "COMPOSITION : Li O and SPACEGROUPNUMBER : 225"')
      .option(
        '--content-type <type>',
        `subset to search: ${CONTENT_TYPE_NAMES.join(', ')} (repeat or comma-separate; default: the server's)`,
        collect,
      )
      .option('--properties <list>', 'CSV properties to show, comma-separated (see `sciport icsd fields`)')
      .option('--csv', 'with --properties: write CSV to stdout')
      .option('--limit <n>', 'keep only the first n ids')
      .option('--concurrency <n>', 'requests in flight for --properties (default 4)'),
  ).action(
    action(
      async (
        ctx,
        words: string[],
        options: ConnectionOptions & {
          expert?: string;
          contentType?: string[];
          properties?: string;
          csv?: boolean;
          limit?: string;
        },
      ) => {
        const text = words.join(' ').trim();
        if (!text && !options.expert) throw new UsageError('Give search text, or --expert "<query>"');
        if (text && options.expert) throw new UsageError('Give either search text or --expert, not both');
        if (options.csv && !options.properties) throw new UsageError('--csv needs --properties');
        if (options.csv && ctx.json) throw new UsageError('Choose --csv or --json, not both');
        const limit = positiveInt('--limit', options.limit);
        const fields = options.properties ? parseFields(options.properties) : undefined;
        const client = await makeClient(ctx, options);
        const types = contentTypes(options.contentType);
        const searchOptions = {
          signal: ctx.signal,
          ...(types ? { contentType: types } : {}),
          ...(limit !== undefined ? { limit } : {}),
        };
        const ids = await (options.expert
          ? client.entries.expertSearch(options.expert, searchOptions)
          : client.entries.search(text, searchOptions)
        ).toArray();
        if (!fields) {
          if (ctx.json) printJson(ctx.out, { ids });
          else if (ids.length > 0) ctx.out.write(`${ids.join('\n')}\n`);
          info(ctx, `${ids.length} ${ids.length === 1 ? 'entry' : 'entries'}`);
          return;
        }
        const rows: IcsdRow[] = [];
        for await (const row of client.entries.properties(ids, fields, { signal: ctx.signal })) {
          if (ctx.json) {
            const out: Record<string, unknown> = { id: row.id ?? null, collectionCode: row.collectionCode };
            for (const f of fields) out[f] = jsonValue(cell(row as IcsdRow, f));
            printNdjson(ctx.out, out);
          } else rows.push(row as IcsdRow);
        }
        if (ctx.json) return;
        const columns = ['id', 'collectionCode', ...fields.filter((f) => f !== 'CollectionCode')];
        const records = rows.map((row) => columns.map((c) => cellText(cell(row, c))));
        if (options.csv) {
          ctx.out.write(stringify([columns, ...records]));
        } else {
          printTable(
            ctx,
            records,
            columns.map((c, i) => ({
              header: c === 'collectionCode' ? 'code' : c,
              value: (r: string[]) => r[i],
            })),
          );
        }
        info(ctx, `${rows.length} ${rows.length === 1 ? 'entry' : 'entries'}`);
      },
    ),
  );
}
