import { UsageError } from '@sciport/core';
import { Argument, type Command, type Option } from 'commander';
import { COMMANDS, type CommandModule } from '../program.js';

/**
 * `sciport completion bash|zsh|fish`: a completion script for the shell, generated from the real command tree
 * (every command module is loaded and walked), so it cannot drift from the commands. The tree is embedded in
 * the script: a TAB press costs the shell a table lookup, not a Node start.
 */

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** One option of a command, as the scripts need it. */
export interface CompletionOption {
  /** `--event-file`, `--no-readme`. */
  long?: string | undefined;
  /** `-q`. */
  short?: string | undefined;
  description: string;
  /** Whether a value follows (`--out <dir>`, `--ingest [class]`). */
  takesValue: boolean;
  /** The values allowed (commander's `.choices()`); empty: any value, completed as a file name. */
  choices: string[];
}

/** One command of the tree, as the scripts need it. */
export interface CompletionNode {
  /** `sciport` for the root. */
  name: string;
  aliases: string[];
  description: string;
  /** Its visible options, `-h, --help` included (an ancestor's options are valid too: see `places`). */
  options: CompletionOption[];
  /** Its visible subcommands, commander's implicit `help` included. */
  children: CompletionNode[];
  /** Words for its first operand when it has no subcommands: its argument's choices; for `help`, the commands. */
  operands: string[];
  /** Whether an operand is completed as a file name (it takes arguments, none with fixed choices). */
  files: boolean;
}

export const register: CommandModule['register'] = (command, { action }) => {
  command
    .addArgument(
      new Argument('<shell>', 'the shell').choices(SHELLS).argParser((value) => {
        if (!isShell(value)) {
          throw new UsageError(`Unknown shell "${value}": choose ${SHELLS.join(', ')}`);
        }
        return value;
      }),
    )
    .addHelpText(
      'after',
      '\nInstall (then open a new shell):\n' +
        '  bash  sciport completion bash > ~/.local/share/bash-completion/completions/sciport\n' +
        '  zsh   sciport completion zsh > "$' +
        '{fpath[1]}/_sciport"   (or any folder in $fpath, before compinit runs)\n' +
        '  fish  sciport completion fish > ~/.config/fish/completions/sciport.fish\n' +
        'Or for the current shell only: source <(sciport completion bash)   (zsh: after compinit)\n' +
        'Run it again after upgrading sciport: the script holds the commands and options of this version.',
    )
    .action(
      action(async (ctx, shell: Shell, _options: unknown, self: Command) => {
        const root = self.parent;
        if (!root) throw new Error('completion: no root command');
        const tree = await completionTree(root);
        ctx.out.write(script(shell, tree));
      }),
    );
};

function isShell(value: string): value is Shell {
  return (SHELLS as readonly string[]).includes(value);
}

/** Loads every command module into the root's placeholders (those not loaded yet), then describes the tree. */
export async function completionTree(root: Command): Promise<CompletionNode> {
  const inert = { action: () => async () => undefined };
  for (const entry of COMMANDS) {
    const placeholder = root.commands.find((c) => c.name() === entry.name);
    if (!placeholder) continue;
    const loaded =
      placeholder.commands.length > 0 ||
      placeholder.registeredArguments.length > 0 ||
      placeholder.options.length > 0;
    if (loaded) continue;
    (await entry.load()).register(placeholder, inert);
  }
  return describeCommand(root);
}

/** The visible tree under `command`, as commander's help shows it (hidden commands and options left out). */
export function describeCommand(command: Command): CompletionNode {
  const help = command.createHelp();
  const visible = help.visibleCommands(command);
  // Commander's implicit `help [command]` is not in `commands`: its operand is one of its siblings.
  const siblings = visible
    .filter((c) => command.commands.includes(c))
    .flatMap((c) => [c.name(), ...c.aliases()]);
  const children = visible.map((child) => {
    const node = describeCommand(child);
    if (!command.commands.includes(child)) {
      node.operands = siblings;
      node.files = false;
    }
    return node;
  });
  const first = command.registeredArguments[0];
  const choices = first?.argChoices ?? [];
  return {
    name: command.name(),
    aliases: command.aliases(),
    description: oneLine(command.description()),
    options: help.visibleOptions(command).map(describeOption),
    children,
    operands: children.length === 0 ? [...choices] : [],
    files: children.length === 0 && first !== undefined && choices.length === 0,
  };
}

