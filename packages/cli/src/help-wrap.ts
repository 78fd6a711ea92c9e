/**
 * Help text at the terminal's width. Commander wraps its own lists of commands and options at the width it is
 * given (`helpWidth`); the text commands add before or after (`addHelpText`) is written as it is, so every line
 * of help output passes `wrapHelp` too: a line wider than the terminal is broken at spaces, its continuation
 * indented under its own text (under the description of a `term  description` row). A line that is a command to
 * copy (`sciport …`, `source …`, `npm …`) stays whole: a hard break would paste as two commands, where the
 * terminal's own soft wrap copies as one. Output that is not a terminal, without `COLUMNS`, is not wrapped.
 */

/** The width help is wrapped at: a terminal's columns, else `COLUMNS`, else undefined (commander's 80). */
export function helpWidth(
  stream: { isTTY?: boolean | undefined; columns?: number | undefined },
  env: Readonly<Record<string, string | undefined>>,
): number | undefined {
  if (stream.isTTY === true && typeof stream.columns === 'number' && stream.columns > 0)
    return stream.columns;
  const columns = Number(env.COLUMNS);
  return Number.isInteger(columns) && columns > 0 ? columns : undefined;
}

/** `text` with every line wider than `width` broken at spaces (a word wider than a line stays whole). */
export function wrapHelp(text: string, width: number): string {
  const max = Math.max(20, width);
  return text
    .split('\n')
    .map((line) => wrapLine(line, max))
    .join('\n');
}

const COMMAND = /^(\$ )?(sciport|sciport-sim|source|npx|npm|pnpm|export)\s/;

function wrapLine(line: string, width: number): string {
  if (line.length <= width) return line;
  const row = /^( *\S.*?\S {2,})(\S.*)$/.exec(line);
  const lead = row && row[1]!.length <= width / 2 ? row[1]! : /^ */.exec(line)![0];
  if (COMMAND.test(line.slice(lead.length))) return line;
  const indent = ' '.repeat(lead.length);
  const words = line.slice(lead.length).split(/ +/);
  const lines: string[] = [];
  let current = lead;
  let empty = true;
  for (const word of words) {
    if (!empty && current.length + 1 + word.length > width) {
      lines.push(current);
      current = indent + word;
    } else current += (empty ? '' : ' ') + word;
    empty = false;
  }
  lines.push(current);
  return lines.join('\n');
}
