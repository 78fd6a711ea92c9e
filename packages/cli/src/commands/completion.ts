import { UsageError } from '@sciport/core';
import type { Command } from 'commander';
import { COMMANDS, type CommandModule } from '../program.js';

/**
 * `sciport completion bash|zsh|fish`: a completion script for the shell, generated from the real command tree
 * (every command module is loaded and walked), so it cannot drift from the commands. The tree is embedded in
 * the script: a TAB press costs the shell a table lookup, not a Node start.
 */

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

/** One command of the tree, as the scripts need it. */
export interface CompletionNode {
  /** Space-separated path below `sciport` ("" for the root). */
  path: string;
  description: string;
  /** Long and short flags (`--event-file`, `-q`). */
  flags: { flag: string; description: string; takesValue: boolean }[];
  children: CompletionNode[];
}

export const register: CommandModule['register'] = (command, { action }) => {
  command
    .argument('<shell>', `the shell: ${SHELLS.join(', ')}`)
    .addHelpText(
      'after',
      '\nInstall (then open a new shell):\n' +
        '  bash  sciport completion bash > ~/.local/share/bash-completion/completions/sciport\n' +
        '  zsh   sciport completion zsh > "$' +
        '{fpath[1]}/_sciport"   (or any folder in $fpath; then compinit)\n' +
        '  fish  sciport completion fish > ~/.config/fish/completions/sciport.fish\n' +
        'Or for the current shell only: source <(sciport completion bash)',
    )
    .action(
      action(async (ctx, shell: string, _options: unknown, self: Command) => {
        if (!(SHELLS as readonly string[]).includes(shell)) {
          throw new UsageError(`Unknown shell "${shell}": choose ${SHELLS.join(', ')}`);
        }
        const root = self.parent;
        if (!root) throw new Error('completion: no root command');
        const tree = await completionTree(root);
        ctx.out.write(script(shell as Shell, tree));
      }),
    );
};

/** Loads every command module into the root's placeholders, then describes the tree. */
export async function completionTree(root: Command): Promise<CompletionNode> {
  const inert = { action: () => async () => undefined };
  for (const entry of COMMANDS) {
    const placeholder = root.commands.find((c) => c.name() === entry.name);
    if (!placeholder || placeholder.commands.length > 0 || placeholder.options.length > 0) continue;
    if (entry.name === 'completion') continue;
    (await entry.load()).register(placeholder, inert);
  }
  return describe(root, '');
}

function describe(command: Command, path: string): CompletionNode {
  const flags: CompletionNode['flags'] = [];
  for (const option of command.options) {
    const takesValue = option.required || option.optional;
    for (const flag of [option.long, option.short]) {
      if (flag) flags.push({ flag, description: option.description, takesValue });
    }
  }
  flags.push({ flag: '--help', description: 'show help', takesValue: false });
  const children = command.commands
    .filter((c) => !(c as Command & { _hidden?: boolean })._hidden)
    .map((c) => describe(c, path ? `${path} ${c.name()}` : c.name()));
  return { path, description: command.description(), flags: dedupe(flags), children };
}

function dedupe(flags: CompletionNode['flags']): CompletionNode['flags'] {
  const seen = new Set<string>();
  return flags.filter((f) => !seen.has(f.flag) && seen.add(f.flag));
}

function walk(node: CompletionNode, visit: (node: CompletionNode) => void): void {
  visit(node);
  for (const child of node.children) walk(child, visit);
}

/** A single-quoted shell word (bash, zsh and fish all read `'…'` literally; a quote is closed and escaped). */
function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Fish escapes a quote inside single quotes with a backslash instead. */
function fishQuote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

export function script(shell: Shell, tree: CompletionNode): string {
  if (shell === 'bash') return bashScript(tree);
  if (shell === 'zsh') return zshScript(tree);
  return fishScript(tree);
}

/** A node's key in the shell tables: the command line so far (`sciport crucible datasets`). */
function keyOf(node: CompletionNode): string {
  return node.path ? `sciport ${node.path}` : 'sciport';
}

function tables(tree: CompletionNode, declare: string): string[] {
  const lines = [`${declare} _sciport_children _sciport_flags _sciport_value_flags`];
  walk(tree, (node) => {
    const key = quote(keyOf(node));
    lines.push(
      `_sciport_children[${key}]=${quote(node.children.map((c) => c.path.split(' ').at(-1)).join(' '))}`,
    );
    lines.push(`_sciport_flags[${key}]=${quote(node.flags.map((f) => f.flag).join(' '))}`);
    lines.push(
      `_sciport_value_flags[${key}]=${quote(
        node.flags
          .filter((f) => f.takesValue)
          .map((f) => f.flag)
          .join(' '),
      )}`,
    );
  });
  return lines;
}

