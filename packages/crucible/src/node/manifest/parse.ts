import {
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseDocument,
  type Scalar,
  type YAMLMap,
} from 'yaml';
import { ManifestError, type ManifestProblem } from './errors.js';

/**
 * The sciport batch manifest (spec crucible.md §19.5.1): one YAML mapping of samples and datasets to create,
 * with their metadata, keywords, links and files. Parsed with the `yaml` package (eemeli/yaml): a maintained,
 * dependency-free YAML 1.2 parser whose document API keeps every node's source range, so that each error names
 * its line and column (a `LineCounter` maps offsets to lines), and which reports duplicate keys itself. Its
 * YAML 1.2 core schema reads `2024-01-02` as a string, not a date, so values reach the API as written.
 */

/** Where a value was written: 1-based line and column. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** A reference to a sample or dataset: a local id of this manifest, or the MFID of a record on the server. */
export interface ManifestRef extends SourcePosition {
  value: string;
  /** A local id (of the right kind), else an MFID to look up on the server. */
  local: boolean;
}

/** Metadata written inline, or the path (relative to the manifest) of a JSON file holding an object. */
export type ManifestMetadata =
  | ({ kind: 'inline'; value: Record<string, unknown> } & SourcePosition)
  | ({ kind: 'file'; path: string } & SourcePosition);

/** A file pattern: a path or a glob relative to the manifest. */
export interface ManifestFilePattern extends SourcePosition {
  pattern: string;
}

interface EntryCommon extends SourcePosition {
  /** The local id (unique in the file). */
  id: string;
  name: string;
  description?: string | undefined;
  timestamp?: string | undefined;
  public?: boolean | undefined;
  /** The entry's project, else the manifest's. */
  project?: string | undefined;
  metadata?: ManifestMetadata | undefined;
  parents: ManifestRef[];
}

export interface ManifestSample extends EntryCommon {
  type?: string | undefined;
}

export interface ManifestDataset extends EntryCommon {
  measurement?: string | undefined;
  instrument?: string | undefined;
  dataFormat?: string | undefined;
  dataType?: string | undefined;
  session?: string | undefined;
  keywords: string[];
  files: ManifestFilePattern[];
  /** `true`: ingestion with no class (the server picks by file type); `false`: none; a string: that class. */
  ingest: boolean | string;
  /** Associated samples. */
  samples: ManifestRef[];
}

export interface Manifest {
  /** The name errors are reported under (the manifest's path). */
  file: string;
  version: 1;
  project?: string | undefined;
  /** In creation order: every local parent before its children. */
  samples: ManifestSample[];
  /** In creation order: every local parent before its children. */
  datasets: ManifestDataset[];
}

export interface ParseManifestOptions {
  /** The manifest's path, used in error messages (default `manifest.yaml`). */
  file?: string;
}

/** Local ids: letters, digits, `_`, `.` and `-`. */
export const LOCAL_ID = /^[A-Za-z0-9_.-]+$/;
/** An MFID (spec §3): 26 lowercase Crockford base32 characters. */
export const MFID = /^[0-9abcdefghjkmnpqrstvwxyz]{26}$/;

const TOP_KEYS = ['version', 'project', 'samples', 'datasets'] as const;
const SAMPLE_KEYS = [
  'id',
  'name',
  'type',
  'description',
  'timestamp',
  'public',
  'project',
  'metadata',
  'parents',
] as const;
const DATASET_KEYS = [
  'id',
  'name',
  'measurement',
  'instrument',
  'data_format',
  'data_type',
  'session',
  'description',
  'timestamp',
  'public',
  'project',
  'keywords',
  'metadata',
  'files',
  'ingest',
  'samples',
  'parents',
] as const;

/**
 * Parses and checks a manifest without touching the disk or the network: YAML syntax, keys (any key not in
 * §19.5.1 is an error), types, ids (pattern, uniqueness), references between entries (a local id of the right
 * kind, else an MFID to be looked up on the server) and cycles of parents. Every problem is collected; any
 * problem throws a `ManifestError` listing them all with their lines.
 */
