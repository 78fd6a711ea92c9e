import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * The guides and READMEs stay true to the CLI: every `sciport …` line of their shell blocks (and every inline
 * `sciport …` code span) names commands that exist and flags those commands accept, every `--flag` they mention
 * in passing is a flag of some command (all checked against the built CLI's own help), and every relative link
 * points at a file that exists.
 */

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = path.join(root, 'packages', 'cli', 'dist', 'bin.js');

async function documents(): Promise<string[]> {
  const guide = path.join(root, 'docs', 'guide');
  const pages = (await readdir(guide)).filter((f) => f.endsWith('.md')).map((f) => path.join(guide, f));
  return [...pages, path.join(root, 'README.md'), path.join(root, 'packages', 'cli', 'README.md')];
}

const wordsOf = (command: string) => [...command.matchAll(/'[^']*'|"[^"]*"|\S+/g)].map((m) => m[0]);

/** Inline code spans outside fenced blocks, with their line. */
function inlineCode(text: string): { line: number; code: string }[] {
  const found: { line: number; code: string }[] = [];
  let fenced = false;
  text.split('\n').forEach((line, i) => {
    if (/^```/.test(line)) fenced = !fenced;
    else if (!fenced)
      for (const m of line.matchAll(/`([^`]+)`/g)) found.push({ line: i + 1, code: m[1] as string });
  });
  return found;
}

/** `sciport …` lines of ```sh blocks and `sciport …` code spans, with their file and line. */
function commandLines(file: string, text: string): { where: string; words: string[] }[] {
  const found: { where: string; words: string[] }[] = [];
  const where = (line: number) => `${path.relative(root, file)}:${line}`;
  let inShell = false;
  text.split('\n').forEach((line, i) => {
    if (/^```(sh|bash|shell)\s*$/.test(line)) inShell = true;
    else if (/^```/.test(line)) inShell = false;
    else if (inShell && /^sciport\s/.test(line)) {
      const command = line.replace(/\s+#.*$/, '').replace(/\s[|>].*$/, '');
      found.push({ where: where(i + 1), words: wordsOf(command).slice(1) });
    }
  });
  for (const { line, code } of inlineCode(text))
    if (/^sciport\s/.test(code)) found.push({ where: where(line), words: wordsOf(code).slice(1) });
  return found;
}

const helps = new Map<string, Promise<string>>();
function help(commandPath: string[]): Promise<string> {
  const key = commandPath.join(' ');
  let text = helps.get(key);
  if (!text) {
    text = run(process.execPath, [bin, ...commandPath, '--help'], {
      env: { ...process.env, NO_COLOR: '1' },
    }).then((r) => r.stdout);
    helps.set(key, text);
  }
  return text;
}

function subcommands(helpText: string): string[] {
  const section = helpText.split(/\nCommands:\n/)[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1] as string);
}

describe('the guides and READMEs', () => {
  it('use only commands and flags the CLI has', async () => {
    expect(existsSync(bin), 'build the CLI first').toBe(true);
    const problems: string[] = [];
    let checked = 0;
    for (const file of await documents()) {
      for (const { where, words } of commandLines(file, await readFile(file, 'utf8'))) {
        checked++;
        const commandPath: string[] = [];
        const flags: string[] = [];
        const operands: string[] = [];
        for (const word of words) {
          if (word.startsWith('--')) flags.push(word.split('=')[0] as string);
          else if (word.startsWith('-')) continue;
          else if (subcommands(await help(commandPath)).includes(word)) commandPath.push(word);
          else operands.push(word);
        }
        if (commandPath.length === 0) {
          if (words.some((w) => !w.startsWith('-')))
            problems.push(`${where}: no known command in "${words.join(' ')}"`);
          continue;
        }
        const own = await help(commandPath);
        const global = await help([]);
        // A group (a command with subcommands) takes no operands, unless its usage line names an argument
        // after `[command]`: a leftover word is a misspelt subcommand.
        const usage = /^Usage: .*$/m.exec(own)?.[0] ?? '';
        const takesOperands = /\[command\] [<[]/.test(usage);
        if (subcommands(own).length > 0 && !takesOperands && operands.length > 0)
          problems.push(`${where}: sciport ${commandPath.join(' ')} has no subcommand ${operands[0]}`);
        for (const flag of flags) {
          const known = new RegExp(`(^|[\\s,])${flag.replace(/-/g, '\\-')}([\\s,=<[]|$)`, 'm');
          if (!known.test(own) && !known.test(global))
            problems.push(`${where}: sciport ${commandPath.join(' ')} has no ${flag}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(15);
    expect(problems).toEqual([]);
  });

  it('mention in passing only flags the CLI has', async () => {
    expect(existsSync(bin), 'build the CLI first').toBe(true);
    // Every command's help, walking the tree from the root.
    const texts: string[] = [];
    const queue: string[][] = [[]];
    for (let next = queue.shift(); next; next = queue.shift()) {
      const text = await help(next);
      texts.push(text);
      for (const sub of subcommands(text)) if (sub !== 'help') queue.push([...next, sub]);
    }
    expect(texts.length).toBeGreaterThan(20);
    const all = texts.join('\n');
    const unknown: string[] = [];
    let checked = 0;
    for (const file of await documents()) {
      for (const { line, code } of inlineCode(await readFile(file, 'utf8'))) {
        for (const m of code.matchAll(/(?:^|\s)(--[a-z][\w-]*)/g)) {
          const flag = m[1] as string;
          checked++;
          if (!new RegExp(`(^|[\\s,])${flag}([\\s,=<[]|$)`, 'm').test(all))
            unknown.push(`${path.relative(root, file)}:${line}: ${flag}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(10);
    expect(unknown).toEqual([]);
  });

  it('link to files that exist', async () => {
    const broken: string[] = [];
    for (const file of await documents()) {
      const text = await readFile(file, 'utf8');
      for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1] as string;
        if (/^[a-z]+:/i.test(target)) continue;
        if (!existsSync(path.resolve(path.dirname(file), target)))
          broken.push(`${path.relative(root, file)} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
