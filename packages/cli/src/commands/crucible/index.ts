import { readFile } from 'node:fs/promises';
import { MissingCredentialsError, NotFoundError, UsageError } from '@sciport/core';
import {
  type ApiVersion,
  CRUCIBLE_SETTINGS,
  CrucibleClient,
  type CrucibleDataset,
  type CrucibleEvent,
  type CrucibleRequest,
  type DatasetInput,
  DEFAULT_CRUCIBLE_BASE_URL,
  datasetBody,
  parserNames,
  RequestFailedError,
} from '@sciport/crucible';
import { type Command, Option } from 'commander';
import { printEvents, resolveSettings } from '../../client-factory.js';
import type { CliContext } from '../../context.js';
import { createProgress, debug, info, printJson, printNdjson, printTable, warn } from '../../output.js';
import type { CommandModule } from '../../program.js';

/**
 * `sciport crucible …`: datasets, files, metadata, keywords, samples, instruments, projects, ingestion.
 * Key: `CRUCIBLE_API_KEY` or `sciport config set crucible.apiKey`. URL: `CRUCIBLE_API_URL`, `crucible.apiUrl`
 * or `--api-url` (the full base, `…/api/v2` or `…/api/v1`); `--api-version` when the URL does not say.
 */

interface ApiOptions {
  apiUrl?: string;
  apiVersion?: ApiVersion;
}

function apiOptions(command: Command): Command {
  return command
    .option(
      '--api-url <url>',
      'API base URL with its prefix (default CRUCIBLE_API_URL, or https://crucible.lbl.gov/api/v2)',
    )
    .addOption(
      new Option('--api-version <v>', 'API version, when the URL does not say').choices(['v1', 'v2']),
    );
}

async function makeClient(ctx: CliContext, options: ApiOptions): Promise<CrucibleClient> {
  const settings = await resolveSettings(ctx, CRUCIBLE_SETTINGS, {
    baseUrl: { flag: options.apiUrl, flagName: '--api-url' },
    apiKey: { required: true },
  });
  return new CrucibleClient({
    ...(settings.baseUrl ? { apiUrl: settings.baseUrl } : {}),
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
    ...(options.apiVersion ? { apiVersion: options.apiVersion } : {}),
    onEvent: printEvents<CrucibleEvent>(ctx, (event) => {
      if (event.type !== 'request-status') return false;
      debug(ctx, `request ${event.id}: ${event.status}`);
      return true;
    }),
  });
}

function datasetRow(d: CrucibleDataset) {
  return {
    id: d.unique_id,
    name: d.dataset_name ?? '',
    project: d.project_id ?? '',
    measurement: d.measurement ?? '',
    public: d.public ? 'yes' : 'no',
    created: d.creation_time ?? '',
  };
}

/** `--field value` options for the settable dataset fields. */
function datasetFields(command: Command): Command {
  return command
    .option('--name <name>', 'dataset name')
    .option('--description <text>', 'description')
    .option('--measurement <text>', 'measurement type')
    .option('--data-type <text>', 'data type')
    .option('--data-format <text>', 'data format (h5, dm4, …)')
    .option('--session <name>', 'session name')
    .option('--instrument <name>', 'instrument name')
    .option('--project <id>', 'project id')
    .option('--timestamp <iso>', 'when the data was taken')
    .option('--owner <orcid>', 'owner ORCID (default: you)')
    .option('--public', 'readable by everyone')
    .option('--private', 'readable by the project only');
}

type FieldOptions = {
  name?: string;
  description?: string;
  measurement?: string;
  dataType?: string;
  dataFormat?: string;
  session?: string;
  instrument?: string;
  project?: string;
  timestamp?: string;
  owner?: string;
  public?: boolean;
  private?: boolean;
};

