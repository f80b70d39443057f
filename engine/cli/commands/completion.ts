import type { Command } from '../command.ts';
import { parse, usage } from '../args.ts';
import { commands } from './index.ts';

const help = `Usage: roam completion bash|zsh

Prints a shell completion script: sub-commands, each command's flags, template names after
--template, capability names after --allow, files elsewhere.

Examples:
  roam completion bash > ~/.local/share/bash-completion/completions/roam
  echo 'source <(roam completion bash)' >> ~/.bashrc
  roam completion zsh > "\${fpath[1]}/_roam"     # then: autoload -U compinit && compinit`;

/** Each command's flags, read from its help text (its usage lines and option list name every flag). */
async function flagTable(): Promise<Array<[string, string[]]>> {
  const out: Array<[string, string[]]> = [];
  for (const c of commands) {
    const cmd = await c.load();
    const flags = new Set(cmd.help.match(/(?<![\w-])--?[a-zA-Z][\w-]*/g) ?? []);
    flags.add('--help');
    out.push([c.name, [...flags].filter((f) => f !== '-' && !/^-\d/.test(f)).sort()]);
  }
  return out;
}

/** Capabilities `roam deploy APP.wasm --allow` grants most often (any manifest capability name is accepted). */
const ALLOW = ['wasi:sockets', 'wasi:http', 'wasi:filesystem', 'log', 'regions', 'clock'];

async function templates(): Promise<string[]> {
  const { TEMPLATES } = await import('../templates.ts');
  return TEMPLATES.map((t) => t.name);
}

function bash(table: Array<[string, string[]]>, tpl: string[]): string {
  const cases = table.filter(([name]) => name !== 'completion').map(([name, flags]) => `    ${name}) flags="${flags.join(' ')}" ;;`).join('\n');
  return `# roam bash completion (roam completion bash)
_roam() {
  local cur prev cmd flags
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd="\${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${table.map(([n]) => n).join(' ')} help --help --version" -- "$cur") )
    return
  fi
  case "$prev" in
    --template) COMPREPLY=( $(compgen -W "${tpl.join(' ')}" -- "$cur") ); return ;;
    --allow) COMPREPLY=( $(compgen -W "${ALLOW.join(' ')}" -- "$cur") ); return ;;
  esac
  case "$cmd" in
${cases}
    completion) COMPREPLY=( $(compgen -W "bash zsh" -- "$cur") ); return ;;
    *) flags="--help" ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$flags" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -o filenames -F _roam roam
`;
}

function zsh(table: Array<[string, string[]]>, tpl: string[]): string {
  const cmds = commands.map((c) => `'${c.name}:${c.summary.replace(/'/g, "'\\''").replace(/:/g, '\\:')}'`).join(' ');
  const cases = table.map(([name, flags]) => `    ${name}) _arguments ${flags.map((f) => `'${f}[]${f === '--template' ? `:template:(${tpl.join(' ')})` : f === '--allow' ? `:capability:(${ALLOW.join(' ')})` : ''}'`).join(' ')} '*:file:_files' ;;`).join('\n');
  return `#compdef roam
# roam zsh completion (roam completion zsh)
_roam() {
  if (( CURRENT == 2 )); then
    local -a cmds; cmds=(${cmds})
    _describe 'roam command' cmds
    return
  fi
  case "$words[2]" in
${cases.replace(/^ {4}completion\) .*$/m, "    completion) _values 'shell' bash zsh ;;")}
    *) _files ;;
  esac
}
if [ "$funcstack[1]" = "_roam" ]; then _roam "$@"; else compdef _roam roam; fi
`;
}

export const command: Command = {
  name: 'completion',
  summary: 'print a bash or zsh completion script',
  help,
  async run(argv) {
    const { positionals } = parse(argv, {});
    const shell = positionals[0];
    if (positionals.length !== 1 || (shell !== 'bash' && shell !== 'zsh')) usage('usage: roam completion bash|zsh');
    const table = await flagTable();
    const tpl = await templates();
    process.stdout.write(shell === 'bash' ? bash(table, tpl) : zsh(table, tpl));
    return 0;
  },
};
export default command;
