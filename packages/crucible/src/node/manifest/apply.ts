import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConflictError, UsageError } from '@sciport/core';
import type { CrucibleClient } from '../crucible-client.js';
import type { UploadProgress } from '../upload.js';
import { ManifestError, type ManifestProblem } from './errors.js';
import { readLocal } from './local.js';
import { parseManifest } from './parse.js';
import { type ManifestPlan, type PlanStep, planManifest } from './plan.js';
import { type ApplyState, type EntryState, linkKey, loadState, saveState, statePathFor } from './state.js';

/** What happened to one step: done now, found done already, or (dry run) to be done. */
export type ApplyOutcome = 'done' | 'matched' | 'planned';

/** One step of a run, as reported (and printed by `sciport crucible apply`, one NDJSON line each with `--json`). */
export interface ApplyAction {
  action: 'create' | 'metadata' | 'keyword' | 'link' | 'upload' | 'ingest';
  outcome: ApplyOutcome;
  /** `sample` or `dataset` (create, metadata); the link kind for links. */
  kind?: string;
  /** The local id of the entry (for links: the first end). */
  id: string;
  /** Its server id (absent for a record a dry run would create). */
  uniqueId?: string | undefined;
  /** Links: the other end, and its server id. */
  to?: string | undefined;
  toUniqueId?: string | undefined;
  keyword?: string | undefined;
  /** Uploads and ingestion: the file as written relative to the manifest, its SHA-256 and file record. */
  file?: string | undefined;
  sha256?: string | undefined;
  mfid?: string | undefined;
  /** Ingestion: the class asked for (`null`: none, the server picks by file type) and the request id. */
  ingestionClass?: string | null | undefined;
  requestId?: number | undefined;
}

export interface ApplyOptions {
  /** Plan only: read the manifest, the disk and the server, print the plan, write nothing (state included). */
  dryRun?: boolean;
  signal?: AbortSignal;
  /** Each step as it is done or matched (in a dry run: as planned). */
  onProgress?: (action: ApplyAction) => void;
  /** Bytes of the upload in flight. */
  onUploadProgress?: (progress: UploadProgress & { id: string }) => void;
  /** The state file (default `<manifest>.state.json`). */
  statePath?: string;
  /** The folder for interrupted upload sessions (the uploads' own `stateDir`). */
  uploadStateDir?: string;
}

export interface ApplyResult {
  dryRun: boolean;
  statePath: string;
  actions: ApplyAction[];
  /** Steps per outcome. */
  summary: Record<ApplyOutcome, number>;
  /** Write requests sent (0 in a dry run and when everything matched). */
  writes: number;
}

/**
 * Applies a batch manifest (spec §19.5.1): reads and checks it whole (keys, types, ids, files, metadata,
 * references on the server) and throws a `ManifestError` naming each problem's line before any write; then
 * creates samples (parents first) and datasets, merges metadata, adds keywords, makes links, uploads files and
 * requests their ingestion. After each write the state file (`<manifest>.state.json`) records it, atomically,
 * so a run that fails part-way is finished by the next; what is recorded, or found on the server, is matched and
 * not sent again. A run where everything matches sends no write request. API v2 only.
 */
export async function applyManifest(
  client: CrucibleClient,
  file: string,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  if (client.apiVersion !== 'v2') throw new UsageError('crucible apply needs API v2');
  const signal = options.signal;
  const text = await readFile(file, 'utf8').catch(() => {
    throw new UsageError(`Cannot read the manifest ${file}`);
  });
  const manifest = parseManifest(text, { file });
  const statePath = options.statePath ?? statePathFor(file);
  const previous = await loadState(statePath);
  const problems: ManifestProblem[] = [];
  const local = await readLocal(manifest, path.dirname(path.resolve(file)), problems, signal);
  if (problems.length > 0) throw new ManifestError(file, problems);
  const plan = await planManifest(client, manifest, local, previous, problems, signal);
  if (problems.length > 0) throw new ManifestError(file, problems);

  const actions: ApplyAction[] = [];
  const report = (action: ApplyAction) => {
    actions.push(action);
    options.onProgress?.(action);
  };
  const result = (writes: number): ApplyResult => {
    const summary: Record<ApplyOutcome, number> = { done: 0, matched: 0, planned: 0 };
    for (const a of actions) summary[a.outcome] += 1;
    return { dryRun: options.dryRun === true, statePath, actions, summary, writes };
  };
  if (options.dryRun) {
    for (const step of plan.steps) report(describe(step, step.todo ? 'planned' : 'matched', plan.created));
    return result(0);
  }
  const writes = await execute(client, plan, statePath, previous, options, report);
  return result(writes);
}