function toInput(o: FieldOptions): DatasetInput {
  if (o.public && o.private) throw new UsageError('Choose --public or --private, not both');
  const input: DatasetInput = {};
  if (o.name !== undefined) input.datasetName = o.name;
  if (o.description !== undefined) input.description = o.description;
  if (o.measurement !== undefined) input.measurement = o.measurement;
  if (o.dataType !== undefined) input.dataType = o.dataType;
  if (o.dataFormat !== undefined) input.dataFormat = o.dataFormat;
  if (o.session !== undefined) input.sessionName = o.session;
  if (o.instrument !== undefined) input.instrumentName = o.instrument;
  if (o.project !== undefined) input.projectId = o.project;
  if (o.timestamp !== undefined) input.timestamp = o.timestamp;
  if (o.owner !== undefined) input.ownerOrcid = o.owner;
  if (o.public) input.public = true;
  if (o.private) input.public = false;
  return input;
}

/** A JSON object from `--json-file`, an argument, or stdin (`-`). */
async function readJsonObject(ctx: CliContext, source: string): Promise<Record<string, unknown>> {
  let text: string;
  if (source === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of ctx.stdin) chunks.push(Buffer.from(chunk as Buffer));
    text = Buffer.concat(chunks).toString('utf8');
  } else if (source.trim().startsWith('{')) text = source;
  else
    text = await readFile(source, 'utf8').catch(() => {
      throw new UsageError(`Cannot read ${source}`);
    });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`Not valid JSON: ${(error as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new UsageError('The metadata must be a JSON object');
  return value as Record<string, unknown>;
}

function limitOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new UsageError(`--limit must be a positive number, got ${value}`);
  return Number(value);
}

function describeRequest(r: CrucibleRequest) {
  return {
    id: r.id,
    status: r.status,
    ingestionClass: r.ingestion_class ?? null,
    error: r.error_message ?? null,
  };
}

export const register: CommandModule['register'] = (command, { action }) => {
  command.addHelpText(
    'after',
    '\nKey: CRUCIBLE_API_KEY or `sciport config set crucible.apiKey`. URL: CRUCIBLE_API_URL or --api-url\n' +
      '(the full base: https://crucible.lbl.gov/api/v2, or …/api/v1 for older deployments).',
  );

  apiOptions(command.command('whoami').description('check the key and show the account')).action(
    action(async (ctx, options: ApiOptions) => {
      const client = await makeClient(ctx, options);
      const account = await client.users.account({ signal: ctx.signal });
      const user = account.user_info;
      if (ctx.json) {
        printJson(ctx.out, {
          apiUrl: client.apiUrl,
          apiVersion: client.apiVersion,
          user: user
            ? {
                id: user.unique_id ?? user.orcid ?? null,
                name: [user.first_name, user.last_name].filter(Boolean).join(' '),
              }
            : null,
          accessGroupIds: account.access_group_ids ?? [],
        });
      } else {
        ctx.out.write(
          `${user ? [user.first_name, user.last_name].filter(Boolean).join(' ') || (user.unique_id ?? '') : 'a key without a user'} ` +
            `(${account.user_unique_id ?? account.access_group_name ?? user?.unique_id ?? user?.orcid ?? ''}) on ${client.apiUrl} [${client.apiVersion}]\n`,
        );
      }
    }),
  );

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
        const rows: ReturnType<typeof datasetRow>[] = [];
        for await (const d of client.datasets.list({
          signal: ctx.signal,
          ...(o.project ? { projectId: o.project } : {}),
          ...(o.keyword ? { keyword: o.keyword } : {}),
          ...(o.measurement ? { measurement: o.measurement } : {}),
          ...(o.sample ? { sampleId: o.sample } : {}),
          ...(limit ? { limit } : {}),
        })) {
          if (ctx.json) printNdjson(ctx.out, d);
          else rows.push(datasetRow(d));
        }
        if (!ctx.json) {
          printTable(ctx, rows, [
            { header: 'id', value: 'id' },
            { header: 'name', value: 'name' },
            { header: 'project', value: 'project' },
            { header: 'measurement', value: 'measurement' },
            { header: 'public', value: 'public' },
            { header: 'created', value: 'created' },
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
      if (ctx.json) printJson(ctx.out, d);
      else {
        for (const [k, v] of Object.entries(d)) {
          if (k === 'scientific_metadata') continue;
          if (v !== null && v !== undefined && typeof v !== 'object') ctx.out.write(`${k}: ${String(v)}\n`);
        }
        ctx.out.write(`scientific_metadata: ${JSON.stringify(d.scientific_metadata ?? {}, null, 2)}\n`);
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
          if (metadata) await client.datasets.mergeMetadata(d.unique_id, metadata, { signal: ctx.signal });
          if (o.keyword?.length)
            await client.datasets.addKeywords(d.unique_id, o.keyword, { signal: ctx.signal });
        }
        if (ctx.json) printJson(ctx.out, d);
        else ctx.out.write(`${d.unique_id}\n`);
        info(ctx, `Created dataset ${d.unique_id}`);
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
      if (ctx.json) printJson(ctx.out, d);
      else info(ctx, `Updated ${d.unique_id}`);
    }),
  );

  apiOptions(
    command
      .command('upload')
      .description('upload files into a dataset (resumable on v2), optionally ingest and wait')
      .argument('<dataset>', 'dataset id, or "new" to create one from the files')
      .argument('<file...>', 'files')
      .option('--parser <name>', `with "new": read the files with a parser (${parserNames().join(', ')})`)
      .option(
        '--ingest [class]',
        'request ingestion, with an ingestion class (default ApiUploadIngestor; "auto": the server picks)',
      )
      .option('--wait', 'wait for the ingestion to end')
      .option('--replace', 'upload even when the dataset has a file of that name with other content')
      .option('--project <id>', 'with "new": the project')
      .option('--name <name>', 'with "new": the dataset name'),
  ).action(
    action(
      async (
        ctx,
        dsid: string,
        files: string[],
        o: ApiOptions & {
          parser?: string;
          ingest?: string | boolean;
          wait?: boolean;
          replace?: boolean;
          project?: string;
          name?: string;
        },
      ) => {
        const ingestionClass = typeof o.ingest === 'string' ? o.ingest : undefined;
        const client = await makeClient(ctx, o);
        let progress: ReturnType<typeof createProgress> | undefined;
        const onProgress = (p: { file: string; bytes: number; total: number }) => {
          progress ??= createProgress(ctx, p.total, 'upload');
          progress.setTotal(p.total);
          progress.update(p.bytes);
        };
        if (dsid === 'new') {
          const created = await client.createDatasetFromFiles(files, {
            signal: ctx.signal,
            ...(o.parser ? { parser: o.parser } : {}),
            dataset: {
              ...(o.project ? { projectId: o.project } : {}),
              ...(o.name ? { datasetName: o.name } : {}),
            },
            ...(ingestionClass ? { ingestionClass } : {}),
            ...(o.ingest || o.wait ? { wait: o.wait === true } : {}),
            onUpload: onProgress,
          });
          progress?.stop();
          if (ctx.json) {
            printJson(ctx.out, {
              dataset: created.dataset.unique_id,
              files: created.files.map((f) => ({
                file: f.file.filename,
                mfid: f.file.mfid ?? null,
                skipped: f.skipped,
                sha256: f.sha256,
                request: f.request ? describeRequest(f.outcome?.request ?? f.request) : null,
              })),
            });
          } else ctx.out.write(`${created.dataset.unique_id}\n`);
          return;
        }
        for (const file of files) {
          progress = undefined;
          const r = await client.uploadFile(dsid, file, {
            signal: ctx.signal,
            onProgress,
            ingest: o.ingest !== undefined || o.wait === true,
            ...(ingestionClass ? { ingestionClass } : {}),
            ...(o.wait ? { wait: true } : {}),
            ...(o.replace ? { replace: true } : {}),
          });
          (progress as ReturnType<typeof createProgress> | undefined)?.stop();
          const outcome = r.outcome;
          if (ctx.json) {
            printNdjson(ctx.out, {
              file,
              mfid: r.file.mfid ?? null,
              skipped: r.skipped,
              resumed: r.resumed,
              sha256: r.sha256,
              request: r.request ? describeRequest(outcome?.request ?? r.request) : null,
            });
          } else {
            info(
              ctx,
              `${file}: ${r.skipped ? 'already on the server' : `uploaded${r.resumed ? ' (resumed)' : ''}`}${r.file.mfid ? ` as ${r.file.mfid}` : ''}`,
            );
            if (outcome) info(ctx, `  ingestion ${outcome.request.id}: ${outcome.status}`);
            else if (r.request) info(ctx, `  ingestion requested: ${r.request.id}`);
          }
          if (outcome && !outcome.succeeded) throw new RequestFailedError(outcome.request);
        }
      },
    ),
  );

  apiOptions(
    command
      .command('download')
      .description("download a dataset's ingested files (verified against their SHA-256)")
      .argument('<dataset>', 'dataset id')
      .option('--out <dir>', 'folder (default: ./<dataset id>)')
      .option('--include <text>', 'only files whose name contains this text'),
  ).action(
    action(async (ctx, dsid: string, o: ApiOptions & { out?: string; include?: string }) => {
      const client = await makeClient(ctx, o);
      let progress: ReturnType<typeof createProgress> | undefined;
      const done = await client.downloadDataset(dsid, o.out ?? dsid, {
        signal: ctx.signal,
        ...(o.include ? { include: (name: string) => name.includes(o.include as string) } : {}),
        onProgress: (p) => {
          progress ??= createProgress(ctx, p.total ?? 0, 'download');
          progress.update(p.bytes);
        },
      });
      progress?.stop();
      if (ctx.json) printJson(ctx.out, done);
      else {
        for (const f of done) info(ctx, `${f.path} ${f.skipped ? '(already there)' : `(${f.bytes} bytes)`}`);
        if (done.length === 0) warn(ctx, `${dsid} has no ingested files to download yet`);
      }
    }),
  );

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

  apiOptions(
    command
      .command('keywords')
      .description('dataset keywords')
      .command('add')
      .argument('<dataset>')
      .argument('<keyword...>'),
  ).action(
    action(async (ctx, dsid: string, keywords: string[], o: ApiOptions) => {
      const client = await makeClient(ctx, o);
      const added = await client.datasets.addKeywords(dsid, keywords, { signal: ctx.signal });
      if (ctx.json) printJson(ctx.out, added);
      else info(ctx, `Added ${added.length} keywords to ${dsid}`);
    }),
  );

  const samples = command.command('samples').description('samples and their links');
  apiOptions(
    samples
      .command('list')
      .option('--project <id>')
      .option('--dataset <id>', 'samples of this dataset')
      .option('--limit <n>'),
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
        if (ctx.json) printNdjson(ctx.out, s);
        else
          rows.push({
            id: s.unique_id,
            name: s.sample_name ?? '',
            type: s.sample_type ?? '',
            project: s.project_id ?? '',
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
      .requiredOption('--name <name>')
      .option('--type <type>')
      .option('--description <text>')
      .option('--project <id>'),
  ).action(
    action(
      async (
        ctx,
        o: ApiOptions & { name: string; type?: string; description?: string; project?: string },
      ) => {
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
        if (ctx.json) printJson(ctx.out, s);
        else ctx.out.write(`${s.unique_id}\n`);
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

  apiOptions(
    command
      .command('link-datasets')
      .description('link a derived dataset to its parent')
      .argument('<parent>')
      .argument('<child>'),
  ).action(
    action(async (ctx, parent: string, child: string, o: ApiOptions) => {
      const client = await makeClient(ctx, o);
      await client.datasets.linkChild(parent, child, { signal: ctx.signal });
      info(ctx, `Linked ${child} as a child of ${parent}`);
    }),
  );

  const instruments = command.command('instruments').description('instruments');
  apiOptions(instruments.command('list').option('--name <name>')).action(
    action(async (ctx, o: ApiOptions & { name?: string }) => {
      const client = await makeClient(ctx, o);
      const rows: Array<Record<string, string>> = [];
      for await (const i of client.instruments.list({
        signal: ctx.signal,
        ...(o.name ? { name: o.name } : {}),
      })) {
        if (ctx.json) printNdjson(ctx.out, i);
        else
          rows.push({
            id: i.unique_id ?? '',
            name: i.instrument_name,
            location: i.location ?? '',
            owner: i.owner ?? '',
          });
      }
      if (!ctx.json) {
        printTable(ctx, rows, [
          { header: 'id', value: 'id' },
          { header: 'name', value: 'name' },
          { header: 'location', value: 'location' },
          { header: 'owner', value: 'owner' },
        ]);
      }
    }),
  );
  apiOptions(
    instruments
      .command('get')
      .argument('<id-or-name>')
      .option('--by-name', 'look it up by name (the default for what is not an MFID)'),
  ).action(
    action(async (ctx, key: string, o: ApiOptions & { byName?: boolean }) => {
      const client = await makeClient(ctx, o);
      // MFIDs are 26 characters of Crockford base32; anything else is a name (`titanx`, `photobox`).
      const byName = o.byName === true || !/^[0-9a-hjkmnp-tv-z]{26}$/i.test(key);
      printJson(
        ctx.out,
        await client.instruments.get(key, { signal: ctx.signal, ...(byName ? { byName } : {}) }),
      );
    }),
  );
  apiOptions(
    instruments
      .command('create')
      .requiredOption('--name <name>')
      .requiredOption('--owner <owner>')
      .requiredOption('--location <location>')
      .option('--manufacturer <text>')
      .option('--model <text>')
      .option('--type <text>'),
  ).action(
    action(
      async (
        ctx,
        o: ApiOptions & {
          name: string;
          owner: string;
          location: string;
          manufacturer?: string;
          model?: string;
          type?: string;
        },
      ) => {
        const client = await makeClient(ctx, o);
        const i = await client.instruments.create(
          {
            instrumentName: o.name,
            owner: o.owner,
            location: o.location,
            ...(o.manufacturer ? { manufacturer: o.manufacturer } : {}),
            ...(o.model ? { model: o.model } : {}),
            ...(o.type ? { instrumentType: o.type } : {}),
          },
          { signal: ctx.signal },
        );
        if (ctx.json) printJson(ctx.out, i);
        else ctx.out.write(`${i.unique_id ?? i.instrument_name}\n`);
      },
    ),
  );

  const projects = command.command('projects').description('projects');
  apiOptions(projects.command('list')).action(
    action(async (ctx, o: ApiOptions) => {
      const client = await makeClient(ctx, o);
      const rows: Array<Record<string, string>> = [];
      for await (const p of client.projects.list({ signal: ctx.signal })) {
        if (ctx.json) printNdjson(ctx.out, p);
        else rows.push({ id: p.project_id, title: p.title ?? '', organization: p.organization ?? '' });
      }
      if (!ctx.json) {
        printTable(ctx, rows, [
          { header: 'id', value: 'id' },
          { header: 'title', value: 'title' },
          { header: 'organization', value: 'organization' },
        ]);
      }
    }),
  );
  apiOptions(
    projects
      .command('create')
      .requiredOption('--id <project id>')
      .requiredOption('--organization <name>')
      .option('--title <title>')
      .option('--lead-email <email>')
      .option('--lead-orcid <orcid>'),
  ).action(
    action(
      async (
        ctx,
        o: ApiOptions & {
          id: string;
          organization: string;
          title?: string;
          leadEmail?: string;
          leadOrcid?: string;
        },
      ) => {
        const client = await makeClient(ctx, o);
        const p = await client.projects.create(
          {
            projectId: o.id,
            organization: o.organization,
            ...(o.title ? { title: o.title } : {}),
            ...(o.leadEmail ? { leadEmail: o.leadEmail } : {}),
            ...(o.leadOrcid ? { leadOrcid: o.leadOrcid } : {}),
          },
          { signal: ctx.signal },
        );
        if (ctx.json) printJson(ctx.out, p);
        else ctx.out.write(`${p.project_id}\n`);
      },
    ),
  );

  apiOptions(
    command
      .command('ingest')
      .description(
        "request ingestion of a file or of a dataset's files (v2: one request per file; v1: per dataset)",
      )
      .argument('<dataset-or-file>', 'dataset id, or (v2) file id')
      .option('--class <name>', 'ingestion class (e.g. ApiUploadIngestor; default: the server picks)')
      .option('--file <name>', 'v1: the uploaded file (api-uploads/<name>)')
      .option('--wait', 'wait for the request to end')
      .option('--max-wait <seconds>', 'give up waiting after this long (default 1800)'),
  ).action(
    action(
      async (
        ctx,
        target: string,
        o: ApiOptions & { class?: string; file?: string; wait?: boolean; maxWait?: string },
      ) => {
        const client = await makeClient(ctx, o);
        const ingestionClass = o.class ? { ingestionClass: o.class } : {};
        if (client.apiVersion === 'v2') {
          // v2 ingests files: a file id is one request, a dataset id one per file not yet ingested.
          const fileIds = await filesToIngest(client, target, ctx.signal);
          const requests: CrucibleRequest[] = [];
          for (const fileId of fileIds) {
            requests.push(
              await client.requests.ingest({ fileId }, { signal: ctx.signal, ...ingestionClass }),
            );
          }
          if (!o.wait) {
            for (const r of requests) {
              if (ctx.json) printNdjson(ctx.out, describeRequest(r));
              else ctx.out.write(`${r.id}\n`);
            }
            return;
          }
          let failed: RequestFailedError | undefined;
          for (const r of requests) {
            try {
              await waitAndReport(ctx, client, r.id, o.maxWait, undefined);
            } catch (error) {
              if (!(error instanceof RequestFailedError)) throw error;
              failed ??= error;
            }
          }
          if (failed) throw failed;
          return;
        }
        const request = await client.requests.ingest(
          {
            datasetId: target,
            ...(o.file
              ? { fileToUpload: o.file.startsWith('api-uploads/') ? o.file : `api-uploads/${o.file}` }
              : {}),
          },
          { signal: ctx.signal, ...ingestionClass },
        );
        if (!o.wait) {
          if (ctx.json) printJson(ctx.out, describeRequest(request));
          else ctx.out.write(`${request.id}\n`);
          return;
        }
        await waitAndReport(ctx, client, request.id, o.maxWait, target);
      },
    ),
  );

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

  apiOptions(
    command
      .command('open')
      .description('print (or open in a browser) the explorer page of a dataset or sample')
      .argument('<id>', 'dataset or sample id')
      .option('--print', 'only print the URL (default when not on a terminal)')
      .option('--project <id>', 'its project (default: looked up, else CRUCIBLE_CURRENT_PROJECT)')
      .addOption(
        new Option('--type <type>', 'the page: dataset, sample (graph) or main (default: looked up)').choices(
          ['dataset', 'sample', 'main'],
        ),
      )
      .option(
        '--explorer-url <url>',
        'the explorer (default CRUCIBLE_GRAPH_EXPLORER_URL or CRUCIBLE_EXPLORER_URL, config crucible.explorerUrl, or <API origin>/explore)',
      ),
  ).action(
    action(
      async (
        ctx,
        id: string,
        o: ApiOptions & {
          print?: boolean;
          project?: string;
          type?: 'dataset' | 'sample' | 'main';
          explorerUrl?: string;
        },
      ) => {
        const found = await resolveSettings(ctx, CRUCIBLE_SETTINGS, {
          explorerUrl: { flag: o.explorerUrl },
          baseUrl: { flag: o.apiUrl },
          currentProject: {},
        });
        const explorerBase = found.explorerUrl;
        const apiUrl = found.baseUrl ?? DEFAULT_CRUCIBLE_BASE_URL;
        const base = explorerBase ?? `${new URL(apiUrl).origin}/explore`;
        let root: string;
        try {
          root = new URL(base).href.replace(/\/+$/, '');
        } catch {
          throw new UsageError(`Not a URL: ${base} (the Crucible explorer)`);
        }
        let project = o.project;
        let type = o.type;
        if (project === undefined || type === undefined) {
          // The explorer's pages are per project: ask the API what the id is, when a key is at hand.
          let client: CrucibleClient | undefined;
          try {
            client = await makeClient(ctx, o);
          } catch (error) {
            if (!MissingCredentialsError.isInstance(error)) throw error;
          }
          if (client) {
            const found = await client.resource(id, { signal: ctx.signal });
            project ??= found.projectId;
            type ??= found.type === 'sample' ? 'sample' : found.type === 'dataset' ? 'dataset' : 'main';
          }
          project ??= found.currentProject;
        }
        const mfid = encodeURIComponent(id);
        const explorer = !project
          ? `${root}/${mfid}`
          : `${root}/${encodeURIComponent(project)}/${
              type === 'sample'
                ? `sample-graph/${mfid}`
                : type === 'dataset' || type === undefined
                  ? `dataset/${mfid}`
                  : mfid
            }`;
        ctx.out.write(`${explorer}\n`);
        if (!o.print && ctx.out.isTTY && !ctx.json) {
          const { spawn } = await import('node:child_process');
          const opener =
            process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
          spawn(opener, [explorer], { stdio: 'ignore', detached: true })
            .on('error', () => undefined)
            .unref();
        }
      },
    ),
  );
};

/** v2: the file to ingest, or a dataset's files not yet ingested (all of them when every one is). */
async function filesToIngest(
  client: CrucibleClient,
  target: string,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  try {
    const file = await client.files.get(target, { signal });
    return [file.mfid ?? target];
  } catch (error) {
    if (!NotFoundError.isInstance(error)) throw error;
  }
  // Not a file: a dataset (its listing says 404 when it is neither).
  const files = (await client.files.list(target, { signal })).filter((f) => f.mfid);
  if (files.length === 0) throw new UsageError(`Dataset ${target} has no uploaded files to ingest`);
  const pending = files.filter((f) => !f.storage_path);
  return (pending.length > 0 ? pending : files).map((f) => f.mfid as string);
}

async function waitAndReport(
  ctx: CliContext,
  client: CrucibleClient,
  id: number,
  maxWait: string | undefined,
  datasetId: string | undefined,
) {
  if (maxWait !== undefined && (!/^\d+$/.test(maxWait) || Number(maxWait) < 1))
    throw new UsageError(`--max-wait must be seconds, got ${maxWait}`);
  const outcome = await client.requests.wait(id, {
    signal: ctx.signal,
    ...(maxWait ? { maxWaitTime: Number(maxWait) * 1000 } : {}),
    ...(datasetId ? { datasetId } : {}),
    onStatus: (r) => debug(ctx, `request ${r.id}: ${r.status}`),
  });
  if (ctx.json) printJson(ctx.out, { ...describeRequest(outcome.request), succeeded: outcome.succeeded });
  else info(ctx, `Request ${id}: ${outcome.status}`);
  if (!outcome.succeeded) throw new RequestFailedError(outcome.request);
}
