/**
 * A small reader for the CIF 1.1 syntax (https://www.iucr.org/resources/cif/spec/version1.1/cifsyntax):
 * data blocks, tags, `loop_`, bare, single- and double-quoted values (a quote closes a value only when
 * whitespace or the end of the line follows it), `;` text fields opened and closed at the start of a line,
 * `#` comments, and the null values `?` and `.`. Every value keeps the 1-based line it starts on, so that the
 * structure reader can name the line of any problem. LF, CRLF and lone CR line ends are all accepted.
 *
 * Written here rather than taken from npm: molstar's CIF reader is part of a 5 MB+ viewer package with
 * server-side dependencies (express, react-markdown, …) and does not keep line numbers per value; the
 * small standalone CIF packages on npm are unmaintained or pull in mathjs. CIF 1.1 is a small grammar,
 * and this reader stays browser-safe with no dependencies.
 */

/** One value as written: `kind` tells a bare `?` (unknown) or `.` (inapplicable) from a quoted `'?'`. */
export interface CifValue {
  readonly text: string;
  /** 1-based line on which the value starts. */
  readonly line: number;
  readonly kind: 'bare' | 'quoted' | 'text';
}

export interface CifLoop {
  /** Tags in lower case, in the order written. */
  readonly tags: readonly string[];
  /** Line of the `loop_` keyword. */
  readonly line: number;
  /** Values, row after row (`values[row * tags.length + column]`). */
  readonly values: readonly CifValue[];
  readonly rows: number;
}

export interface CifBlock {
  /** Block name without `data_`. */
  readonly name: string;
  readonly line: number;
  /** Single items by lower-case tag. */
  readonly items: ReadonlyMap<string, CifValue>;
  readonly loops: readonly CifLoop[];
  /** For every looped tag (lower case), its loop and column. */
  readonly looped: ReadonlyMap<string, { readonly loop: CifLoop; readonly column: number }>;
}

/** A syntax problem with its 1-based line; the structure reader turns it into a `CifStructureError`. */
export class CifSyntaxProblem {
  constructor(
    readonly problem: 'syntax' | 'no_block',
    readonly line: number | null,
    readonly detail: string,
  ) {}
}

/** True when the value is CIF's unknown `?` or inapplicable `.` (unquoted). */
export function isNull(value: CifValue | undefined): boolean {
  return value === undefined || (value.kind === 'bare' && (value.text === '?' || value.text === '.'));
}

interface MutableBlock {
  name: string;
  line: number;
  items: Map<string, CifValue>;
  loops: CifLoop[];
  looped: Map<string, { loop: CifLoop; column: number }>;
}

