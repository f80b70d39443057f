import { RoamError } from '../errors.ts';

export interface MpirunArgs {
  np: number;
  mpi: 'embedded' | 'native';
  timeoutMs: number;
  preopenCwd: boolean;
  program: string;
  args: string[];
}

/** Parses `[-np N] [--mpi embedded|native] [--timeout SECONDS] [--dir] PROGRAM.wasm [ARGS...]`. */
export function parseMpirun(argv: string[]): MpirunArgs {
  const o: MpirunArgs = { np: 1, mpi: 'embedded', timeoutMs: 0, preopenCwd: false, program: '', args: [] };
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('-'); i++) {
    const a = argv[i];
    if (a === '-np' || a === '-n') o.np = Number(argv[++i]);
    else if (a === '--mpi') {
      const v = argv[++i];
      if (v !== 'embedded' && v !== 'native') throw new RoamError('E_USAGE', `--mpi must be embedded or native, not ${v}`);
      o.mpi = v;
    } else if (a === '--timeout') o.timeoutMs = Number(argv[++i]) * 1000;
    else if (a === '--dir') o.preopenCwd = true;
    else throw new RoamError('E_USAGE', `unknown option ${a}`);
  }
  if (!Number.isInteger(o.np) || o.np < 1) throw new RoamError('E_USAGE', '-np needs a positive integer');
  if (!Number.isFinite(o.timeoutMs) || o.timeoutMs < 0) throw new RoamError('E_USAGE', '--timeout needs seconds');
  o.program = argv[i] ?? '';
  if (!o.program) throw new RoamError('E_USAGE', 'usage: roam mpirun [-np N] [--mpi embedded|native] [--timeout S] PROGRAM.wasm [ARGS...]');
  o.args = argv.slice(i + 1);
  return o;
}