function describeOption(option: Option): CompletionOption {
  return {
    long: option.long,
    short: option.short,
    description: oneLine(option.description),
    takesValue: option.required || option.optional,
    choices: [...(option.argChoices ?? [])],
  };
}

function flagsOf(option: CompletionOption): string[] {
  return [option.long, option.short].filter((f): f is string => f !== undefined);
}

/** A command line the scripts know: the words after `sciport` (names or aliases) that lead to a command. */
export interface Place {
  words: string[];
  node: CompletionNode;
  /** Its own options, then its ancestors' (commander reads an ancestor's options after a subcommand too). */
  options: CompletionOption[];
  /** The words offered for an operand: subcommands (and their aliases), else the operand's choices. */
  candidates: { word: string; description: string }[];
}

/** Every place of the tree, one per spelling (an alias leads to the same command). */
export function places(tree: CompletionNode): Place[] {
  const out: Place[] = [];
  const visit = (node: CompletionNode, words: string[], inherited: CompletionOption[]) => {
    const options = mergeOptions(node.options, inherited);
    const candidates =
      node.children.length > 0
        ? node.children.flatMap((c) =>
            [c.name, ...c.aliases].map((word) => ({ word, description: c.description })),
          )
        : node.operands.map((word) => ({ word, description: '' }));
    out.push({ words, node, options, candidates });
    for (const child of node.children) {
      for (const word of [child.name, ...child.aliases]) visit(child, [...words, word], options);
    }
  };
  visit(tree, [], []);
  return out;
}

/** `own` first, then those of `inherited` whose flags are all still free. */
function mergeOptions(own: CompletionOption[], inherited: CompletionOption[]): CompletionOption[] {
  const taken = new Set(own.flatMap(flagsOf));
  return [...own, ...inherited.filter((o) => flagsOf(o).every((f) => !taken.has(f)))];
}

export function script(shell: Shell, tree: CompletionNode): string {
  if (shell === 'bash') return bashScript(tree);
  if (shell === 'zsh') return zshScript(tree);
  return fishScript(tree);
}

/** A single-quoted word for bash and zsh (a quote inside is closed, escaped and reopened). */
function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A single-quoted word for fish, which escapes `\` and `'` with a backslash inside single quotes. */
function fishQuote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** The key of a place in the bash and zsh tables: the command line up to the command, `sciport crucible`. */
function keyOf(place: Place): string {
  return ['sciport', ...place.words].join(' ');
}

/**
 * `_sciport_node KEY` sets the completion data of a command line (and fails for anything that is not one);
 * `_sciport_choices_of 'KEY --flag'` sets the values an option accepts (and fails when any value goes).
 * Plain `case` statements: they work in bash 3.2 (macOS) as well as in zsh, and cost no start-up time.
 */
function tables(all: Place[], shell: 'bash' | 'zsh'): string[] {
  const lines = ['_sciport_node() {', '  case "$1" in'];
  for (const place of all) {
    const flags = place.options.flatMap(flagsOf);
    const valueFlags = place.options.filter((o) => o.takesValue).flatMap(flagsOf);
    lines.push(`    ${quote(keyOf(place))})`);
    lines.push(`      _sciport_words=${quote(place.candidates.map((c) => c.word).join(' '))}`);
    lines.push(`      _sciport_flags=${quote(flags.join(' '))}`);
    lines.push(`      _sciport_value_flags=${quote(valueFlags.join(' '))}`);
    lines.push(`      _sciport_files=${place.node.files ? 1 : 0}`);
    if (shell === 'zsh') {
      const words = place.candidates.map((c) => describeItem(c.word, c.description));
      const options = place.options.flatMap((o) => flagsOf(o).map((f) => describeItem(f, o.description)));
      lines.push(`      _sciport_word_descs=(${words.join(' ')})`);
      lines.push(`      _sciport_flag_descs=(${options.join(' ')})`);
    }
    lines.push('      ;;');
  }
  lines.push('    *) return 1 ;;', '  esac', '}', '');

  // One branch per list of choices, with every `command --flag` that offers it.
  const byChoices = new Map<string, string[]>();
  for (const place of all) {
    for (const option of place.options) {
      if (option.choices.length === 0) continue;
      const choices = option.choices.join(' ');
      const keys = byChoices.get(choices) ?? [];
      for (const flag of flagsOf(option)) keys.push(quote(`${keyOf(place)} ${flag}`));
      byChoices.set(choices, keys);
    }
  }
  lines.push('_sciport_choices_of() {', '  case "$1" in');
  for (const [choices, keys] of byChoices) {
    lines.push(`    ${keys.join(' | ')})`, `      _sciport_choices=${quote(choices)} ;;`);
  }
  lines.push('    *) return 1 ;;', '  esac', '}');
  return lines;
}

