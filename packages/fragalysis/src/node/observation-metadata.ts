import { readFile } from 'node:fs/promises';

/**
 * `metadata.csv` of an archive (spec §4.7): one row per observation of the whole target, non-numeric values
 * quoted, `\n` line ends. Observation sync (§11.3) reads which crystal (`Experiment code`) each `Code` belongs
 * to, and rewrites the `Downloaded` column to say what the local tree holds; every other byte stays as the
 * server wrote it.
 */

interface Field {
  /** The field as written (quotes included). */
  raw: string;
  /** Its value. */
  value: string;
}

/** Splits CSV text into records of fields (RFC 4180: quoted fields may hold commas, quotes and newlines). */
function parseCsv(text: string): Field[][] {
  const records: Field[][] = [];
  let record: Field[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const start = i;
    let value = '';
    if (text[i] === '"') {
      i += 1;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q === -1) {
          value += text.slice(i);
          i = n;
          break;
        }
        value += text.slice(i, q);
        if (text[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      // Anything between the closing quote and the separator is kept as written.
      while (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') value += text[i++];
    } else {
      while (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') i += 1;
      value = text.slice(start, i);
    }
    record.push({ raw: text.slice(start, i), value });
    if (text[i] === ',') {
      i += 1;
      if (i === n) record.push({ raw: '', value: '' });
      continue;
    }
    if (text[i] === '\r') i += 1;
    if (text[i] === '\n') i += 1;
    records.push(record);
    record = [];
  }
  if (record.length) records.push(record);
  return records;
}

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
