import { readFileSync } from 'node:fs';
import { commands } from './commands/index.ts';
import { isRoamError } from '../errors.ts';
import { suggestion } from './did-you-mean.ts';
import { painter } from './colour.ts';

const USAGE = () => `roam — WebAssembly-portable function engine

Usage: roam <command> [options]     (roam <command> --help for details)

Commands:
${commands.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join('\n')}

Options:
  -h, --help       this help (roam <command> --help: that command's options and examples)
  -v, --version    print roam's version

Examples:
  roam init my-fn --template function && roam dev my-fn
  roam build functions/hello && roam run functions/hello/build/hello.wasm --handler hello --input ada
  roam completion bash >> ~/.bashrc
`;

/** roam's version, from its package.json. */
export function version(): string {
  return String(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
}

/** Runs the CLI; returns the exit code. Errors become one line on stderr (a build error adds its code frames) and a non-zero code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0]) return main([rest[0], '--help']);
    process.stdout.write(USAGE());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`roam ${version()} (node ${process.version})\n`);
    return 0;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    const names = commands.map((c) => c.name);
    process.stderr.write(`roam: unknown command '${name}'${suggestion(name, [...names, 'version', 'help'])} (see roam --help)\n`);
    return 2;
  }
  const cmd = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(cmd.help.endsWith('\n') ? cmd.help : cmd.help + '\n');
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    const msg = isRoamError(e) ? e.message : e instanceof Error ? e.message : String(e);
    process.stderr.write(`roam ${name}: ${msg.split('\n')[0]}\n`);
    await printBuildDetail(e);
    if (process.env.ROAM_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return isRoamError(e) && e.code === 'E_USAGE' ? 2 : 1;
  }
}

/** A compile error's code frames (and the other errors) under its one-line summary. */
async function printBuildDetail(e: unknown): Promise<void> {
  if (!(e instanceof Error) || !('diagnostics' in e)) return;
  const { formatDiagnostics, isBuildError } = await import('../build/diagnostics.ts');
  if (isBuildError(e)) process.stderr.write(`${formatDiagnostics(e.diagnostics, painter(process.stderr), { afterHeadline: true })}\n`);
}
