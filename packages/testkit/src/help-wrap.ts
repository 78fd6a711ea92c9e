/**
 * `sciport-sim --help` at the terminal's width (the same rule as `sciport --help`): a terminal's columns, else
 * `COLUMNS`, else 80; a wider line is broken at spaces, continued under its own text (under the description
 * of a `--option VALUE  description` row).
 */

export function helpWidth(
  stream: { isTTY?: boolean | undefined; columns?: number | undefined },
  env: Readonly<Record<string, string | undefined>> = {},
): number {
  if (stream.isTTY === true && typeof stream.columns === 'number' && stream.columns > 0)
    return stream.columns;
  const columns = Number(env.COLUMNS);
  return Number.isInteger(columns) && columns > 0 ? columns : 80;
}

/** `text` with every line wider than `width` broken at spaces (a word wider than a line stays whole). */
export function wrapHelp(text: string, width: number): string {
  const max = Math.max(20, width);
  return text
    .split('\n')
    .map((line) => wrapLine(line, max))
    .join('\n');
}

function wrapLine(line: string, width: number): string {
  if (line.length <= width) return line;
  const row = /^( *\S.*?\S {2,})(\S.*)$/.exec(line);
  const lead = row && row[1]!.length <= width / 2 ? row[1]! : /^ */.exec(line)![0];
  const indent = ' '.repeat(lead.length);
  const lines: string[] = [];
  let current = lead;
  let empty = true;
  for (const word of line.slice(lead.length).split(/ +/)) {
    if (!empty && current.length + 1 + word.length > width) {
      lines.push(current);
      current = indent + word;
    } else current += (empty ? '' : ' ') + word;
    empty = false;
  }
  lines.push(current);
  return lines.join('\n');
}
