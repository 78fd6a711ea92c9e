/**
 * Text from a server on its way to a terminal. A dataset name, an error body or a file name can carry escape
 * sequences (`ESC]52;…` sets the clipboard, `ESC[2J` clears the screen), carriage returns that overwrite a
 * line, or bidi overrides (U+202E) that show a name backwards: any project member could do that to the others.
 *
 * - Human output escapes them visibly: C0 controls except newline and tab as `\x1b`, DEL as `\x7f`, C1
 *   controls, bidi embeddings, overrides, isolates and marks, and the line and paragraph separators as `\u202e`.
 * - JSON output keeps every character as data: `JSON.stringify` already escapes C0 controls; the rest of the
 *   list above is written as `\uXXXX` escapes too, which parse back to the same string.
 */

const DANGEROUS =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const DANGEROUS_INLINE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: as above, with newline and tab too
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** What JSON.stringify leaves raw in strings but a terminal acts on. */
const RAW_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: our own colour codes (SGR) are the one sequence let through
const SGR = /\u001b\[[0-9;]*m/g;

function visible(ch: string): string {
  const code = ch.charCodeAt(0);
  return code < 0x80
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `text` with every control character, bidi control and separator made visible. Newlines and tabs stay, unless
 * `inline` (a table cell, one line of a message), where they are escaped too.
 */
export function escapeTerminal(text: string, options: { inline?: boolean } = {}): string {
  const pattern = options.inline ? DANGEROUS_INLINE : DANGEROUS;
  pattern.lastIndex = 0;
  return pattern.test(text) ? text.replace(pattern, visible) : text;
}

/** Like {@link escapeTerminal}, but colour codes (SGR sequences, which only colour text) pass through. */
export function escapeTerminalKeepColor(text: string): string {
  DANGEROUS.lastIndex = 0;
  if (!DANGEROUS.test(text)) return text;
  let out = '';
  let last = 0;
  SGR.lastIndex = 0;
  for (let m = SGR.exec(text); m !== null; m = SGR.exec(text)) {
    out += escapeTerminal(text.slice(last, m.index)) + m[0];
    last = m.index + m[0].length;
  }
  return out + escapeTerminal(text.slice(last));
}

/** JSON text with the characters JSON leaves raw but a terminal acts on written as `\uXXXX` escapes. */
export function escapeJsonText(json: string): string {
  RAW_IN_JSON.lastIndex = 0;
  return RAW_IN_JSON.test(json)
    ? json.replace(RAW_IN_JSON, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
    : json;
}
