import * as A from './abi.ts';
import { MpiCore, ctxP2p, type Comm, type RecvTarget, type Req, type Status } from './core.ts';
import type { Ctx, Fn } from './imports-ctx.ts';
import { collImports } from './imports-coll.ts';
import { p2pImports } from './imports-p2p.ts';
import { rmaImports } from './imports-rma.ts';
import * as C from './collectives.ts';
import { PREDEFINED, contiguous, pack, span, unpack, vector, type Datatype } from './datatypes.ts';
import { GuestMemory } from './guest-memory.ts';
import { callIndex, enterCall } from './call-state.ts';
import { reduce as reduceOp } from './ops.ts';
import type { DirectP2p, Transport } from './transport.ts';

/** What the MPI imports reach of the instance (set after instantiation). */
export interface GuestHandle {
  memory: WebAssembly.Memory;
  table?: WebAssembly.Table;
  malloc?: (n: number) => number;
  free?: (p: number) => void;
}

export interface MpiHooks {
  /** Called on entry to every MPI call (for job-level deadlock reports). */
  enter?(call: string): void;
  leave?(): void;
  /** The rank's call slot (call-state.ts): the call and its arguments are stored there on entry. */
  slot?: Int32Array;
}


/**
 * The `roam:mpi` import module: MPI-5 ABI calls from a wasm32 guest, translated to the core.
 * Guest pointers are bounds-checked (count × extent) and sentinels recognised before any
 * access; handles go through tables; statuses are written field by field.
 */
