/**
 * The CSV files of a Fragalysis archive (spec §4.7, §11.1): `metadata.csv` (one row per observation, non-numeric
 * values quoted) and `errors.csv` (`Param,Code,File not found when assembling download`). One small RFC 4180
 * reader rather than a CSV library: observation sync rewrites one column of `metadata.csv` and keeps every other
 * byte as the server wrote it, which needs each field's raw text beside its value (csv-parse, the library the
 * completeness check first used, gives values only, and weighed 1.5 MB of a 15 MB install).
 */

export interface CsvField {
  /** The field as written (quotes included). */
  raw: string;
  /** Its value. */
  value: string;
}

/** Splits CSV text into records of fields (RFC 4180: quoted fields may hold commas, quotes and newlines). */
export function parseCsv(text: string): CsvField[][] {
  const records: CsvField[][] = [];
  let record: CsvField[] = [];
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

/** The values of each non-blank record, trimmed, without a leading byte-order mark (what checks compare). */
export function csvValues(text: string): string[][] {
  return parseCsv(text.replace(/^\uFEFF/, ''))
    .map((record) => record.map((field) => field.value.trim()))
    .filter((values) => values.some((value) => value !== ''));
}
