// The CLI's front: the command table, top-level help, the version and "did you mean". Plain JS so
// bin/roam.js answers these before registering tsx (0.1 s instead of 0.3 s): nothing here loads the engine.
import { readFileSync } from 'node:fs';
import { suggestion } from './did-you-mean.mjs';

/** Every sub-command, in the order `roam --help` lists them; `file` is its module in commands/. */
export const COMMANDS = [
  { name: 'init', summary: 'scaffold a guest project from a template (roam init --list)', file: 'init.ts' },
  { name: 'build', summary: 'compile a guest project into one .wasm bundle', file: 'build.ts' },
  { name: 'dev', summary: 'serve a project and rebuild + redeploy it on every save', file: 'dev.ts' },
  { name: 'inspect', summary: "print a bundle's manifest, imports, exports, size and hash", file: 'inspect.ts' },
  { name: 'run', summary: 'verify, meter and invoke a handler or function in-process', file: 'run.ts' },
  { name: 'serve', summary: 'serve functions and chains over HTTP (control API, /fn, /chain, /metrics)', file: 'serve.ts' },
  { name: 'deploy', summary: 'upload a bundle (and chain routes) to a running server', file: 'deploy.ts' },
  { name: 'invoke', summary: 'call a function or chain on a running server', file: 'invoke.ts' },
  { name: 'ls', summary: 'list bundles and chains on a running server', file: 'ls.ts' },
  { name: 'rm', summary: 'remove a bundle or chain from a running server', file: 'rm.ts' },
  { name: 'cc', summary: 'compile C (MPI) sources to wasm32-wasi with clang (an mpicc)', file: 'cc.ts' },
  { name: 'mpicc', summary: 'the same as roam cc, under the name build scripts use', file: 'mpicc.ts' },
  { name: 'mpirun', summary: 'run a Wasm MPI program on N ranks (embedded or system MPI)', file: 'mpirun.ts' },
  { name: 'rank', summary: 'run one rank of a Wasm MPI program under the system mpiexec', file: 'rank.ts' },
  { name: 'gpu', summary: 'show the gpu devices roam:gpu can use, and why one is missing', file: 'gpu.ts' },
  { name: 'dpu-agent', summary: 'run a DPU agent (handlers over POSIX shm) for a roam server', file: 'dpu-agent.ts' },
  { name: 'demo', summary: 'kv under YCSB-B; host made busy halfway; steering shifts load to the DPU agent', file: 'demo.ts' },
  { name: 'completion', summary: 'print a bash or zsh completion script', file: 'completion.ts' },
  { name: 'version', summary: "print roam's version", file: 'version.ts' },
];

export function usage() {
  return `roam — WebAssembly-portable function engine

Usage: roam <command> [options]     (roam <command> --help for details)

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join('\n')}

Options:
  -h, --help       this help (roam <command> --help: that command's options and examples)
  -v, --version    print roam's version

Examples:
  roam init my-fn --template function && roam dev my-fn
  roam build functions/hello && roam run functions/hello/build/hello.wasm --handler hello --input ada
  roam completion bash > ~/.local/share/bash-completion/completions/roam
`;
}

/** roam's version, from its package.json. */
export function version() {
  return String(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
}

/**
 * Answers what needs no engine code: top-level help, the version, an unknown command. Returns the exit
 * code, or null when a command must run.
 */
export function answer(argv, out = process.stdout, err = process.stderr) {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    out.write(usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v' || (name === 'version' && rest.length === 0)) {
    out.write(`roam ${version()} (node ${process.version})\n`);
    return 0;
  }
  if (name === 'help') return null;
  if (!COMMANDS.some((c) => c.name === name)) {
    err.write(`roam: unknown command '${name}'${suggestion(name, [...COMMANDS.map((c) => c.name), 'help'])} (see roam --help)\n`);
    return 2;
  }
  return null;
}
