import { createRequire } from 'node:module';

/** The MPI part of the native-host addon: byte messages between world ranks on the system libmpi. */
export interface NativeMpi {
  init(): { rank: number; size: number; tagUb: number };
  finalize(): void;
  /** MPI_Isend of the view's bytes (no copy); returns an id for testSend. */
  isend(dest: number, tag: number, bytes: Uint8Array): number;
  testSend(id: number): boolean;
  /** MPI_Iprobe(ANY_SOURCE, ANY_TAG): [source, tag, bytes] or null. */
  iprobe(): [number, number, number] | null;
  /** MPI_Recv of exactly that message into the view. */
  recv(src: number, tag: number, bytes: Uint8Array): void;
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

/** Loads native-host/build/Release/roam_native.node; throws with how to build it when absent. */
export function loadNativeHost(): NativeHost {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  try {
    cached = require('./build/Release/roam_native.node') as NativeHost;
  } catch (e) {
    throw new Error(`the native-host addon is not built (${(e as Error).message.split('\n')[0]}); install MPICH or Open MPI and run: npm run build:native`);
  }
  return cached;
}
