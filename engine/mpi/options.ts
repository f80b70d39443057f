import { closeSync, openSync, readSync } from 'node:fs';
import { hostname } from 'node:os';
import { RoamError } from '../errors.ts';

export interface MpirunArgs {
  np: number;
  mpi: 'embedded' | 'native';
  /** --timeout, counted from when every rank has entered MPI_Init; 0 = none. */
  timeoutMs: number;
  preopenCwd: boolean;
  program: string;
  args: string[];
  /** -host/--host/-hosts/-H values, comma lists joined in order. */
  hosts: string[];
  oversubscribe: boolean;
  /** Prefix every output line with `[RANK] ` (--tag-output, -prepend-rank, -l). */
  tagOutput: boolean;
  /** Variables for the guests (and, native, the rank processes): -genv NAME VALUE, -env, -x NAME[=VALUE], -genvlist. */
  env: Record<string, string>;
  /** -q/--quiet: no start-up progress line on a terminal. */
  quiet: boolean;
  /** Options roam does not know, with their values, for the system launcher (--mpi native only). */
  launcherArgs: string[];
}

export const USAGE = 'usage: roam mpirun [-n N] [--mpi embedded|native] [--timeout S] [--host H,...] [--tag-output] [-q] [-x NAME[=V]] [-genv NAME V] [--dir] PROGRAM.wasm [ARGS...]';

/** Options with no value that roam accepts under every spelling users type. */
const FLAGS: Record<string, 'oversubscribe' | 'tag' | 'dir' | 'quiet' | 'ignore'> = {
  '--quiet': 'quiet', '-q': 'quiet',
  '--oversubscribe': 'oversubscribe', '-oversubscribe': 'oversubscribe',
  '--tag-output': 'tag', '-tag-output': 'tag', '-prepend-rank': 'tag', '--prepend-rank': 'tag', '-l': 'tag',
  '--dir': 'dir',
  // roam already lets Open MPI run as root (OMPI_ALLOW_RUN_AS_ROOT); the embedded MPI has no such rule.
  '--allow-run-as-root': 'ignore',
};
/** Options with one value. */
const VALUED = new Set(['-n', '-np', '--np', '--n', '-c', '--mpi', '--timeout', '-host', '--host', '-hosts', '--hosts', '-H', '-x', '-genvlist']);
/** Options with two values (NAME VALUE), MPICH's hydra spelling. */
const PAIR = new Set(['-genv', '-env', '--genv', '--env']);

/** True when `word` names the program: a .wasm file, or any file that starts with Wasm's magic bytes. */
function isProgram(word: string): boolean {
  if (word.endsWith('.wasm')) return true;
  let fd: number | undefined;
  try {
    fd = openSync(word, 'r');
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32BE(0) === 0x0061736d;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function need(argv: string[], i: number, opt: string): string {
  const v = argv[i];
  if (v === undefined) throw new RoamError('E_USAGE', `${opt} needs a value`);
  return v;
}

function setVar(env: Record<string, string>, spec: string, opt: string): void {
  const eq = spec.indexOf('=');
  const name = eq < 0 ? spec : spec.slice(0, eq);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new RoamError('E_USAGE', `${opt}: '${name}' is not a variable name`);
  const value = eq < 0 ? process.env[name] : spec.slice(eq + 1);
  if (value === undefined) throw new RoamError('E_USAGE', `${opt} ${name}: ${name} is not set in this environment (give ${name}=VALUE)`);
  env[name] = value;
}

/**
 * Parses `roam mpirun` options as users type them for mpiexec/mpirun (MPICH's and Open MPI's
 * spellings), up to the program (the first word that is not an option or an option's value; `--`
 * ends options). An option roam does not know is kept for the system launcher, with the next word
 * as its value unless that word names the program (a .wasm file or a file with Wasm's magic).
 */
export function parseMpirun(argv: string[]): MpirunArgs {
  const o: MpirunArgs = { np: 1, mpi: 'embedded', timeoutMs: 0, preopenCwd: false, program: '', args: [], hosts: [], oversubscribe: false, tagOutput: false, quiet: false, env: {}, launcherArgs: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    let a = argv[i];
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    let inline: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      inline = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const value = () => inline ?? need(argv, ++i, a);
    const flag = FLAGS[a];
    if (flag) {
      if (flag === 'oversubscribe') o.oversubscribe = true;
      else if (flag === 'tag') o.tagOutput = true;
      else if (flag === 'dir') o.preopenCwd = true;
      else if (flag === 'quiet') o.quiet = true;
    } else if (VALUED.has(a)) {
      const v = value();
      if (a === '--mpi') {
        if (v !== 'embedded' && v !== 'native') throw new RoamError('E_USAGE', `--mpi must be embedded or native, not ${v}`);
        o.mpi = v;
      } else if (a === '--timeout') o.timeoutMs = Number(v) * 1000;
      else if (a === '-x') setVar(o.env, v, a);
      else if (a === '-genvlist') for (const n of v.split(',').filter(Boolean)) setVar(o.env, n, a);
      else if (a.includes('host') || a === '-H') o.hosts.push(...v.split(',').filter(Boolean));
      else o.np = /^\d+$/.test(v) ? Number(v) : NaN;
    } else if (PAIR.has(a)) {
      const name = value();
      setVar(o.env, `${name}=${need(argv, ++i, a)}`, a);
    } else {
      o.launcherArgs.push(argv[i]);
      const next = argv[i + 1];
      if (inline === undefined && next !== undefined && !next.startsWith('-') && !isProgram(next)) o.launcherArgs.push(argv[++i]);
    }
  }
  if (!Number.isInteger(o.np) || o.np < 1) throw new RoamError('E_USAGE', '-n needs a positive integer');
  if (!Number.isFinite(o.timeoutMs) || o.timeoutMs < 0) throw new RoamError('E_USAGE', '--timeout needs seconds');
  o.program = argv[i] ?? '';
  if (!o.program) throw new RoamError('E_USAGE', USAGE);
  o.args = argv.slice(i + 1);
  if (o.mpi === 'embedded') checkEmbedded(o);
  return o;
}

const LOCAL = new Set(['localhost', '127.0.0.1', '::1', hostname(), hostname().split('.')[0]]);

/** The embedded MPI runs every rank in this process: refuse what only a system launcher can do, saying so. */
function checkEmbedded(o: MpirunArgs): void {
  if (o.launcherArgs.length) {
    throw new RoamError('E_USAGE', `${o.launcherArgs[0]} is not an option of the embedded MPI; with --mpi native it is passed to the system launcher`);
  }
  const remote = o.hosts.map((h) => h.replace(/:\d+$/, '')).find((h) => !LOCAL.has(h));
  if (remote) throw new RoamError('E_USAGE', `--host ${remote}: the embedded MPI runs every rank in this process on this host; use --mpi native to start ranks on other hosts`);
}
