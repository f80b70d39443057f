import { ctxColl, type Comm, type MpiCore, type Req } from './core.ts';

/**
 * Collectives over the core's internal byte messages (the communicator's collective context), on
 * packed data. Each algorithm is written once as a schedule: a generator that starts sends and
 * receives and yields the requests it waits for. A blocking call runs it to the end (`run`); a
 * nonblocking one (MPI_I*) hands it to the core, which advances it whenever it makes progress
 * (`MpiCore.schedule`), so both wires get MPI-3's nonblocking collectives from the same code.
 * Every call takes the next sequence number of its communicator into its tags (all ranks start
 * collectives in the same order), so overlapping nonblocking collectives never match each
 * other's messages. Reductions keep rank order (x0 op x1 op ... op xn-1) for non-commutative ops.
 */
export type Combine = (input: Uint8Array, inout: Uint8Array) => void;
export type Schedule<T> = Generator<Req[], T, void>;
const T = { BARRIER: 1, BCAST: 2, GATHER: 3, SCATTER: 4, REDUCE: 5, SCAN: 6, ALLTOALL: 7, ALLGATHER: 8, ALLREDUCE: 9 };

/** Tag base of the next collective on `c`: 4096 collectives may overlap per communicator. */
function tagBase(c: Comm): number {
  const s = c.seq;
  c.seq = (s + 1) & 0xfff;
  return s << 4;
}
const recv = (core: MpiCore, c: Comm, src: number, tag: number) => core.irecv(c, ctxColl(c), src, tag, null);

/** Runs a schedule to its end, blocking (progressing everything meanwhile). */
export function run<R>(core: MpiCore, g: Schedule<R>): R {
  for (let s = g.next(); ; s = g.next()) {
    if (s.done) return s.value;
    const reqs = s.value;
    core.waitFor(() => allDone(reqs));
  }
}
export function allDone(reqs: Req[]): boolean {
  for (let i = 0; i < reqs.length; i++) if (!reqs[i].done) return false;
  return true;
}

/** Dissemination barrier: ceil(log2 n) rounds of one send and one receive. */
export function* barrier(core: MpiCore, c: Comm): Schedule<void> {
  const n = c.group.length, tag = tagBase(c) | T.BARRIER, empty = new Uint8Array(0);
  for (let k = 1; k < n; k <<= 1) {
    const r = recv(core, c, (c.rank - k + n) % n, tag);
    yield [core.sendBytes(c, (c.rank + k) % n, tag, empty), r];
  }
}

/** Binomial tree rooted at `root`; every rank returns the root's bytes. */
export function* bcast(core: MpiCore, c: Comm, root: number, data: Uint8Array | null): Schedule<Uint8Array> {
  const n = c.group.length, tag = tagBase(c) | T.BCAST;
  const me = (c.rank - root + n) % n;
  let buf = data;
  let mask = 1;
  while (mask < n) {
    if (me & mask) {
      const r = recv(core, c, (c.rank - mask + n) % n, tag);
      yield [r];
      buf = r.bytes!;
      break;
    }
    mask <<= 1;
  }
  mask >>= 1;
  const reqs: Req[] = [];
  for (; mask > 0; mask >>= 1) if (me + mask < n) reqs.push(core.sendBytes(c, (c.rank + mask) % n, tag, buf!));
  if (reqs.length) yield reqs;
  return buf!;
}

/** Root gets every rank's bytes in rank order; others get []. */
export function* gather(core: MpiCore, c: Comm, root: number, data: Uint8Array): Schedule<Uint8Array[]> {
  const tag = tagBase(c) | T.GATHER;
  if (c.rank !== root) {
    yield [core.sendBytes(c, root, tag, data)];
    return [];
  }
  const rs = c.group.map((_, i) => (i === root ? null : recv(core, c, i, tag)));
  yield rs.filter((r): r is Req => !!r);
  return rs.map((r) => (r ? r.bytes! : data));
}

