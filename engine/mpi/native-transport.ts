import { hostname } from 'node:os';
import type { NativeMpi } from '../../native-host/index.ts';
import type { NativeRma } from './win-native.ts';
import type { Arrival, DirectP2p, SendToken, Source, Transport, WorldCollectives } from './transport.ts';

/**
 * Wire on the system MPI (one Node process per rank): each message is one MPI message on
 * MPI_COMM_WORLD whose MPI tag carries roam's context id and tag (ctx << 16 | tag). Sends and
 * receives hand libmpi views of guest memory. Synchronous sends are libmpi's (MPI_Issend), so a
 * receiver owes no ack and a blocking receive can be one MPI_Recv on the exact wire tag.
 */
export class NativeTransport implements Transport {
  readonly rank: number;
  readonly size: number;
  readonly tagUb: number;
  private next: Arrival | null = null;
  readonly world: WorldCollectives;
  readonly direct: DirectP2p;
  readonly syncSends = true;

  /** `onAbort` runs before MPI_Abort when the guest calls it (roam rank records the failure). */
  constructor(private readonly mpi: NativeMpi, private readonly onAbort?: (code: number) => void) {
    const r = mpi.init();
    this.rank = r.rank;
    this.size = r.size;
    this.tagUb = r.tagUb;
    this.world = { allreduce: mpi.allreduce, bcast: mpi.bcast, barrier: mpi.barrier, allreduceW: mpi.allreduceW, reduceW: mpi.reduceW, bcastW: mpi.bcastW, alltoallW: mpi.alltoallW };
    const io = new Int32Array(new ArrayBuffer(64)); // its own buffer: the addon keeps a pointer to it
    mpi.bindIo(io);
    const recv = mpi.recvW;
    this.direct = {
      io,
      memory: mpi.bindMemory,
      send: mpi.sendW,
      sendDone: mpi.testSend,
      recv: () => {
        const k = recv();
        if (k === 0) this.spins = 0;
        return k;
      },
      isend: () => {
        this.spins = 0;
        return mpi.isendW();
      },
      irecv: mpi.irecvW,
      test: () => {
        const k = mpi.testW();
        if (k !== 0) this.spins = 0;
        return k;
      },
      cancel: mpi.cancelW,
    };
  }

  /** The addon's one-sided calls (win-native.ts). */
  get nativeRma(): NativeRma {
    return this.mpi as unknown as NativeRma;
  }

  private wire(ctx: number, tag: number): number {
    const wire = (ctx << 16) | tag;
    if (wire > this.tagUb) throw new Error(`context ${ctx} does not fit this MPI's tag range (MPI_TAG_UB ${this.tagUb})`);
    return wire;
  }

  send(dest: number, ctx: number, tag: number, flags: number, data: Source, len: number): SendToken {
    const wire = this.wire(ctx, tag);
    const bytes = (typeof data === 'function' ? data() : data).subarray(0, len);
    const id = this.mpi.isend(dest, wire, bytes, (flags & 1) !== 0);
    this.spins = 0;
    const mpi = this.mpi;
    let done = false;
    return {
      get done() {
        return done || (done = mpi.testSend(id));
      },
    };
  }
  progress(): boolean {
    return false;
  }
  poll(): Arrival | null {
    if (this.next) return this.next;
    const p = this.mpi.iprobe();
    if (!p) return null;
    const [src, wire, len] = p;
    this.spins = 0;
    this.next = { src, ctx: wire >>> 16, tag: wire & 0xffff, flags: 0, len };
    return this.next;
  }
  take(a: Arrival, into: Uint8Array | null): Uint8Array {
    const buf = into ? into.subarray(0, a.len) : new Uint8Array(a.len);
    this.mpi.recv(buf);
    this.next = null;
    return into ?? buf;
  }
  /** Fruitless polls since traffic last moved (reset by any send or arrival). */
  private spins = 0;
  seq(): number {
    return this.spins;
  }
  idle(): void {
    // libmpi progresses inside MPI_Iprobe/MPI_Test. Spin first (latency), then yield the core
    // (ranks may outnumber cores), then back off to short sleeps when a wait drags on.
    const n = this.spins++;
    if (n >= 2000) this.mpi.yield(n < 20000 ? 0 : 1000);
  }
  wtime(): number {
    return this.mpi.wtime();
  }
  abort(code: number): never {
    this.onAbort?.(code);
    this.mpi.abort(code);
    process.exit(code);
  }
  finalize(): void {
    this.mpi.finalize();
  }
  processorName(): string {
    return this.mpi.processorName() || hostname();
  }
}
