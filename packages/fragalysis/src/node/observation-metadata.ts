import { readFile } from 'node:fs/promises';
import { parseCsv } from './csv.js';

/**
 * `metadata.csv` of an archive (spec §4.7): one row per observation of the whole target, non-numeric values
 * quoted, `\n` line ends. Observation sync (§11.3) reads which crystal (`Experiment code`) each `Code` belongs
 * to, and rewrites the `Downloaded` column to say what the local tree holds; every other byte stays as the
 * server wrote it.
 */

export interface ObservationMetadata {
  text: string;
  /** `Code` → `Experiment code` (the crystal's folder under `crystallographic_files/`). */
  crystals: Map<string, string>;
}

/** Reads a `metadata.csv`, or undefined when there is none. */
export async function readMetadata(file: string): Promise<ObservationMetadata | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const records = parseCsv(text);
  const head = (records[0] ?? []).map((f) => f.value);
  const code = head.indexOf('Code');
  const experiment = head.indexOf('Experiment code');
  const crystals = new Map<string, string>();
  if (code >= 0 && experiment >= 0) {
    for (const r of records.slice(1)) {
      const c = r[code]?.value;
      const x = r[experiment]?.value;
      if (c && x) crystals.set(c, x);
    }
  }
  return { text, crystals };
}

/**
 * `metadata.csv` with its `Downloaded` column set from `present` (the codes whose `aligned_files/<code>/` the
 * local tree holds), written as the server writes it (`"True"` / `"False"`). Text without those columns is
 * returned unchanged.
 */
export function withDownloaded(text: string, present: ReadonlySet<string>): string {
  const records = parseCsv(text);
  const head = (records[0] ?? []).map((f) => f.value);
  const code = head.indexOf('Code');
  const downloaded = head.indexOf('Downloaded');
  if (code < 0 || downloaded < 0) return text;
  const lines = records.map((r, i) => {
    if (i === 0 || r.length <= downloaded) return r.map((f) => f.raw).join(',');
    const c = r[code]?.value ?? '';
    return r.map((f, j) => (j === downloaded ? `"${present.has(c) ? 'True' : 'False'}"` : f.raw)).join(',');
  });
  return `${lines.join('\n')}\n`;
}
