import { createHash } from 'node:crypto';
import { NotFoundError } from '@sciport/core';
import type { CrucibleLink } from '../../schemas/datasets.js';
import type { CrucibleFile } from '../../schemas/files.js';
import type { CrucibleClient } from '../crucible-client.js';
import type { ManifestProblem } from './errors.js';
import type { LocalData, LocalFile } from './local.js';
import type { Manifest, ManifestDataset, ManifestRef, ManifestSample } from './parse.js';
import { type ApplyState, type EntryState, type LinkKind, linkKey, newMfid } from './state.js';

/**
 * The plan of an `apply` run: every step in execution order (samples parents first, datasets, metadata,
 * keywords, links, uploads, ingestion), each either to do (a write) or matched (already on the server, or
 * recorded in the state file). Planning reads the server (GET only) and writes nothing.
 */

export type EntryKind = 'sample' | 'dataset';

/** One end of a link: the local id (or the MFID when it is not in the manifest) and the server id. */
export interface LinkEnd {
  id: string;
  uniqueId: string;
}

export type PlanStep =
  | {
      step: 'create';
      kind: EntryKind;
      id: string;
      uniqueId: string;
      todo: boolean;
      entry: ManifestSample | ManifestDataset;
    }
  | {
      step: 'metadata';
      kind: EntryKind;
      id: string;
      uniqueId: string;
      todo: boolean;
      metadata: Record<string, unknown>;
      hash: string;
    }
  | { step: 'keyword'; id: string; uniqueId: string; todo: boolean; keyword: string }
  | { step: 'link'; link: LinkKind; from: LinkEnd; to: LinkEnd; todo: boolean }
  | {
      step: 'upload';
      id: string;
      uniqueId: string;
      todo: boolean;
      file: LocalFile;
      ingest: boolean;
      mfid?: string | undefined;
    }
  | {
      step: 'ingest';
      id: string;
      uniqueId: string;
      todo: boolean;
      file: LocalFile;
      ingestionClass: string | undefined;
    };

export interface ManifestPlan {
  manifest: Manifest;
  steps: PlanStep[];
  /** The state to start from (entries the server no longer knows dropped, fresh ids chosen). */
  state: ApplyState;
  /** Local ids of the entries to create. */
  created: ReadonlySet<string>;
}

interface ServerCache {
  links: Map<string, Promise<CrucibleLink[]>>;
  files: Map<string, Promise<CrucibleFile[]>>;
}

/** Canonical JSON (sorted keys), for the hash of metadata already merged. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/** Whether a deep merge of `wanted` into `have` would change nothing (arrays and scalars compared whole). */
export function containsJson(have: unknown, wanted: unknown): boolean {
  if (wanted !== null && typeof wanted === 'object' && !Array.isArray(wanted)) {
    if (have === null || typeof have !== 'object' || Array.isArray(have)) return false;
    const h = have as Record<string, unknown>;
    return Object.entries(wanted as Record<string, unknown>).every(
      ([k, v]) => k in h && containsJson(h[k], v),
    );
  }
  return canonicalJson(have) === canonicalJson(wanted);
}

/**
 * Checks what the manifest refers to on the server (projects, MFIDs of existing samples and datasets, with
 * their kind), matches entries recorded in the state against the server, and lists the steps. Problems are
 * added to `problems` (the caller throws before any write); only GET requests are sent.
 */