async function execute(
  client: CrucibleClient,
  plan: ManifestPlan,
  statePath: string,
  previous: ApplyState,
  options: ApplyOptions,
  report: (action: ApplyAction) => void,
): Promise<number> {
  const { state } = plan;
  const call = { signal: options.signal };
  let writes = 0;
  // The state as the plan left it (fresh ids chosen, facts read from the server) is saved before the first
  // write, and again after each.
  let dirty = JSON.stringify(state) !== JSON.stringify(previous);
  const save = async () => {
    await saveState(statePath, state);
    dirty = false;
  };
  const entryOf = (kind: 'sample' | 'dataset', id: string) =>
    (kind === 'sample' ? state.samples : state.datasets)[id] as EntryState;

  for (const step of plan.steps) {
    if (!step.todo) {
      report(describe(step, 'matched'));
      continue;
    }
    options.signal?.throwIfAborted();
    if (dirty) await save();
    let extra: Partial<ApplyAction> = {};
    switch (step.step) {
      case 'create': {
        const e = entryOf(step.kind, step.id);
        e.pending = true;
        await save();
        await create(client, step, call);
        e.pending = undefined;
        break;
      }
      case 'metadata': {
        if (step.kind === 'sample') await client.samples.mergeMetadata(step.uniqueId, step.metadata, call);
        else await client.datasets.mergeMetadata(step.uniqueId, step.metadata, call);
        entryOf(step.kind, step.id).metadata = step.hash;
        break;
      }
      case 'keyword': {
        await client.keywords.add(step.uniqueId, [step.keyword], call);
        const e = entryOf('dataset', step.id);
        e.keywords = [...(e.keywords ?? []), step.keyword];
        break;
      }
      case 'link': {
        if (step.link === 'sample-child')
          await client.samples.linkChild(step.from.uniqueId, step.to.uniqueId, call);
        else if (step.link === 'dataset-child')
          await client.datasets.linkChild(step.from.uniqueId, step.to.uniqueId, call);
        else await client.datasets.linkSample(step.from.uniqueId, step.to.uniqueId, call);
        state.links.push(linkKey(step.link, step.from.uniqueId, step.to.uniqueId));
        break;
      }
      case 'upload': {
        const e = entryOf('dataset', step.id);
        e.files ??= {};
        const files = e.files;
        files[step.file.sha256] = { name: step.file.name, status: 'uploading' };
        await save();
        const uploaded = await client.files.upload(step.uniqueId, step.file.path, {
          ...call,
          ingest: false,
          ...(options.uploadStateDir ? { stateDir: options.uploadStateDir } : {}),
          onProgress: (p) => options.onUploadProgress?.({ ...p, id: step.id }),
        });
        const mfid = uploaded.file.mfid ?? undefined;
        files[step.file.sha256] = {
          name: step.file.name,
          status: step.ingest ? 'uploaded' : 'done',
          ...(mfid ? { mfid } : {}),
        };
        extra = { mfid };
        break;
      }
      case 'ingest': {
        const e = entryOf('dataset', step.id);
        e.files ??= {};
        const files = e.files;
        const recorded = files[step.file.sha256];
        const mfid =
          recorded?.mfid ?? (await fileMfid(client, step.uniqueId, step.file.sha256, options.signal));
        files[step.file.sha256] = { name: step.file.name, mfid, status: 'ingesting' };
        await save();
        // No class: no `ingestion_class` is sent and the server picks the ingestor by file type (§19.1).
        const request = await client.requests.ingest(
          { fileId: mfid },
          { ...call, ...(step.ingestionClass ? { ingestionClass: step.ingestionClass } : {}) },
        );
        files[step.file.sha256] = {
          name: step.file.name,
          mfid,
          status: 'done',
          ingestionRequest: request.id,
        };
        extra = { mfid, requestId: request.id };
        break;
      }
    }
    writes += 1;
    await save();
    report({ ...describe(step, 'done'), ...extra });
  }
  // Facts learnt from the server (metadata, keywords, links found applied) are kept for the next run.
  if (dirty) await save();
  return writes;
}