function bashScript(tree: CompletionNode): string {
  return `# bash completion for sciport (generated by \`sciport completion bash\`)
${tables(tree, 'declare -gA').join('\n')}

_sciport() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" cmd="sciport" word i
  (( COMP_CWORD > 1 )) && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  for (( i = 1; i < COMP_CWORD; i++ )); do
    word="\${COMP_WORDS[i]}"
    [[ "$word" == -* ]] && continue
    if [[ " \${_sciport_children[$cmd]} " == *" $word "* ]]; then
      cmd="$cmd $word"
    fi
  done
  if [[ -n "$prev" && "$prev" == -* && " \${_sciport_value_flags[$cmd]} " == *" $prev "* ]]; then
    COMPREPLY=()
    compopt -o default 2>/dev/null
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "\${_sciport_flags[$cmd]}" -- "$cur") )
    return 0
  fi
  if [[ -n "\${_sciport_children[$cmd]}" ]]; then
    COMPREPLY=( $(compgen -W "\${_sciport_children[$cmd]}" -- "$cur") )
    return 0
  fi
  COMPREPLY=()
  compopt -o default 2>/dev/null
  return 0
}
complete -F _sciport sciport
`;
}

function zshScript(tree: CompletionNode): string {
  return `#compdef sciport
# zsh completion for sciport (generated by \`sciport completion zsh\`)
${tables(tree, 'typeset -gA').join('\n')}

_sciport() {
  local cmd="sciport" word prev="" i
  local -a children flags
  for (( i = 2; i < CURRENT; i++ )); do
    word="\${words[i]}"
    [[ "$word" == -* ]] && continue
    children=(\${=_sciport_children[$cmd]})
    if (( \${children[(Ie)$word]} )); then
      cmd="$cmd $word"
    fi
  done
  (( CURRENT > 2 )) && prev="\${words[CURRENT-1]}"
  flags=(\${=_sciport_value_flags[$cmd]})
  if [[ "$prev" == -* ]] && (( \${flags[(Ie)$prev]} )); then
    _files
    return
  fi
  if [[ "\${words[CURRENT]}" == -* ]]; then
    flags=(\${=_sciport_flags[$cmd]})
    compadd -- $flags
    return
  fi
  children=(\${=_sciport_children[$cmd]})
  if (( \${#children} > 0 )); then
    compadd -- $children
  else
    _files
  fi
}

if [[ "$funcstack[1]" == "_sciport" ]]; then
  _sciport "$@"
else
  compdef _sciport sciport
fi
`;
}

function fishScript(tree: CompletionNode): string {
  const paths: string[] = [];
  walk(tree, (node) => {
    if (node.path) paths.push(node.path);
  });
  const lines = [
    '# fish completion for sciport (generated by `sciport completion fish`)',
    `set -g __sciport_paths ${paths.map(fishQuote).join(' ')}`,
    '',
    'function __sciport_path --description "the sciport command being typed"',
    '    set -l cmdpath',
    '    for word in (commandline -opc)[2..-1]',
    "        string match -q -- '-*' $word; and continue",
    "        set -l next (string join ' ' $cmdpath $word)",
    '        contains -- $next $__sciport_paths; and set cmdpath $cmdpath $word',
    '    end',
    "    string join ' ' $cmdpath",
    'end',
    '',
    'function __sciport_at --argument-names want',
    '    test (__sciport_path) = "$want"',
    'end',
    '',
    'complete -c sciport -f',
  ];
  walk(tree, (node) => {
    const at = `-n ${fishQuote(`__sciport_at ${fishQuote(node.path)}`)}`;
    for (const child of node.children) {
      const name = child.path.split(' ').at(-1) ?? '';
      lines.push(
        `complete -c sciport ${at} -a ${fishQuote(name)} -d ${fishQuote(oneLine(child.description))}`,
      );
    }
    for (const f of node.flags) {
      const spec = f.flag.startsWith('--') ? `-l ${f.flag.slice(2)}` : `-s ${f.flag.slice(1)}`;
      lines.push(
        `complete -c sciport ${at} ${spec}${f.takesValue ? ' -r -F' : ''} -d ${fishQuote(oneLine(f.description))}`,
      );
    }
    if (node.children.length === 0) lines.push(`complete -c sciport ${at} -F`);
  });
  return `${lines.join('\n')}\n`;
}
