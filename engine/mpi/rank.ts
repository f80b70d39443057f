import { setFlagsFromString } from 'node:v8';
import { RoamError } from '../errors.ts';
import { createWasi, WASI_MODULE } from '../wasi/index.ts';
import { mpiImports, type GuestHandle, type MpiHooks } from './imports.ts';
import type { Transport } from './transport.ts';
import { MEM_MODULE } from './shared-memory.ts';
import { tagStdio } from './tag-output.ts';
import { callOnInit } from './init-signal.ts';

export const MPI_MODULE = 'roam:mpi';

export interface RankOptions {
  args: string[];
  env?: Record<string, string>;
  preopenCwd?: boolean;
  hooks?: MpiHooks;
  /** The rank's shared linear memory, for a module rewritten by shareMemory (embedded windows). */
  memory?: WebAssembly.Memory;
  /** Called once when the guest enters MPI_Init or MPI_Init_thread (mpirun --timeout starts then). */
  onInit?: () => void;
  /** Prefix for each line the guest writes to stdout/stderr (mpirun --tag-output). */
  tagOutput?: string;
}
/** Refuses, before instantiation, a module importing anything the host does not provide, naming it. */
export function checkImports(module: WebAssembly.Module, mpi: Record<string, unknown>, wasi: Record<string, unknown>, mem: Record<string, unknown> = {}): void {
  for (const imp of WebAssembly.Module.imports(module)) {
    const have = imp.module === MPI_MODULE ? mpi : imp.module === WASI_MODULE ? wasi : imp.module === MEM_MODULE ? mem : null;
    if (!have) throw new RoamError('E_IMPORT', `the guest imports ${imp.module}.${imp.name}, but only ${MPI_MODULE} and ${WASI_MODULE} are provided to MPI jobs`);
    if (!(imp.name in have)) throw new RoamError('E_IMPORT', `the guest imports ${imp.module}.${imp.name}, which this host does not provide`);
  }
}

/**
 * MPI jobs run long and are timed from their first calls, so guests skip the baseline tier: V8
 * compiles a Wasm function lazily on its first call, with Liftoff unless `--no-liftoff`, and a
 * Liftoff function reaches TurboFan only on a later call after its budget runs out (Wasm has no
 * on-stack replacement), so a benchmark's timed loop, called once per size, ran its first size
 * in baseline code. The flag is read at each lazy compilation, so setting it here, before the
 * first call, is enough (ROAM_MPI_LIFTOFF=1 keeps Liftoff).
 */
export function optimizeUpFront(): void {
  if (process.env.ROAM_MPI_LIFTOFF !== '1') setFlagsFromString('--no-liftoff');
}

/** Instantiates one rank of an MPI guest on `transport` and runs it to completion; returns its exit code. */
export function runRank(module: WebAssembly.Module, transport: Transport, o: RankOptions): number {
  optimizeUpFront();
  let g: GuestHandle | null = null;
  const { imports } = mpiImports(transport, () => g!, o.hooks);
  if (o.onInit) callOnInit(imports, o.onInit);
  const wasi = createWasi({ args: o.args, env: o.env, preopenCwd: o.preopenCwd });
  const tagged = o.tagOutput === undefined ? null : tagStdio(wasi.imports, () => g!.memory, o.tagOutput);
  const mem: Record<string, WebAssembly.Memory> = o.memory ? { memory: o.memory } : {};
  checkImports(module, imports, wasi.imports, mem);
  const instance = new WebAssembly.Instance(module, { [MPI_MODULE]: imports, [WASI_MODULE]: wasi.imports, [MEM_MODULE]: mem });
  const ex = instance.exports as Record<string, any>;
  if (!(ex.memory instanceof WebAssembly.Memory)) throw new RoamError('E_BUNDLE', 'the guest does not export its memory');
  g = { memory: ex.memory, table: ex.__indirect_function_table, malloc: ex.malloc, free: ex.free };
  try {
    return wasi.start(instance);
  } finally {
    tagged?.flush();
  }
}