export function parseManifest(text: string, options: ParseManifestOptions = {}): Manifest {
  const file = options.file ?? 'manifest.yaml';
  const lineCounter = new LineCounter();
  const problems: ManifestProblem[] = [];
  const at = (node: unknown): SourcePosition => {
    const offset = (node as Node | null | undefined)?.range?.[0];
    if (offset === undefined) return { line: 0, column: 0 };
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const problem = (node: unknown, message: string, key?: string) =>
    problems.push({ file, ...at(node), ...(key ? { field: key } : {}), message });

  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  for (const e of doc.errors) {
    const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
    problems.push({ file, line: pos.line, column: pos.col, message: e.message.split('\n')[0] ?? e.code });
  }
  if (problems.length > 0) throw new ManifestError(file, problems);
  const root = doc.contents;
  if (!isMap(root)) {
    problem(root, 'a manifest is one YAML mapping with `version`, `project`, `samples` and `datasets`');
    throw new ManifestError(file, problems);
  }

  const top = fields(root, TOP_KEYS, 'the manifest', problem);
  const version = top.get('version');
  if (!version) problem(root, 'missing `version: 1`', 'version');
  else if (!isScalar(version.value) || version.value.value !== 1)
    problem(version.value ?? version.key, 'version must be 1', 'version');
  const project = optionalString(top.get('project'), problem);

  // Ids first, so that references can be told local or not.
  const kinds = new Map<string, 'sample' | 'dataset'>();
  const entries = (key: 'samples' | 'datasets'): YAMLMap[] => {
    const pair = top.get(key);
    if (!pair) return [];
    if (!isSeq(pair.value)) {
      problem(pair.value ?? pair.key, `${key} must be a list`, key);
      return [];
    }
    const out: YAMLMap[] = [];
    for (const item of pair.value.items) {
      if (isMap(item)) out.push(item);
      else problem(item as Node, `each item of ${key} must be a mapping (id, name, …)`, key);
    }
    return out;
  };
  const sampleNodes = entries('samples');
  const datasetNodes = entries('datasets');
  const ids = new Map<YAMLMap, string>();
  for (const [nodes, kind] of [
    [sampleNodes, 'sample'],
    [datasetNodes, 'dataset'],
  ] as const) {
    for (const node of nodes) {
      const idPair = pairOf(node, 'id');
      if (!idPair) {
        problem(node, `a ${kind} needs an \`id\``, 'id');
        continue;
      }
      const value = idPair.value;
      const id = isScalar(value) && typeof value.value === 'string' ? value.value : undefined;
      if (id === undefined) problem(value ?? idPair.key, 'id must be a string', 'id');
      else if (!LOCAL_ID.test(id))
        problem(value, `id "${id}" may hold only letters, digits, "_", "." and "-"`, 'id');
      else if (kinds.has(id)) problem(value, `duplicate id "${id}"`, 'id');
      else {
        kinds.set(id, kind);
        ids.set(node, id);
      }
    }
  }

  const refs = (pair: Pair | undefined, want: 'sample' | 'dataset', key: string): ManifestRef[] => {
    if (!pair) return [];
    if (!isSeq(pair.value)) {
      problem(pair.value ?? pair.key, `${key} must be a list of ${want} ids`, key);
      return [];
    }
    const out: ManifestRef[] = [];
    for (const item of pair.value.items) {
      const node = item as Node;
      if (!isScalar(node) || typeof node.value !== 'string' || node.value === '') {
        problem(node, `${key}: each item must be a ${want} id`, key);
        continue;
      }
      const value = node.value;
      const kind = kinds.get(value);
      if (kind === want) out.push({ value, local: true, ...at(node) });
      else if (kind) problem(node, `${key}: "${value}" is a ${kind} of this manifest, not a ${want}`, key);
      else if (MFID.test(value)) out.push({ value, local: false, ...at(node) });
      else
        problem(
          node,
          `${key}: "${value}" is neither a ${want} id of this manifest nor an MFID of a ${want} on the server`,
          key,
        );
    }
    return out;
  };

  const common = (
    node: YAMLMap,
    f: Map<string, Pair>,
    kind: 'sample' | 'dataset',
  ): EntryCommon | undefined => {
    const id = ids.get(node);
    const namePair = f.get('name');
    const name = namePair ? requiredString(namePair, problem) : undefined;
    if (!namePair) problem(node, `${kind} ${id ?? ''} needs a \`name\``.replace('  ', ' '), 'name');
    // Every field is checked, so that one run reports every problem.
    const rest = {
      description: optionalString(f.get('description'), problem),
      timestamp: optionalString(f.get('timestamp'), problem),
      public: optionalBoolean(f.get('public'), problem),
      project: optionalString(f.get('project'), problem) ?? project,
      metadata: metadataOf(f.get('metadata'), problem, at),
      parents: refs(f.get('parents'), kind, 'parents'),
    };
    if (id === undefined || name === undefined) return undefined;
    return { id, ...at(node), name, ...rest };
  };

  const samples: ManifestSample[] = [];
  for (const node of sampleNodes) {
    const f = fields(node, SAMPLE_KEYS, `sample ${ids.get(node) ?? ''}`.trim(), problem);
    const base = common(node, f, 'sample');
    const type = optionalString(f.get('type'), problem);
    if (base) samples.push({ ...base, type });
  }
  const datasets: ManifestDataset[] = [];
  for (const node of datasetNodes) {
    const f = fields(node, DATASET_KEYS, `dataset ${ids.get(node) ?? ''}`.trim(), problem);
    const base = common(node, f, 'dataset');
    const dataset = {
      measurement: optionalString(f.get('measurement'), problem),
      instrument: optionalString(f.get('instrument'), problem),
      dataFormat: optionalString(f.get('data_format'), problem),
      dataType: optionalString(f.get('data_type'), problem),
      session: optionalString(f.get('session'), problem),
      keywords: stringList(f.get('keywords'), problem),
      files: stringList(f.get('files'), problem).map((p) => ({ pattern: p.value, ...at(p.node) })),
      ingest: ingestOf(f.get('ingest'), problem),
      samples: refs(f.get('samples'), 'sample', 'samples'),
    };
    if (base) {
      const keywords = [...new Map(dataset.keywords.map((k) => [k.value.toLowerCase(), k.value])).values()];
      datasets.push({ ...base, ...dataset, keywords });
    }
  }

  const orderedSamples = topological(samples, problem, ids);
  const orderedDatasets = topological(datasets, problem, ids);
  if (problems.length > 0) throw new ManifestError(file, problems);
  return {
    file,
    version: 1,
    project,
    samples: orderedSamples,
    datasets: orderedDatasets,
  };
}

type Report = (node: unknown, message: string, key?: string) => void;

/** The pairs of a mapping by key; keys not allowed are reported with the list of those that are. */
function fields(map: YAMLMap, allowed: readonly string[], where: string, problem: Report): Map<string, Pair> {
  const out = new Map<string, Pair>();
  for (const pair of map.items) {
    const keyNode = pair.key as Node;
    const key = isScalar(keyNode) ? String(keyNode.value) : undefined;
    if (key === undefined || !allowed.includes(key)) {
      problem(
        keyNode,
        `unknown key ${key === undefined ? '(not a plain key)' : `"${key}"`} in ${where} (allowed: ${allowed.join(', ')})`,
        key,
      );
      continue;
    }
    out.set(key, pair as Pair);
  }
  return out;
}

function pairOf(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => isScalar(p.key) && p.key.value === key) as Pair | undefined;
}

