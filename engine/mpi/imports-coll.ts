import * as A from './abi.ts';
import * as C from './collectives.ts';
import type { Ctx, Fn } from './imports-ctx.ts';

/** A collective call prepared: arguments checked, send data packed, its schedule and what to do with the result. */
interface Plan {
  gen: C.Schedule<any>;
  finish(result: any): void;
}

/**
 * Blocking and nonblocking collectives from one plan each: MPI_X runs the plan's schedule to the
 * end; MPI_IX starts it as a request the core advances on every progress (`MpiCore.schedule`).
 * Arguments are checked and send buffers packed (copied) when the call starts; results are
 * written to guest memory through pointers when it ends (memory.grow may come in between).
 * On the system MPI, MPI_COMM_WORLD's Barrier/Bcast/Allreduce on predefined types go to libmpi's
 * own tuned collectives instead, unless a nonblocking collective is in flight (libmpi would not
 * progress roam's schedule while it blocks).
 */
export function collImports(x: Ctx): Record<string, Fn> {
  const { core, t, mem, comm, dtype, count, rankIn, packedCopy, store, combine } = x;
  const size = (ch: number) => comm(ch).group.length;
  const i32s = (p: number, n: number, what: string) => mem.i32s(p, n, what).map((v) => v);
  const counts = (p: number, ch: number, what: string) => i32s(p, size(ch), what).map(count);

  const barrier = (ch: number): Plan => ({ gen: C.barrier(core, comm(ch)), finish: () => {} });
  const bcast = (b: number, n: number, th: number, root: number, ch: number): Plan => {
    const c = comm(ch), d = dtype(th);
    count(n); rankIn(c, root, 'root');
    return { gen: C.bcast(core, c, root, c.rank === root ? packedCopy(b, n, d) : null), finish: (data) => { if (c.rank !== root) store(data, b, n, d); } };
  };
  const reduce = (sb: number, rb: number, n: number, th: number, oh: number, root: number, ch: number): Plan => {
    const c = comm(ch), d = dtype(th);
    count(n); rankIn(c, root, 'root');
    const mine = sb === A.IN_PLACE && c.rank === root ? packedCopy(rb, n, d) : packedCopy(sb, n, d);
    return { gen: C.reduce(core, c, root, mine, combine(oh, d, th)), finish: (res) => { if (res) store(res, rb, n, d); } };
  };
  const allreduce = (sb: number, rb: number, n: number, th: number, oh: number, ch: number): Plan => {
    const c = comm(ch), d = dtype(th);
    count(n);
    const mine = packedCopy(sb === A.IN_PLACE ? rb : sb, n, d);
    return { gen: C.allreduce(core, c, mine, combine(oh, d, th)), finish: (res) => store(res, rb, n, d) };
  };
  const scan = (exclusive: boolean) => (sb: number, rb: number, n: number, th: number, oh: number, ch: number): Plan => {
    const c = comm(ch), d = dtype(th);
    count(n);
    const mine = packedCopy(sb === A.IN_PLACE ? rb : sb, n, d);
    return { gen: C.scan(core, c, mine, combine(oh, d, th), exclusive), finish: (res) => { if (res) store(res, rb, n, d); } };
  };
  const reduceScatter = (sb: number, rb: number, rc: number[], th: number, oh: number, ch: number): Plan => {
    const c = comm(ch), d = dtype(th);
    const total = rc.reduce((a, b) => a + b, 0);
    const mine = packedCopy(sb === A.IN_PLACE ? rb : sb, total, d);
    const off = rc.slice(0, c.rank).reduce((a, b) => a + b, 0) * d.size;
    return { gen: C.allreduce(core, c, mine, combine(oh, d, th)), finish: (all: Uint8Array) => store(all.subarray(off, off + rc[c.rank] * d.size), rb, rc[c.rank], d) };
  };
  const gatherv = (sb: number, sn: number, sth: number, rb: number, rcP: number | null, dsP: number | null, rn: number, rth: number, root: number, ch: number): Plan => {
    const c = comm(ch);
    rankIn(c, root, 'root');
    const isRoot = c.rank === root;
    const rd = isRoot ? dtype(rth) : null;
    const rc = isRoot ? (rcP === null ? c.group.map(() => count(rn)) : counts(rcP, ch, 'recvcounts')) : [];
    const ds = isRoot ? (dsP === null ? rc.map((_, i) => i * rn) : i32s(dsP, c.group.length, 'displs')) : [];
    const mine = sb === A.IN_PLACE && isRoot ? packedCopy(rb + ds[root] * rd!.extent, rc[root], rd!) : packedCopy(sb, count(sn), dtype(sth));
    return { gen: C.gather(core, c, root, mine), finish: (parts: Uint8Array[]) => { if (isRoot) parts.forEach((p, i) => store(p, rb + ds[i] * rd!.extent, rc[i], rd!)); } };
  };
  const scatterv = (sb: number, scP: number | null, dsP: number | null, sn: number, sth: number, rb: number, rn: number, rth: number, root: number, ch: number): Plan => {
    const c = comm(ch);
    rankIn(c, root, 'root');
    let parts: Uint8Array[] | null = null;
    if (c.rank === root) {
      const sd = dtype(sth);
      const sc = scP === null ? c.group.map(() => count(sn)) : counts(scP, ch, 'sendcounts');
      const ds = dsP === null ? sc.map((_, i) => i * sn) : i32s(dsP, c.group.length, 'displs');
      parts = sc.map((n, i) => packedCopy(sb + ds[i] * sd.extent, n, sd));
    }
    const keep = c.rank === root && rb === A.IN_PLACE;
    const rd = keep ? null : dtype(rth);
    if (!keep) count(rn);
    return { gen: C.scatter(core, c, root, parts), finish: (mine) => { if (!keep) store(mine, rb, rn, rd!); } };
  };
  const allgatherv = (sb: number, sn: number, sth: number, rb: number, rcP: number | null, dsP: number | null, rn: number, rth: number, ch: number): Plan => {
    const c = comm(ch), rd = dtype(rth);
    const rc = rcP === null ? c.group.map(() => count(rn)) : counts(rcP, ch, 'recvcounts');
    const ds = dsP === null ? rc.map((_, i) => i * rn) : i32s(dsP, c.group.length, 'displs');
    const mine = sb === A.IN_PLACE ? packedCopy(rb + ds[c.rank] * rd.extent, rc[c.rank], rd) : packedCopy(sb, count(sn), dtype(sth));
    return { gen: C.allgather(core, c, mine), finish: (parts: Uint8Array[]) => parts.forEach((p, i) => store(p, rb + ds[i] * rd.extent, rc[i], rd)) };
  };
  /** Alltoall(v/w): per peer a count, a displacement (elements, or bytes for w) and a type. */
  const alltoallw = (sb: number, sc: number[], sdB: number[], st: number[], rb: number, rc: number[], rdB: number[], rt: number[], ch: number): Plan => {
    const c = comm(ch);
    const inPlace = sb === A.IN_PLACE;
    const rtypes = rt.map(dtype);
    const stypes = inPlace ? rtypes : st.map(dtype);
    const parts = (inPlace ? rc : sc).map((n, i) => packedCopy((inPlace ? rb : sb) + (inPlace ? rdB : sdB)[i], n, stypes[i]));
    return { gen: C.alltoall(core, c, parts), finish: (got: Uint8Array[]) => got.forEach((p, i) => store(p, rb + rdB[i], rc[i], rtypes[i])) };
  };
  const alltoallv = (sb: number, scP: number | null, sdP: number | null, sn: number, sth: number, rb: number, rcP: number | null, rdP: number | null, rn: number, rth: number, ch: number): Plan => {
    const n = size(ch), rd = dtype(rth);
    const inPlace = sb === A.IN_PLACE;
    const sd = inPlace ? rd : dtype(sth);
    const rc = rcP === null ? Array.from({ length: n }, () => count(rn)) : counts(rcP, ch, 'recvcounts');
    const rds = rdP === null ? rc.map((_, i) => i * rn) : i32s(rdP, n, 'rdispls');
    const sc = inPlace ? rc : scP === null ? Array.from({ length: n }, () => count(sn)) : counts(scP, ch, 'sendcounts');
    const sds = inPlace ? rds : sdP === null ? sc.map((_, i) => i * sn) : i32s(sdP, n, 'sdispls');
    return alltoallw(sb, sc, sds.map((v) => v * sd.extent), sc.map(() => (inPlace ? rth : sth)), rb, rc, rds.map((v) => v * rd.extent), rc.map(() => rth), ch);
  };
  const alltoallwArgs = (sb: number, scP: number, sdP: number, stP: number, rb: number, rcP: number, rdP: number, rtP: number, ch: number): Plan => {
    const n = size(ch), inPlace = sb === A.IN_PLACE;
    const rc = counts(rcP, ch, 'recvcounts'), rd = i32s(rdP, n, 'rdispls'), rt = i32s(rtP, n, 'recvtypes');
    return inPlace ? alltoallw(sb, rc, rd, rt, rb, rc, rd, rt, ch) : alltoallw(sb, counts(scP, ch, 'sendcounts'), i32s(sdP, n, 'sdispls'), i32s(stP, n, 'sendtypes'), rb, rc, rd, rt, ch);
  };

  const run = (p: Plan): number => {
    p.finish(C.run(core, p.gen));
    return 0;
  };
  const start = (p: Plan, rp: number): number => {
    mem.check(rp, 4, 'request');
    const h = x.newHandle();
    x.reqs.set(h, core.schedule(p.gen, (r) => p.finish(r)));
    mem.setI32(rp, h);
    return 0;
  };
  const world = (ch: number) => (ch === A.COMM_WORLD && t.world && !core.busy ? t.world : null);
  const io = t.direct?.io ?? new Int32Array(16);

  return {
    MPI_Barrier: (ch) => {
      comm(ch);
      return world(ch)?.barrier() ? 0 : run(barrier(ch));
    },
    MPI_Bcast: (b, n, th, root, ch) => {
      const c = comm(ch), d = dtype(th), w = world(ch);
      count(n); rankIn(c, root, 'root');
      if (w && d.contiguous) {
        mem.check(b, n * d.size);
        io[10] = b; io[11] = n * d.size; io[14] = root;
        if (w.bcastW()) return 0;
      }
      return run(bcast(b, n, th, root, ch));
    },
    MPI_Reduce: (sb, rb, n, th, oh, root, ch) => {
      const c = comm(ch), d = dtype(th), w = world(ch);
      count(n); rankIn(c, root, 'root');
      if (w && d.predefined && d.contiguous && x.predefinedOp(oh)) {
        const atRoot = c.rank === root;
        if (atRoot) mem.check(rb, n * d.size);
        if (!(atRoot && sb === A.IN_PLACE)) mem.check(sb, n * d.size);
        io[9] = atRoot && sb === A.IN_PLACE ? -1 : sb; io[10] = atRoot ? rb : -1; io[11] = n; io[12] = th; io[13] = oh; io[14] = root;
        if (w.reduceW()) return 0;
      }
      return run(reduce(sb, rb, n, th, oh, root, ch));
    },
    MPI_Allreduce: (sb, rb, n, th, oh, ch) => {
      const d = dtype(th), w = world(ch);
      count(n);
      // COMM_WORLD with a predefined type and op on the system MPI: libmpi's own allreduce, zero-copy.
      if (w && d.predefined && d.contiguous && x.predefinedOp(oh)) {
        mem.check(rb, n * d.size);
        if (sb !== A.IN_PLACE) mem.check(sb, n * d.size);
        io[9] = sb === A.IN_PLACE ? -1 : sb; io[10] = rb; io[11] = n; io[12] = th; io[13] = oh;
        if (w.allreduceW()) return 0;
      }
      return run(allreduce(sb, rb, n, th, oh, ch));
    },
    MPI_Scan: (sb, rb, n, th, oh, ch) => run(scan(false)(sb, rb, n, th, oh, ch)),
    MPI_Exscan: (sb, rb, n, th, oh, ch) => run(scan(true)(sb, rb, n, th, oh, ch)),
    MPI_Reduce_scatter: (sb, rb, rcP, th, oh, ch) => run(reduceScatter(sb, rb, counts(rcP, ch, 'recvcounts'), th, oh, ch)),
    MPI_Reduce_scatter_block: (sb, rb, rn, th, oh, ch) => run(reduceScatter(sb, rb, Array(size(ch)).fill(count(rn)), th, oh, ch)),
    MPI_Gather: (sb, sn, sth, rb, rn, rth, root, ch) => run(gatherv(sb, sn, sth, rb, null, null, rn, rth, root, ch)),
    MPI_Gatherv: (sb, sn, sth, rb, rcP, dsP, rth, root, ch) => run(gatherv(sb, sn, sth, rb, rcP, dsP, 0, rth, root, ch)),
    MPI_Scatter: (sb, sn, sth, rb, rn, rth, root, ch) => run(scatterv(sb, null, null, sn, sth, rb, rn, rth, root, ch)),
    MPI_Scatterv: (sb, scP, dsP, sth, rb, rn, rth, root, ch) => run(scatterv(sb, scP, dsP, 0, sth, rb, rn, rth, root, ch)),
    MPI_Allgather: (sb, sn, sth, rb, rn, rth, ch) => run(allgatherv(sb, sn, sth, rb, null, null, rn, rth, ch)),
    MPI_Allgatherv: (sb, sn, sth, rb, rcP, dsP, rth, ch) => run(allgatherv(sb, sn, sth, rb, rcP, dsP, 0, rth, ch)),
    MPI_Alltoall: (sb, sn, sth, rb, rn, rth, ch) => {
      const w = world(ch), rd = dtype(rth), sd = sb === A.IN_PLACE ? rd : dtype(sth);
      const per = count(rn) * rd.size, n = size(ch);
      if (w && rd.contiguous && sd.contiguous && (sb === A.IN_PLACE || count(sn) * sd.size === per)) {
        mem.check(rb, per * n);
        if (sb !== A.IN_PLACE) mem.check(sb, per * n);
        io[9] = sb === A.IN_PLACE ? -1 : sb; io[10] = rb; io[11] = per;
        if (w.alltoallW()) return 0;
      }
      return run(alltoallv(sb, null, null, sn, sth, rb, null, null, rn, rth, ch));
    },
    MPI_Alltoallv: (sb, scP, sdP, sth, rb, rcP, rdP, rth, ch) => run(alltoallv(sb, scP, sdP, 0, sth, rb, rcP, rdP, 0, rth, ch)),
    MPI_Alltoallw: (sb, scP, sdP, stP, rb, rcP, rdP, rtP, ch) => run(alltoallwArgs(sb, scP, sdP, stP, rb, rcP, rdP, rtP, ch)),

    MPI_Ibarrier: (ch, rp) => start(barrier(ch), rp),
    MPI_Ibcast: (b, n, th, root, ch, rp) => start(bcast(b, n, th, root, ch), rp),
    MPI_Ireduce: (sb, rb, n, th, oh, root, ch, rp) => start(reduce(sb, rb, n, th, oh, root, ch), rp),
    MPI_Iallreduce: (sb, rb, n, th, oh, ch, rp) => start(allreduce(sb, rb, n, th, oh, ch), rp),
    MPI_Iscan: (sb, rb, n, th, oh, ch, rp) => start(scan(false)(sb, rb, n, th, oh, ch), rp),
    MPI_Iexscan: (sb, rb, n, th, oh, ch, rp) => start(scan(true)(sb, rb, n, th, oh, ch), rp),
    MPI_Ireduce_scatter: (sb, rb, rcP, th, oh, ch, rp) => start(reduceScatter(sb, rb, counts(rcP, ch, 'recvcounts'), th, oh, ch), rp),
    MPI_Ireduce_scatter_block: (sb, rb, rn, th, oh, ch, rp) => start(reduceScatter(sb, rb, Array(size(ch)).fill(count(rn)), th, oh, ch), rp),
    MPI_Igather: (sb, sn, sth, rb, rn, rth, root, ch, rp) => start(gatherv(sb, sn, sth, rb, null, null, rn, rth, root, ch), rp),
    MPI_Igatherv: (sb, sn, sth, rb, rcP, dsP, rth, root, ch, rp) => start(gatherv(sb, sn, sth, rb, rcP, dsP, 0, rth, root, ch), rp),
    MPI_Iscatter: (sb, sn, sth, rb, rn, rth, root, ch, rp) => start(scatterv(sb, null, null, sn, sth, rb, rn, rth, root, ch), rp),
    MPI_Iscatterv: (sb, scP, dsP, sth, rb, rn, rth, root, ch, rp) => start(scatterv(sb, scP, dsP, 0, sth, rb, rn, rth, root, ch), rp),
    MPI_Iallgather: (sb, sn, sth, rb, rn, rth, ch, rp) => start(allgatherv(sb, sn, sth, rb, null, null, rn, rth, ch), rp),
    MPI_Iallgatherv: (sb, sn, sth, rb, rcP, dsP, rth, ch, rp) => start(allgatherv(sb, sn, sth, rb, rcP, dsP, 0, rth, ch), rp),
    MPI_Ialltoall: (sb, sn, sth, rb, rn, rth, ch, rp) => start(alltoallv(sb, null, null, sn, sth, rb, null, null, rn, rth, ch), rp),
    MPI_Ialltoallv: (sb, scP, sdP, sth, rb, rcP, rdP, rth, ch, rp) => start(alltoallv(sb, scP, sdP, 0, sth, rb, rcP, rdP, 0, rth, ch), rp),
    MPI_Ialltoallw: (sb, scP, sdP, stP, rb, rcP, rdP, rtP, ch, rp) => start(alltoallwArgs(sb, scP, sdP, stP, rb, rcP, rdP, rtP, ch), rp),

    MPI_Reduce_local: (ib, iob, n, th, oh) => {
      const d = dtype(th);
      count(n);
      const acc = packedCopy(iob, n, d);
      combine(oh, d, th)(packedCopy(ib, n, d), acc);
      store(acc, iob, n, d);
      return 0;
    },
  };
}
