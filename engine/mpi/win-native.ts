import * as A from './abi.ts';
import type { Comm } from './core.ts';
import type { Datatype, Kind } from './datatypes.ts';
import type { GuestMemory } from './guest-memory.ts';
import type { At, Buf, Member, WinImpl, WinWire } from './win.ts';

/** The addon's one-sided calls (native-host/src/mpi-win.cc). */
export interface NativeRma {
  rmaBindIo(io: Int32Array): void;
  rmaComm(): number;
  rmaType(desc: Int32Array): number;
  rmaWin(): number;
  rmaOp(): number;
}

/** A representative ABI handle per base kind (the addon maps it to this libmpi's type). */
const KIND_HANDLE: Record<Kind, number> = {
  i8: 0x240, u8: 0x241, i16: 0x248, u16: 0x249, i32: 0x250, u32: 0x251, i64: 0x258, u64: 0x259,
  f32: 0x210, f64: 0x214, bool: 0x241, byte: 0x247, cplx32: 0x212, cplx64: 0x216,
};

/**
 * Windows on the system MPI: libmpi's own windows (MPI_Win_create) over the guest's linear memory,
 * on a libmpi communicator mirroring the roam one (MPI_Comm_create_group, cached), with libmpi
 * datatypes mirroring roam's (hindexed + resized, cached per datatype). Arguments go to the addon
 * through one Int32Array, like the direct send/receive path. libmpi does the rest, RDMA included
 * where the fabric has it; a rank waiting in an epoch call is inside libmpi, which progresses.
 */
export function nativeWindows(mem: GuestMemory, rma: NativeRma, fail: (cls: number, d: string) => never): WinWire {
  const io = new Int32Array(new ArrayBuffer(64 * 4));
  rma.rmaBindIo(io);
  const typeIds = new WeakMap<Datatype, number>();
  const typeId = (d: Datatype, h: number): number => {
    let id = typeIds.get(d);
    if (id) return id;
    if (typeof d.kind === 'object' && !d.predefined) fail(A.ERR.TYPE, `derived datatypes of ${d.name}'s pair type are not supported in one-sided calls on the system MPI`);
    const base = d.predefined ? h : KIND_HANDLE[d.kind as Kind];
    const blocks = d.predefined ? [[0, 1]] : d.blocks.map(([o, l]) => [o, l / d.baseSize]);
    id = rma.rmaType(Int32Array.from([base, d.extent, blocks.length, ...blocks.flat()]));
    typeIds.set(d, id);
    return id;
  };
  const call = (vals: number[]): number => {
    mem.bytes(); // re-binds the addon's view of guest memory if it grew
    io.set(vals);
    return rma.rmaOp();
  };
  return {
    create(c: Comm, members: Member[]): WinImpl {
      const me = members[c.rank];
      io[0] = c.id; io[1] = c.group.length;
      if (c.group.length > 62) fail(A.ERR.COMM, 'windows on communicators of more than 62 ranks are not supported on the system MPI');
      io.set(c.group, 2);
      const commId = rma.rmaComm();
      mem.bytes();
      io[0] = commId; io[1] = me.base; io[2] = me.size; io[3] = me.unit;
      const w = rma.rmaWin();
      const group = (op: number, ranks: number[], assert: number) => {
        if (ranks.length > 60) fail(A.ERR.GROUP, 'groups of more than 60 ranks are not supported in post/start on the system MPI');
        call([op, w, assert, ranks.length, ...ranks]);
      };
      const at = (t: At) => [t.rank, t.disp, t.n, typeId(t.d, t.h)];
      const buf = (b: Buf) => [b.ptr, b.n, typeId(b.d, b.h)];
      return {
        fence: (a) => call([10, w, a]),
        lock: (type, rank, a) => call([11, w, type, rank, a]),
        unlock: (rank) => call([12, w, rank]),
        lockAll: (a) => call([13, w, a]),
        unlockAll: () => call([14, w]),
        flush: (rank) => call([15, w, rank]),
        flushAll: () => call([16, w]),
        flushLocal: (rank) => call([17, w, rank]),
        flushLocalAll: () => call([18, w]),
        sync: () => call([19, w]),
        post: (ranks, a) => group(20, ranks, a),
        start: (ranks, a) => group(21, ranks, a),
        complete: () => call([22, w]),
        wait: () => call([23, w]),
        test: () => call([24, w]) !== 0,
        put: (o, t) => call([1, w, ...buf(o), ...at(t)]),
        get: (o, t) => call([2, w, ...buf(o), ...at(t)]),
        accumulate: (o, t, op) => call([3, w, ...buf(o), ...at(t), op]),
        getAccumulate: (o, r, t, op) => call([4, w, ...buf(o), ...buf(r), ...at(t), op]),
        fetchAndOp: (o, r, d, h, t, op) => call([5, w, o, r, typeId(d, h), t.rank, t.disp, op]),
        compareAndSwap: (o, cmp, r, d, h, t) => call([6, w, o, cmp, r, typeId(d, h), t.rank, t.disp]),
        free: () => call([30, w]),
      };
    },
  };
}