function keyOf(pair: Pair): string {
  return isScalar(pair.key) ? String(pair.key.value) : '?';
}

function requiredString(pair: Pair, problem: Report): string | undefined {
  const v = pair.value as Node | null;
  if (isScalar(v) && typeof v.value === 'string' && v.value.trim() !== '') return v.value;
  problem(v ?? (pair.key as Node), `${keyOf(pair)} must be a non-empty string`, keyOf(pair));
  return undefined;
}

function optionalString(pair: Pair | undefined, problem: Report): string | undefined {
  return pair ? requiredString(pair, problem) : undefined;
}

function optionalBoolean(pair: Pair | undefined, problem: Report): boolean | undefined {
  if (!pair) return undefined;
  const v = pair.value as Node | null;
  if (isScalar(v) && typeof v.value === 'boolean') return v.value;
  problem(v ?? (pair.key as Node), `${keyOf(pair)} must be true or false`, keyOf(pair));
  return undefined;
}

function stringList(pair: Pair | undefined, problem: Report): { value: string; node: Scalar }[] {
  if (!pair) return [];
  const key = keyOf(pair);
  if (!isSeq(pair.value)) {
    problem((pair.value as Node | null) ?? (pair.key as Node), `${key} must be a list of strings`, key);
    return [];
  }
  const out: { value: string; node: Scalar }[] = [];
  for (const item of pair.value.items) {
    const node = item as Node;
    if (isScalar(node) && typeof node.value === 'string' && node.value.trim() !== '')
      out.push({ value: node.value.trim(), node });
    else problem(node, `${key}: each item must be a non-empty string`, key);
  }
  return out;
}

