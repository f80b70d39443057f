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
  /** Sequence number of the next collective (in its tags; see collectives.ts). */
  seq: number;
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
  cancelled?: boolean;
}

export interface Req {
  kind: 'send' | 'recv' | 'coll';
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
  /** Withdraws a request the wire runs itself (native direct receives). */
  cancel?(): void;
  /** A persistent request (MPI_*_init): `start` makes the operation `MPI_Start` activates; `active` while it runs. */
  persist?: { start: () => Req; active: Req | null };
}

export interface Unexpected extends Arrival {
  data: Uint8Array;
}

/** A nonblocking collective in progress: its schedule and what it waits for (see collectives.ts). */
interface Running {
  gen: Generator<Req[], unknown, void>;
  waiting: Req[];
  req: Req;
  finish: (result: unknown) => void;
}

export class MpiCore {
  /** Name of the MPI call in progress, for error messages. */
  call = '';
  private readonly posted: Req[] = [];
  private readonly unexpected: Unexpected[] = [];
  private readonly acks: Req[] = [];
  private readonly running: Running[] = [];
  readonly world: Comm;
  readonly self: Comm;
  nextCommId = 3;

  constructor(readonly t: Transport) {
    this.world = { id: 1, group: Array.from({ length: t.size }, (_, i) => i), rank: t.rank, seq: 0 };
    this.self = { id: 2, group: [t.rank], rank: 0, seq: 0 };
  }

  fail(errorClass: number, detail: string): never {
    throw new MpiError(this.t.rank, this.call, errorClass, detail);
  }

  // ---- progress -------------------------------------------------------------------------
  progress(): void {
    this.t.progress();
    for (let a = this.t.poll(); a; a = this.t.poll()) this.arrive(a);
    if (this.running.length) this.advance();
  }

  /** Whether nonblocking collectives are in flight (blocking shortcuts that do not progress them must wait). */
  get busy(): boolean {
    return this.running.length > 0;
  }

  /**
   * Starts a nonblocking collective: runs its schedule up to its first wait now, then on every
   * progress; `finish` gets its result (and writes guest memory) before the request completes.
   */
  schedule<T>(gen: Generator<Req[], T, void>, finish: (result: T) => void): Req {
    const req: Req = { kind: 'coll', done: false, status: { source: ANY_SOURCE, tag: ANY_TAG, bytes: 0 }, comm: null };
    const r: Running = { gen, waiting: [], req, finish: finish as (x: unknown) => void };
    if (!this.step(r)) this.running.push(r);
    return req;
  }
  /** Advances one schedule as far as its requests allow; true when it has finished. */
  private step(r: Running): boolean {
    for (;;) {
      for (let i = 0; i < r.waiting.length; i++) if (!r.waiting[i].done) return false;
      const s = r.gen.next();
      if (s.done) {
        r.finish(s.value);
        r.req.done = true;
        return true;
      }
      r.waiting = s.value;
    }
  }
  private advancing = false;
  private advance(): void {
    if (this.advancing) return; // a schedule's own sends progress the wire: no re-entry
    this.advancing = true;
    try {
      for (let i = 0; i < this.running.length; ) {
        if (this.step(this.running[i])) this.running.splice(i, 1);
        else i++;
      }
    } finally {
      this.advancing = false;
    }
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
    const i = this.findUnexpected(comm, src, tag);
    if (i < 0) return null;
    const u = this.unexpected[i];
    return { source: comm.group.indexOf(u.src), tag: u.tag, bytes: u.len };
  }
  /** MPI_Improbe: takes the matching waiting message out of the queue (no other receive can match it then). */
  mprobe(comm: Comm, src: number, tag: number): Unexpected | null {
    const i = this.findUnexpected(comm, src, tag);
    return i < 0 ? null : this.unexpected.splice(i, 1)[0];
  }
  private findUnexpected(comm: Comm, src: number, tag: number): number {
    this.progress();
    const probe: Req = { kind: 'recv', done: false, status: { source: 0, tag: 0, bytes: 0 }, comm, ctx: ctxP2p(comm), tag, src: src === ANY_SOURCE ? ANY_SOURCE : comm.group[src] };
    return this.unexpected.findIndex((m) => matches(probe, m));
  }
  /** Receives a message taken by mprobe into `target` (status, truncation check, Ssend ack). */
  mrecv(comm: Comm, u: Unexpected, target: RecvTarget): Req {
    const r: Req = { kind: 'recv', done: false, status: { source: 0, tag: 0, bytes: 0 }, comm, ctx: u.ctx, tag: u.tag, src: u.src, target };
    this.complete(r, u, u.data);
    return r;
  }

  // ---- direct blocking receive (wires with DirectP2p) -------------------------------------
  /** A blocking receive may go straight to the wire when no posted receive could match first and no waiting message matches. */
  canRecvDirect(ctx: number, wsrc: number, tag: number): boolean {
    if (this.posted.length || this.running.length) return false;
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
  /** Removes a posted receive that has not matched; false when it already has. */
  cancelRecv(r: Req): boolean {
    const i = this.posted.indexOf(r);
    if (i >= 0) this.posted.splice(i, 1);
    return i >= 0;
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