async function create(
  client: CrucibleClient,
  step: Extract<PlanStep, { step: 'create' }>,
  call: { signal?: AbortSignal | undefined },
): Promise<void> {
  const e = step.entry;
  try {
    if (step.kind === 'sample') {
      const s = e as import('./parse.js').ManifestSample;
      await client.samples.create(
        {
          uniqueId: step.uniqueId,
          sampleName: s.name,
          ...(s.type !== undefined ? { sampleType: s.type } : {}),
          ...(s.description !== undefined ? { description: s.description } : {}),
          ...(s.project !== undefined ? { projectId: s.project } : {}),
          ...(s.timestamp !== undefined ? { timestamp: s.timestamp } : {}),
          ...(s.public !== undefined ? { public: s.public } : {}),
        },
        call,
      );
      return;
    }
    const d = e as import('./parse.js').ManifestDataset;
    await client.datasets.create(
      {
        uniqueId: step.uniqueId,
        datasetName: d.name,
        ...(d.description !== undefined ? { description: d.description } : {}),
        ...(d.measurement !== undefined ? { measurement: d.measurement } : {}),
        ...(d.instrument !== undefined ? { instrumentName: d.instrument } : {}),
        ...(d.dataFormat !== undefined ? { dataFormat: d.dataFormat } : {}),
        ...(d.dataType !== undefined ? { dataType: d.dataType } : {}),
        ...(d.session !== undefined ? { sessionName: d.session } : {}),
        ...(d.project !== undefined ? { projectId: d.project } : {}),
        ...(d.timestamp !== undefined ? { timestamp: d.timestamp } : {}),
        ...(d.public !== undefined ? { public: d.public } : {}),
      },
      call,
    );
  } catch (error) {
    // The id was chosen by this run: a 409 means an earlier attempt of this very create reached the server.
    if (!ConflictError.isInstance(error)) throw error;
  }
}

/** The file record of a dataset holding these bytes (an upload recorded without its record id). */
async function fileMfid(client: CrucibleClient, dsid: string, sha256: string, signal?: AbortSignal) {
  for (const f of await client.files.list(dsid, { signal }).toArray())
    if (f.sha256Hash?.toLowerCase() === sha256 && f.mfid) return f.mfid;
  throw new UsageError(`Dataset ${dsid} holds no file with SHA-256 ${sha256}: run apply again to upload it`);
}

/**
 * A step as reported. In a dry run (`unborn`: the entries it would create) a record to be created has no id
 * yet: the one chosen for it is not kept.
 */
function describe(
  step: PlanStep,
  outcome: ApplyOutcome,
  unborn: ReadonlySet<string> = new Set(),
): ApplyAction {
  const uid = (id: string, uniqueId: string) => (unborn.has(id) ? undefined : uniqueId);
  switch (step.step) {
    case 'create':
      return {
        action: 'create',
        outcome,
        kind: step.kind,
        id: step.id,
        uniqueId: uid(step.id, step.uniqueId),
      };
    case 'metadata':
      return {
        action: 'metadata',
        outcome,
        kind: step.kind,
        id: step.id,
        uniqueId: uid(step.id, step.uniqueId),
      };
    case 'keyword':
      return {
        action: 'keyword',
        outcome,
        id: step.id,
        uniqueId: uid(step.id, step.uniqueId),
        keyword: step.keyword,
      };
    case 'link':
      return {
        action: 'link',
        outcome,
        kind: step.link,
        id: step.from.id,
        uniqueId: uid(step.from.id, step.from.uniqueId),
        to: step.to.id,
        toUniqueId: uid(step.to.id, step.to.uniqueId),
      };
    case 'upload':
      return {
        action: 'upload',
        outcome,
        id: step.id,
        uniqueId: uid(step.id, step.uniqueId),
        file: step.file.display,
        sha256: step.file.sha256,
        mfid: step.mfid,
      };
    case 'ingest':
      return {
        action: 'ingest',
        outcome,
        id: step.id,
        uniqueId: uid(step.id, step.uniqueId),
        file: step.file.display,
        sha256: step.file.sha256,
        ingestionClass: step.ingestionClass ?? null,
      };
  }
}
