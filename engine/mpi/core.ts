import type { Arrival, SendToken, Source, Transport } from './transport.ts';
import { ANY_SOURCE, ANY_TAG, ERR, PROC_NULL } from './abi.ts';
import { MpiError } from './errors.ts';

/**
 * The MPI engine above a transport: communicators (context ids over world ranks), message
 * matching (posted receives vs unexpected messages, MPI's non-overtaking order), requests and
 * synchronous-send acks. Collectives build on the internal byte send/recv here (collectives.ts).
 */
export interface Comm {
  id: number;
  /** World ranks of the members, in communicator rank order. */
  group: number[];
  /** This process's rank in the communicator. */
  rank: number;
}
export const ctxP2p = (c: Comm) => c.id * 2;
export const ctxColl = (c: Comm) => c.id * 2 + 1;
const ACK_CTX = 0;
const SYNC = 1;

/** Where received bytes go: straight into guest memory (contiguous), or a callback that unpacks. */
export interface RecvTarget {
  capacity: number;
  /** A view of guest memory to receive into directly, or null to get a fresh buffer passed to `deliver`. */
  direct(len: number): Uint8Array | null;
  deliver?(bytes: Uint8Array): void;
}

export interface Status {
  source: number;
  tag: number;
  bytes: number;
}

export interface Req {
  kind: 'send' | 'recv';
  done: boolean;
  status: Status;
  comm: Comm | null;
  // recv matching
  src?: number; // world rank or ANY_SOURCE
  tag?: number;
  ctx?: number;
  target?: RecvTarget | null; // null: internal, keep bytes
  bytes?: Uint8Array;
  // send
  token?: SendToken;
  ackPending?: boolean;
}

interface Unexpected extends Arrival {
  data: Uint8Array;
}

export class MpiCore {
  /** Name of the MPI call in progress, for error messages. */
  call = '';
  private readonly posted: Req[] = [];
  private readonly unexpected: Unexpected[] = [];
  private readonly acks: Req[] = [];
  readonly world: Comm;
  readonly self: Comm;
  nextCommId = 3;

  constructor(readonly t: Transport) {
    this.world = { id: 1, group: Array.from({ length: t.size }, (_, i) => i), rank: t.rank };
    this.self = { id: 2, group: [t.rank], rank: 0 };
  }

  fail(errorClass: number, detail: string): never {
    throw new MpiError(this.t.rank, this.call, errorClass, detail);
  }

  // ---- progress -------------------------------------------------------------------------
  progress(): void {
    this.t.progress();
    for (let a = this.t.poll(); a; a = this.t.poll()) this.arrive(a);
  }

  waitFor(pred: () => boolean): void {
    for (;;) {
      if (pred()) return;
      const s = this.t.seq();
      this.progress();
      if (pred()) return;
      this.t.idle(s);
    }
  }

  private arrive(a: Arrival): void {
    if (a.ctx === ACK_CTX) {
      const i = this.acks.findIndex((r) => r.src === a.src && r.tag === a.tag);
      this.t.take(a, null);
      if (i >= 0) {
        const r = this.acks.splice(i, 1)[0];
        r.ackPending = false;
        r.done = !!r.token?.done;
      }
      return;
    }
    const i = this.posted.findIndex((r) => matches(r, a));
    if (i < 0) {
      this.unexpected.push({ ...a, data: this.t.take(a, null) });
      return;
    }
    const r = this.posted.splice(i, 1)[0];
    this.complete(r, a, null);
  }

  private complete(r: Req, a: Arrival, data: Uint8Array | null): void {
    if (a.flags & SYNC) this.t.send(a.src, ACK_CTX, a.tag, 0, new Uint8Array(0), 0);
    r.status = { source: r.comm ? r.comm.group.indexOf(a.src) : a.src, tag: a.tag, bytes: a.len };
    r.done = true;
    const tgt = r.target;
    if (!tgt) {
      r.bytes = data ?? this.t.take(a, null);
      return;
    }
    if (a.len > tgt.capacity) {
      if (!data) this.t.take(a, null);
      this.fail(ERR.TRUNCATE, `message truncated: ${a.len} bytes from rank ${r.status.source} (tag ${a.tag}) do not fit the receive buffer of ${tgt.capacity} bytes`);
    }
    const into = tgt.direct(a.len);
    if (into) {
      if (data) into.set(data.subarray(0, a.len));
      else this.t.take(a, into);
    } else {
      tgt.deliver!(data ?? this.t.take(a, null));
    }
  }