export async function planManifest(
  client: CrucibleClient,
  manifest: Manifest,
  local: LocalData,
  previous: ApplyState,
  problems: ManifestProblem[],
  signal?: AbortSignal,
): Promise<ManifestPlan> {
  const call = { signal };
  const report = (pos: { line: number; column: number }, message: string, key?: string) =>
    problems.push({ file: manifest.file, line: pos.line, column: pos.column, field: key, message });
  const state: ApplyState = structuredClone(previous);
  const cache: ServerCache = { links: new Map(), files: new Map() };

  // Projects and references to records outside the manifest.
  const projects = new Map<string, Promise<boolean>>();
  const types = new Map<string, Promise<string | undefined>>();
  const typeOf = (mfid: string) => {
    let p = types.get(mfid);
    if (!p) {
      p = client.resources.get(mfid, call).then(
        (r) => r.type,
        (error: unknown) => {
          if (NotFoundError.isInstance(error)) return undefined;
          throw error;
        },
      );
      types.set(mfid, p);
    }
    return p;
  };
  const entries: Array<[EntryKind, ManifestSample | ManifestDataset]> = [
    ...manifest.samples.map((s) => ['sample', s] as [EntryKind, ManifestSample]),
    ...manifest.datasets.map((d) => ['dataset', d] as [EntryKind, ManifestDataset]),
  ];
  for (const [, entry] of entries) {
    if (entry.project === undefined) continue;
    const pid = entry.project;
    let exists = projects.get(pid);
    if (!exists) {
      exists = client.projects.get(pid, call).then(
        () => true,
        (error: unknown) => {
          if (NotFoundError.isInstance(error)) return false;
          throw error;
        },
      );
      projects.set(pid, exists);
    }
    if (!(await exists)) report(entry, `project "${pid}" not found on the server`, 'project');
  }
  const checkRef = async (ref: ManifestRef, want: EntryKind, key: string) => {
    if (ref.local) return;
    const type = await typeOf(ref.value);
    if (type === undefined)
      report(ref, `${key}: "${ref.value}" is neither in this manifest nor on the server`, key);
    else if (type !== want)
      report(ref, `${key}: "${ref.value}" is a ${type} on the server, not a ${want}`, key);
  };
  for (const [kind, entry] of entries) {
    for (const ref of entry.parents) await checkRef(ref, kind, 'parents');
    if (kind === 'dataset')
      for (const ref of (entry as ManifestDataset).samples) await checkRef(ref, 'sample', 'samples');
  }

  // Entries: matched when the state names a record the server knows, else created (with an id chosen now).
  const created = new Set<string>();
  const uid = new Map<string, string>();
  const steps: PlanStep[] = [];
  for (const [kind, entry] of entries) {
    const table = kind === 'sample' ? state.samples : state.datasets;
    const recorded = table[entry.id];
    let matched = false;
    if (recorded) {
      const type = await typeOf(recorded.uniqueId);
      if (type === kind) matched = true;
      else if (type !== undefined)
        report(
          entry,
          `${kind} ${entry.id}: the state file names ${recorded.uniqueId}, a ${type} on the server`,
        );
    }
    let entryState: EntryState;
    if (matched && recorded) entryState = { ...recorded, pending: undefined };
    else {
      // A pending create that never reached the server keeps its id; a record gone from the server is made again.
      entryState = { uniqueId: recorded?.pending ? recorded.uniqueId : newMfid(), pending: true };
      created.add(entry.id);
    }
    table[entry.id] = entryState;
    uid.set(entry.id, entryState.uniqueId);
    steps.push({ step: 'create', kind, id: entry.id, uniqueId: entryState.uniqueId, todo: !matched, entry });
  }
  const end = (ref: ManifestRef): LinkEnd => ({
    id: ref.value,
    uniqueId: ref.local ? (uid.get(ref.value) as string) : ref.value,
  });
  const fresh = (id: string) => created.has(id);

  // Metadata.
  for (const [kind, entry] of entries) {
    const metadata = local.metadata.get(entry.id);
    if (!metadata) continue;
    const s = (kind === 'sample' ? state.samples : state.datasets)[entry.id] as EntryState;
    const hash = hashOf(metadata);
    let todo = fresh(entry.id) || s.metadata !== hash;
    if (todo && !fresh(entry.id)) {
      // Not recorded: the server's metadata may already hold it (a run killed after the merge).
      const have = await client.datasets.metadata(s.uniqueId, call);
      if (containsJson(have, metadata)) {
        s.metadata = hash;
        todo = false;
      }
    }
    steps.push({ step: 'metadata', kind, id: entry.id, uniqueId: s.uniqueId, todo, metadata, hash });
  }

  // Keywords.
  for (const ds of manifest.datasets) {
    const s = state.datasets[ds.id] as EntryState;
    const recorded = new Set((s.keywords ?? []).map((k) => k.toLowerCase()));
    let server: Set<string> | undefined;
    for (const keyword of ds.keywords) {
      let todo = fresh(ds.id) || !recorded.has(keyword.toLowerCase());
      if (todo && !fresh(ds.id)) {
        server ??= new Set(
          (await client.keywords.list(s.uniqueId, call).toArray()).map((k) => k.keyword.toLowerCase()),
        );
        if (server.has(keyword.toLowerCase())) {
          todo = false;
          s.keywords = [...(s.keywords ?? []), keyword];
        }
      }
      steps.push({ step: 'keyword', id: ds.id, uniqueId: s.uniqueId, todo, keyword });
    }
  }

  // Links: sample parent → child, dataset parent → child, dataset – sample.
  const links = new Set(state.links);
  /** `from`/`to` as the write call takes them; `on` is the end whose links show `other` as `relationship`. */
  const linkStep = async (
    link: LinkKind,
    from: LinkEnd,
    to: LinkEnd,
    look: { on: LinkEnd; other: LinkEnd; relationship: string },
  ) => {
    const key = linkKey(link, from.uniqueId, to.uniqueId);
    let todo = !links.has(key);
    if (todo && !fresh(from.id) && !fresh(to.id)) {
      // Both ends existed before this run: the link may be there already.
      const seen = await linksOf(client, cache, look.on.uniqueId, signal);
      if (seen.some((l) => l.uniqueId === look.other.uniqueId && l.relationship === look.relationship)) {
        todo = false;
        links.add(key);
      }
    }
    steps.push({ step: 'link', link, from, to, todo });
  };
  const own = (id: string): LinkEnd => ({ id, uniqueId: uid.get(id) as string });
  for (const s of manifest.samples) {
    const child = own(s.id);
    for (const p of s.parents) {
      const parent = end(p);
      await linkStep('sample-child', parent, child, { on: child, other: parent, relationship: 'parent' });
    }
  }
  for (const d of manifest.datasets) {
    const child = own(d.id);
    for (const p of d.parents) {
      const parent = end(p);
      await linkStep('dataset-child', parent, child, { on: child, other: parent, relationship: 'parent' });
    }
  }
  for (const d of manifest.datasets) {
    const ds = own(d.id);
    for (const s of d.samples) {
      const sample = end(s);
      // Seen from the dataset, its samples are `associated`.
      await linkStep('dataset-sample', ds, sample, { on: ds, other: sample, relationship: 'associated' });
    }
  }
  state.links = [...links];

  // Uploads, then ingestion.
  const ingests: PlanStep[] = [];
  for (const d of manifest.datasets) {
    const s = state.datasets[d.id] as EntryState;
    const mine = local.files.get(d.id) ?? [];
    if (mine.length === 0) continue;
    const held = fresh(d.id) ? [] : await filesOf(client, cache, s.uniqueId, signal);
    const ingestionClass = typeof d.ingest === 'string' ? d.ingest : undefined;
    for (const file of mine) {
      const onServer = held.find((f) => f.sha256Hash?.toLowerCase() === file.sha256);
      const clash = held.find(
        (f) => baseName(f) === file.name && f.sha256Hash?.toLowerCase() !== file.sha256,
      );
      if (!onServer && clash) {
        report(
          d,
          `dataset ${d.id}: the dataset already holds another "${file.name}" (other content); rename ${file.display}`,
          'files',
        );
        continue;
      }
      const recorded = s.files?.[file.sha256];
      steps.push({
        step: 'upload',
        id: d.id,
        uniqueId: s.uniqueId,
        todo: !onServer,
        file,
        ingest: d.ingest !== false,
        mfid: onServer?.mfid ?? undefined,
      });
      if (d.ingest === false) continue;
      // Ingestion is requested by this tool only for files it uploaded; a file found on the server that the
      // state does not know was uploaded by someone else, who decides.
      const todo =
        !onServer || (recorded !== undefined && recorded.status !== 'done' && !onServer.storagePath);
      ingests.push({ step: 'ingest', id: d.id, uniqueId: s.uniqueId, todo, file, ingestionClass });
    }
  }
  steps.push(...ingests);
  return { manifest, steps, state, created };
}

function baseName(f: CrucibleFile): string {
  return f.filename.replace(/\\/g, '/').split('/').pop() ?? f.filename;
}

function linksOf(client: CrucibleClient, cache: ServerCache, id: string, signal?: AbortSignal) {
  let p = cache.links.get(id);
  if (!p) {
    p = client.datasets.links(id, { signal }).toArray();
    cache.links.set(id, p);
  }
  return p;
}

function filesOf(client: CrucibleClient, cache: ServerCache, id: string, signal?: AbortSignal) {
  let p = cache.files.get(id);
  if (!p) {
    p = client.files.list(id, { signal }).toArray();
    cache.files.set(id, p);
  }
  return p;
}
