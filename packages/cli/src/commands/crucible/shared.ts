import { readFile } from 'node:fs/promises';
import { camelCase, NotFoundError, UsageError } from '@sciport/core';
import {
  type ApiVersion,
  CRUCIBLE_SETTINGS,
  CrucibleClient,
  type CrucibleDataset,
  type CrucibleEvent,
  type CrucibleRequest,
  type DatasetInput,
  DEFAULT_CRUCIBLE_BASE_URL,
  RequestFailedError,
} from '@sciport/crucible';
import { type Command, Option } from 'commander';
import { createClient, timeoutMs } from '../../client-factory.js';
import type { CliContext } from '../../context.js';
import { debug, formatTimestamp, info, printJson } from '../../output.js';

/** What the `sciport crucible …` commands share: the API flags, the client, field flags, JSON input and output. */

export interface ApiOptions {
  apiUrl?: string;
  apiVersion?: ApiVersion;
  timeout?: string;
}

export function apiOptions(command: Command): Command {
  return command
    .option(
      '--api-url <url>',
      `API base URL with its prefix (default ${CRUCIBLE_SETTINGS.baseUrl.env}, or ${DEFAULT_CRUCIBLE_BASE_URL})`,
    )
    .addOption(
      new Option('--api-version <v>', 'API version, when the URL does not say').choices(['v1', 'v2']),
    )
    .option('--timeout <seconds>', 'per-request timeout in seconds, the body included (default 60)');
}

export function makeClient(ctx: CliContext, options: ApiOptions): Promise<CrucibleClient> {
  const timeout = timeoutMs(options.timeout);
  return createClient(ctx, {
    settings: CRUCIBLE_SETTINGS,
    requests: { baseUrl: { flag: options.apiUrl, flagName: '--api-url' }, apiKey: { required: true } },
    create: (settings, onEvent: (event: CrucibleEvent) => void) =>
      new CrucibleClient({
        ...settings,
        ...(options.apiVersion ? { apiVersion: options.apiVersion } : {}),
        ...(timeout ? { timeout } : {}),
        onEvent,
      }),
    printEvent: (event) => {
      if (event.type !== 'request-status') return false;
      debug(ctx, requestLine(event));
      return true;
    },
  });
}

export function datasetRow(d: CrucibleDataset) {
  return {
    id: d.uniqueId,
    name: d.datasetName ?? '',
    project: d.projectId ?? '',
    measurement: d.measurement ?? '',
    public: d.public ? 'yes' : 'no',
    created: formatTimestamp(d.creationTime),
  };
}

/** `--field value` options for the settable dataset fields. */
export function datasetFields(command: Command): Command {
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

export type FieldOptions = {
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

export function toInput(o: FieldOptions): DatasetInput {
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
export async function readJsonObject(ctx: CliContext, source: string): Promise<Record<string, unknown>> {
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

/** Refuses blank values of required text options (`--name ""`): the server would store a nameless record. */
export function requireText(values: Readonly<Record<string, string | undefined>>): void {
  const blank = Object.entries(values)
    .filter(([, v]) => v !== undefined && v.trim() === '')
    .map(([flag]) => flag);
  if (blank.length > 0) throw new UsageError(`${blank.join(', ')} must not be empty`);
}

export function limitOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new UsageError(`--limit must be a positive number, got ${value}`);
  return Number(value);
}

/** A request as a request: `request 201 complete`, `request 202 failed: <the server's message>`. */
export function requestLine(r: {
  id: number;
  status: string;
  errorMessage?: string | null | undefined;
}): string {
  return `request ${r.id} ${r.status}${r.errorMessage ? `: ${r.errorMessage}` : ''}`;
}

export function describeRequest(r: CrucibleRequest) {
  return {
    id: r.id,
    status: r.status,
    ingestionClass: r.ingestionClass ?? null,
    error: r.errorMessage ?? null,
  };
}

/**
 * A record as `--json` has always printed it: the server's object (`record.raw`) with the client's mapping of
 * v1 fields onto the v2 names applied (`timestamp` from `creation_date`, the flat metadata, a user's
 * `unique_id`), in the server's key order. On v2 that is `raw` itself. Nested records and arrays likewise.
 */
export function wire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(wire);
  if (value === null || typeof value !== 'object' || !('raw' in value)) return value;
  const record = value as Record<string, unknown>;
  const raw = record.raw;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const out: Record<string, unknown> = {};
  const seen = new Set(['raw']);
  for (const [key, field] of Object.entries(raw)) {
    const name = camelCase(key);
    seen.add(name);
    out[key] = name in record ? wire(record[name]) : field;
  }
  // Fields the client filled in (v1 → v2 names) come after the server's, as they always did.
  for (const [name, field] of Object.entries(record)) {
    if (!seen.has(name) && field !== undefined)
      out[name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = wire(field);
  }
  return out;
}

/** v2: the file to ingest, or a dataset's files not yet ingested (all of them when every one is). */
export async function filesToIngest(
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
  const files = (await client.files.list(target, { signal }).toArray()).filter((f) => f.mfid);
  if (files.length === 0) throw new UsageError(`Dataset ${target} has no uploaded files to ingest`);
  const pending = files.filter((f) => !f.storagePath);
  return (pending.length > 0 ? pending : files).map((f) => f.mfid as string);
}

export async function waitAndReport(
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
    onStatus: (r) => debug(ctx, requestLine(r)),
  });
  if (ctx.json) printJson(ctx.out, { ...describeRequest(outcome.request), succeeded: outcome.succeeded });
  else info(ctx, requestLine(outcome.request));
  if (!outcome.succeeded) throw new RequestFailedError(outcome.request);
}
