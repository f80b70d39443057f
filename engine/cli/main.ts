import { commands } from './commands/index.ts';
import { isRoamError } from '../errors.ts';

const USAGE = () => `roam — WebAssembly-portable function engine

Usage: roam <command> [options]     (roam <command> --help for details)

Commands:
${commands.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join('\n')}
`;

/** Runs the CLI; returns the exit code. Errors become one line on stderr and a non-zero code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE());
    return name ? 0 : 2;
  }
  if (name === '--version') {
    process.stdout.write('roam 0.1.0\n');
    return 0;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    process.stderr.write(`roam: unknown command '${name}' (see roam --help)\n`);
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
    if (process.env.ROAM_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return isRoamError(e) && e.code === 'E_USAGE' ? 2 : 1;
  }
}