export function mpiImports(t: Transport, guest: () => GuestHandle, hooks: MpiHooks = {}): { imports: Record<string, Fn>; core: MpiCore } {
  const core = new MpiCore(t);
  const direct = t.direct;
  const mem = new GuestMemory(() => guest().memory, (d) => core.fail(A.ERR.BUFFER, d), direct && ((b) => direct.memory(b)));
  let initialized = false, finalized = false;
  let nextHandle = A.FIRST_USER_HANDLE;
  const comms = new Map<number, Comm>([[A.COMM_WORLD, core.world], [A.COMM_SELF, core.self]]);
  const groups = new Map<number, number[]>([[A.GROUP_EMPTY, []]]);
  const types = new Map<number, Datatype>(PREDEFINED);
  const ops = new Map<number, { fn: number; commute: boolean }>();
  const reqs = new Map<number, Req>();

  const comm = (h: number): Comm => comms.get(h) ?? core.fail(A.ERR.COMM, `invalid communicator handle 0x${(h >>> 0).toString(16)}`);
  const group = (h: number): number[] => groups.get(h) ?? core.fail(A.ERR.GROUP, `invalid group handle 0x${(h >>> 0).toString(16)}`);
  const dtype = (h: number): Datatype => {
    const d = types.get(h) ?? core.fail(A.ERR.TYPE, `invalid datatype handle 0x${(h >>> 0).toString(16)}`);
    if (!d.committed) core.fail(A.ERR.TYPE, `datatype ${d.name} used before MPI_Type_commit`);
    return d;
  };
  const count = (n: number) => (n < 0 ? core.fail(A.ERR.COUNT, `negative count ${n}`) : n);
  const rankIn = (c: Comm, r: number, what: string, allowAny = false) => {
    if (r === A.PROC_NULL || (allowAny && r === A.ANY_SOURCE)) return r;
    if (r < 0 || r >= c.group.length) core.fail(A.ERR.RANK, `${what} rank ${r} is not in a communicator of size ${c.group.length}`);
    return r;
  };
  const tagOk = (tag: number, allowAny = false) => {
    if (allowAny && tag === A.ANY_TAG) return tag;
    if (tag < 0 || tag > 32767) core.fail(A.ERR.TAG, `invalid tag ${tag} (0..32767)`);
    return tag;
  };
  const newHandle = () => nextHandle++;

  /** Packed bytes of a guest buffer (a live view when contiguous), after the bounds check. */
  const packed = (ptr: number, n: number, d: Datatype): Uint8Array => {
    mem.check(ptr, span(d, n));
    return pack(mem.bytes(), ptr, n, d);
  };
  const packedCopy = (ptr: number, n: number, d: Datatype) => packed(ptr, n, d).slice();
  const store = (bytes: Uint8Array, ptr: number, n: number, d: Datatype) => {
    if (bytes.length > n * d.size) core.fail(A.ERR.TRUNCATE, `message truncated: ${bytes.length} bytes do not fit the receive buffer of ${n * d.size} bytes`);
    mem.check(ptr, span(d, n));
    unpack(bytes, mem.bytes(), ptr, n, d);
  };
  const target = (ptr: number, n: number, d: Datatype): RecvTarget => {
    mem.check(ptr, span(d, n));
    return new GuestTarget(mem, ptr, n, d);
  };
  const writeStatus = (ptr: number, s: Status) => {
    if (ptr !== A.STATUS_IGNORE) mem.setStatus(ptr, s.source, s.tag, s.bytes, s.cancelled);
  };
  const combine = (opH: number, d: Datatype, typeH: number): C.Combine => {
    if (opH in OPS_BY_VALUE) return (input, inout) => {
      const e = reduceOp(opH, d.kind, input, inout);
      if (e) core.fail(A.ERR.OP, e);
    };
    const u = ops.get(opH) ?? core.fail(A.ERR.OP, `invalid op handle 0x${(opH >>> 0).toString(16)}`);
    return (input, inout) => {
      const { table, malloc, free } = guest();
      if (!table || !malloc || !free) return core.fail(A.ERR.OP, 'user ops need the guest to export its function table, malloc and free (roam cc does)');
      const n = Math.floor(inout.length / d.size);
      const sp = span(d, n);
      const base = malloc(2 * sp + 8);
      if (!base) core.fail(A.ERR.INTERN, 'guest malloc failed for a user op scratch buffer');
      try {
        unpack(input, mem.bytes(), base, n, d);
        unpack(inout, mem.bytes(), base + sp, n, d);
        mem.setI32s(base + 2 * sp, [n, typeH], 'user op arguments');
        const f = table.get(u.fn) as Function | null;
        if (typeof f !== 'function') return core.fail(A.ERR.OP, `user op function index ${u.fn} is not in the guest's table`);
        f(base, base + sp, base + 2 * sp, base + 2 * sp + 4);
        inout.set(pack(mem.bytes(), base + sp, n, d));
      } finally {
        free(base);
      }
    };
  };
  const wait = (r: Req) => core.waitFor(() => r.done);
  const io = direct?.io ?? new Int32Array(16);
  /** `blocking`: the caller waits for it before the guest runs again, so memory cannot grow meanwhile and a view will do. */
  const startSend = (buf: number, n: number, th: number, dest: number, tag: number, ch: number, sync: boolean, blocking = false): Req => {
    const c = comm(ch), d = dtype(th);
    count(n); rankIn(c, dest, 'destination'); tagOk(tag);
    mem.check(buf, span(d, n));
    const len = n * d.size;
    if (direct && d.contiguous && !blocking && dest !== A.PROC_NULL) {
      io[0] = buf; io[1] = len; io[2] = c.group[dest]; io[3] = ctxP2p(c); io[4] = tag; io[5] = sync ? 1 : 0;
      return new DirectReq(direct, core, 'send', c, direct.isend(), { source: dest, tag, bytes: len });
    }
    // A nonblocking send reads guest memory through a function: memory.grow may replace the buffer before it is sent.
    const src = !d.contiguous ? pack(mem.bytes(), buf, n, d) : blocking ? mem.bytes().subarray(buf, buf + len) : () => mem.bytes().subarray(buf, buf + len);
    return core.isend(c, ctxP2p(c), dest, tag, src, len, sync);
  };
  const startRecv = (buf: number, n: number, th: number, src: number, tag: number, ch: number): Req => {
    const c = comm(ch), d = dtype(th);
    count(n); rankIn(c, src, 'source', true); tagOk(tag, true);
    if (direct && d.contiguous && tag !== A.ANY_TAG && src !== A.PROC_NULL) {
      const ctx = ctxP2p(c), wsrc = src === A.ANY_SOURCE ? A.ANY_SOURCE : c.group[src];
      if (core.canRecvDirect(ctx, wsrc, tag)) {
        mem.check(buf, n * d.size);
        io[0] = buf; io[1] = n * d.size; io[2] = wsrc; io[3] = ctx; io[4] = tag;
        return new DirectReq(direct, core, 'recv', c, direct.irecv(), { source: 0, tag: 0, bytes: 0 });
      }
    }
    return core.irecv(c, ctxP2p(c), src, tag, target(buf, n, d));
  };
  // Blocking send/recv of contiguous data on a wire with direct p2p (native): the guest's bytes go
  // to libmpi and back without the core's queues or any JS object per call. These run inside the
  // import wrapper (core.call set for errors); fastSend/fastRecv below try first without it.
  const sendDirect = (b: number, n: number, th: number, dest: number, tag: number, ch: number): boolean => {
    const c = comm(ch), d = dtype(th);
    if (!d.contiguous || dest === A.PROC_NULL) return false;
    count(n); rankIn(c, dest, 'destination'); tagOk(tag);
    const len = n * d.size;
    mem.check(b, len);
    io[0] = b; io[1] = len; io[2] = c.group[dest]; io[3] = ctxP2p(c); io[4] = tag;
    const id = direct!.send();
    if (id) core.waitFor(() => direct!.sendDone(id));
    return true;
  };
  const recvDirect = (b: number, n: number, th: number, src: number, tag: number, ch: number, st: number): boolean => {
    const c = comm(ch), d = dtype(th);
    if (!d.contiguous || src === A.PROC_NULL) return false;
    count(n); rankIn(c, src, 'source', true); tagOk(tag, true);
    const ctx = ctxP2p(c), wsrc = src === A.ANY_SOURCE ? A.ANY_SOURCE : c.group[src];
    if (!core.canRecvDirect(ctx, wsrc, tag)) return false;
    const cap = n * d.size;
    mem.check(b, cap);
    for (;;) {
      io[0] = b; io[1] = cap; io[2] = wsrc; io[3] = ctx; io[4] = tag === A.ANY_TAG ? -1 : tag;
      const k = direct!.recv();
      if (k === 0) {
        core.arriveHeld(); // another context's or source's message: to the core's queues
        continue;
      }
      recvDone(k, c, cap, st);
      return true;
    }
  };
  /** Finishes a direct receive that returned k (1 received, -1/-2 truncated: fatal, see recvW in mpi.cc): status or error. */
  const recvDone = (k: number, c: Comm, cap: number, st: number) => {
    const source = c === core.world ? io[5] : c.group.indexOf(io[5]), tag = io[6] & 0xffff;
    if (k === -1) core.fail(A.ERR.TRUNCATE, `message truncated: ${io[7]} bytes from rank ${source} (tag ${tag}) do not fit the receive buffer of ${cap} bytes`);
    if (k === -2) core.fail(A.ERR.TRUNCATE, `message truncated: more than ${cap} bytes from rank ${source} (tag ${tag}) do not fit the receive buffer of ${cap} bytes`);
    if (st !== A.STATUS_IGNORE) mem.setStatus(st, source, tag, io[7]);
  };

  // The common case of a ping-pong — MPI_COMM_WORLD, a predefined contiguous type, valid ranks,
  // tags and bounds — checked with a few comparisons and one typed-array lookup, then one addon
  // call. Anything else (or an error) goes to the full import, which checks again and names it.
  const sizes = new Int32Array(A.FIRST_USER_HANDLE); // bytes of a predefined contiguous type by handle, else 0
  for (const [h, d] of PREDEFINED) if (d.contiguous && h < sizes.length) sizes[h] = d.size;
  const worldSize = t.size, worldCtx = ctxP2p(core.world);
  const inMem = (b: number, len: number) => mem.inside(b, len);
  const NOT_TAKEN = -3; // (direct.recv's own results are 1, 0, -1, -2)
  /** 0 sent, an id > 0 still in flight, NOT_TAKEN not the common case. */
  const fastSend = (b: number, n: number, th: number, dest: number, tag: number, ch: number): number => {
    if (ch !== A.COMM_WORLD || th >>> 0 >= sizes.length || sizes[th] === 0) return NOT_TAKEN;
    const len = n * sizes[th];
    if (!(dest >= 0 && dest < worldSize && tag >= 0 && tag <= 32767 && inMem(b, len))) return NOT_TAKEN;
    io[0] = b; io[1] = len; io[2] = dest; io[3] = worldCtx; io[4] = tag;
    return direct!.send();
  };
  /** direct.recv's result, or NOT_TAKEN when not the common case. */
  const fastRecv = (b: number, n: number, th: number, src: number, tag: number, ch: number, st: number): number => {
    if (ch !== A.COMM_WORLD || th >>> 0 >= sizes.length || sizes[th] === 0) return NOT_TAKEN;
    const cap = n * sizes[th];
    if (!(src >= 0 && src < worldSize && tag >= 0 && tag <= 32767 && inMem(b, cap))) return NOT_TAKEN;
    if (st !== A.STATUS_IGNORE && !inMem(st, A.STATUS_BYTES)) return NOT_TAKEN;
    if (!core.canRecvDirect(worldCtx, src, tag)) return NOT_TAKEN;
    io[0] = b; io[1] = cap; io[2] = src; io[3] = worldCtx; io[4] = tag;
    const k = direct!.recv();
    if (k === 1 && st !== A.STATUS_IGNORE) mem.setStatus(st, src, tag, io[7]);
    return k;
  };

  const agreeCommId = (c: Comm): number => {
    const mine = new Uint8Array(new Int32Array([core.nextCommId]).buffer);
    const all = C.run(core, C.allgather(core, c, mine));
    const id = Math.max(...all.map((b) => new Int32Array(b.slice().buffer)[0]));
    if (id >= 4096) core.fail(A.ERR.COMM, 'too many communicators (4096)');
    core.nextCommId = id + 1;
    return id;
  };

  const fns: Record<string, Fn> = {
    MPI_Init: () => { initialized = true; return 0; },
    MPI_Init_thread: (_a, _b, _req, provided) => { initialized = true; if (provided) mem.setI32(provided, A.THREAD_SINGLE); return 0; },
    MPI_Initialized: (flag) => { mem.setI32(flag, initialized ? 1 : 0); return 0; },
    MPI_Finalize: () => { C.run(core, C.barrier(core, core.world)); t.finalize(); finalized = true; return 0; },
    MPI_Finalized: (flag) => { mem.setI32(flag, finalized ? 1 : 0); return 0; },
    MPI_Abort: (_c, code) => t.abort(code),
    MPI_Get_version: (v, s) => { mem.setI32(v, 5); mem.setI32(s, 0); return 0; },
    MPI_Get_processor_name: (name, len) => { mem.setI32(len, mem.string(name, t.processorName(), 256)); return 0; },
    MPI_Comm_rank: (ch, out) => { mem.setI32(out, comm(ch).rank); return 0; },
    MPI_Comm_size: (ch, out) => { mem.setI32(out, comm(ch).group.length); return 0; },
    MPI_Comm_dup: (ch, out) => {
      const c = comm(ch);
      const h = newHandle();
      comms.set(h, { id: agreeCommId(c), group: c.group.slice(), rank: c.rank, seq: 0 });
      mem.setI32(out, h);
      return 0;
    },
    MPI_Comm_split: (ch, color, key, out) => {
      const c = comm(ch);
      const id = agreeCommId(c);
      const all = C.run(core, C.allgather(core, c, new Uint8Array(new Int32Array([color, key]).buffer))).map((b) => new Int32Array(b.slice().buffer));
      if (color === A.UNDEFINED) { mem.setI32(out, A.COMM_NULL); return 0; }
      const members = all.map(([col, k], r) => ({ col, k, r })).filter((m) => m.col === color).sort((a, b) => a.k - b.k || a.r - b.r);
      const h = newHandle();
      comms.set(h, { id, group: members.map((m) => c.group[m.r]), rank: members.findIndex((m) => m.r === c.rank), seq: 0 });
      mem.setI32(out, h);
      return 0;
    },
    MPI_Comm_create: (ch, gh, out) => {
      const c = comm(ch), g = group(gh);
      const id = agreeCommId(c);
      const me = g.indexOf(c.group[c.rank]);
      if (me < 0) { mem.setI32(out, A.COMM_NULL); return 0; }
      const h = newHandle();
      comms.set(h, { id, group: g.slice(), rank: me, seq: 0 });
      mem.setI32(out, h);
      return 0;
    },
    MPI_Comm_free: (p) => {
      const h = mem.i32(p);
      comm(h);
      if (h === A.COMM_WORLD || h === A.COMM_SELF) core.fail(A.ERR.COMM, 'cannot free a predefined communicator');
      comms.delete(h);
      mem.setI32(p, A.COMM_NULL);
      return 0;
    },
    MPI_Comm_compare: (a, b, out) => {
      const x = comm(a), y = comm(b);
      const same = x.group.length === y.group.length && x.group.every((r, i) => r === y.group[i]);
      const similar = x.group.length === y.group.length && x.group.every((r) => y.group.includes(r));
      mem.setI32(out, a === b ? A.IDENT : same ? A.CONGRUENT : similar ? A.SIMILAR : A.UNEQUAL);
      return 0;
    },
    MPI_Comm_group: (ch, out) => { const h = newHandle(); groups.set(h, comm(ch).group.slice()); mem.setI32(out, h); return 0; },
    MPI_Group_incl: (gh, n, ranks, out) => {
      const g = group(gh);
      const sel = mem.i32s(ranks, count(n), 'ranks array').map((r) => (r >= 0 && r < g.length ? g[r] : core.fail(A.ERR.RANK, `rank ${r} is not in a group of size ${g.length}`)));
      const h = newHandle(); groups.set(h, sel); mem.setI32(out, h); return 0;
    },
    MPI_Group_translate_ranks: (g1, n, r1, g2, r2) => {
      const a = group(g1), b = group(g2);
      mem.setI32s(r2, mem.i32s(r1, count(n), 'ranks1').map((r) => (r === A.PROC_NULL ? A.PROC_NULL : b.indexOf(a[r]) < 0 ? A.UNDEFINED : b.indexOf(a[r]))), 'ranks2');
      return 0;
    },
    MPI_Group_size: (gh, out) => { mem.setI32(out, group(gh).length); return 0; },
    MPI_Group_rank: (gh, out) => { const i = group(gh).indexOf(t.rank); mem.setI32(out, i < 0 ? A.UNDEFINED : i); return 0; },
    MPI_Group_free: (p) => { const h = mem.i32(p); group(h); if (h !== A.GROUP_EMPTY) groups.delete(h); mem.setI32(p, A.GROUP_NULL); return 0; },

    MPI_Send: (b, n, th, dest, tag, ch) => {
      if (!(direct && sendDirect(b, n, th, dest, tag, ch))) wait(startSend(b, n, th, dest, tag, ch, false, true));
      return 0;
    },
    MPI_Ssend: (b, n, th, dest, tag, ch) => { wait(startSend(b, n, th, dest, tag, ch, true, true)); return 0; },
    MPI_Recv: (b, n, th, src, tag, ch, st) => {
      if (direct && recvDirect(b, n, th, src, tag, ch, st)) return 0;
      const r = startRecv(b, n, th, src, tag, ch);
      wait(r);
      writeStatus(st, r.status);
      return 0;
    },
    MPI_Isend: (b, n, th, dest, tag, ch, rp) => { mem.check(rp, 4, 'request'); const h = newHandle(); reqs.set(h, startSend(b, n, th, dest, tag, ch, false)); mem.setI32(rp, h); return 0; },
    MPI_Irecv: (b, n, th, src, tag, ch, rp) => { mem.check(rp, 4, 'request'); const h = newHandle(); reqs.set(h, startRecv(b, n, th, src, tag, ch)); mem.setI32(rp, h); return 0; },
    MPI_Sendrecv: (sb, sn, sth, dest, stag, rb, rn, rth, src, rtag, ch, st) => {
      const r = startRecv(rb, rn, rth, src, rtag, ch);
      const s = startSend(sb, sn, sth, dest, stag, ch, false);
      core.waitFor(() => r.done && s.done);
      writeStatus(st, r.status);
      return 0;
    },
    MPI_Sendrecv_replace: (b, n, th, dest, stag, src, rtag, ch, st) => {
      const c = comm(ch), d = dtype(th);
      const out = packedCopy(b, count(n), d);
      rankIn(c, dest, 'destination'); tagOk(stag);
      const r = startRecv(b, n, th, src, rtag, ch);
      const s = core.isend(c, ctxP2p(c), dest, stag, out, out.length);
      core.waitFor(() => r.done && s.done);
      writeStatus(st, r.status);
      return 0;
    },
    MPI_Probe: (src, tag, ch, st) => {
      const c = comm(ch); rankIn(c, src, 'source', true); tagOk(tag, true);
      if (src === A.PROC_NULL) { writeStatus(st, { source: A.PROC_NULL, tag: A.ANY_TAG, bytes: 0 }); return 0; }
      let s: Status | null = null;
      core.waitFor(() => !!(s = core.iprobe(c, src, tag)));
      writeStatus(st, s!);
      return 0;
    },
    MPI_Iprobe: (src, tag, ch, flag, st) => {
      const c = comm(ch); rankIn(c, src, 'source', true); tagOk(tag, true);
      const s = src === A.PROC_NULL ? { source: A.PROC_NULL, tag: A.ANY_TAG, bytes: 0 } : core.iprobe(c, src, tag);
      mem.setI32(flag, s ? 1 : 0);
      if (s) writeStatus(st, s);
      return 0;
    },
    MPI_Get_count: (st, th, out) => {
      const bytes = mem.i32(st + 12), d = dtype(th);
      mem.setI32(out, d.size === 0 ? 0 : bytes % d.size ? A.UNDEFINED : bytes / d.size);
      return 0;
    },

    MPI_Type_size: (th, out) => { mem.setI32(out, (types.get(th) ?? dtype(th)).size); return 0; },
    MPI_Type_get_extent: (th, lb, ext) => { const d = types.get(th) ?? dtype(th); mem.setI32(lb, 0); mem.setI32(ext, d.extent); return 0; },
    MPI_Type_contiguous: (n, old, out) => { const h = newHandle(); types.set(h, contiguous(count(n), dtype(old))); mem.setI32(out, h); return 0; },
    MPI_Type_vector: (n, bl, stride, old, out) => { const h = newHandle(); types.set(h, vector(count(n), count(bl), stride, dtype(old))); mem.setI32(out, h); return 0; },
    MPI_Type_commit: (p) => {
      const h = mem.i32(p);
      const d = types.get(h) ?? core.fail(A.ERR.TYPE, `invalid datatype handle 0x${(h >>> 0).toString(16)}`);
      d.committed = true;
      return 0;
    },
    MPI_Type_free: (p) => {
      const h = mem.i32(p);
      const d = types.get(h) ?? core.fail(A.ERR.TYPE, `invalid datatype handle 0x${(h >>> 0).toString(16)}`);
      if (d.predefined) core.fail(A.ERR.TYPE, `cannot free predefined datatype ${d.name}`);
      types.delete(h);
      mem.setI32(p, A.DATATYPE_NULL);
      return 0;
    },
    MPI_Op_create: (fn, commute, out) => { const h = newHandle(); ops.set(h, { fn, commute: !!commute }); mem.setI32(out, h); return 0; },
    MPI_Op_commutative: (oh, out) => {
      const u = ops.get(oh);
      if (!u && !(oh in OPS_BY_VALUE)) core.fail(A.ERR.OP, `invalid op handle 0x${(oh >>> 0).toString(16)}`);
      mem.setI32(out, u ? (u.commute ? 1 : 0) : 1);
      return 0;
    },
    MPI_Op_free: (p) => {
      const h = mem.i32(p);
      if (!ops.delete(h)) core.fail(A.ERR.OP, `invalid or predefined op handle 0x${(h >>> 0).toString(16)}`);
      mem.setI32(p, A.OP_NULL);
      return 0;
    },
  };

  const x: Ctx = {
    core, t, mem, guest, comm, group, groups, dtype, count, rankIn, tagOk, newHandle, reqs, packedCopy, store, target, writeStatus, combine,
    predefinedOp: (op) => op in OPS_BY_VALUE, startSend, startRecv, agreeCommId,
  };
  Object.assign(fns, p2pImports(x), collImports(x), rmaImports(x));
  const imports: Record<string, Fn> = {};
  const { enter, leave, slot } = hooks;
  /** Names the call for errors (core.call), records it in the call slot and reports it to the hooks around f. */
  /** (`record` false: the caller already stored the call's own arguments in the slot.) */
  const wrap = (name: string, f: Fn, record = true): Fn => {
    const idx = record ? callIndex(name) : 0;
    // Fixed arity (MPI_Sendrecv has 12 parameters), no rest array: nothing allocated per call.
    return (a, b, c, d, e, g, h, i, j, k, l, m) => {
      const prev = core.call;
      core.call = name;
      const was = slot && idx ? enterCall(slot, idx, a, b, c, d, e, g, h, i, j, k, l, m) : 0;
      if (enter) enter(name);
      try {
        return f(a, b, c, d, e, g, h, i, j, k, l, m);
      } finally {
        core.call = prev;
        if (slot) slot[0] = was;
        if (leave) leave();
      }
    };
  };
  for (const [name, f] of Object.entries(fns)) imports[name] = wrap(name, f);
  if (direct && !enter && !leave) {
    // Native ping-pong hot path: no wrapper unless the fast path hands over (then everything is checked again there).
    const send = imports.MPI_Send, recv = imports.MPI_Recv;
    const sendWait = wrap('MPI_Send', (id) => { core.waitFor(() => direct.sendDone(id)); return 0; }, false);
    const recvFail = wrap('MPI_Recv', (k, cap) => { recvDone(k, core.world, cap, A.STATUS_IGNORE); return 0; }, false);
    // The call slot gets what a deadlock report prints (peer, tag, communicator) before libmpi may block.
    const SEND = callIndex('MPI_Send'), RECV = callIndex('MPI_Recv');
    imports.MPI_Send = (b, n, th, dest, tag, ch) => {
      if (slot) blocking(slot, SEND, dest, tag, ch);
      const id = fastSend(b, n, th, dest, tag, ch);
      if (id > 0) return sendWait(id); // still in the slot while it waits; cleared after
      if (slot) slot[0] = 0;
      return id === 0 ? 0 : send(b, n, th, dest, tag, ch);
    };
    imports.MPI_Recv = (b, n, th, src, tag, ch, st) => {
      if (slot) blocking(slot, RECV, src, tag, ch);
      const k = fastRecv(b, n, th, src, tag, ch, st);
      if (slot) slot[0] = 0;
      // 0: another message is held, the full import queues it for the core (recording it again); < 0: truncated (fatal).
      return k === 1 ? 0 : k === -1 || k === -2 ? recvFail(k, io[1]) : recv(b, n, th, src, tag, ch, st);
    };
  }
  imports.MPI_Wtime = () => t.wtime();
  imports.MPI_Wtick = () => 1e-6;
  return { imports, core };
}

