/**
 * Finds the TypeScript examples of a Markdown document and turns them into programs that keep the document's
 * line numbers: every line that is not part of the program is blank, so a type error or a stack trace names the
 * line of the README itself.
 *
 * - A ```ts (or ```typescript) block is an example.
 * - `<!-- no-run -->` on the line before the fence (blank lines between are allowed) leaves a block out.
 * - `<!-- files: a.h5 b.dat -->` there names files the example reads from its working folder; the runner
 *   creates them first.
 * - In `page` mode (the guides) all the examples of the document form one program, in order, like a notebook:
 *   a later block may use what an earlier one declared. In `block` mode (the READMEs) each block stands alone.
 */

export interface Program {
  /** The document, relative to the repository root (`packages/icsd/README.md`). */
  readonly doc: string;
  /** The 1-based line of each fence that opens a block of this program. */
  readonly lines: readonly number[];
  /** The source, as long as the document up to the program's last line, with every other line blank. */
  readonly code: string;
  /** Files to create in the working folder before the run. */
  readonly files: readonly string[];
}

export type Mode = 'block' | 'page';

const OPEN = /^```(ts|typescript)\s*$/;
const CLOSE = /^```\s*$/;
const MARKER = /^<!--\s*(no-run|files:([^>]*?))\s*-->$/;

interface Block {
  fence: number;
  body: { index: number; text: string }[];
  files: string[];
}

/** The markers directly above the fence at `index` (0-based), skipping blank lines. */
function markersAbove(lines: readonly string[], index: number): { noRun: boolean; files: string[] } {
  const found = { noRun: false, files: [] as string[] };
  for (let i = index - 1; i >= 0; i--) {
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    const m = MARKER.exec(line);
    if (!m) break;
    if (m[1] === 'no-run') found.noRun = true;
    else found.files.push(...(m[2] ?? '').trim().split(/\s+/).filter(Boolean));
  }
  return found;
}

function blocksOf(text: string): Block[] {
  const lines = text.split(/\r?\n/);
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!OPEN.test(lines[i] ?? '')) continue;
    const fence = i;
    const body: Block['body'] = [];
    for (i++; i < lines.length && !CLOSE.test(lines[i] ?? ''); i++)
      body.push({ index: i, text: lines[i] ?? '' });
    if (i >= lines.length) throw new Error(`the code block at line ${fence + 1} is never closed`);
    const markers = markersAbove(lines, fence);
    if (!markers.noRun) blocks.push({ fence, body, files: markers.files });
  }
  return blocks;
}

function programOf(doc: string, blocks: readonly Block[]): Program {
  const last = blocks.at(-1)?.body.at(-1)?.index ?? 0;
  const out: string[] = new Array<string>(last + 1).fill('');
  for (const block of blocks) for (const { index, text } of block.body) out[index] = text;
  return {
    doc,
    lines: blocks.map((b) => b.fence + 1),
    code: out.join('\n'),
    files: [...new Set(blocks.flatMap((b) => b.files))],
  };
}

/** The programs of one document: one per block (`block`), or one for the whole page (`page`). */
export function extractPrograms(doc: string, text: string, mode: Mode): Program[] {
  const blocks = blocksOf(text);
  if (blocks.length === 0) return [];
  return mode === 'page' ? [programOf(doc, blocks)] : blocks.map((b) => programOf(doc, [b]));
}

/** `packages/icsd/README.md:11`, or `docs/guide/crucible.md:14,52` for a page of several blocks. */
export function where(program: Program): string {
  return `${program.doc}:${program.lines.join(',')}`;
}
