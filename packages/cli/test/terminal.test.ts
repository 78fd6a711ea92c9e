import { describe, expect, it } from 'vitest';
import { escapeJsonText, escapeTerminal, escapeTerminalKeepColor } from '../src/terminal.js';

describe('terminal escaping', () => {
  it('makes C0/C1 controls, DEL and bidi controls visible; keeps newlines and tabs unless inline', () => {
    expect(escapeTerminal('a\u001b[2Jb\u0007c\u007fd\u009be\u202ef\u2066g')).toBe(
      'a\\x1b[2Jb\\x07c\\x7fd\\u009be\\u202ef\\u2066g',
    );
    expect(escapeTerminal('one\ntwo\tthree\r')).toBe('one\ntwo\tthree\\x0d');
    expect(escapeTerminal('one\ntwo', { inline: true })).toBe('one\\x0atwo');
    expect(escapeTerminal('plain text, ünïcode ✓')).toBe('plain text, ünïcode ✓');
  });

  it('lets colour codes through in the last guard, and nothing else', () => {
    expect(escapeTerminalKeepColor('\u001b[1mbold\u001b[22m \u001b]52;c;eA==\u0007')).toBe(
      '\u001b[1mbold\u001b[22m \\x1b]52;c;eA==\\x07',
    );
  });

  it('writes what JSON leaves raw as \\u escapes, which parse back to the same string', () => {
    const value = { name: 'a\u202eb\u009bc\u2028d\u007f' };
    const text = escapeJsonText(JSON.stringify(value));
    expect(text).toBe('{"name":"a\\u202eb\\u009bc\\u2028d\\u007f"}');
    expect(JSON.parse(text)).toEqual(value);
  });
});