/** A blocking send/receive's slot entry: (buf, count, type, peer, tag, comm) keep their places. */
function blocking(slot: Int32Array, idx: number, peer: number, tag: number, comm: number): void {
  slot[0] = idx;
  slot[4] = peer;
  slot[5] = tag;
  slot[6] = comm;
}

const OPS_BY_VALUE: Record<number, true> = Object.fromEntries(Object.values(A.OP).map((v) => [v, true]));

/**
 * A nonblocking send or receive libmpi runs itself on guest memory (native, contiguous data): done
 * asks libmpi (MPI_Test) until it completes, then holds the status. A class with a getter: no
 * closure per request (tsx names each, see engine/README.md).
 */
class DirectReq implements Req {
  private fin = false;
  constructor(private readonly d: DirectP2p, private readonly core: MpiCore, readonly kind: 'send' | 'recv', readonly comm: Comm, private readonly id: number, public status: Status) {}
  get done(): boolean {
    if (this.fin) return true;
    const io = this.d.io;
    io[8] = this.id;
    const k = this.d.test();
    if (k === 0) return false;
    this.fin = true;
    if (k === 2) this.status = { source: A.ANY_SOURCE, tag: A.ANY_TAG, bytes: 0, cancelled: true };
    else if (this.kind === 'recv') {
      const c = this.comm, source = c.id === 1 ? io[5] : c.group.indexOf(io[5]);
      if (k === -2) this.core.fail(A.ERR.TRUNCATE, `message truncated: a message from rank ${source} does not fit the receive buffer`);
      this.status = { source, tag: io[6] & 0xffff, bytes: io[7] };
    }
    return true;
  }
  set done(_: boolean) {}
  cancel(): void {
    if (this.fin) return;
    this.d.io[8] = this.id;
    this.d.cancel();
  }
}

/** A receive buffer in guest memory: a class, not an object of arrow properties, which tsx would name (`__name`) per message. */
class GuestTarget implements RecvTarget {
  readonly capacity: number;
  constructor(private readonly mem: GuestMemory, private readonly ptr: number, private readonly n: number, private readonly d: Datatype) {
    this.capacity = n * d.size;
  }
  direct(len: number): Uint8Array | null {
    return this.d.contiguous ? this.mem.bytes().subarray(this.ptr, this.ptr + len) : null;
  }
  deliver(bytes: Uint8Array): void {
    unpack(bytes, this.mem.bytes(), this.ptr, this.n, this.d);
  }
}
