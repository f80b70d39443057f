import { createRequire } from 'node:module';

/** The MPI part of the native-host addon: byte messages between world ranks on the system libmpi. */
export interface NativeMpi {
  init(): { rank: number; size: number; tagUb: number };
  finalize(): void;
  /** MPI_Isend of the view's bytes (no copy); returns an id for testSend. */
  isend(dest: number, tag: number, bytes: Uint8Array): number;
  testSend(id: number): boolean;
  /** The held message, else MPI_Improbe(ANY_SOURCE, ANY_TAG) (which holds it): [source, tag, bytes] or null. */
  iprobe(): [number, number, number] | null;
  /** MPI_Mrecv of the held message into the view. */
  recv(bytes: Uint8Array): void;
  /** MPI_Isend of mem[off, off+len) then MPI_Test: 0 when complete, else an id for testSend. */
  sendAt(mem: Uint8Array, off: number, len: number, dest: number, tag: number): number;
  /**
   * Blocks for the next message from src (-1: any) and receives it into mem[off, off+cap) when its
   * wire tag has context ctx and tag (-1: any): 1 received, 2 received (sync sender waits for an ack),
   * 0 another message is held, -1 too long (held). out = [source, wire tag, bytes].
   */
  recvAt(mem: Uint8Array, off: number, cap: number, src: number, ctx: number, tag: number, out: Int32Array): number;
  /** sched_yield, or a 20 µs sleep once `spins` passes 200 (ranks may outnumber cores). */
  yield(spins: number): void;
  /** MPI_Allreduce on MPI_COMM_WORLD (send null = MPI_IN_PLACE); false when the type or op has no libmpi twin. */
  allreduce(send: Uint8Array | null, recv: Uint8Array, count: number, type: number, op: number): boolean;
  /** MPI_Bcast of the view's bytes on MPI_COMM_WORLD. */
  bcast(bytes: Uint8Array, root: number): boolean;
  barrier(): boolean;
  wtime(): number;
  abort(code: number): void;
  processorName(): string;
}

export interface NativeHost {
  mpi: NativeMpi;
}

let cached: NativeHost | null = null;

/**
 * UCX (under MPICH's ch4:ucx and Open MPI's pml ucx) must be told, before libmpi is loaded, to
 * keep out of what V8 owns: its memory hooks patch malloc/mmap in this already multi-threaded
 * process (ranks segfaulted in V8's compiler, address not mapped, or hung in UCX's crash
 * handler), and its SIGSEGV handler replaces V8's, so a guest's out-of-bounds load killed the
 * rank (signal 11) instead of trapping. A value the user set wins.
 */
export const UCX_ENV: Record<string, string> = {
  UCX_MEM_MALLOC_HOOKS: 'no',
  UCX_MEM_MMAP_HOOK_MODE: 'none',
  UCX_ERROR_SIGNALS: '',
};

/** Loads native-host/build/Release/roam_native.node; throws with how to build it when absent. */
export function loadNativeHost(): NativeHost {
  if (cached) return cached;
  for (const [k, v] of Object.entries(UCX_ENV)) process.env[k] ??= v;
  const require = createRequire(import.meta.url);
  try {
    cached = require('./build/Release/roam_native.node') as NativeHost;
  } catch (e) {
    throw new Error(`the native-host addon is not built (${(e as Error).message.split('\n')[0]}); install MPICH or Open MPI and run: npm run build:native`);
  }
  return cached;
}