  // ---- point to point ---------------------------------------------------------------------
  /** Starts a send to communicator rank `dest` on context `ctx`. */
  isend(comm: Comm, ctx: number, dest: number, tag: number, data: Source, len: number, sync = false): Req {
    const status = { source: dest, tag, bytes: len };
    if (dest === PROC_NULL) return { kind: 'send', done: true, status, comm };
    const wdest = comm.group[dest];
    const token = this.t.send(wdest, ctx, tag, sync ? SYNC : 0, data, len);
    const ack = sync && !this.t.syncSends;
    const r: Req = { kind: 'send', done: token.done && !ack, status, comm, token, ackPending: ack, src: wdest, tag };
    if (ack) this.acks.push(r);
    if (!r.done) {
      // Completion of the byte transfer is observed by polling the token.
      Object.defineProperty(r, 'done', { get: () => token.done && !r.ackPending, set: () => {}, configurable: true });
    }
    return r;
  }

  /** Posts a receive from communicator rank `src` (or ANY_SOURCE) on context `ctx`. */
  irecv(comm: Comm, ctx: number, src: number, tag: number, target: RecvTarget | null): Req {
    const r: Req = { kind: 'recv', done: false, status: { source: 0, tag: 0, bytes: 0 }, comm, ctx, tag, target };
    if (src === PROC_NULL) {
      r.done = true;
      r.status = { source: PROC_NULL, tag: ANY_TAG, bytes: 0 };
      return r;
    }
    r.src = src === ANY_SOURCE ? ANY_SOURCE : comm.group[src];
    const i = this.unexpected.findIndex((u) => matches(r, u));
    if (i >= 0) {
      const u = this.unexpected.splice(i, 1)[0];
      this.complete(r, u, u.data);
    } else this.posted.push(r);
    return r;
  }

  /** Matching message waiting (without receiving it), as a status; null when none. */
  iprobe(comm: Comm, src: number, tag: number): Status | null {
    this.progress();
    const probe: Req = { kind: 'recv', done: false, status: { source: 0, tag: 0, bytes: 0 }, comm, ctx: ctxP2p(comm), tag, src: src === ANY_SOURCE ? ANY_SOURCE : comm.group[src] };
    const u = this.unexpected.find((m) => matches(probe, m));
    return u ? { source: comm.group.indexOf(u.src), tag: u.tag, bytes: u.len } : null;
  }

  // ---- direct blocking receive (wires with DirectP2p) -------------------------------------
  /** A blocking receive may go straight to the wire when no posted receive could match first and no waiting message matches. */
  canRecvDirect(ctx: number, wsrc: number, tag: number): boolean {
    if (this.posted.length) return false;
    const q = this.unexpected; // indexed: no iterator per blocking receive
    for (let i = 0; i < q.length; i++) {
      const u = q[i];
      if (u.ctx === ctx && (wsrc === ANY_SOURCE || u.src === wsrc) && (tag === ANY_TAG || u.tag === tag)) return false;
    }
    return true;
  }
  /** Matches the one message the wire holds (it did not match a direct receive), without probing for more. */
  arriveHeld(): void {
    const a = this.t.poll();
    if (a) this.arrive(a);
  }
  cancelRecv(r: Req): void {
    const i = this.posted.indexOf(r);
    if (i >= 0) this.posted.splice(i, 1);
  }

  /** Names of what this rank still waits for, for deadlock reports. */
  pending(): string {
    return this.posted.map((r) => `recv(src ${r.src}, tag ${r.tag})`).join(', ');
  }

  // ---- internal byte messages for collectives ---------------------------------------------
  sendBytes(comm: Comm, dest: number, tag: number, bytes: Uint8Array): Req {
    return this.isend(comm, ctxColl(comm), dest, tag, bytes, bytes.length);
  }
  recvBytes(comm: Comm, src: number, tag: number): Uint8Array {
    const r = this.irecv(comm, ctxColl(comm), src, tag, null);
    this.waitFor(() => r.done);
    return r.bytes!;
  }
}

function matches(r: Req, a: Arrival): boolean {
  return r.ctx === a.ctx && (r.src === ANY_SOURCE || r.src === a.src) && (r.tag === ANY_TAG || r.tag === a.tag);
}