interface OpenLoop {
  tags: string[];
  line: number;
  values: CifValue[];
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/**
 * Reads every data block of a CIF 1.1 text. Throws a `CifSyntaxProblem` for text that is not CIF 1.1:
 * an unterminated quote or text field, a tag without a value, a value without a tag, a loop whose values
 * do not fill its rows, a tag given twice, or content before the first `data_`.
 */
export function readCifBlocks(text: string): CifBlock[] {
  const blocks: MutableBlock[] = [];
  let block: MutableBlock | null = null;
  let pendingTag: string | null = null;
  let pendingTagText = '';
  let pendingLine = 0;
  let loop: OpenLoop | null = null;
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;

  const fail = (line: number | null, detail: string): never => {
    throw new CifSyntaxProblem('syntax', line, detail);
  };
  const needBlock = (at: number, what: string): MutableBlock => {
    if (block === null) {
      if (!/(^|[\s])data_/i.test(text)) throw new CifSyntaxProblem('no_block', null, 'no data_ block');
      return fail(at, `${what} before the first data_ block`);
    }
    return block;
  };
  const defineTag = (b: MutableBlock, tag: string, at: number, shown: string): void => {
    if (b.items.has(tag) || b.looped.has(tag)) fail(at, `tag ${shown} is given twice`);
  };
  const closeLoop = (): void => {
    if (loop === null) return;
    const open = loop;
    loop = null;
    if (open.tags.length === 0) fail(open.line, 'loop_ without tags');
    if (open.values.length === 0) fail(open.line, 'loop_ without values');
    if (open.values.length % open.tags.length !== 0) {
      fail(
        open.line,
        `the loop_ has ${open.values.length} values, not a multiple of its ${open.tags.length} tags`,
      );
    }
    const done: CifLoop = {
      tags: open.tags,
      line: open.line,
      values: open.values,
      rows: open.values.length / open.tags.length,
    };
    const b = block!;
    b.loops.push(done);
    for (let column = 0; column < open.tags.length; column++) {
      b.looped.set(open.tags[column]!, { loop: done, column });
    }
  };
  const addValue = (value: CifValue): void => {
    const b = needBlock(value.line, 'a value');
    if (pendingTag !== null) {
      b.items.set(pendingTag, value);
      pendingTag = null;
      return;
    }
    if (loop !== null) {
      if (loop.tags.length === 0) fail(loop.line, 'loop_ without tags');
      loop.values.push(value);
      return;
    }
    fail(value.line, `a value (${value.text.slice(0, 40)}) without a tag`);
  };

  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      i++;
      continue;
    }
    if (c === 13) {
      line++;
      i += text.charCodeAt(i + 1) === 10 ? 2 : 1;
      continue;
    }
    if (c === 32 || c === 9) {
      i++;
      continue;
    }
    if (c === 35) {
      // '#': a comment to the end of the line
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 10 || d === 13) break;
        i++;
      }
      continue;
    }
    const atLineStart = i === 0 || text.charCodeAt(i - 1) === 10 || text.charCodeAt(i - 1) === 13;
    if (c === 59 && atLineStart) {
      // ';' text field: ends at the next line that starts with ';'
      const start = line;
      let j = i + 1;
      let end = -1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 10 || d === 13) {
          const lineEnd = j;
          j += d === 13 && text.charCodeAt(j + 1) === 10 ? 2 : 1;
          line++;
          if (text.charCodeAt(j) === 59) {
            end = lineEnd;
            break;
          }
          continue;
        }
        j++;
      }
      if (end < 0) fail(start, 'a ; text field is not closed by a line starting with ;');
      let body = text.slice(i + 1, end);
      if (body.indexOf('\r') >= 0) body = body.replace(/\r\n?/g, '\n');
      // The text starts on the line after the opening ';' when nothing follows it there.
      const firstBreak = body.indexOf('\n');
      if (firstBreak >= 0 && body.slice(0, firstBreak).trim() === '') body = body.slice(firstBreak + 1);
      i = j + 1;
      addValue({ text: body, line: start, kind: 'text' });
      continue;
    }
    if (c === 39 || c === 34) {
      // quoted value: closes at the same quote followed by whitespace or the end of the text
      let j = i + 1;
      let end = -1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 10 || d === 13) break;
        if (d === c && (j + 1 >= n || isSpace(text.charCodeAt(j + 1)))) {
          end = j;
          break;
        }
        j++;
      }
      if (end < 0) fail(line, `a value opened with ${c === 39 ? "'" : '"'} is not closed on its line`);
      addValue({ text: text.slice(i + 1, end), line, kind: 'quoted' });
      i = end + 1;
      continue;
    }
    // A bare token: runs to the next whitespace.
    let j = i + 1;
    while (j < n && !isSpace(text.charCodeAt(j))) j++;
    const token = text.slice(i, j);
    i = j;
    if (c === 95) {
      // '_': a tag
      const b = needBlock(line, `tag ${token}`);
      if (pendingTag !== null) fail(pendingLine, `tag ${pendingTagText} has no value`);
      const tag = token.toLowerCase();
      if (loop !== null && loop.values.length === 0) {
        defineTag(b, tag, line, token);
        if (loop.tags.includes(tag)) fail(line, `tag ${token} is given twice`);
        loop.tags.push(tag);
        continue;
      }
      closeLoop();
      defineTag(b, tag, line, token);
      pendingTag = tag;
      pendingTagText = token;
      pendingLine = line;
      continue;
    }
    const maybeKeyword =
      c === 100 || c === 68 || c === 108 || c === 76 || c === 115 || c === 83 || c === 103 || c === 71;
    if (maybeKeyword) {
      const word = token.toLowerCase();
      if (word.startsWith('data_')) {
        if (pendingTag !== null) fail(pendingLine, `tag ${pendingTagText} has no value`);
        if (block !== null) closeLoop();
        if (word.length === 5) fail(line, 'a data_ block without a name');
        block = {
          name: token.slice(5),
          line,
          items: new Map(),
          loops: [],
          looped: new Map(),
        };
        blocks.push(block);
        continue;
      }
      if (word === 'loop_') {
        needBlock(line, 'loop_');
        if (pendingTag !== null) fail(pendingLine, `tag ${pendingTagText} has no value`);
        closeLoop();
        loop = { tags: [], line, values: [] };
        continue;
      }
      if (word.startsWith('save_') || word === 'global_' || word === 'stop_') {
        fail(line, `${token} is not supported in a CIF data file`);
      }
    }
    addValue({ text: token, line, kind: 'bare' });
  }
  if (pendingTag !== null) fail(pendingLine, `tag ${pendingTagText} has no value`);
  if (block !== null) closeLoop();
  if (blocks.length === 0) throw new CifSyntaxProblem('no_block', null, 'no data_ block');
  return blocks;
}
