import * as A from './abi.ts';
import * as C from './collectives.ts';
import type { Comm } from './core.ts';
import { span, type Datatype } from './datatypes.ts';
import type { Ctx, Fn } from './imports-ctx.ts';
import { nativeWindows, type NativeRma } from './win-native.ts';
import { sharedWindows, type SharedWire } from './win-shared.ts';
import type { At, Buf, Member, WinImpl, WinWire } from './win.ts';

interface Win {
  comm: Comm;
  impl: WinImpl;
  members: Member[];
  /** Guest address MPI_Win_allocate got from malloc (freed with the window), else 0. */
  allocated: number;
  flavor: number;
  /** Guest block holding the attribute values MPI_Win_get_attr points to (allocated on first use). */
  attrs: number;
  // epochs, for MPI_ERR_RMA_SYNC before anything reaches the wire
  fence: boolean;
  locks: Map<number, number>;
  lockAll: boolean;
  started: number[] | null;
  posted: number[] | null;
}

/**
 * One-sided communication: window handles, argument checks (handles, datatypes, displacements
 * inside the target's window, an open access epoch) and epoch bookkeeping, the same on both
 * wires; the data moves through the wire's WinImpl (win-shared.ts embedded, win-native.ts on the
 * system MPI). Errors are MPI's classes: MPI_ERR_WIN, MPI_ERR_RMA_SYNC, MPI_ERR_RMA_RANGE, MPI_ERR_DISP ...
 */
