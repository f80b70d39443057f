import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileC } from './cc.ts';

/** functions/mpi, where the example guests live. */
export const EXAMPLES_DIR = fileURLToPath(new URL('../../functions/mpi', import.meta.url));
export const C_EXAMPLES = ['ring', 'pi', 'pingpong', 'stencil', 'exchange', 'coverage', 'grow', 'bad', 'unknown-import', 'p2p', 'nbc', 'rma', 'rma-bad'] as const;

/** Compiles an AssemblyScript MPI guest with the assemblyscript package's asc API. */
export async function compileAs(entry: string, out: string): Promise<void> {
  const asc = (await import('assemblyscript/asc')).default;
  // asc resolves --use element paths relative to the working directory.
  const abortAt = relative(process.cwd(), fileURLToPath(new URL('../../guest-sdk/assembly/mpi', import.meta.url)));
  const { error, stderr } = await asc.main([entry, '-o', out, '-O3', '--runtime', 'stub', '--use', `abort=${abortAt}/abort`]);
  if (error) throw new Error(`asc failed: ${error.message}\n${stderr.toString()}`);
}

/** Builds the examples named (default: all) into `dir` (NAME.wasm, allreduce-as.wasm); returns the paths by name. */
export async function buildExamples(dir: string, names?: readonly string[]): Promise<Record<string, string>> {
  mkdirSync(dir, { recursive: true });
  const out: Record<string, string> = {};
  for (const n of C_EXAMPLES) {
    if (names && !names.includes(n)) continue;
    out[n] = join(dir, `${n}.wasm`);
    compileC([join(EXAMPLES_DIR, `${n}.c`)], out[n]);
  }
  if (!names || names.includes('allreduce-as')) {
    out['allreduce-as'] = join(dir, 'allreduce-as.wasm');
    await compileAs(join(EXAMPLES_DIR, 'allreduce-as', 'allreduce.ts'), out['allreduce-as']);
  }
  return out;
}