/** `word:description` for zsh's `_describe` (a colon in the word is escaped). */
function describeItem(word: string, description: string): string {
  const name = word.replace(/:/g, '\\:');
  return quote(description ? `${name}:${description}` : name);
}

function bashScript(tree: CompletionNode): string {
  return `# bash completion for sciport (generated by \`sciport completion bash\`; run it again after an upgrade)
${tables(places(tree), 'bash').join('\n')}

# File names, by readline itself when bash can (>= 4), else by compgen.
_sciport_default() {
  COMPREPLY=()
  if ! compopt -o default 2>/dev/null; then
    local IFS=$'\\n'
    COMPREPLY=( $(compgen -f -- "$1") )
  fi
}

_sciport() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" flag="" cmd=sciport word i=1 ended=0
  local _sciport_words _sciport_flags _sciport_value_flags _sciport_files _sciport_choices
  _sciport_node sciport
  # Find the command being typed, skipping options and their values.
  while (( i < COMP_CWORD )); do
    word="\${COMP_WORDS[i]}"
    i=$(( i + 1 ))
    if (( ended )); then
      continue
    elif [[ "$word" == -- ]]; then
      ended=1
    elif [[ "$word" == -* ]]; then
      if [[ " $_sciport_value_flags " == *" $word "* ]]; then
        # bash splits --out=dir into --out, =, dir
        if [[ "\${COMP_WORDS[i]}" == = ]]; then i=$(( i + 1 )); fi
        i=$(( i + 1 ))
      fi
    elif _sciport_node "$cmd $word"; then
      cmd="$cmd $word"
    fi
  done
  if (( ended )); then
    _sciport_default "$cur"
    return 0
  fi
  # The value of an option: --out <TAB>, --out=<TAB>, --out=d<TAB>.
  if (( COMP_CWORD > 1 )); then prev="\${COMP_WORDS[COMP_CWORD-1]}"; fi
  if [[ "$cur" == = ]]; then
    flag="$prev"
    cur=""
  elif [[ "$prev" == = ]] && (( COMP_CWORD > 2 )); then
    flag="\${COMP_WORDS[COMP_CWORD-2]}"
  else
    flag="$prev"
  fi
  if [[ "$flag" == -* && " $_sciport_value_flags " == *" $flag "* ]]; then
    if _sciport_choices_of "$cmd $flag"; then
      COMPREPLY=( $(compgen -W "$_sciport_choices" -- "$cur") )
    else
      _sciport_default "$cur"
    fi
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$_sciport_flags" -- "$cur") )
  elif [[ -n "$_sciport_words" ]]; then
    COMPREPLY=( $(compgen -W "$_sciport_words" -- "$cur") )
  elif (( _sciport_files )); then
    _sciport_default "$cur"
  else
    COMPREPLY=()
  fi
  return 0
}
complete -F _sciport sciport
`;
}

