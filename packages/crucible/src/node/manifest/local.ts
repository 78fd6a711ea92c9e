import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { sha256File } from '@sciport/core/node';
import { glob, isDynamicPattern } from 'tinyglobby';
import type { ManifestProblem } from './errors.js';
import type { Manifest, ManifestMetadata } from './parse.js';

/**
 * What a manifest names on the local disk: each dataset's files (paths and globs relative to the manifest,
 * matched with tinyglobby, the small maintained glob matcher that tsup and vite use; `*` stays in a folder,
 * `**` crosses folders) with their SHA-256, and metadata read from JSON files.
 */

export interface LocalFile {
  /** Absolute path. */
  path: string;
  /** As written relative to the manifest (for messages). */
  display: string;
  /** Its name in the dataset (the upload keeps the base name). */
  name: string;
  size: number;
  sha256: string;
}

export interface LocalData {
  /** By dataset local id. */
  files: Map<string, LocalFile[]>;
  /** By local id (samples and datasets). */
  metadata: Map<string, Record<string, unknown>>;
}

/** Reads what the manifest names on disk; problems (with their lines) are added to `problems`. */
export async function readLocal(
  manifest: Manifest,
  baseDir: string,
  problems: ManifestProblem[],
  signal?: AbortSignal,
): Promise<LocalData> {
  const files = new Map<string, LocalFile[]>();
  const metadata = new Map<string, Record<string, unknown>>();
  const report = (pos: { line: number; column: number }, message: string, key: string) =>
    problems.push({ file: manifest.file, line: pos.line, column: pos.column, field: key, message });

  for (const entry of [...manifest.samples, ...manifest.datasets]) {
    if (!entry.metadata) continue;
    const value = await metadataOf(entry.metadata, baseDir, (m) =>
      report(entry.metadata as ManifestMetadata, m, 'metadata'),
    );
    if (value) metadata.set(entry.id, value);
  }

  for (const ds of manifest.datasets) {
    const out: LocalFile[] = [];
    const seen = new Set<string>();
    for (const pattern of ds.files) {
      const matched = await match(pattern.pattern, baseDir);
      if (typeof matched === 'string') {
        report(pattern, matched, 'files');
        continue;
      }
      for (const abs of matched) {
        if (seen.has(abs)) continue;
        seen.add(abs);
        signal?.throwIfAborted();
        const info = await stat(abs);
        out.push({
          path: abs,
          display: path.relative(baseDir, abs).split(path.sep).join('/'),
          name: path.basename(abs),
          size: info.size,
          sha256: await sha256File(abs, signal),
        });
      }
    }
    // The upload names a file by its base name: two different files of one name would clash in the dataset.
    const byName = new Map<string, LocalFile>();
    for (const f of out) {
      const other = byName.get(f.name);
      if (other && other.sha256 !== f.sha256)
        report(
          ds,
          `dataset ${ds.id}: ${other.display} and ${f.display} would both be uploaded as "${f.name}"`,
          'files',
        );
      else byName.set(f.name, f);
    }
    files.set(
      ds.id,
      out.filter((f) => byName.get(f.name) === f),
    );
  }
  return { files, metadata };
}

/** The absolute paths a pattern names (sorted), or why it names none. */
async function match(pattern: string, baseDir: string): Promise<string[] | string> {
  if (!isDynamicPattern(pattern)) {
    const abs = path.resolve(baseDir, pattern);
    const info = await stat(abs).catch(() => undefined);
    if (!info) return `files: no such file: ${pattern}`;
    if (!info.isFile())
      return `files: ${pattern} is not a file (a folder's files: ${pattern.replace(/\/+$/, '')}/**)`;
    return [abs];
  }
  const found = await glob(pattern, {
    cwd: baseDir,
    absolute: true,
    onlyFiles: true,
    expandDirectories: false,
  });
  if (found.length === 0) return `files: ${pattern} matches no file`;
  return found.map((f) => path.resolve(f)).sort();
}

async function metadataOf(
  m: ManifestMetadata,
  baseDir: string,
  report: (message: string) => void,
): Promise<Record<string, unknown> | undefined> {
  if (m.kind === 'inline') return m.value;
  const abs = path.resolve(baseDir, m.path);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch {
    report(`metadata: cannot read ${m.path}`);
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    report(`metadata: ${m.path} is not JSON (${(error as Error).message})`);
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    report(`metadata: ${m.path} does not hold a JSON object`);
    return undefined;
  }
  return value as Record<string, unknown>;
}