/** Root sends parts[i] to rank i; every rank returns its part. */
export function* scatter(core: MpiCore, c: Comm, root: number, parts: Uint8Array[] | null): Schedule<Uint8Array> {
  const tag = tagBase(c) | T.SCATTER;
  if (c.rank !== root) {
    const r = recv(core, c, root, tag);
    yield [r];
    return r.bytes!;
  }
  const reqs: Req[] = [];
  parts!.forEach((p, i) => { if (i !== root) reqs.push(core.sendBytes(c, i, tag, p)); });
  yield reqs;
  return parts![root];
}

/** Every rank's bytes, in rank order, at every rank: one round of n-1 sends and receives. */
export function* allgather(core: MpiCore, c: Comm, data: Uint8Array): Schedule<Uint8Array[]> {
  const tag = tagBase(c) | T.ALLGATHER;
  const rs = c.group.map((_, i) => (i === c.rank ? null : recv(core, c, i, tag)));
  const reqs: Req[] = [];
  c.group.forEach((_, i) => { if (i !== c.rank) reqs.push(core.sendBytes(c, i, tag, data)); });
  for (const r of rs) if (r) reqs.push(r);
  yield reqs;
  return rs.map((r) => (r ? r.bytes! : data));
}

/** Result (x0 op x1 op ... op xn-1) at root; null elsewhere. */
export function* reduce(core: MpiCore, c: Comm, root: number, data: Uint8Array, op: Combine): Schedule<Uint8Array | null> {
  const parts = yield* gather(core, c, root, data);
  if (c.rank !== root) return null;
  const acc = parts[parts.length - 1].slice();
  for (let i = parts.length - 2; i >= 0; i--) op(parts[i], acc);
  return acc;
}

/**
 * Recursive doubling on a power-of-two size (log2 n rounds; each step combines the lower block of
 * ranks before the higher one, so rank order holds and every rank computes the same bytes), else
 * reduce to 0 and broadcast.
 */
export function* allreduce(core: MpiCore, c: Comm, data: Uint8Array, op: Combine): Schedule<Uint8Array> {
  const n = c.group.length;
  if (n & (n - 1)) {
    const r = yield* reduce(core, c, 0, data, op);
    return yield* bcast(core, c, 0, r);
  }
  const tag = tagBase(c) | T.ALLREDUCE;
  let acc: Uint8Array = data.slice();
  for (let mask = 1; mask < n; mask <<= 1) {
    const peer = c.rank ^ mask;
    const r = recv(core, c, peer, tag);
    yield [core.sendBytes(c, peer, tag, acc), r];
    const theirs = r.bytes!;
    if (peer < c.rank) op(theirs, acc);
    else {
      op(acc, theirs);
      acc = theirs;
    }
  }
  return acc;
}

/** Inclusive prefix (exclusive when `exclusive`: rank 0 gets null). Chain in rank order. */
export function* scan(core: MpiCore, c: Comm, data: Uint8Array, op: Combine, exclusive: boolean): Schedule<Uint8Array | null> {
  const tag = tagBase(c) | T.SCAN;
  let prefix: Uint8Array | null = null;
  if (c.rank > 0) {
    const r = recv(core, c, c.rank - 1, tag);
    yield [r];
    prefix = r.bytes!;
  }
  const incl = data.slice();
  if (prefix) op(prefix, incl);
  if (c.rank + 1 < c.group.length) yield [core.sendBytes(c, c.rank + 1, tag, incl)];
  return exclusive ? prefix : incl;
}

/** parts[i] goes to rank i; returns what each rank sent to us, in rank order. */
export function* alltoall(core: MpiCore, c: Comm, parts: Uint8Array[]): Schedule<Uint8Array[]> {
  const tag = tagBase(c) | T.ALLTOALL;
  const rs = c.group.map((_, i) => (i === c.rank ? null : recv(core, c, i, tag)));
  const reqs: Req[] = [];
  parts.forEach((p, i) => { if (i !== c.rank) reqs.push(core.sendBytes(c, i, tag, p)); });
  for (const r of rs) if (r) reqs.push(r);
  yield reqs;
  return rs.map((r, i) => (r ? r.bytes! : parts[i]));
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