function zshScript(tree: CompletionNode): string {
  return `#compdef sciport
# zsh completion for sciport (generated by \`sciport completion zsh\`; run it again after an upgrade)
${tables(places(tree), 'zsh').join('\n')}

_sciport() {
  emulate -L zsh
  local cmd=sciport word flag="" cur="\${words[CURRENT]}" i=2 ended=0
  local _sciport_words _sciport_flags _sciport_value_flags _sciport_files _sciport_choices
  local -a _sciport_word_descs _sciport_flag_descs
  _sciport_node sciport
  # Find the command being typed, skipping options and their values.
  while (( i < CURRENT )); do
    word="\${words[i]}"
    (( i++ ))
    if (( ended )); then
      continue
    elif [[ "$word" == -- ]]; then
      ended=1
    elif [[ "$word" == -* ]]; then
      if [[ "$word" != *=* && " $_sciport_value_flags " == *" $word "* ]]; then
        (( i++ ))
      fi
    elif _sciport_node "$cmd $word"; then
      cmd="$cmd $word"
    fi
  done
  if (( ended )); then
    _files
    return
  fi
  # The value of an option: --out <TAB>, --out=<TAB>.
  if [[ "$cur" == -*=* ]]; then
    flag="\${cur%%=*}"
  elif (( CURRENT > 2 )); then
    flag="\${words[CURRENT-1]}"
  fi
  if [[ "$flag" == -* && " $_sciport_value_flags " == *" $flag "* ]]; then
    [[ "$cur" == -*=* ]] && compset -P '*='
    if _sciport_choices_of "$cmd $flag"; then
      compadd -- \${=_sciport_choices}
    else
      _files
    fi
    return
  fi
  if [[ "$cur" == -* ]]; then
    _describe -t options 'option' _sciport_flag_descs
  elif (( \${#_sciport_word_descs} )); then
    _describe -t commands 'command' _sciport_word_descs
  elif (( _sciport_files )); then
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
  const all = places(tree);
  const valueFlags = new Set(all.flatMap((p) => p.options.filter((o) => o.takesValue).flatMap(flagsOf)));
  const lines = [
    '# fish completion for sciport (generated by `sciport completion fish`; run it again after an upgrade)',
    `set -g __sciport_paths ${all
      .filter((p) => p.words.length > 0)
      .map((p) => fishQuote(p.words.join(' ')))
      .join(' ')}`,
    `set -g __sciport_value_flags ${[...valueFlags].map(fishQuote).join(' ')}`,
    '',
    'function __sciport_path --description "the sciport command being typed, e.g. crucible datasets"',
    '    set -l cmdpath',
    '    set -l skip 0',
    '    set -l tokens (commandline -opc)',
    '    for word in $tokens[2..-1]',
    '        if test $skip = 1',
    '            set skip 0',
    "        else if string match -q -- '-*' $word",
    "            if not string match -q -- '*=*' $word; and contains -- $word $__sciport_value_flags",
    '                set skip 1',
    '            end',
    "        else if contains -- (string join ' ' $cmdpath $word) $__sciport_paths",
    '            set cmdpath $cmdpath $word',
    '        end',
    '    end',
    "    string join ' ' $cmdpath",
    'end',
    '',
    'function __sciport_at --argument-names want',
    '    set -l here (__sciport_path)',
    '    test "$here" = "$want"',
    'end',
    '',
    'complete -c sciport -f',
  ];
  for (const place of all) {
    const at = `-n ${fishQuote(`__sciport_at ${fishQuote(place.words.join(' '))}`)}`;
    for (const { word, description } of place.candidates) {
      const about = description ? ` -d ${fishQuote(description)}` : '';
      lines.push(`complete -c sciport ${at} -a ${fishQuote(word)}${about}`);
    }
    for (const option of place.options) {
      const spec = [
        option.short ? `-s ${option.short.slice(1)}` : '',
        option.long ? `-l ${option.long.slice(2)}` : '',
        option.takesValue && option.choices.length > 0 ? `-x -a ${fishQuote(option.choices.join(' '))}` : '',
        option.takesValue && option.choices.length === 0 ? '-r -F' : '',
        option.description ? `-d ${fishQuote(option.description)}` : '',
      ].filter(Boolean);
      lines.push(`complete -c sciport ${at} ${spec.join(' ')}`);
    }
    if (place.node.files) lines.push(`complete -c sciport ${at} -F`);
  }
  return `${lines.join('\n')}\n`;
}
