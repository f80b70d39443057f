import { commands } from './commands/index.ts';
import { isRoamError } from '../errors.ts';
import { answer } from './front.mjs';
import { painter } from './colour.ts';

/** Runs the CLI; returns the exit code. Errors become one line on stderr (a build error adds its code frames) and a non-zero code. */
export async function main(argv: string[]): Promise<number> {
  const early = answer(argv);
  if (early !== null) return early;
  const [name, ...rest] = argv[0] === 'help' ? [argv[1]!, '--help'] : argv; // `roam help build`
  const entry = commands.find((c) => c.name === name);
  if (!entry) return answer([name]) ?? 2;
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
