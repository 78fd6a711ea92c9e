import { Parser } from 'htmlparser2';

/**
 * The HTML of a compound-set upload (spec §11.4), read with htmlparser2 (a tolerant, well-kept HTML tokenizer that
 * decodes entities): the page `POST /viewer/upload_cset/` answers with (the task it started, or the form's errors)
 * and the pandas table of a validation (`molecule_name`, `field`, `warning_string`, one row per problem, then a
 * sentence). Everything returned is plain text as the server wrote it: escape it before a terminal.
 */

/** Which task an upload started: `validate` (submit choice V) or `upload` (U). */
export type CompoundSetTaskKind = 'validate' | 'upload';

/** One problem the server found in an uploaded SDF. */
export interface CompoundSetIssue {
  /** The molecule's name (`ver_1.2` for the header record; `File error` when the file is not an SDF). */
  molecule: string;
  /** The property (or `_Name`, `_File_`) the problem is in. */
  field: string;
  /** What is wrong, in the server's words. */
  warning: string;
}

const TASK_ID = '[0-9A-Za-z][0-9A-Za-z_-]{7,63}';
const TASK_PATH = new RegExp(`/viewer/(validate|upload)_task/(${TASK_ID})/`);
const TASK_VAR = new RegExp(String.raw`\b(validate|upload)_task_id\b["']?\s*[:=]\s*["'](${TASK_ID})["']`);

/** The task a success page embeds: `/viewer/validate_task/<uuid>/` (or a `validate_task_id = "<uuid>"`). */
export function findCsetTask(page: string): { kind: CompoundSetTaskKind; id: string } | undefined {
  const m = TASK_PATH.exec(page) ?? TASK_VAR.exec(page);
  if (!m) return undefined;
  return { kind: m[1] as CompoundSetTaskKind, id: m[2] as string };
}

const ERROR_CLASS = /(^|\s)(errorlist|errornote|error|errors|alert|alert-danger|messages)(\s|$)/i;

/** The error lines of a form page: Django's `errorlist`s, `messages` and elements with an error class. */
export function pageErrors(page: string): string[] {
  const out: string[] = [];
  // Open elements: whether each is (inside) an error container.
  const stack: Array<{ name: string; error: boolean }> = [];
  let text = '';
  const flush = () => {
    const line = text.replace(/\s+/g, ' ').trim();
    if (line && !out.includes(line)) out.push(line);
    text = '';
  };
  const inError = () => stack.some((e) => e.error);
  let skip = 0;
  const parser = new Parser(
    {
      onopentag(name, attributes) {
        if (name === 'script' || name === 'style') skip += 1;
        const error = ERROR_CLASS.test(attributes.class ?? '') || attributes.role === 'alert';
        if (inError() && /^(li|p|div|span|br|tr|td)$/.test(name)) flush();
        stack.push({ name, error });
      },
      ontext(data) {
        if (skip === 0 && inError()) text += data;
      },
      onclosetag(name) {
        if (name === 'script' || name === 'style') skip = Math.max(0, skip - 1);
        const at = stack.findLastIndex((e) => e.name === name);
        if (at < 0) return;
        if (inError()) flush();
        stack.length = at;
      },
    },
    { decodeEntities: true, lowerCaseTags: true },
  );
  parser.end(page);
  flush();
  return out;
}

/** Whether a page holds a form (the upload form sent back). */
export function hasForm(page: string): boolean {
  return /<form[\s>]/i.test(page);
}

/**
 * The pandas table of a validation (`<table class="dataframe">`: a header row, then per row the index as a
 * `<th>` and the cells as `<td>`s) as issues, and the text outside tables (the closing sentence) as `message`.
 * Columns are found by their header (`molecule_name`, `field`, `warning_string`), in any order.
 */
export function parseValidationHtml(html: string): { issues: CompoundSetIssue[]; message: string } {
  const issues: CompoundSetIssue[] = [];
  let outside = '';
  let tables = 0;
  let section: 'head' | 'body' | undefined;
  let header: string[] = [];
  let row: Array<{ th: boolean; text: string }> | undefined;
  let cell: { th: boolean; text: string } | undefined;
  let skip = 0;
  const finishRow = () => {
    if (!row) return;
    const cells = row;
    row = undefined;
    // The header: the row inside <thead>, or a first row of <th>s only.
    if (section === 'head' || (header.length === 0 && cells.every((c) => c.th))) {
      header = cells.map((c) => c.text.trim().toLowerCase());
      return;
    }
    // Data rows: pandas puts the index in a leading <th>; the header has an empty first <th> for it.
    const values = cells.map((c) => c.text.replace(/\s+/g, ' ').trim());
    const names = header.length === values.length ? header : header.slice(header.length - values.length);
    const get = (key: string, fallback: number) => {
      const i = names.indexOf(key);
      return (i >= 0 ? values[i] : values[fallback]) ?? '';
    };
    const n = values.length;
    issues.push({
      molecule: get('molecule_name', n - 3),
      field: get('field', n - 2),
      warning: get('warning_string', n - 1),
    });
  };
  const parser = new Parser(
    {
      onopentag(name) {
        if (name === 'script' || name === 'style') skip += 1;
        if (name === 'table') tables += 1;
        if (tables === 0) {
          if (name === 'br' || name === 'p' || name === 'div') outside += '\n';
          return;
        }
        if (name === 'thead') section = 'head';
        else if (name === 'tbody') section = 'body';
        else if (name === 'tr') {
          finishRow();
          row = [];
        } else if ((name === 'td' || name === 'th') && row) {
          cell = { th: name === 'th', text: '' };
          row.push(cell);
        }
      },
      ontext(data) {
        if (skip > 0) return;
        if (tables === 0) outside += data;
        else if (cell) cell.text += data;
      },
      onclosetag(name) {
        if (name === 'script' || name === 'style') skip = Math.max(0, skip - 1);
        if (tables === 0) return;
        if (name === 'td' || name === 'th') cell = undefined;
        else if (name === 'tr') finishRow();
        else if (name === 'thead' || name === 'tbody') {
          finishRow();
          section = undefined;
        } else if (name === 'table') {
          finishRow();
          tables -= 1;
          header = tables === 0 ? [] : header;
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true },
  );
  parser.end(html);
  const message = outside
    .split('\n')
    .map((l) => l.replace(/\s+/g, ' ').trim())
    .filter(Boolean)
    .join('\n');
  return { issues, message };
}
