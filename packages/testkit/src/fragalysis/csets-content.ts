import type { FragalysisSimTarget } from './fragalysis-simulator.js';

/**
 * Compound-set content of the simulated stack (spec §11.4): SD files written and read, the server's validation of
 * an upload (the first record `ver_1.2` with its submitter properties, `ref_mols` naming observations of the
 * target, `original SMILES`, legal names) and the pandas-style HTML table it reports problems in.
 */

export interface SdfRecord {
  name: string;
  /** `> <name>` data items. */
  props: Record<string, string>;
  /** Why the record is not a molfile, if it is not. */
  broken?: string;
}

/** One problem, as a row of the pandas table: `molecule_name`, `field`, `warning_string`. */
export interface ValidationRow {
  molecule_name: string;
  field: string;
  warning_string: string;
}

export const HEADER_PROPS = [
  'submitter_name',
  'submitter_email',
  'submitter_institution',
  'generation_date',
  'method',
] as const;

function molblock(name: string, props: Record<string, string | number>): string {
  const items = Object.entries(props)
    .map(([k, v]) => `> <${k}>\n${v}\n`)
    .join('\n');
  return (
    `${name}\n     RDKit          3D\n\n` +
    '  1  0  0  0  0  0  0  0  0  0999 V2000\n' +
    '    1.0000    2.0000    3.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\n' +
    `M  END\n${items}\n$$$$\n`
  );
}

/** An SD file: the `ver_1.2` header record, then one record per molecule. */
export function writeSdf(
  header: Record<string, string>,
  molecules: ReadonlyArray<{ name: string; props: Record<string, string | number> }>,
): string {
  return molblock('ver_1.2', header) + molecules.map((m) => molblock(m.name, m.props)).join('');
}

/** The records of an SD file (`$$$$`-separated); an unterminated tail is a broken record. */
export function readSdf(text: string): SdfRecord[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const records: SdfRecord[] = [];
  let current: string[] = [];
  const finish = (terminated: boolean) => {
    if (current.every((l) => l.trim() === '')) {
      current = [];
      return;
    }
    const record: SdfRecord = { name: (current[0] ?? '').trim(), props: {} };
    if (!terminated) record.broken = 'no $$$$ at the end';
    else if (!/(V2000|V3000)\s*$/.test(current[3] ?? '')) record.broken = 'no counts line';
    else if (!current.some((l) => /^M {2}END/.test(l))) record.broken = 'no M  END';
    for (let i = 0; i < current.length; i++) {
      const m = /^>\s*<([^>]+)>/.exec(current[i] as string);
      if (!m) continue;
      const value: string[] = [];
      for (i += 1; i < current.length && (current[i] as string).trim() !== ''; i++)
        value.push(current[i] as string);
      record.props[m[1] as string] = value.join('\n');
    }
    records.push(record);
    current = [];
  };
  for (const line of lines) {
    if (line.trimEnd() === '$$$$') finish(true);
    else current.push(line);
  }
  finish(false);
  return records;
}

/** The server's checks of an upload, as table rows (none: it validates). */
export function validateSdf(text: string, target: FragalysisSimTarget): ValidationRow[] {
  const records = readSdf(text);
  const broken = records.find((r) => r.broken);
  if (records.length === 0 || broken || text.includes('\0')) {
    return [
      {
        molecule_name: 'File error',
        field: '_File_',
        warning_string: `Not a valid SD file: ${broken?.broken ?? 'no records'}`,
      },
    ];
  }
  const rows: ValidationRow[] = [];
  const add = (molecule_name: string, field: string, warning_string: string) =>
    rows.push({ molecule_name, field, warning_string });
  const [header, ...molecules] = records as [SdfRecord, ...SdfRecord[]];
  if (header.name !== 'ver_1.2')
    add(header.name, '_Name', `illegal version: ${header.name} found. Should be ver_1.2`);
  for (const p of HEADER_PROPS) if (!header.props[p]?.trim()) add(header.name, p, `${p} field not found!`);
  const codes = new Set(target.observations.flatMap((o) => [o.code, o.longcode]));
  if (molecules.length === 0) add(header.name, '_File_', 'the file holds no molecules after the header');
  for (const m of molecules) {
    if (!/^[A-Za-z0-9_.+-]{1,60}$/.test(m.name)) add(m.name, '_Name', 'illegal character found');
    const refs = m.props.ref_mols;
    if (refs === undefined || refs.trim() === '') add(m.name, 'ref_mols', 'ref_mols field not found!');
    else {
      for (const ref of refs.split(',').map((r) => r.trim())) {
        if (!codes.has(ref)) add(m.name, 'ref_mols', `${ref} is not a known observation of ${target.title}`);
      }
    }
    if (!m.props['original SMILES']?.trim())
      add(m.name, 'original SMILES', 'original SMILES field not found!');
  }
  return rows;
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export { escapeHtml };

/** `DataFrame.to_html()` of the rows (index in a leading `<th>`, cells escaped), then the server's sentence. */
export function validationHtml(rows: readonly ValidationRow[]): string {
  if (rows.length === 0)
    return '<p>Your data was validated. It can now be uploaded using the upload option.</p>';
  const head =
    '<table border="1" class="dataframe">\n  <thead>\n    <tr style="text-align: right;">\n      <th></th>\n' +
    '      <th>molecule_name</th>\n      <th>field</th>\n      <th>warning_string</th>\n    </tr>\n  </thead>\n  <tbody>\n';
  const body = rows
    .map(
      (r, i) =>
        `    <tr>\n      <th>${i}</th>\n      <td>${escapeHtml(r.molecule_name)}</td>\n` +
        `      <td>${escapeHtml(r.field)}</td>\n      <td>${escapeHtml(r.warning_string)}</td>\n    </tr>\n`,
    )
    .join('');
  return `${head}${body}  </tbody>\n</table><br><p>Your data includes errors and was not validated: fix the rows above and upload it again.</p>`;
}
