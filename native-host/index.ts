import { createRequire } from 'node:module';

/** The MPI part of the native-host addon: byte messages between world ranks on the system libmpi. */
export interface NativeMpi {
  init(): { rank: number; size: number; tagUb: number };
  finalize(): void;
  /** MPI_Isend (MPI_Issend when sync) of the view's bytes (no copy); returns an id for testSend. */
  isend(dest: number, tag: number, bytes: Uint8Array, sync: boolean): number;
  testSend(id: number): boolean;
  /** The held message, else MPI_Improbe(ANY_SOURCE, ANY_TAG) (which holds it): [source, tag, bytes] or null. */
  iprobe(): [number, number, number] | null;
  /** MPI_Mrecv of the held message into the view. */
  recv(bytes: Uint8Array): void;
  /** Binds the Int32Array(16) through which sendW/recvW take their arguments and give results. */
  bindIo(io: Int32Array): void;
  /** Binds the guest's linear memory (again after every memory.grow) for sendW/recvW. */
  bindMemory(buf: ArrayBuffer): void;
  /** io = [off, len, dest, ctx, tag]: MPI_Isend of memory[off, off+len) on wire tag ctx << 16 | tag, tested up to 2 ms; 0 when complete, else an id for testSend. */
  sendW(): number;
  /**
   * io = [off, cap, src (-1 any), ctx, tag (-1 any)]: blocks for the next message from src with that
   * context and tag (MPI_Recv on the wire tag; MPI_Mprobe for any tag) and receives it into
   * memory[off, off+cap); io[5..7] = [source, wire tag, bytes]. 1 received, 0 another message is held
   * for the core, -1 the held match is longer than cap, -2 truncated by MPI_Recv (length unknown).
   */
  recvW(): number;
  /** io = [off, len, dest, ctx, tag, sync]: MPI_Isend (MPI_Issend) of guest memory; returns a request id for testW. */
  isendW(): number;
  /** io = [off, cap, src (-1 any), ctx, tag]: MPI_Irecv into guest memory on the exact wire tag; returns a request id. */
  irecvW(): number;
  /** io[8] = id: MPI_Test; 0 pending, 1 done (io[5..7] = [src, wire tag, bytes]), -2 truncated, 2 cancelled. */
  testW(): number;
  /** io[8] = id: MPI_Cancel. */
  cancelW(): void;
  /** Does nothing: the cost of an N-API call (benchmarks/mpi/floor.ts). */
  nop(): void;
  /** sched_yield, or a 20 µs sleep once `spins` passes 200 (ranks may outnumber cores). */
  yield(spins: number): void;
  /** MPI_Allreduce on MPI_COMM_WORLD (send null = MPI_IN_PLACE); false when the type or op has no libmpi twin. */
  allreduce(send: Uint8Array | null, recv: Uint8Array, count: number, type: number, op: number): boolean;
  /** MPI_Bcast of the view's bytes on MPI_COMM_WORLD. */
  bcast(bytes: Uint8Array, root: number): boolean;
  barrier(): boolean;
  /** World collectives on guest memory offsets, arguments in the io array (see WorldCollectives in engine/mpi/transport.ts). */
  allreduceW(): number;
  reduceW(): number;
  bcastW(): number;
  alltoallW(): number;
  wtime(): number;
  abort(code: number): void;
  processorName(): string;
  /** From now on SIGUSR1 writes `slot` (engine/mpi/call-state.ts) to stderr as a marker, for roam mpirun's --timeout report. */
  reportCallOnSignal(slot: Int32Array): void;
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