function ingestOf(pair: Pair | undefined, problem: Report): boolean | string {
  if (!pair) return true;
  const v = pair.value as Node | null;
  if (isScalar(v) && typeof v.value === 'boolean') return v.value;
  if (isScalar(v) && typeof v.value === 'string' && /^[A-Za-z0-9_.-]+$/.test(v.value)) return v.value;
  problem(v ?? (pair.key as Node), 'ingest must be true, false or an ingestion class name', 'ingest');
  return false;
}

function metadataOf(
  pair: Pair | undefined,
  problem: Report,
  at: (node: unknown) => SourcePosition,
): ManifestMetadata | undefined {
  if (!pair) return undefined;
  const v = pair.value as Node | null;
  if (isScalar(v) && typeof v.value === 'string' && v.value.trim() !== '')
    return { kind: 'file', path: v.value, ...at(v) };
  if (isMap(v)) {
    const value = v.toJSON() as unknown;
    const bad = nonJson(value);
    if (bad === undefined) return { kind: 'inline', value: value as Record<string, unknown>, ...at(v) };
    problem(v, `metadata: ${bad}`, 'metadata');
    return undefined;
  }
  problem(
    v ?? (pair.key as Node),
    'metadata must be a mapping, or the path of a JSON file holding an object',
    'metadata',
  );
  return undefined;
}

/** Why a value cannot be sent as JSON (a non-finite number, …), or undefined. */
function nonJson(value: unknown): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `${value} is not a JSON number`;
  if (Array.isArray(value)) {
    for (const item of value) {
      const bad = nonJson(item);
      if (bad) return bad;
    }
    return undefined;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value as Record<string, unknown>)) {
      const bad = nonJson(item);
      if (bad) return bad;
    }
    return undefined;
  }
  return `a ${typeof value} is not a JSON value`;
}

/** Entries ordered parents first; a cycle among local parents is reported on the line of each entry in it. */
function topological<T extends EntryCommon>(entries: T[], problem: Report, ids: Map<YAMLMap, string>): T[] {
  const byId = new Map(entries.map((e) => [e.id, e]));
  const nodeOf = new Map([...ids].map(([node, id]) => [id, node]));
  const out: T[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const reported = new Set<string>();
  const visit = (entry: T, path: string[]): void => {
    const s = state.get(entry.id);
    if (s === 'done') return;
    if (s === 'visiting') {
      const cycle = [...path.slice(path.indexOf(entry.id)), entry.id];
      const key = [...cycle].sort().join(' ');
      if (!reported.has(key)) {
        reported.add(key);
        problem(nodeOf.get(entry.id), `parents form a cycle: ${cycle.join(' → ')}`, 'parents');
      }
      return;
    }
    state.set(entry.id, 'visiting');
    for (const ref of entry.parents) {
      const parent = ref.local ? byId.get(ref.value) : undefined;
      if (parent) visit(parent, [...path, entry.id]);
    }
    state.set(entry.id, 'done');
    out.push(entry);
  };
  for (const e of entries) visit(e, []);
  return out;
}