export function rmaImports(x: Ctx): Record<string, Fn> {
  const { core, t, mem, comm, dtype, count, rankIn } = x;
  const fail = (cls: number, d: string): never => core.fail(cls, d);
  let wire: WinWire | null = null;
  const getWire = (): WinWire => {
    if (wire) return wire;
    const w = t as unknown as { sharedWindows?: SharedWire | null; nativeRma?: NativeRma };
    if (w.nativeRma) return (wire = nativeWindows(mem, w.nativeRma, fail));
    if (w.sharedWindows) return (wire = sharedWindows(core, mem, w.sharedWindows, fail));
    return fail(A.ERR.UNSUPPORTED_OPERATION, 'windows need the ranks\' memories shared: run the job with roam mpirun (the embedded launcher shares them) or --mpi native');
  };
  const wins = new Map<number, Win>();
  const win = (h: number): Win => wins.get(h) ?? fail(A.ERR.WIN, `invalid window handle 0x${(h >>> 0).toString(16)}`);

  const create = (c: Comm, base: number, size: number, unit: number, allocated: number, flavor: number, out: number) => {
    const mine = new Uint8Array(new Int32Array([base, size, unit]).buffer);
    const members = C.run(core, C.allgather(core, c, mine)).map((b) => {
      const [mb, ms, mu] = new Int32Array(b.slice().buffer);
      return { base: mb, size: ms, unit: mu };
    });
    const impl = getWire().create(c, members);
    const h = x.newHandle();
    wins.set(h, { comm: c, impl, members, allocated, flavor, attrs: 0, fence: false, locks: new Map(), lockAll: false, started: null, posted: null });
    mem.setI32(out, h);
    return 0;
  };
  const checkSize = (size: number, unit: number) => {
    if (size < 0) fail(A.ERR.SIZE, `negative window size ${size}`);
    if (unit <= 0) fail(A.ERR.ARG, `window displacement unit ${unit} is not positive`);
  };

  /** Checks an operation's target: rank, an open access epoch to it, displacement and extent in its window, type signature. */
  const target = (w: Win, rank: number, disp: number, n: number, th: number, origin: { n: number; d: Datatype } | null): At | null => {
    rankIn(w.comm, rank, 'target');
    if (rank === A.PROC_NULL) return null;
    if (!(w.fence || w.lockAll || w.locks.has(rank) || w.started?.includes(rank)))
      fail(A.ERR.RMA_SYNC, `no access epoch to rank ${rank} is open on this window (MPI_Win_fence, MPI_Win_lock, MPI_Win_lock_all or MPI_Win_start first)`);
    const d = dtype(th);
    count(n);
    if (disp < 0) fail(A.ERR.DISP, `negative target displacement ${disp}`);
    const m = w.members[rank], off = disp * m.unit, len = span(d, n);
    if (off + len > m.size) fail(A.ERR.RMA_RANGE, `target bytes [${off}, ${off + len}) are outside rank ${rank}'s window of ${m.size} bytes`);
    if (origin && origin.n * origin.d.size !== n * d.size)
      fail(A.ERR.TYPE, `origin (${origin.n} × ${origin.d.name}) and target (${n} × ${d.name}) data differ in size`);
    return { rank, disp, n, d, h: th };
  };
  const buf = (ptr: number, n: number, th: number, what: string): Buf => {
    const d = dtype(th);
    count(n);
    mem.check(ptr, span(d, n), what);
    return { ptr, n, d, h: th };
  };
  const op = (oh: number) => {
    if (!x.predefinedOp(oh)) fail(A.ERR.OP, `one-sided accumulate takes only predefined ops (0x${(oh >>> 0).toString(16)} is not one)`);
    return oh;
  };
  const passive = (w: Win, rank: number) => {
    rankIn(w.comm, rank, 'target');
    if (!(w.lockAll || w.locks.has(rank))) fail(A.ERR.RMA_SYNC, `no passive-target epoch to rank ${rank} (MPI_Win_lock or MPI_Win_lock_all first)`);
  };
  const passiveAny = (w: Win) => {
    if (!(w.lockAll || w.locks.size)) fail(A.ERR.RMA_SYNC, 'no passive-target epoch is open on this window');
  };
  const groupRanks = (w: Win, gh: number) => {
    const g = x.group(gh);
    return g.map((wr) => {
      const r = w.comm.group.indexOf(wr);
      return r < 0 ? fail(A.ERR.GROUP, `world rank ${wr} of the group is not in the window's communicator`) : r;
    });
  };
  const setAttrs = (w: Win): number => {
    if (w.attrs) return w.attrs;
    const { malloc } = x.guest();
    if (!malloc) return fail(A.ERR.NO_MEM, 'MPI_Win_get_attr needs the guest to export malloc (roam cc does)');
    w.attrs = malloc(16);
    const me = w.members[w.comm.rank];
    mem.setI32s(w.attrs, [me.size, me.unit, w.flavor, A.WIN_UNIFIED], 'window attributes');
    return w.attrs;
  };

  return {
    MPI_Win_create: (base, size, unit, _info, ch, out) => {
      const c = comm(ch);
      checkSize(size, unit);
      mem.check(base, size, 'window');
      mem.check(out, 4, 'window handle');
      return create(c, base, size, unit, 0, A.WIN_FLAVOR_CREATE, out);
    },
    MPI_Win_allocate: (size, unit, _info, ch, basePtr, out) => {
      const c = comm(ch);
      checkSize(size, unit);
      mem.check(basePtr, 4, 'base pointer');
      mem.check(out, 4, 'window handle');
      const { malloc } = x.guest();
      if (!malloc) fail(A.ERR.NO_MEM, 'MPI_Win_allocate needs the guest to export malloc (roam cc does)');
      const p = malloc!(Math.max(size, 1));
      if (!p) fail(A.ERR.NO_MEM, `guest malloc(${size}) failed`);
      mem.bytes().fill(0, p, p + size);
      mem.setI32(basePtr, p);
      return create(c, p, size, unit, p, A.WIN_FLAVOR_ALLOCATE, out);
    },
    MPI_Win_free: (p) => {
      const h = mem.i32(p), w = win(h);
      if (w.locks.size || w.lockAll || w.started || w.posted) fail(A.ERR.RMA_SYNC, 'MPI_Win_free with an access or exposure epoch still open');
      w.impl.free();
      const { free } = x.guest();
      if (w.allocated && free) free(w.allocated);
      if (w.attrs && free) free(w.attrs);
      wins.delete(h);
      mem.setI32(p, A.WIN_NULL);
      return 0;
    },
    MPI_Win_get_group: (wh, out) => {
      const w = win(wh), h = x.newHandle();
      x.groups.set(h, w.comm.group.slice());
      mem.setI32(out, h);
      return 0;
    },
    MPI_Win_get_attr: (wh, key, val, flag) => {
      const w = win(wh), at = (k: number) => setAttrs(w) + 4 * k;
      const v = key === A.WIN_ATTR.BASE ? w.members[w.comm.rank].base : key === A.WIN_ATTR.SIZE ? at(0) : key === A.WIN_ATTR.DISP_UNIT ? at(1) : key === A.WIN_ATTR.CREATE_FLAVOR ? at(2) : key === A.WIN_ATTR.MODEL ? at(3) : null;
      mem.setI32(flag, v === null ? 0 : 1);
      if (v !== null) mem.setI32(val, v);
      return 0;
    },
    MPI_Win_fence: (a, wh) => {
      const w = win(wh);
      if (w.locks.size || w.lockAll || w.started || w.posted) fail(A.ERR.RMA_SYNC, 'MPI_Win_fence inside a lock or post/start epoch');
      w.impl.fence(a);
      w.fence = !(a & A.MODE.NOSUCCEED);
      return 0;
    },
    MPI_Win_lock: (type, rank, a, wh) => {
      const w = win(wh);
      if (type !== A.LOCK_EXCLUSIVE && type !== A.LOCK_SHARED) fail(A.ERR.LOCKTYPE, `invalid lock type ${type} (MPI_LOCK_EXCLUSIVE or MPI_LOCK_SHARED)`);
      rankIn(w.comm, rank, 'target');
      if (rank === A.PROC_NULL) return 0;
      if (w.locks.has(rank) || w.lockAll) fail(A.ERR.RMA_SYNC, `rank ${rank}'s window is already locked by this rank`);
      if (w.fence || w.started) fail(A.ERR.RMA_SYNC, 'MPI_Win_lock inside a fence or start epoch');
      w.impl.lock(type, rank, a);
      w.locks.set(rank, type);
      return 0;
    },
    MPI_Win_unlock: (rank, wh) => {
      const w = win(wh);
      rankIn(w.comm, rank, 'target');
      if (rank === A.PROC_NULL) return 0;
      if (!w.locks.has(rank)) fail(A.ERR.RMA_SYNC, `rank ${rank}'s window is not locked by this rank`);
      w.impl.unlock(rank);
      w.locks.delete(rank);
      return 0;
    },
    MPI_Win_lock_all: (a, wh) => {
      const w = win(wh);
      if (w.lockAll || w.locks.size || w.fence || w.started) fail(A.ERR.RMA_SYNC, 'MPI_Win_lock_all inside another epoch on this window');
      w.impl.lockAll(a);
      w.lockAll = true;
      return 0;
    },
    MPI_Win_unlock_all: (wh) => {
      const w = win(wh);
      if (!w.lockAll) fail(A.ERR.RMA_SYNC, 'MPI_Win_unlock_all without MPI_Win_lock_all');
      w.impl.unlockAll();
      w.lockAll = false;
      return 0;
    },
    MPI_Win_flush: (rank, wh) => { const w = win(wh); passive(w, rank); w.impl.flush(rank); return 0; },
    MPI_Win_flush_local: (rank, wh) => { const w = win(wh); passive(w, rank); w.impl.flushLocal(rank); return 0; },
    MPI_Win_flush_all: (wh) => { const w = win(wh); passiveAny(w); w.impl.flushAll(); return 0; },
    MPI_Win_flush_local_all: (wh) => { const w = win(wh); passiveAny(w); w.impl.flushLocalAll(); return 0; },
    MPI_Win_sync: (wh) => { const w = win(wh); passiveAny(w); w.impl.sync(); return 0; },
    MPI_Win_post: (gh, a, wh) => {
      const w = win(wh);
      if (w.posted) fail(A.ERR.RMA_SYNC, 'MPI_Win_post while an exposure epoch is open (MPI_Win_wait first)');
      const ranks = groupRanks(w, gh);
      w.impl.post(ranks, a);
      w.posted = ranks;
      return 0;
    },
    MPI_Win_start: (gh, a, wh) => {
      const w = win(wh);
      if (w.started || w.lockAll || w.locks.size) fail(A.ERR.RMA_SYNC, 'MPI_Win_start while another access epoch is open');
      const ranks = groupRanks(w, gh);
      w.impl.start(ranks, a);
      w.started = ranks;
      return 0;
    },
    MPI_Win_complete: (wh) => {
      const w = win(wh);
      if (!w.started) fail(A.ERR.RMA_SYNC, 'MPI_Win_complete without MPI_Win_start');
      w.impl.complete();
      w.started = null;
      return 0;
    },
    MPI_Win_wait: (wh) => {
      const w = win(wh);
      if (!w.posted) fail(A.ERR.RMA_SYNC, 'MPI_Win_wait without MPI_Win_post');
      w.impl.wait();
      w.posted = null;
      return 0;
    },
    MPI_Win_test: (wh, flag) => {
      const w = win(wh);
      if (!w.posted) fail(A.ERR.RMA_SYNC, 'MPI_Win_test without MPI_Win_post');
      const done = w.impl.test();
      if (done) w.posted = null;
      mem.setI32(flag, done ? 1 : 0);
      return 0;
    },
    MPI_Put: (o, on, oth, rank, disp, tn, tth, wh) => {
      const w = win(wh), b = buf(o, on, oth, 'origin buffer'), at = target(w, rank, disp, tn, tth, b);
      if (at) w.impl.put(b, at);
      return 0;
    },
    MPI_Get: (o, on, oth, rank, disp, tn, tth, wh) => {
      const w = win(wh), b = buf(o, on, oth, 'origin buffer'), at = target(w, rank, disp, tn, tth, b);
      if (at) w.impl.get(b, at);
      return 0;
    },
    MPI_Accumulate: (o, on, oth, rank, disp, tn, tth, oh, wh) => {
      const w = win(wh), b = buf(o, on, oth, 'origin buffer'), at = target(w, rank, disp, tn, tth, b);
      op(oh);
      if (at) w.impl.accumulate(b, at, oh);
      return 0;
    },
    MPI_Get_accumulate: (o, on, oth, r, rn, rth, rank, disp, tn, tth, oh, wh) => {
      const w = win(wh), res = buf(r, rn, rth, 'result buffer');
      const b = oh === A.OP.NO_OP ? { ptr: 0, n: tn, d: dtype(tth), h: tth } : buf(o, on, oth, 'origin buffer');
      const at = target(w, rank, disp, tn, tth, oh === A.OP.NO_OP ? res : b);
      op(oh);
      if (at) w.impl.getAccumulate(b, res, at, oh);
      return 0;
    },
    MPI_Fetch_and_op: (o, r, th, rank, disp, oh, wh) => {
      const w = win(wh), d = dtype(th);
      if (oh !== A.OP.NO_OP) mem.check(o, d.size, 'origin buffer');
      mem.check(r, d.size, 'result buffer');
      op(oh);
      const at = target(w, rank, disp, 1, th, null);
      if (at) w.impl.fetchAndOp(o, r, d, th, at, oh);
      return 0;
    },
    MPI_Compare_and_swap: (o, cmp, r, th, rank, disp, wh) => {
      const w = win(wh), d = dtype(th);
      if (!d.predefined || typeof d.kind === 'object') fail(A.ERR.TYPE, `MPI_Compare_and_swap takes a predefined integer or byte type, not ${d.name}`);
      mem.check(o, d.size, 'origin buffer');
      mem.check(cmp, d.size, 'compare buffer');
      mem.check(r, d.size, 'result buffer');
      const at = target(w, rank, disp, 1, th, null);
      if (at) w.impl.compareAndSwap(o, cmp, r, d, th, at);
      return 0;
    },
  };
}
