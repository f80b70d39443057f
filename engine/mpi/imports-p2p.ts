import * as A from './abi.ts';
import { ctxP2p, type Req, type Status, type Unexpected } from './core.ts';
import type { Ctx, Fn } from './imports-ctx.ts';
import type { Comm } from './core.ts';

const EMPTY: Status = { source: A.ANY_SOURCE, tag: A.ANY_TAG, bytes: 0 };

/**
 * Point-to-point beyond Send/Recv: request completion (Wait/Test families), persistent requests,
 * buffered/ready/synchronous modes, cancel, matched probes (Mprobe/Mrecv), addresses and memory.
 * A request handle maps to a Req; a persistent one keeps its handle and holds the running Req
 * while active. Completion writes the status and frees the handle (persistent: makes it inactive).
 */
export function p2pImports(x: Ctx): Record<string, Fn> {
  const { core, mem, comm, dtype, count, rankIn, tagOk } = x;
  const handleAt = (p: number) => mem.i32(p);
  const reqOf = (h: number): Req | null => (h === A.REQUEST_NULL ? null : x.reqs.get(h) ?? core.fail(A.ERR.REQUEST, `invalid request handle 0x${(h >>> 0).toString(16)}`));
  /** The operation a handle stands for now: null when null or an inactive persistent request. */
  const live = (r: Req | null): Req | null => (r?.persist ? r.persist.active : r);
  /** Writes the status of a completed request and releases it. */
  const release = (p: number, h: number, r: Req, st: number) => {
    const op = live(r)!;
    x.writeStatus(st, op.status);
    if (r.persist) r.persist.active = null;
    else {
      x.reqs.delete(h);
      mem.setI32(p, A.REQUEST_NULL);
    }
  };
  const at = (base: number, i: number, size: number) => (base ? base + i * size : 0);
  /** Completes request i of an array when done; returns whether it was active and done. */
  const tryOne = (rps: number, i: number, sts: number): 'inactive' | 'done' | 'pending' => {
    const h = handleAt(rps + 4 * i), r = reqOf(h), op = live(r);
    if (!op) return 'inactive';
    if (!op.done) return 'pending';
    release(rps + 4 * i, h, r!, sts);
    return 'done';
  };
  const newReq = (rp: number, r: Req) => {
    mem.check(rp, 4, 'request');
    const h = x.newHandle();
    x.reqs.set(h, r);
    mem.setI32(rp, h);
    return 0;
  };

  // Buffered sends: the data is copied at once (MPI_Bsend returns immediately) and counted against
  // the attached buffer until the wire has sent it, so MPI_ERR_BUFFER comes where MPI says it does.
  let attached: { ptr: number; size: number } | null = null;
  const bsends: Array<{ r: Req; bytes: number }> = [];
  const bsend = (b: number, n: number, th: number, dest: number, tag: number, ch: number): Req => {
    const c = comm(ch), d = dtype(th);
    count(n); rankIn(c, dest, 'destination'); tagOk(tag);
    for (let i = bsends.length - 1; i >= 0; i--) if (bsends[i].r.done) bsends.splice(i, 1);
    const data = x.packedCopy(b, n, d);
    const need = data.length + A.BSEND_OVERHEAD + bsends.reduce((a, s) => a + s.bytes + A.BSEND_OVERHEAD, 0);
    if (!attached) return core.fail(A.ERR.BUFFER, 'no buffer attached (MPI_Buffer_attach) for a buffered send');
    if (need > attached.size) core.fail(A.ERR.BUFFER, `the attached buffer of ${attached.size} bytes cannot hold ${data.length} more bytes (+${A.BSEND_OVERHEAD} overhead each; ${bsends.length} buffered sends pending)`);
    const r = core.isend(c, ctxP2p(c), dest, tag, data, data.length);
    bsends.push({ r, bytes: data.length });
    return { kind: 'send', done: true, status: r.status, comm: c };
  };
  const persistent = (start: () => Req, kind: 'send' | 'recv'): Req => ({ kind, done: false, status: EMPTY, comm: null, persist: { start, active: null } });
  const startReq = (h: number) => {
    const r = reqOf(h);
    if (!r?.persist) return core.fail(A.ERR.REQUEST, `request 0x${(h >>> 0).toString(16)} is not a persistent request`);
    if (r.persist.active) core.fail(A.ERR.REQUEST, 'MPI_Start on a request that is still active');
    r.persist.active = r.persist.start();
  };
  const sendInit = (mode: 'std' | 'sync' | 'buf') => (b: number, n: number, th: number, dest: number, tag: number, ch: number, rp: number) => {
    const c = comm(ch);
    dtype(th); count(n); rankIn(c, dest, 'destination'); tagOk(tag);
    return newReq(rp, persistent(() => (mode === 'buf' ? bsend(b, n, th, dest, tag, ch) : x.startSend(b, n, th, dest, tag, ch, mode === 'sync')), 'send'));
  };

  // Matched probes: the message leaves the queue, so no other receive can take it before MPI_Mrecv.
  const messages = new Map<number, { u: Unexpected; c: Comm }>();
  const NO_PROC = 0x129;
  const mprobe = (src: number, tag: number, ch: number, wait: boolean): [number, Status] | null => {
    const c = comm(ch);
    rankIn(c, src, 'source', true); tagOk(tag, true);
    if (src === A.PROC_NULL) return [NO_PROC, { source: A.PROC_NULL, tag: A.ANY_TAG, bytes: 0 }];
    let u: Unexpected | null = core.mprobe(c, src, tag);
    if (!u && wait) core.waitFor(() => !!(u = core.mprobe(c, src, tag)));
    if (!u) return null;
    const h = x.newHandle();
    messages.set(h, { u, c });
    return [h, { source: c.group.indexOf(u.src), tag: u.tag, bytes: u.len }];
  };
  const mrecv = (b: number, n: number, th: number, mp: number): Req => {
    const h = mem.i32(mp);
    const d = dtype(th);
    count(n);
    mem.setI32(mp, 0x128); // MPI_MESSAGE_NULL
    if (h === NO_PROC) return { kind: 'recv', done: true, status: { source: A.PROC_NULL, tag: A.ANY_TAG, bytes: 0 }, comm: null };
    const m = messages.get(h) ?? core.fail(A.ERR.REQUEST, `invalid message handle 0x${(h >>> 0).toString(16)}`);
    messages.delete(h);
    return core.mrecv(m.c, m.u, x.target(b, n, d));
  };

  const waitAll = (n: number, rps: number, sts: number) => {
    for (let i = 0; i < count(n); i++) {
      const r = live(reqOf(handleAt(rps + 4 * i)));
      if (r && !r.done) core.waitFor(() => r.done);
      if (tryOne(rps, i, at(sts, i, 32)) === 'inactive' && sts) x.writeStatus(sts + 32 * i, EMPTY);
    }
    return 0;
  };
  /** Completes every done request among n (Testsome/Waitsome); -1 when none is active. */
  const some = (n: number, rps: number, outP: number, idxP: number, sts: number): number => {
    let active = 0, k = 0;
    for (let i = 0; i < count(n); i++) {
      const s = tryOne(rps, i, at(sts, k, 32));
      if (s !== 'inactive') active++;
      if (s === 'done') mem.setI32(idxP + 4 * k++, i);
    }
    mem.setI32(outP, active === 0 ? A.UNDEFINED : k);
    return active === 0 ? -1 : k;
  };
  const anyDone = (n: number, rps: number): number => {
    let active = 0;
    for (let i = 0; i < n; i++) {
      const r = live(reqOf(handleAt(rps + 4 * i)));
      if (!r) continue;
      active++;
      if (r.done) return i;
    }
    return active ? -1 : -2;
  };

  return {
    MPI_Wait: (rp, st) => {
      const h = handleAt(rp), r = reqOf(h), op = live(r);
      if (!op) { x.writeStatus(st, EMPTY); return 0; }
      if (!op.done) core.waitFor(() => op.done);
      release(rp, h, r!, st);
      return 0;
    },
    MPI_Test: (rp, flag, st) => {
      const h = handleAt(rp), r = reqOf(h), op = live(r);
      if (!op) { mem.setI32(flag, 1); x.writeStatus(st, EMPTY); return 0; }
      if (!op.done) core.progress();
      mem.setI32(flag, op.done ? 1 : 0);
      if (op.done) release(rp, h, r!, st);
      return 0;
    },
    MPI_Waitall: (n, rps, sts) => waitAll(n, rps, sts),
    MPI_Testall: (n, rps, flag, sts) => {
      core.progress();
      const ok = Array.from({ length: count(n) }, (_, i) => live(reqOf(handleAt(rps + 4 * i)))).every((r) => !r || r.done);
      mem.setI32(flag, ok ? 1 : 0);
      if (ok) waitAll(n, rps, sts);
      return 0;
    },
    MPI_Waitany: (n, rps, idx, st) => {
      let i = anyDone(count(n), rps);
      if (i === -1) core.waitFor(() => (i = anyDone(n, rps)) !== -1);
      if (i === -2) { mem.setI32(idx, A.UNDEFINED); x.writeStatus(st, EMPTY); return 0; }
      tryOne(rps, i, st);
      mem.setI32(idx, i);
      return 0;
    },
    MPI_Testany: (n, rps, idx, flag, st) => {
      core.progress();
      const i = anyDone(count(n), rps);
      if (i === -2) { mem.setI32(idx, A.UNDEFINED); mem.setI32(flag, 1); x.writeStatus(st, EMPTY); return 0; }
      mem.setI32(flag, i >= 0 ? 1 : 0);
      mem.setI32(idx, i >= 0 ? i : A.UNDEFINED);
      if (i >= 0) tryOne(rps, i, st);
      return 0;
    },
    MPI_Waitsome: (n, rps, outP, idxP, sts) => {
      if (anyDone(count(n), rps) === -1) core.waitFor(() => anyDone(n, rps) !== -1);
      some(n, rps, outP, idxP, sts);
      return 0;
    },
    MPI_Testsome: (n, rps, outP, idxP, sts) => {
      core.progress();
      some(n, rps, outP, idxP, sts);
      return 0;
    },
    MPI_Request_get_status: (h, flag, st) => {
      const op = live(reqOf(h));
      if (op && !op.done) core.progress();
      mem.setI32(flag, !op || op.done ? 1 : 0);
      if (!op || op.done) x.writeStatus(st, op ? op.status : EMPTY);
      return 0;
    },
    MPI_Request_free: (rp) => {
      const h = handleAt(rp);
      if (reqOf(h)) x.reqs.delete(h); // a send still completes in the background; a receive stays posted
      mem.setI32(rp, A.REQUEST_NULL);
      return 0;
    },
    MPI_Cancel: (rp) => {
      const op = live(reqOf(handleAt(rp)));
      if (!op) return 0;
      if (op.kind === 'coll') core.fail(A.ERR.REQUEST, 'a nonblocking collective cannot be cancelled');
      if (op.cancel) {
        if (op.kind === 'recv') op.cancel();
        return 0;
      }
      // A receive not yet matched is withdrawn; a send (already on the wire) completes normally and is reported not cancelled.
      if (op.kind === 'recv' && !op.done && core.cancelRecv(op)) {
        op.status = { source: A.ANY_SOURCE, tag: A.ANY_TAG, bytes: 0, cancelled: true };
        op.done = true;
      }
      return 0;
    },
    MPI_Test_cancelled: (st, flag) => { mem.setI32(flag, mem.i32(st + 20) === 1 ? 1 : 0); return 0; },
    MPI_Start: (rp) => { startReq(handleAt(rp)); return 0; },
    MPI_Startall: (n, rps) => {
      for (let i = 0; i < count(n); i++) startReq(handleAt(rps + 4 * i));
      return 0;
    },
    MPI_Send_init: sendInit('std'),
    MPI_Rsend_init: sendInit('std'),
    MPI_Ssend_init: sendInit('sync'),
    MPI_Bsend_init: sendInit('buf'),
    MPI_Recv_init: (b, n, th, src, tag, ch, rp) => {
      const c = comm(ch);
      dtype(th); count(n); rankIn(c, src, 'source', true); tagOk(tag, true);
      return newReq(rp, persistent(() => x.startRecv(b, n, th, src, tag, ch), 'recv'));
    },
    MPI_Issend: (b, n, th, dest, tag, ch, rp) => { mem.check(rp, 4, 'request'); return newReq(rp, x.startSend(b, n, th, dest, tag, ch, true)); },
    MPI_Irsend: (b, n, th, dest, tag, ch, rp) => { mem.check(rp, 4, 'request'); return newReq(rp, x.startSend(b, n, th, dest, tag, ch, false)); },
    MPI_Ibsend: (b, n, th, dest, tag, ch, rp) => { mem.check(rp, 4, 'request'); return newReq(rp, bsend(b, n, th, dest, tag, ch)); },
    MPI_Rsend: (b, n, th, dest, tag, ch) => { const r = x.startSend(b, n, th, dest, tag, ch, false, true); core.waitFor(() => r.done); return 0; },
    MPI_Bsend: (b, n, th, dest, tag, ch) => { bsend(b, n, th, dest, tag, ch); return 0; },
    MPI_Buffer_attach: (p, size) => {
      if (attached) core.fail(A.ERR.BUFFER, 'a buffer is already attached');
      if (size < 0) core.fail(A.ERR.ARG, `negative buffer size ${size}`);
      mem.check(p, size, 'buffer');
      attached = { ptr: p, size };
      return 0;
    },
    MPI_Buffer_detach: (pp, sizeP) => {
      if (!attached) return core.fail(A.ERR.BUFFER, 'no buffer attached');
      const a = attached;
      core.waitFor(() => bsends.every((s) => s.r.done));
      bsends.length = 0;
      mem.setI32(pp, a.ptr);
      mem.setI32(sizeP, a.size);
      attached = null;
      return 0;
    },
    MPI_Mprobe: (src, tag, ch, mp, st) => {
      mem.check(mp, 4, 'message');
      const [h, s] = mprobe(src, tag, ch, true)!;
      mem.setI32(mp, h);
      x.writeStatus(st, s);
      return 0;
    },
    MPI_Improbe: (src, tag, ch, flag, mp, st) => {
      mem.check(mp, 4, 'message');
      const got = mprobe(src, tag, ch, false);
      mem.setI32(flag, got ? 1 : 0);
      if (got) { mem.setI32(mp, got[0]); x.writeStatus(st, got[1]); }
      return 0;
    },
    MPI_Mrecv: (b, n, th, mp, st) => {
      const r = mrecv(b, n, th, mp);
      core.waitFor(() => r.done);
      x.writeStatus(st, r.status);
      return 0;
    },
    MPI_Imrecv: (b, n, th, mp, rp) => { mem.check(rp, 4, 'request'); return newReq(rp, mrecv(b, n, th, mp)); },
    MPI_Get_elements: (st, th, out) => {
      const bytes = mem.i32(st + 12), d = dtype(th);
      mem.setI32(out, d.baseSize === 0 ? 0 : bytes % d.baseSize ? A.UNDEFINED : bytes / d.baseSize);
      return 0;
    },
    // wasm32: an address is the offset in linear memory (MPI_Aint is 4 bytes).
    MPI_Get_address: (p, out) => { mem.setI32(out, p); return 0; },
    MPI_Aint_add: (a, b) => (a + b) | 0,
    MPI_Aint_diff: (a, b) => (a - b) | 0,
    MPI_Alloc_mem: (size, _info, out) => {
      const { malloc } = x.guest();
      if (!malloc) return core.fail(A.ERR.NO_MEM, 'MPI_Alloc_mem needs the guest to export malloc (roam cc does)');
      if (size < 0) core.fail(A.ERR.ARG, `negative size ${size}`);
      const p = malloc(size);
      if (!p && size) core.fail(A.ERR.NO_MEM, `guest malloc(${size}) failed`);
      mem.setI32(out, p);
      return 0;
    },
    MPI_Free_mem: (p) => {
      const { free } = x.guest();
      if (!free) return core.fail(A.ERR.NO_MEM, 'MPI_Free_mem needs the guest to export free (roam cc does)');
      free(p);
      return 0;
    },
  };
}
