import type { Comm, MpiCore, Req } from './core.ts';

/**
 * Collectives over the core's internal byte messages (the communicator's collective context),
 * on packed data. Linear/chain algorithms: simple, deterministic reduction order (rank order,
 * as MPI requires for non-commutative ops), fine for the rank counts one node runs.
 */
export type Combine = (input: Uint8Array, inout: Uint8Array) => void;
const T = { BARRIER: 1, BCAST: 2, GATHER: 3, SCATTER: 4, REDUCE: 5, SCAN: 6, ALLTOALL: 7 };

export function barrier(core: MpiCore, c: Comm): void {
  gather(core, c, 0, new Uint8Array(0));
  bcast(core, c, 0, new Uint8Array(0));
}

export function bcast(core: MpiCore, c: Comm, root: number, data: Uint8Array | null): Uint8Array {
  const n = c.group.length;
  // Binomial tree rooted at `root`.
  const me = (c.rank - root + n) % n;
  let buf = data;
  let mask = 1;
  while (mask < n) {
    if (me & mask) {
      buf = core.recvBytes(c, (c.rank - mask + n) % n, T.BCAST);
      break;
    }
    mask <<= 1;
  }
  mask >>= 1;
  const reqs: Req[] = [];
  while (mask > 0) {
    if (me + mask < n) reqs.push(core.sendBytes(c, (c.rank + mask) % n, T.BCAST, buf!));
    mask >>= 1;
  }
  core.waitFor(() => reqs.every((r) => r.done));
  return buf!;
}

/** Root gets every rank's bytes in rank order; others get []. */
export function gather(core: MpiCore, c: Comm, root: number, data: Uint8Array): Uint8Array[] {
  if (c.rank !== root) {
    const r = core.sendBytes(c, root, T.GATHER, data);
    core.waitFor(() => r.done);
    return [];
  }
  return c.group.map((_, i) => (i === root ? data : core.recvBytes(c, i, T.GATHER)));
}

/** Root sends parts[i] to rank i; every rank returns its part. */
export function scatter(core: MpiCore, c: Comm, root: number, parts: Uint8Array[] | null): Uint8Array {
  if (c.rank !== root) return core.recvBytes(c, root, T.SCATTER);
  const reqs = parts!.map((p, i) => (i === root ? null : core.sendBytes(c, i, T.SCATTER, p)));
  core.waitFor(() => reqs.every((r) => !r || r.done));
  return parts![root];
}

export function allgather(core: MpiCore, c: Comm, data: Uint8Array): Uint8Array[] {
  const parts = gather(core, c, 0, data);
  const lens = bcast(core, c, 0, c.rank === 0 ? new Uint8Array(new Int32Array(parts.map((p) => p.length)).buffer) : null);
  const all = bcast(core, c, 0, c.rank === 0 ? concat(parts) : null);
  return split(all, Array.from(new Int32Array(lens.slice().buffer)));
}

/** Result (x0 op x1 op ... op xn-1) at root; null elsewhere. */
export function reduce(core: MpiCore, c: Comm, root: number, data: Uint8Array, op: Combine): Uint8Array | null {
  const parts = gather(core, c, root, data);
  if (c.rank !== root) return null;
  const acc = parts[parts.length - 1].slice();
  for (let i = parts.length - 2; i >= 0; i--) op(parts[i], acc);
  return acc;
}

export function allreduce(core: MpiCore, c: Comm, data: Uint8Array, op: Combine): Uint8Array {
  const r = reduce(core, c, 0, data, op);
  return bcast(core, c, 0, r);
}

/** Inclusive prefix (exclusive when `exclusive`: rank 0 gets null). Chain in rank order. */
export function scan(core: MpiCore, c: Comm, data: Uint8Array, op: Combine, exclusive: boolean): Uint8Array | null {
  let prefix: Uint8Array | null = null;
  if (c.rank > 0) prefix = core.recvBytes(c, c.rank - 1, T.SCAN);
  const incl = data.slice();
  if (prefix) op(prefix, incl);
  if (c.rank + 1 < c.group.length) {
    const r = core.sendBytes(c, c.rank + 1, T.SCAN, incl);
    core.waitFor(() => r.done);
  }
  return exclusive ? prefix : incl;
}

/** parts[i] goes to rank i; returns what each rank sent to us, in rank order. */
export function alltoall(core: MpiCore, c: Comm, parts: Uint8Array[]): Uint8Array[] {
  const sends = parts.map((p, i) => (i === c.rank ? null : core.sendBytes(c, i, T.ALLTOALL, p)));
  const got = c.group.map((_, i) => (i === c.rank ? parts[i] : core.recvBytes(c, i, T.ALLTOALL)));
  core.waitFor(() => sends.every((r) => !r || r.done));
  return got;
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
export function split(all: Uint8Array, lens: number[]): Uint8Array[] {
  let at = 0;
  return lens.map((l) => all.subarray(at, (at += l)));
}
